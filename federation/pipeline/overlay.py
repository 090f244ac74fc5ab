"""Writes laid over a published file in memory: what a serving process shows between a write
and the next publish, without copying the file.

A `Snapshot` (federation/pipeline/snapshot.py) attaches its published file read-only as
`BASE` inside an in-memory DuckDB database. For every entity a journal entry touches, that
entity's rows (its table's row, its `record_sources`, `provenance` and `conflicts` rows) are
copied into the same-named tables of schema `memory.overlay` and patched there by the very
`apply` a publish uses; a view of each touched table in `memory.overlay_v` serves the file's
rows of untouched entities plus the overlay's. Queries name tables unqualified and resolve
them through the search path `memory.overlay_v, BASE.main`: a table no write touched is read
straight from the file.

Laying entries over is one transaction of the in-memory database, so a reader's transaction
(federation/pipeline/snapshot.py `Snapshot.reading`) sees all of a write or none of it.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from federation.model import TABLES
from federation.pipeline.patches import Patch, apply

#: the catalog name of the attached published file
BASE = "published_base"
OVERLAY = "memory.overlay"
VIEWS = "memory.overlay_v"
SEARCH_PATH = f"SET search_path = '{VIEWS},{BASE}.main'"
#: the published tables keyed by (entity, entity_id) that `apply` changes
AUX = ("record_sources", "provenance", "conflicts")


def attach(con: duckdb.DuckDBPyConnection, path: str) -> None:
    """Attach the published file read-only and make the (empty) overlay."""
    quoted = path.replace("'", "''")
    con.execute(f"ATTACH '{quoted}' AS {BASE} (READ_ONLY)")
    con.execute(f"CREATE SCHEMA {OVERLAY}")
    con.execute(f"CREATE SCHEMA {VIEWS}")
    con.execute(f"CREATE TABLE {OVERLAY}._keys (entity VARCHAR, entity_id VARCHAR)")


def base_seq(con: duckdb.DuckDBPyConnection) -> int:
    """The last journal entry the published file holds (0: a file from before entries were
    numbered, which holds every entry then written)."""
    try:
        rows = con.execute(f"SELECT max(journal_seq) FROM {BASE}.main.publish_info").fetchall()
    except duckdb.BinderException:
        return 0
    return int(rows[0][0] or 0)


def lay(con: duckdb.DuckDBPyConnection, patches: Sequence[Patch]) -> None:
    """Lay `patches` over the file, in one transaction."""
    if not patches:
        return
    con.execute("BEGIN TRANSACTION")
    try:
        by_entity: dict[str, list[str]] = {}
        for patch in patches:
            by_entity.setdefault(patch.entity, []).append(patch.entity_id)
        for entity, ids in by_entity.items():
            _take(con, entity, list(dict.fromkeys(ids)))
        apply(con, patches, prefix=f"{OVERLAY}.")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _take(con: duckdb.DuckDBPyConnection, entity: str, entity_ids: list[str]) -> None:
    """Copy entities' rows into the overlay (once), which from then on serves them."""
    held = con.execute(
        f"SELECT entity_id FROM {OVERLAY}._keys WHERE entity = ? "
        "AND entity_id IN (SELECT unnest(?::VARCHAR[]))",
        [entity, entity_ids],
    ).fetchall()
    new = [i for i in entity_ids if i not in {r[0] for r in held}]
    if not new:
        return
    table = TABLES[entity].name
    _overlaid(con, table, f"id NOT IN (SELECT entity_id FROM {OVERLAY}._keys WHERE entity = '{table}')")
    con.execute(
        f'INSERT INTO {OVERLAY}."{table}" SELECT * FROM {BASE}.main."{table}" '
        "WHERE id IN (SELECT unnest(?::VARCHAR[]))",
        [new],
    )
    for aux in AUX:
        _overlaid(
            con,
            aux,
            f"NOT EXISTS (SELECT 1 FROM {OVERLAY}._keys k WHERE k.entity = b.entity "
            "AND k.entity_id = b.entity_id)",
        )
        con.execute(
            f"INSERT INTO {OVERLAY}.{aux} SELECT * FROM {BASE}.main.{aux} "
            "WHERE entity = ? AND entity_id IN (SELECT unnest(?::VARCHAR[]))",
            [entity, new],
        )
    con.execute(f"INSERT INTO {OVERLAY}._keys SELECT ?, unnest(?::VARCHAR[])", [entity, new])


def _overlaid(con: duckdb.DuckDBPyConnection, table: str, untouched: str) -> None:
    """The overlay table of `table` and the view that serves it, made the first time."""
    con.execute(
        f'CREATE TABLE IF NOT EXISTS {OVERLAY}."{table}" AS SELECT * FROM {BASE}.main."{table}" LIMIT 0'
    )
    con.execute(
        f'CREATE VIEW IF NOT EXISTS {VIEWS}."{table}" AS SELECT * FROM {BASE}.main."{table}" b '
        f'WHERE {untouched} UNION ALL SELECT * FROM {OVERLAY}."{table}"'
    )
