"""Writes shown at once: a journal of values written back to sources, patched into the
published snapshot without a sync, and kept there until a sync has read them.

When a mutation has changed a record at its source (federation/writes), the value the
source read back is appended here, numbered (`seq`); every serving process lays the entries
numbered after its published file's `publish_info.journal_seq` over that file, in memory
(federation/pipeline/overlay.py): the caller's next query sees the write, no file is copied
and no source is read again. A sync of that source that started before the write read the old
value; its publish would undo the write until the next sync. So every publish applies the
journal's entries newer than the start of the last read of their source (`apply`), under
the same `publish.lock` the patcher holds, and entries a later read has covered are dropped.

    Publisher(root, clean=False).patch([Patch(...)])   # federation/pipeline/store.py

Files in the store folder: `patches.jsonl` (one entry per line), `patches.seq` (the last
number given) and `publish.lock` (flock).
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from federation.model import DUCKDB_TYPES, TABLES

JOURNAL = "patches.jsonl"
SEQ = "patches.seq"
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
    #: the entry's number in the journal, given by `Journal.append` (0: a line written
    #: before entries were numbered, already in every published file)
    seq: int = 0

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
        self.seq_path = root / SEQ

    def entries(self) -> list[Patch]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [Patch(**json.loads(line)) for line in lines if line.strip()]

    def last_seq(self, entries: Sequence[Patch] | None = None) -> int:
        """The highest number given so far (the journal forgets entries; the counter not)."""
        try:
            counted = int(self.seq_path.read_text(encoding="utf-8").strip() or 0)
        except (FileNotFoundError, ValueError):
            counted = 0
        return max([counted, *(p.seq for p in (self.entries() if entries is None else entries))])

    def append(self, patches: Sequence[Patch]) -> list[Patch]:
        """Number `patches` after the last entry and append them (fsync'd); returns them numbered."""
        if not patches:
            return []
        self.path.parent.mkdir(parents=True, exist_ok=True)
        last = self.last_seq()
        numbered = [replace(p, seq=last + i) for i, p in enumerate(patches, 1)]
        with self.path.open("a", encoding="utf-8") as fh:
            for patch in numbered:
                fh.write(_line(patch))
            fh.flush()
            os.fsync(fh.fileno())
        self._count(numbered[-1].seq, durable=False)
        return numbered

    def pending(self, read_started: Mapping[str, datetime | None]) -> list[Patch]:
        """Entries no read of their source has covered yet (written after the start of the
        last read of that source, or the source has not been read since)."""
        return [p for p in self.entries() if _uncovered(p, read_started.get(p.source))]

    def keep(self, kept: Sequence[Patch]) -> None:
        """Rewrite the journal as `kept` (a publish's `pending()`); the counter stays."""
        entries = self.entries()
        if len(kept) == len(entries):
            return
        self._count(self.last_seq(entries), durable=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(_line(p) for p in kept), encoding="utf-8")
        os.replace(tmp, self.path)

    def _count(self, seq: int, *, durable: bool) -> None:
        tmp = self.seq_path.with_suffix(".seq.tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(f"{seq}\n")
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, self.seq_path)


def _line(patch: Patch) -> str:
    return json.dumps(asdict(patch), default=str, ensure_ascii=False) + "\n"


#: a delete is re-applied this long, whatever reads came since: an incremental read (by a
#: cursor) does not see a record go, only a full one does (`full_refresh`, a day by default)
DELETE_KEPT = timedelta(days=7)


def _uncovered(patch: Patch, started: datetime | None) -> bool:
    if patch.action == "delete":
        return datetime.now(UTC) - patch.written_at < DELETE_KEPT
    return started is None or patch.written_at > started


def apply(con: duckdb.DuckDBPyConnection, patches: Sequence[Patch], prefix: str = "pub.") -> None:
    """Patch the published tables attached at `prefix`: each entity row's columns, and the
    provenance and conflicts of each field written (the written source's value)."""
    for patch in patches:
        table = TABLES[patch.entity]
        if patch.action == "delete":
            _delete(con, prefix, patch)
            continue
        if patch.action == "insert":
            _insert(con, prefix, patch)
        for column, value in patch.values.items():
            type_ = DUCKDB_TYPES[table.column(column).type]
            con.execute(
                f'UPDATE {prefix}"{table.name}" SET "{column}" = CAST(? AS {type_}) WHERE id = ?',
                [_param(value, type_), patch.entity_id],
            )
            _provenance(con, prefix, patch, column, value)


def _insert(con: duckdb.DuckDBPyConnection, prefix: str, patch: Patch) -> None:
    """A new entity's row (its columns are then set like an update's) and its one record."""
    table = f'{prefix}"{patch.entity}"'
    exists = con.execute(f"SELECT 1 FROM {table} WHERE id = ?", [patch.entity_id]).fetchall()
    if not exists:
        con.execute(f"INSERT INTO {table} (id) VALUES (?)", [patch.entity_id])
        con.execute(
            f"INSERT INTO {prefix}record_sources VALUES (?, ?, ?, ?, ?::TIMESTAMPTZ)",
            [patch.entity, patch.entity_id, patch.source, patch.record_id, patch.at],
        )


def _delete(con: duckdb.DuckDBPyConnection, prefix: str, patch: Patch) -> None:
    con.execute(f'DELETE FROM {prefix}"{patch.entity}" WHERE id = ?', [patch.entity_id])
    for aux in ("record_sources", "provenance", "conflicts"):
        con.execute(
            f"DELETE FROM {prefix}{aux} WHERE entity = ? AND entity_id = ?", [patch.entity, patch.entity_id]
        )


def _param(value: Any, type_: str) -> Any:
    if value is None:
        return None
    if type_ == "JSON":
        return json.dumps(value, ensure_ascii=False)
    return value


def _provenance(con: duckdb.DuckDBPyConnection, prefix: str, patch: Patch, column: str, value: Any) -> None:
    table = TABLES[patch.entity]
    if column in {f"{r.name}_id" for r in table.references}:
        return  # a reference's provenance is that of the referenced entity's key: not kept
    field_name = column
    text = json.dumps(value, ensure_ascii=False, default=str) if value is not None else None
    key = [patch.entity, patch.entity_id, field_name]
    con.execute(
        f"DELETE FROM {prefix}provenance WHERE entity = ? AND entity_id = ? AND field = ?",
        key,
    )
    if value is not None:
        con.execute(
            f"INSERT INTO {prefix}provenance VALUES (?, ?, ?, ?, ?, ?::JSON, ?::TIMESTAMPTZ)",
            [*key, patch.source, patch.record_id, text, patch.at],
        )
    # the written source's side of a disagreement now holds the new value; a disagreement
    # the write settled (every source the same) is no longer one
    con.execute(
        f"UPDATE {prefix}conflicts SET value = ?::JSON WHERE entity = ? AND entity_id = ? AND field = ? "
        "AND source = ? AND record_id = ?",
        [text, *key, patch.source, patch.record_id],
    )
    con.execute(
        f"DELETE FROM {prefix}conflicts WHERE entity = ? AND entity_id = ? AND field = ? AND "
        f"(SELECT count(DISTINCT value::VARCHAR) FROM {prefix}conflicts "
        "WHERE entity = ? AND entity_id = ? AND field = ?) <= 1",
        [*key, *key],
    )
