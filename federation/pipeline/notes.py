"""What a sync says about a source's records besides the records: the quarantine (records
held back, with the reason and the raw record) and the quality notes (values left out of
published records, with the value and the reason).

Both live in the source store (`sources.duckdb`) beside the source's snapshot tables and
are replaced in the same transaction as the snapshot: a full read of an entity replaces all
of its entries, an incremental read those of the records it read again (fixed, still bad,
or now held back) and those without an id; a removed source takes its entries with it.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

#: the source store's tables of notes (created with the store's own tables)
NOTES_DDL = """
CREATE TABLE IF NOT EXISTS quarantine (source VARCHAR, entity VARCHAR, record_id VARCHAR,
    reason VARCHAR, raw JSON, quarantined_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS quality (source VARCHAR, entity VARCHAR, record_id VARCHAR,
    field VARCHAR, value JSON, reason VARCHAR, noted_at TIMESTAMPTZ);
"""
NOTE_TABLES = ("quarantine", "quality")


def replace_notes(
    con: duckdb.DuckDBPyConnection,
    source: str,
    frames: dict[str, pd.DataFrame],
    quarantine: pd.DataFrame,
    quality: pd.DataFrame | None,
    incremental: set[str] | frozenset[str],
    now: datetime,
) -> None:
    """Inside the caller's transaction: drop the entries this read supersedes, add its own.
    `quarantine`: entity, record_id, reason, raw; `quality`: entity, record_id, field, value,
    reason."""
    for table in NOTE_TABLES:
        _clear(con, table, source, frames, quarantine, incremental)
    if quality is not None and len(quality):
        con.register("_quality", quality.assign(source=source, noted_at=now))
        con.execute(
            "INSERT INTO quality SELECT source, entity, record_id, field, value, reason, noted_at "
            "FROM _quality"
        )
        con.unregister("_quality")
    if len(quarantine):
        con.register("_quarantine", quarantine.assign(source=source, quarantined_at=now))
        con.execute(
            "INSERT INTO quarantine SELECT source, entity, record_id, reason, raw, quarantined_at "
            "FROM _quarantine"
        )
        con.unregister("_quarantine")


def drop_notes(con: duckdb.DuckDBPyConnection, source: str) -> None:
    for table in NOTE_TABLES:
        con.execute(f"DELETE FROM {table} WHERE source = ?", [source])


def _clear(
    con: duckdb.DuckDBPyConnection,
    table: str,
    source: str,
    frames: dict[str, pd.DataFrame],
    quarantine: pd.DataFrame,
    incremental: set[str] | frozenset[str],
) -> None:
    """Drop the entries of `table` this read supersedes: all of a fully read entity's (and of
    an entity the source no longer maps); for an incremental read, those of the records read
    again (fixed or still bad) and those without an id."""
    con.execute(
        f"DELETE FROM {table} WHERE source = ? AND entity NOT IN (SELECT unnest(?::VARCHAR[]))",
        [source, sorted(frames)],
    )
    for entity, frame in frames.items():
        if entity not in incremental:
            con.execute(f"DELETE FROM {table} WHERE source = ? AND entity = ?", [source, entity])
            continue
        bad = quarantine.loc[quarantine["entity"] == entity, "record_id"] if len(quarantine) else []
        ids = sorted({str(i) for i in [*frame["record_id"], *bad] if i is not None and i == i})
        con.execute(
            f"DELETE FROM {table} WHERE source = ? AND entity = ? AND "
            "(record_id IS NULL OR record_id IN (SELECT unnest(?::VARCHAR[])))",
            [source, entity, ids],
        )
