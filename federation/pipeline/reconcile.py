"""Reconciliation: merge the records of every source into one row per real thing.

For each entity (locations, then people, then assets, so references can be resolved):

1. stack every source's snapshot rows, plus a minimal record for each reference to the
   entity found elsewhere (a CSV's "checked out to" email becomes a person record);
2. cluster them with the identity rules (federation.pipeline.identity) and give each cluster a stable
   id: the id its records had in the previous snapshot, else a UUID derived from its first
   record;
3. pick each attribute from the highest-precedence source that has a value, counting sources
   not synced within `stale_after` as empty (a lower one fills in; null never wins over a
   value; a source whose last sync failed keeps its last good values); list fields are
   the union of all sources; timestamps take the latest;
4. keep provenance for every chosen value, and record a conflict wherever the sources'
   non-empty values disagree.

Everything but the clustering runs as SQL inside the store's DuckDB connection and writes
straight into the snapshot being published (attached as `pub`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from federation.config.settings import Config
from federation.model import TABLES, Table, reconcile_order
from federation.model import quote as q
from federation.pipeline.compliance import publish_compliance
from federation.pipeline.delta import (
    WHOLE,
    Plan,
    affected,
    all_table,
    clear_entity,
    refresh_fetched,
    remember_keys,
)
from federation.pipeline.identity import cluster
from federation.pipeline.references import entity_keys, seed, seed_referrers

log = logging.getLogger("assetgraph.sync")

NAMESPACE = uuid.UUID("3f1c6c1e-8b0e-4c55-9d7a-6b7a1f0c2a11")

#: a field whose value must come from the same record as another (a cost and its currency)
COMPANIONS: dict[str, str] = {"cost_currency": "cost"}
#: types merged by union (lists) or by the latest value (timestamps), not by precedence
UNION_TYPES = {"string_list"}
LATEST_TYPES = {"timestamptz"}
#: types for which differing values are not conflicts (companions are not either: their
#: disagreement is their partner's)
NO_CONFLICT_TYPES = {"string_list", "timestamptz", "jsonb"}


@dataclass
class ReconcileReport:
    entities: dict[str, int]
    conflicts: int
    ambiguities: int
    #: merged only what changed since the last publish (delta.py); if not, why
    incremental: bool = False
    merged_all_because: str = ""


def identity_rules(config: Config, table: Table, fields: list[str]) -> list[list[str]]:
    """The entity's identity rules over the columns its records have; a rule may name a
    reference (`person`): it compares the reference's key."""
    refs = {r.name for r in table.references}
    named = [[f"{f}_key" if f in refs else f for f in r] for r in config.rules(table.name).identity or []]
    return [r for r in named if all(f in fields for f in r)]


def _assign_ids(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    rules: list[list[str]],
    strong: list[bool],
    ranks: dict[str, str],
    *,
    delta: bool,
    provisional: bool,
) -> list[tuple[str, str, str, list[str], str]]:
    """Cluster the records to merge (all of them, or with `delta` those in `todo`) into temp
    table `recs` with an `entity_id` column, and remember each record's id in `entity_ids`
    (new ones `provisional` if asked); return the ambiguities found."""
    entity = table.name
    source = all_table(entity) + (" SEMI JOIN todo USING (source, record_id)" if delta else "")
    ident_cols = sorted({f for r in rules for f in r})
    cols = ", ".join(["source", "record_id", *(q(c) for c in ident_cols)])
    frame = con.execute(f"SELECT {cols} FROM {source} ORDER BY source, record_id").df()
    clusters = cluster(frame, rules, strong)
    frame["root"] = clusters.root
    # ids given provisionally (by a publish made while a round still read) are given again
    only = "SEMI JOIN todo USING (source, record_id)" if delta else ""
    prev = con.execute(
        f"SELECT source, record_id, entity_id FROM entity_ids {only} "
        "WHERE entity = ? AND NOT coalesce(provisional, false)",
        [entity],
    ).df()
    frame = frame[["source", "record_id", "root"]].merge(prev, on=["source", "record_id"], how="left")
    # the previous id most of the cluster's records had; a split keeps it for the larger part
    sizes = frame.groupby("root").size().rename("size")
    votes = (
        frame.dropna(subset=["entity_id"])
        .groupby(["root", "entity_id"])
        .size()
        .rename("votes")
        .reset_index()
        .merge(sizes, left_on="root", right_index=True)
        .sort_values(["votes", "size", "entity_id"], ascending=[False, False, True])
    )
    votes = votes.drop_duplicates("entity_id").drop_duplicates("root")
    chosen = dict(zip(votes["root"], votes["entity_id"], strict=True))
    ids = _new_ids(frame, entity, chosen, (lambda c: _taken(con, entity, c)) if delta else None)
    frame["entity_id"] = frame["root"].map(ids)
    frame["provisional"] = provisional & ~frame["root"].isin(list(chosen))
    con.register("_ids", frame[["source", "record_id", "entity_id", "provisional"]])
    gone = "AND entity_id IN (SELECT entity_id FROM gone_ids)" if delta else ""
    con.execute(f"DELETE FROM entity_ids WHERE entity = ? {gone}", [entity])
    con.execute(
        f"INSERT INTO entity_ids BY NAME SELECT '{entity}' AS entity, i.source, i.record_id, "
        "i.entity_id::VARCHAR AS entity_id, i.provisional::BOOLEAN AS provisional, "
        f"a.__digest AS digest, a.fetched_at FROM _ids i JOIN {all_table(entity)} a USING (source, record_id)"
    )
    # one copy of the records: with their entity id and each precedence ranking as columns
    rank_cols = "".join(f", {expr} AS {name}" for expr, name in ranks.items())
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE recs AS SELECT i.entity_id::VARCHAR AS entity_id, "
        f"r.* EXCLUDE (__digest){rank_cols} "
        f"FROM {all_table(entity)} r JOIN _ids i USING (source, record_id)"
    )
    con.unregister("_ids")
    out = []
    for amb in clusters.ambiguities:
        rec = frame.iloc[amb.record]
        out.append(
            (
                str(rec["source"]),
                str(rec["record_id"]),
                amb.rule,
                [ids[c] for c in amb.candidates],
                amb.reason,
            )
        )
    return out


def _taken(con: duckdb.DuckDBPyConnection, entity: str, candidates: list[str]) -> set[str]:
    """Of the ids derived for new clusters, those an entity not merged again holds."""
    if not candidates:
        return set()
    rows = con.execute(
        "SELECT DISTINCT entity_id FROM entity_ids WHERE entity = ? AND entity_id IN (SELECT unnest(?)) "
        "AND entity_id NOT IN (SELECT entity_id FROM gone_ids WHERE entity_id IS NOT NULL)",
        [entity, candidates],
    ).fetchall()
    return {r[0] for r in rows}


def record_uuid(entity: str, source: str, record_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{entity}:{source}:{record_id}"))


def _new_ids(
    frame: pd.DataFrame,
    entity: str,
    chosen: dict[int, str],
    taken: Callable[[list[str]], set[str]] | None = None,
) -> dict[int, str]:
    """Each cluster's id: the one it kept from the previous snapshot, else one derived from its
    first record (frame is sorted by source, record_id). A derived id already in use (the part
    of a split that did not keep the old id may start with the same record; `taken` names
    those held by entities outside `frame`) moves on to the cluster's next record, so two
    clusters never share an id."""
    used = set(chosen.values())
    ids = dict(chosen)
    first = frame.drop_duplicates("root")
    if taken is not None:
        fresh = frame[~frame["root"].isin(list(chosen))]
        used |= taken(
            [record_uuid(entity, s, r) for s, r in zip(fresh["source"], fresh["record_id"], strict=True)]
        )
    for root, src, rid in zip(first["root"], first["source"], first["record_id"], strict=True):
        if root in ids:
            continue
        candidate = record_uuid(entity, src, rid)
        if candidate in used:
            members = frame.loc[frame["root"] == root, ["source", "record_id"]].itertuples(index=False)
            candidate = next((u for s, r in members if (u := record_uuid(entity, s, r)) not in used), "")
            n = 0
            while not candidate or candidate in used or (taken is not None and taken([candidate])):
                n += 1
                candidate = str(uuid.uuid5(NAMESPACE, f"{entity}:split:{src}:{rid}:{n}"))
        used.add(candidate)
        ids[root] = candidate
    return ids


def _rank(config: Config, entity: str, field: str, stale: set[str]) -> str:
    """SQL ranking a record for one attribute: fresh before stale, then precedence, then newest."""
    order = config.precedence(entity, field)
    cases = " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(order))
    stale_sql = ", ".join(f"'{s}'" for s in stale) or "NULL"
    return (
        f"((CASE WHEN source IN ({stale_sql}) THEN 1000 ELSE 0 END + CASE source {cases} ELSE 999 END)"
        " * 1e11 - coalesce(epoch(fetched_at), 0))"
    )


def _json(expr: str, kind: str) -> str:
    """SQL turning a value into the JSON that provenance and conflicts carry."""
    if kind == "jsonb":
        return f"({expr})::JSON"
    if kind == "date":
        return f"to_json(strftime(({expr})::DATE, '%Y-%m-%d'))"
    if kind == "timestamptz":
        return f"to_json(strftime(timezone('UTC', {expr}), '%Y-%m-%dT%H:%M:%SZ'))"
    return f"to_json({expr})"


def _precedence(
    config: Config, table: Table, fields: list[str], stale: set[str]
) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """For each published field: the field whose precedence decides it (a cost's currency
    follows the cost), its ranking SQL, and one rank column name per distinct ranking."""
    types = {c.name for c in table.columns}
    published = [f for f in fields if f in types or f.endswith("_key")]
    decider = {f: c if (c := COMPANIONS.get(f, f)) in fields else f for f in published}
    orders = {f: _rank(config, table.name, by.removesuffix("_key"), stale) for f, by in decider.items()}
    ranks = {expr: f"__rank_{i}" for i, expr in enumerate(dict.fromkeys(orders.values()))}
    return decider, orders, ranks


def _merge(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    fields: list[str],
    plan: tuple[dict[str, str], dict[str, str], dict[str, str]],
) -> None:
    """Create temp table `merged_<entity>` (one row per entity) and fill provenance/conflicts.

    One GROUP BY over all records picks every attribute, remembers where it came from
    (`<field>__from`, the record's rowid) and whether its values differ (`<field>__n`);
    provenance and conflicts are then read off that table instead of grouping the records
    again per field."""
    types = {c.name: c.type for c in table.columns}
    decider, orders, ranks = plan
    selects = ["entity_id"]
    origin = "rowid"  # of the record a value came from: 8 bytes of state, not its strings
    provenance, conflicted, listed = [], [], []
    for f in decider:
        by, rank = decider[f], ranks[orders[f]]
        col, by_col = q(f), q(by)
        kind = types.get(f, "string")
        if kind in UNION_TYPES:
            selects.append(
                f"list_sort(list_distinct(flatten(list({col}) FILTER (WHERE {col} IS NOT NULL)))) AS {col}"
            )
            listed.append((f, col))
            continue
        present = f"FILTER (WHERE {by_col} IS NOT NULL AND {col} IS NOT NULL)"
        if kind in LATEST_TYPES:
            selects += [f"max({col}) AS {col}", f"arg_max({origin}, {col}) {present} AS {q(f + '__from')}"]
        else:
            selects += [
                f"arg_min({col}, {rank}) {present} AS {col}",
                f"arg_min({origin}, {rank}) {present} AS {q(f + '__from')}",
            ]
        if f.endswith("_key"):
            continue
        provenance.append(
            f"SELECT '{table.name}', m.entity_id, '{f}', r.source, r.record_id, {_json('m.' + col, kind)}, "
            f"r.fetched_at FROM merged_{table.name} m JOIN recs r ON r.rowid = m.{q(f + '__from')} "
            f"WHERE m.{col} IS NOT NULL"
        )
        if kind not in NO_CONFLICT_TYPES and f not in COMPANIONS:
            # differing values <=> min <> max: no per-group set of distinct values to hold
            selects.append(f"min({col}) <> max({col}) AS {q(f + '__n')}")
            conflicted.append((f, col, kind))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE merged_{table.name} AS SELECT {', '.join(selects)} "
        "FROM recs GROUP BY entity_id"
    )
    if provenance:
        con.execute("INSERT INTO pub.provenance " + " UNION ALL ".join(provenance))
    for f, col in listed:
        con.execute(
            f"INSERT INTO pub.provenance SELECT '{table.name}', entity_id, '{f}', source, record_id, "
            f"to_json({col}), fetched_at FROM recs WHERE {col} IS NOT NULL AND len({col}) > 0"
        )
    for f, col, kind in conflicted:
        con.execute(
            f"INSERT INTO pub.conflicts SELECT '{table.name}', r.entity_id, '{f}', r.source, "
            f"r.record_id, {_json('r.' + col, kind)} FROM recs r SEMI JOIN "
            f"(SELECT entity_id FROM merged_{table.name} WHERE {q(f + '__n')}) m "
            f"ON m.entity_id = r.entity_id WHERE r.{col} IS NOT NULL"
        )
    con.execute(
        f"INSERT INTO pub.record_sources SELECT '{table.name}', entity_id, source, record_id, "
        "fetched_at FROM recs"
    )


def _publish_entity(con: duckdb.DuckDBPyConnection, table: Table, fields: list[str]) -> int:
    select = []
    joins = []
    for c in table.columns:
        if c.name == "id":
            select.append("m.entity_id AS id")
            continue
        ref = next((r for r in table.references if f"{r.name}_id" == c.name), None)
        if ref is not None:
            key = f"{ref.name}_key"
            if key in fields:
                alias = f"k_{ref.name}"
                joins.append(
                    f"LEFT JOIN keys_{ref.target} {alias} ON {alias}.key = lower(m.{q(key)}) "
                    f"AND {alias}.n = 1"
                )
                select.append(f"{alias}.entity_id AS {q(c.name)}")
            else:
                select.append(f"NULL AS {q(c.name)}")
            continue
        select.append(f"m.{q(c.name)}" if c.name in fields else f"NULL AS {q(c.name)}")
    # in no particular order: the publisher rewrites the table in its storage order
    con.execute(
        f"INSERT INTO pub.{q(table.name)} BY NAME SELECT {', '.join(select)} "
        f"FROM merged_{table.name} m {' '.join(joins)}"
    )
    # references that matched several entities are reported, not guessed
    for ref in table.references:
        key = f"{ref.name}_key"
        if key not in fields:
            continue
        con.execute(
            f"INSERT INTO pub.ambiguities SELECT '{table.name}', NULL, m.entity_id, '{ref.name}', "
            f"NULL, '{ref.name} ' || m.{q(key)} || ' matches ' || k.n || ' {ref.target}; left empty' "
            f"FROM merged_{table.name} m JOIN keys_{ref.target} k ON k.key = lower(m.{q(key)}) "
            "WHERE k.n > 1"
        )
    if table.name == "license_assignments":
        # seats in use, where no source says: the license's assignments in the graph
        con.execute(
            "UPDATE pub.licenses SET seats_assigned = (SELECT count(*) FROM pub.license_assignments a "
            "WHERE a.license_id = licenses.id) WHERE seats_assigned IS NULL"
        )
    return con.execute(f"SELECT count(*) FROM pub.{q(table.name)}").fetchall()[0][0]


def reconcile(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    plan: Plan,
    fields: dict[str, list[str]],
    stale: dict[str, set[str]],
    *,
    remember: bool = True,
) -> ReconcileReport:
    """Build the unified tables into the attached `pub` database from the records stacked in
    `con` (`all_<entity>`, see stacking.py): into an empty file, or with `plan.incremental`
    into a copy of the last publish, merging again only what changed (delta.py). Every record's
    entity id is remembered, so ids survive the next sync; a publish made while a sync round
    is still reading (`remember=False`) gives new records provisional ids: the next publish
    derives them again from every record read, so an id never depends on which source
    happened to answer first."""
    counts = {}
    delta = plan.incremental
    for entity in reconcile_order():
        table = TABLES[entity]
        rules = identity_rules(config, table, fields[entity])
        precedence = _precedence(config, table, fields[entity], stale[entity])
        whole = entity in WHOLE
        if delta:
            con.execute(f"CREATE OR REPLACE TEMP TABLE changed_keys_{entity} (key VARCHAR)")
            seed(con, table, whole)
        for again in range(3):  # a person's manager changing: the people pointing at them
            if delta:
                affected(con, table, rules, set() if again else plan.patched.get(entity, set()), whole=whole)
                if not whole:  # counted against the records of the entities merged in part
                    plan.merged += con.execute("SELECT count(*) FROM todo").fetchall()[0][0]
                if not again and not whole:
                    remember_keys(con, entity, rules, delta=True)
            elif not whole:
                remember_keys(con, entity, rules, delta=False)
            ambiguities = _assign_ids(
                con, table, rules, plan.single[entity], precedence[2], delta=delta, provisional=not remember
            )
            if delta:
                clear_entity(con, entity, whole)
            if ambiguities:
                con.executemany(
                    "INSERT INTO pub.ambiguities VALUES (?, ?, ?, ?, ?, ?)",
                    [(entity, *a) for a in ambiguities],
                )
            _merge(con, table, fields[entity], precedence)
            entity_keys(con, table, fields[entity], delta=delta, referred=plan.referred[entity])
            counts[entity] = _publish_entity(con, table, fields[entity])
            if not delta or whole:
                break
            con.execute(
                "CREATE OR REPLACE TEMP TABLE seeds AS SELECT source, record_id FROM todo WHERE false"
            )
            if not seed_referrers(con, table, only_self=True):
                break
            con.execute(
                "DELETE FROM seeds WHERE (source, record_id) IN (SELECT (source, record_id) FROM todo)"
            )
            if not con.execute("SELECT count(*) FROM seeds").fetchall()[0][0]:
                break
            if again == 2:  # a chain of managers changing: the rest waits for the next publish
                log.warning("%s: references still resolving otherwise after 3 passes", entity)
        if delta and not whole:
            refresh_fetched(con, entity)
    if delta:
        con.execute("DELETE FROM pub.license_compliance")
    counts["license_compliance"] = publish_compliance(con)  # built from the tables above
    n_conf = con.execute("SELECT count(DISTINCT (entity_id, field)) FROM pub.conflicts").fetchall()[0][0]
    n_amb = con.execute("SELECT count(*) FROM pub.ambiguities").fetchall()[0][0]
    return ReconcileReport(counts, n_conf, n_amb, incremental=delta, merged_all_because=plan.reason)
