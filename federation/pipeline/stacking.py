"""Stacking: every record of an entity, from every source's snapshot, in one table.

Besides the sources' own records of the entity, each key another entity points at it by
makes a minimal record (a CSV's "checked out to" email becomes a person record), so a
reference to something no source lists still has something to point at.
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from federation.config.settings import Config
from federation.model import TABLES, Table, reconcile_order
from federation.model import quote as q
from federation.pipeline.delta import all_table
from federation.pipeline.store import SourceState, snapshot_table


def stale_by_entity(config: Config, states: dict[str, SourceState], now: datetime) -> dict[str, set[str]]:
    return {entity: stale_sources(config, entity, states, now) for entity in reconcile_order()}


def stale_sources(config: Config, entity: str, states: dict[str, SourceState], now: datetime) -> set[str]:
    """Sources whose values count as empty for precedence: no successful sync within the
    entity's `stale_after`. A source whose latest sync merely failed is not stale here: its
    last good snapshot keeps its precedence, so one failed sync does not flip the graph."""
    stale_after = config.rules(entity).stale_after
    if stale_after is None:
        return set()
    out = set()
    for s in config.sources:
        st = states.get(s.name)
        if st is None or st.last_success_at is None or now - st.last_success_at > stale_after:
            out.add(s.name)
    return out


def _reference_records(
    con: duckdb.DuckDBPyConnection, config: Config, entity: str, tables: set[str]
) -> list[str]:
    """SELECTs giving a minimal record per key that other entities use to point at `entity`."""
    selects = []
    for other in TABLES.values():
        for ref in other.references:
            if ref.target != entity or not ref.creates_missing:
                continue
            key = f"{ref.name}_key"
            for s in config.sources:
                name = snapshot_table(s.name, other.name)
                if name not in tables:
                    continue
                cols = {r[0] for r in con.execute(f"DESCRIBE {q(name)}").fetchall()}
                if key not in cols:
                    continue
                if entity == "people":
                    fields = (
                        f"CASE WHEN {key} LIKE '%@%' THEN {key} END AS email, "
                        f"CASE WHEN {key} NOT LIKE '%@%' THEN {key} END AS username"
                    )
                else:
                    fields = f"{key} AS {ref.match_on[0]}"
                selects.append(
                    f"SELECT '{s.name}' AS source, 'ref:' || {key} AS record_id, "
                    f"max(fetched_at) AS fetched_at, {fields} FROM {q(name)} "
                    f"WHERE {key} IS NOT NULL GROUP BY {key}"
                )
    return selects


def stack_all(con: duckdb.DuckDBPyConnection, config: Config) -> dict[str, list[str]]:
    """Stack every entity's records into temp table `all_<entity>`, each with `__digest`, a
    hash of its values; return each entity's field columns."""
    tables = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()"
        ).fetchall()
    }
    return {entity: _stack(con, config, TABLES[entity], tables) for entity in reconcile_order()}


def _stack(con: duckdb.DuckDBPyConnection, config: Config, table: Table, tables: set[str]) -> list[str]:
    """Create temp table `all_<entity>` with every record of the entity; return its field columns."""
    target = all_table(table.name)
    selects = []
    for s in config.sources:
        name = snapshot_table(s.name, table.name)
        if name in tables:
            selects.append(f"SELECT '{s.name}' AS source, * FROM {q(name)}")
    selects += _reference_records(con, config, table.name, tables)
    if not selects:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {target} (source VARCHAR, record_id VARCHAR, "
            "fetched_at TIMESTAMPTZ, __digest UBIGINT)"
        )
        return []
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW _stacked AS {' UNION ALL BY NAME '.join(f'({s})' for s in selects)}"
    )
    cols = [r[0] for r in con.execute("DESCRIBE _stacked").fetchall()]
    fields = [c for c in cols if c not in ("source", "record_id", "fetched_at")]
    digest = f"hash({', '.join(q(c) for c in sorted(fields))})" if fields else "0::UBIGINT"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {target} AS SELECT *, {digest} AS __digest FROM _stacked")
    con.execute("DROP VIEW _stacked")
    return fields
