"""Writes shown at once: a journal of values written back to sources, patched into the
published snapshot without a sync, and kept there until a sync has read them.

When a mutation has changed a record at its source (federation/writes), the value the
source read back is appended here and patched into a copy of the current published file,
which then becomes current (`patch_current`): the caller's next query sees it, and no
source is read again. A sync of that source that started before the write read the old
value; its publish would undo the write until the next sync. So every publish applies the
journal's entries newer than the start of the last read of their source (`apply`), under
the same `publish.lock` the patcher holds, and entries a later read has covered are dropped.

    snapshot_id = Publisher(root, clean=False).patch([Patch(...)])   # federation/pipeline/store.py

Files in the store folder: `patches.jsonl` (one entry per line) and `publish.lock` (flock).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from federation.model import DUCKDB_TYPES, TABLES

JOURNAL = "patches.jsonl"
LOCK = "publish.lock"


@dataclass(frozen=True)
class Patch:
    """One record's written fields, as the gateway serves them after the write: `values` maps
    a column of the entity's published table (`status`, `location_id`…) to its new value in
    the model's form (ISO text for dates and times, numbers, lists, JSON-able objects)."""

    at: str
    source: str
    entity: str
    entity_id: str
    record_id: str
    values: dict[str, Any] = field(default_factory=dict)
    #: `update` the entity's columns in `values`; `insert` a new entity made of `values`;
    #: `delete` the entity (and its provenance)
    action: str = "update"

    @staticmethod
    def now() -> str:
        return datetime.now(UTC).isoformat()

    @property
    def written_at(self) -> datetime:
        return datetime.fromisoformat(self.at)


@contextmanager
def publish_lock(root: Path) -> Iterator[None]:
    """Held while a published snapshot is swapped in: by a sync's publish (while it applies
    the journal) and by a write's patch (while it copies, patches and swaps)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / LOCK).open("a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class Journal:
    """`patches.jsonl` in the store folder. Call its methods under `publish_lock`."""

    def __init__(self, root: Path) -> None:
        self.path = root / JOURNAL

    def entries(self) -> list[Patch]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [Patch(**json.loads(line)) for line in lines if line.strip()]

    def append(self, patches: Sequence[Patch]) -> None:
        if not patches:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            for patch in patches:
                fh.write(json.dumps(asdict(patch), default=str, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def pending(self, read_started: Mapping[str, datetime | None]) -> list[Patch]:
        """Entries no read of their source has covered yet (written after the start of the
        last read of that source, or the source has not been read since); rewrites the
        journal without the others."""
        entries = self.entries()
        keep = [p for p in entries if _uncovered(p, read_started.get(p.source))]
        if len(keep) != len(entries):
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(
                "".join(json.dumps(asdict(p), default=str, ensure_ascii=False) + "\n" for p in keep),
                encoding="utf-8",
            )
            os.replace(tmp, self.path)
        return keep


#: a delete is re-applied this long, whatever reads came since: an incremental read (by a
#: cursor) does not see a record go, only a full one does (`full_refresh`, a day by default)
DELETE_KEPT = timedelta(days=7)


def _uncovered(patch: Patch, started: datetime | None) -> bool:
    if patch.action == "delete":
        return datetime.now(UTC) - patch.written_at < DELETE_KEPT
    return started is None or patch.written_at > started


def apply(con: duckdb.DuckDBPyConnection, patches: Sequence[Patch], prefix: str = "pub.") -> None:
    """Patch the published tables attached at `prefix`: each entity row's columns, and the
    provenance and conflicts of each field written (the written source's value) — as laying
    each patch in turn would, but set-wise: the patches go in rounds where no entity comes
    twice (its first patch in the first round, its second in the next…), and a round is a
    few statements per table and column, whatever the number of patches."""
    rounds: list[list[Patch]] = []
    seen: dict[tuple[str, str], int] = {}
    for patch in patches:
        key = (patch.entity, patch.entity_id)
        n = seen.get(key, 0)
        seen[key] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(patch)
    for round_ in rounds:
        _round(con, prefix, round_)


def _round(con: duckdb.DuckDBPyConnection, prefix: str, patches: list[Patch]) -> None:
    """Patches of distinct entities: each statement touches only their rows, so one per kind."""
    gone = [p for p in patches if p.action == "delete"]
    if gone:
        _delete(con, prefix, gone)
    new = [p for p in patches if p.action == "insert"]
    if new:
        _insert(con, prefix, new)
    columns: dict[tuple[str, str], list[Patch]] = {}
    for patch in patches:
        if patch.action != "delete":
            for column in patch.values:
                columns.setdefault((patch.entity, column), []).append(patch)
    provenance: list[tuple[Patch, str, Any]] = []
    for (entity, column), written in columns.items():
        table = TABLES[entity]
        type_ = DUCKDB_TYPES[table.column(column).type]
        for part in _chunks(written):
            rows = ", ".join(f"(?, CAST(? AS {type_}))" for _ in part)
            con.execute(
                f'UPDATE {prefix}"{entity}" AS t SET "{column}" = v.value '
                f"FROM (VALUES {rows}) AS v(id, value) WHERE t.id = v.id",
                [x for p in part for x in (p.entity_id, _param(p.values[column], type_))],
            )
        # a reference's provenance is that of the referenced entity's key: not kept
        if column not in {f"{r.name}_id" for r in table.references}:
            provenance += [(p, column, p.values[column]) for p in written]
    if provenance:
        _provenance(con, prefix, provenance)


#: rows per VALUES list of one statement
_CHUNK = 500


def _chunks(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _keys(con: duckdb.DuckDBPyConnection, patches: list[Patch], name: str) -> None:
    """Temp table `name` (entity, entity_id, source, record_id, written_at) of the patches."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} (entity VARCHAR, entity_id VARCHAR, source VARCHAR, "
        "record_id VARCHAR, written_at TIMESTAMPTZ)"
    )
    for part in _chunks(patches):
        con.execute(
            f"INSERT INTO {name} VALUES " + ", ".join("(?, ?, ?, ?, ?::TIMESTAMPTZ)" for _ in part),
            [x for p in part for x in (p.entity, p.entity_id, p.source, p.record_id, p.at)],
        )


def _insert(con: duckdb.DuckDBPyConnection, prefix: str, patches: list[Patch]) -> None:
    """New entities' rows (their columns are then set like an update's) and their one record
    each; an id the table holds already is left as it is."""
    _keys(con, patches, "_patch_new")
    for entity in dict.fromkeys(p.entity for p in patches):
        table = f'{prefix}"{entity}"'
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _patch_added AS SELECT * FROM _patch_new n "
            f"WHERE n.entity = ? AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id = n.entity_id)",
            [entity],
        )
        con.execute(f"INSERT INTO {table} (id) SELECT entity_id FROM _patch_added")
        con.execute(
            f"INSERT INTO {prefix}record_sources "
            "SELECT entity, entity_id, source, record_id, written_at FROM _patch_added"
        )
    con.execute("DROP TABLE IF EXISTS _patch_added")
    con.execute("DROP TABLE _patch_new")


def _delete(con: duckdb.DuckDBPyConnection, prefix: str, patches: list[Patch]) -> None:
    _keys(con, patches, "_patch_gone")
    for entity in dict.fromkeys(p.entity for p in patches):
        con.execute(
            f'DELETE FROM {prefix}"{entity}" WHERE id IN '
            "(SELECT entity_id FROM _patch_gone WHERE entity = ?)",
            [entity],
        )
    for aux in ("record_sources", "provenance", "conflicts"):
        con.execute(
            f"DELETE FROM {prefix}{aux} AS a USING _patch_gone g "
            "WHERE a.entity = g.entity AND a.entity_id = g.entity_id"
        )
    con.execute("DROP TABLE _patch_gone")


def _param(value: Any, type_: str) -> Any:
    if value is None:
        return None
    if type_ == "JSON":
        return json.dumps(value, ensure_ascii=False)
    return value


def _provenance(con: duckdb.DuckDBPyConnection, prefix: str, written: list[tuple[Patch, str, Any]]) -> None:
    """Each written field's provenance replaced by the written source's record (inserted
    field by field: published provenance is stored so, and a filter on `field` prunes);
    the written source's side of a disagreement holds the new value, and a disagreement the
    write settled (every source the same) is no longer one."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _patch_fields (entity VARCHAR, entity_id VARCHAR, field VARCHAR, "
        "source VARCHAR, record_id VARCHAR, value JSON, written_at TIMESTAMPTZ)"
    )
    for part in _chunks(written):
        con.execute(
            "INSERT INTO _patch_fields VALUES "
            + ", ".join("(?, ?, ?, ?, ?, ?::JSON, ?::TIMESTAMPTZ)" for _ in part),
            [
                x
                for p, column, value in part
                for x in (
                    p.entity,
                    p.entity_id,
                    column,
                    p.source,
                    p.record_id,
                    json.dumps(value, ensure_ascii=False, default=str) if value is not None else None,
                    p.at,
                )
            ],
        )
    same_field = "a.entity = f.entity AND a.entity_id = f.entity_id AND a.field = f.field"
    con.execute(f"DELETE FROM {prefix}provenance AS a USING _patch_fields f WHERE {same_field}")
    con.execute(
        f"INSERT INTO {prefix}provenance SELECT entity, entity_id, field, source, record_id, value, "
        "written_at FROM _patch_fields WHERE value IS NOT NULL ORDER BY entity, field, entity_id"
    )
    con.execute(
        f"UPDATE {prefix}conflicts AS a SET value = f.value FROM _patch_fields f WHERE {same_field} "
        "AND a.source = f.source AND a.record_id = f.record_id"
    )
    con.execute(
        f"DELETE FROM {prefix}conflicts AS a USING (SELECT c.entity, c.entity_id, c.field "
        f"FROM {prefix}conflicts c SEMI JOIN _patch_fields f ON c.entity = f.entity AND "
        "c.entity_id = f.entity_id AND c.field = f.field GROUP BY ALL "
        "HAVING count(DISTINCT c.value::VARCHAR) <= 1) AS f "
        f"WHERE {same_field}"
    )
    con.execute("DROP TABLE _patch_fields")
