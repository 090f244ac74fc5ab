"""References: the keys one entity points at another by (a person's email on an asset), which
entity each names, and, in an incremental publish, the records pointing at a key that names
something else now (federation/pipeline/delta.py merges those again)."""

from __future__ import annotations

import duckdb

from federation.model import TABLES, Table
from federation.model import quote as q
from federation.pipeline.delta import all_table


def seed(con: duckdb.DuckDBPyConnection, table: Table, whole: bool) -> None:
    """Temp table `seeds`: the changed records, and those whose reference resolves otherwise
    now (keys of the referenced entity in `changed_keys_<target>`)."""
    entity = table.name
    if whole:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE seeds AS SELECT source, record_id FROM {all_table(entity)}"
        )
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE seeds AS SELECT source, record_id FROM changed_{entity}")
    seed_referrers(con, table)


def seed_referrers(con: duckdb.DuckDBPyConnection, table: Table, *, only_self: bool = False) -> int:
    """Add to `seeds` the records of `table` pointing at a key that now resolves otherwise."""
    columns = {r[0] for r in con.execute(f"DESCRIBE {all_table(table.name)}").fetchall()}
    added = 0
    for ref in table.references:
        if only_self and ref.target != table.name:
            continue
        key = f"{ref.name}_key"
        exists = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?",
            [f"changed_keys_{ref.target}"],
        ).fetchall()[0][0]
        if key not in columns or not exists:
            continue
        before = con.execute("SELECT count(*) FROM seeds").fetchall()[0][0]
        con.execute(
            f"INSERT INTO seeds SELECT source, record_id FROM {all_table(table.name)} "
            f"WHERE lower({q(key)}) IN (SELECT key FROM changed_keys_{ref.target})"
        )
        added += con.execute("SELECT count(*) FROM seeds").fetchall()[0][0] - before
    return added


def refs_to(entity: str) -> list[tuple[str, ...]]:
    return [ref.match_on for t in TABLES.values() for ref in t.references if ref.target == entity]


def entity_keys(
    con: duckdb.DuckDBPyConnection, table: Table, fields: list[str], *, delta: bool, referred: bool
) -> None:
    """Temp table `keys_<entity>` (key, entity_id, n): the keys other entities point at it by
    and the entities (n of them) each names, from the records in `recs` (all of them, or with
    `delta` those merged again, laid over the keys the last publish kept); with `delta`,
    `changed_keys_<entity>` gains the keys that now name something else."""
    entity = table.name
    cols = [k for k in sorted({k for ref in refs_to(entity) for k in ref}) if k in fields] if referred else []
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS changed_keys_{entity} (key VARCHAR)")
    if not cols:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE keys_{entity} AS SELECT NULL::VARCHAR AS key, "
            "NULL::VARCHAR AS entity_id, 0::BIGINT AS n WHERE false"
        )
        con.execute(f"DELETE FROM ref_keys WHERE entity = '{entity}'")
        return

    def grouped(source: str, only_cand: bool = False) -> str:
        parts = [
            f"SELECT lower({q(k)}) AS key, entity_id FROM {source} WHERE {q(k)} IS NOT NULL"
            + (f" AND lower({q(k)}) IN (SELECT key FROM cand)" if only_cand else "")
            for k in cols
        ]
        return (
            "SELECT key, min(entity_id) AS entity_id, count(DISTINCT entity_id) AS n "
            f"FROM ({' UNION '.join(parts)}) GROUP BY key"
        )

    if not delta:
        con.execute(f"CREATE OR REPLACE TEMP TABLE keys_{entity} AS {grouped('recs')}")
        con.execute(f"DELETE FROM ref_keys WHERE entity = '{entity}'")
        con.execute(f"INSERT INTO ref_keys SELECT '{entity}', key, entity_id, n FROM keys_{entity}")
        return
    # the keys that may name something else now: those of the records merged again, and
    # those that named the entities these belonged to
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE cand AS SELECT key FROM ({grouped('recs')}) UNION "
        f"SELECT key FROM ref_keys WHERE entity = '{entity}' "
        "AND entity_id IN (SELECT entity_id FROM gone_ids)"
    )
    every = (
        f"(SELECT a.*, e.entity_id FROM {all_table(entity)} a JOIN entity_ids e ON e.entity = '{entity}' "
        "AND e.source = a.source AND e.record_id = a.record_id)"
    )
    con.execute(f"CREATE OR REPLACE TEMP TABLE fresh_keys AS {grouped(every, only_cand=True)}")
    con.execute(
        f"INSERT INTO changed_keys_{entity} SELECT c.key FROM cand c "
        f"LEFT JOIN (SELECT * FROM ref_keys WHERE entity = '{entity}') o ON o.key = c.key "
        "LEFT JOIN fresh_keys f ON f.key = c.key "
        "WHERE o.entity_id IS DISTINCT FROM f.entity_id OR o.n IS DISTINCT FROM f.n"
    )
    con.execute(f"DELETE FROM ref_keys WHERE entity = '{entity}' AND key IN (SELECT key FROM cand)")
    con.execute(f"INSERT INTO ref_keys SELECT '{entity}', key, entity_id, n FROM fresh_keys")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE keys_{entity} AS SELECT key, entity_id, n FROM ref_keys "
        f"WHERE entity = '{entity}'"
    )
