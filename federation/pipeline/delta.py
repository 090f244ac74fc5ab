"""Incremental reconciliation: which records a publish must merge again, and which it may
take as they are from the snapshot published before.

Every publish remembers, per record (store table `entity_ids`): the entity id it got, a
digest of its values and when it was fetched; its identity keys, hashed (`record_keys`); per
entity, the keys other entities point at it by (`ref_keys`, references.py); and, in
`reconcile_state`, a fingerprint of everything else that decides a merge (the sources and
their order, identity and precedence rules, which sources are stale, the published model)
with a token that is also written into the published file.

The next publish stacks every record again and compares digests. When the fingerprint is the
same, the file to build on carries the token, and few records changed, it copies that file and
merges again only:

- the records that changed, appeared or went, those with provisional ids, and those of
  entities a write patched since (the journal's entries);
- every record of the entities those belonged to, and every record sharing an identity key
  with any of them (a key it has, or had at the last publish), repeated until nothing is
  added: identity is decided within a set closed under "shares a key with", which gives what
  clustering everything would;
- the records whose reference now resolves differently (a person merged, split or gone: the
  assets pointing at them).

The rest of the copied snapshot stays. Tables whose rows are computed over a whole entity
(licenses' assigned seats, installations counted per product) are merged in full.

The modules of a publish hand work to each other through temp tables of the store's
connection, per entity in `reconcile_order`; `drop_scratch` drops them all when it ends:

- `all_<entity>` (stacking.stack_all): every record read, of all sources, with `__digest`;
  read by everything below.
- `changed_<entity>` (delta.changed_records): the (source, record_id) new, gone, changed or
  provisional; read by references.seed and delta.affected.
- `seeds` (references.seed, seed_referrers): the records to merge again before the closure;
  read by delta.affected.
- `todo`, `gone_ids` (delta.affected): the closed set to merge and the entity ids it held;
  read by reconcile, delta.clear_entity and references.
- `recs` (reconcile): the records merged, with their entity ids; `merged_<entity>`: one row
  per entity after precedence, published from there.
- `keys_<entity>`, `changed_keys_<entity>` (references.entity_keys): key → entity id (and how
  many it names), and the keys that now name another; read by reconcile's references and by
  seed_referrers.
- `refetched` (delta.refresh_fetched): records read again unchanged, with both fetch times.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb

from federation.config.settings import Config
from federation.model import TABLES, Table, reconcile_order
from federation.model import quote as q
from federation.pipeline.layout import published_indexes
from federation.pipeline.store import published_ddl

#: bump when what a publish remembers, or how it merges, changes meaning
VERSION = 3
#: more changed records than this share of all of them: merging everything is as quick
MAX_CHANGED = 0.2
#: entities merged in full even in an incremental publish: columns computed over the whole
#: entity (a license's seats from its assignments; installations counted per product)
WHOLE = frozenset({"licenses", "license_assignments", "software_installations"})

#: what Python's str.strip() takes off and DuckDB's trim() does not by default
BLANKS = "' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(160)"

STATE_DDL = """
CREATE TABLE IF NOT EXISTS reconcile_state (token VARCHAR, fingerprint VARCHAR);
ALTER TABLE reconcile_state ADD COLUMN IF NOT EXISTS appended BIGINT DEFAULT 0;
CREATE TABLE IF NOT EXISTS ref_keys (entity VARCHAR, key VARCHAR, entity_id VARCHAR, n BIGINT);
CREATE TABLE IF NOT EXISTS record_keys (entity VARCHAR, rec UBIGINT, rule INTEGER, k UBIGINT);
ALTER TABLE entity_ids ADD COLUMN IF NOT EXISTS provisional BOOLEAN DEFAULT false;
ALTER TABLE entity_ids ADD COLUMN IF NOT EXISTS digest UBIGINT;
ALTER TABLE entity_ids ADD COLUMN IF NOT EXISTS fetched_at TIMESTAMPTZ;
"""


def all_table(entity: str) -> str:
    """The temp table holding every record of `entity`, stacked, with its digest."""
    return f"all_{entity}"


@dataclass
class Plan:
    """How a publish merges: everything, or (`incremental`) only what changed."""

    fingerprint: str
    incremental: bool
    #: why everything is merged (said in the log)
    reason: str = ""
    #: the token the file built on must carry
    token: str | None = None
    #: records that changed since the last publish, of all records
    changed: int = 0
    total: int = 0
    #: records merged again by the incremental publishes since the last full one, before this
    appended: int = 0
    #: records this publish merges again (the closures of what changed, whole entities)
    merged: int = 0
    #: entity ids a write patched since the last read of their source (journal entries)
    patched: dict[str, set[str]] = field(default_factory=dict)
    #: per entity, per identity rule: whether its key is one value per record, over them all
    single: dict[str, list[bool]] = field(default_factory=dict)
    #: per entity: whether another entity's records point at it (its keys are kept)
    referred: dict[str, bool] = field(default_factory=dict)

    def fall_back(self, reason: str) -> None:
        self.incremental, self.reason = False, reason


def fingerprint(config: Config, stale: dict[str, set[str]], shape: dict[str, object]) -> str:
    """What, besides the records, decides a merge."""
    doc = {
        "version": VERSION,
        "duckdb": duckdb.__version__,  # digests and keys are its hash()
        "shape": shape,
        "sources": [s.name for s in config.sources],
        "rules": {e: config.rules(e).model_dump(mode="json", exclude={"home"}) for e in TABLES},
        "stale": {e: sorted(s) for e, s in sorted(stale.items())},
        "ddl": published_ddl(),
        "indexes": published_indexes(),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def plan(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    rules: dict[str, list[list[str]]],
    fields: dict[str, list[str]],
    stale: dict[str, set[str]],
    patched: Iterable[tuple[str, str]],
    *,
    base_exists: bool,
) -> Plan:
    """Decide between an incremental and a full publish (every entity's records are stacked
    into `all_<entity>` already, `fields` their columns, `rules` their identity rules);
    `patched`: (entity, entity id) of the journal's writes."""
    con.execute(STATE_DDL)
    single, referred = shape(con, rules, fields)
    fp = fingerprint(config, stale, {"single": single, "referred": referred, "rules": rules})
    found = con.execute("SELECT token, fingerprint, appended FROM reconcile_state").fetchall()
    result = Plan(fingerprint=fp, incremental=False, single=single, referred=referred)
    for entity, entity_id in patched:
        result.patched.setdefault(entity, set()).add(entity_id)
    if not base_exists:
        result.reason = "nothing published yet"
    elif not found or found[0][0] is None:
        result.reason = "no completed publish to build on"
    elif found[0][1] != fp:
        result.reason = "the sources, rules, stale sources or model changed"
    else:
        result.token = found[0][0]
        for entity in reconcile_order():
            if entity in WHOLE:
                continue
            result.total += con.execute(f"SELECT count(*) FROM {all_table(entity)}").fetchall()[0][0]
            result.changed += changed_records(con, entity)
        result.appended = found[0][2] or 0
        if result.changed > MAX_CHANGED * max(result.total, 1):
            result.reason = f"{result.changed:,} of {result.total:,} records changed"
        elif result.appended + result.changed > MAX_CHANGED * max(result.total, 1):
            # what incremental publishes merged again is appended out of storage order: once
            # it is a fifth of the file, pages would read it all; write the file in order again
            result.reason = f"{result.appended:,} records merged again since the last full merge"
        else:
            result.incremental = True
    # a publish that fails half way must not be built on: the token comes back at its end
    con.execute("DELETE FROM reconcile_state")
    return result


def changed_records(con: duckdb.DuckDBPyConnection, entity: str) -> int:
    """Fill temp table `changed_<entity>`: records new, gone, changed or provisionally
    identified since the last publish; and those read again unchanged whose entity holds
    another record of their source (between those the newer fetch wins: it may win now)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE changed_{entity} AS SELECT source, record_id FROM "
        f"{all_table(entity)} a FULL OUTER JOIN (SELECT * FROM entity_ids WHERE entity = '{entity}') e "
        "USING (source, record_id) WHERE a.__digest IS DISTINCT FROM e.digest OR e.provisional "
        "OR (a.fetched_at IS DISTINCT FROM e.fetched_at AND (e.entity_id, e.source) IN "
        f"(SELECT (entity_id, source) FROM entity_ids WHERE entity = '{entity}' "
        "GROUP BY entity_id, source HAVING count(*) > 1))"
    )
    return con.execute(f"SELECT count(*) FROM changed_{entity}").fetchall()[0][0]


def remember(con: duckdb.DuckDBPyConnection, done: Plan) -> str:
    """The publish succeeded in building: remember its fingerprint; return its token."""
    token = uuid.uuid4().hex
    appended = done.appended + done.merged if done.incremental else 0
    con.execute("DELETE FROM reconcile_state")
    con.execute("INSERT INTO reconcile_state VALUES (?, ?, ?)", [token, done.fingerprint, appended])
    return token


def publish_provisional(con: duckdb.DuckDBPyConnection) -> None:
    """Table `provisional_ids` of the attached `pub`: the entities a publish made while a round
    still read gave ids that the round's last publish may give otherwise (writes refuse them:
    a write by an id that then vanished would leave its history and patch behind)."""
    con.execute("CREATE TABLE IF NOT EXISTS pub.provisional_ids (entity VARCHAR, entity_id VARCHAR)")
    con.execute("DELETE FROM pub.provisional_ids")
    con.execute(
        "INSERT INTO pub.provisional_ids SELECT DISTINCT entity, entity_id FROM entity_ids "
        "WHERE provisional ORDER BY ALL"
    )


def shape(
    con: duckdb.DuckDBPyConnection, rules: dict[str, list[list[str]]], fields: dict[str, list[str]]
) -> tuple[dict[str, list[bool]], dict[str, bool]]:
    """Per entity: which identity rules are single-valued, and whether anything points at it."""
    single = {e: single_valued(con, e, r) for e, r in rules.items()}
    referred = {
        t.name: any(
            f"{ref.name}_key" in fields.get(other.name, [])
            for other in TABLES.values()
            for ref in other.references
            if ref.target == t.name
        )
        for t in TABLES.values()
        if t.name in fields
    }
    return single, referred


def full_plan(
    con: duckdb.DuckDBPyConnection, rules: dict[str, list[list[str]]], fields: dict[str, list[str]]
) -> Plan:
    """A plan merging every record, remembering nothing for the next publish to build on."""
    con.execute(STATE_DDL)
    con.execute("DELETE FROM reconcile_state")
    single, referred = shape(con, rules, fields)
    return Plan(fingerprint="", incremental=False, reason="asked", single=single, referred=referred)


def single_valued(con: duckdb.DuckDBPyConnection, entity: str, rules: list[list[str]]) -> list[bool]:
    """Per rule: whether no record has two values for it (a list field with two MACs makes
    the rule weak: it merges but never vetoes a merge)."""
    types = dict((r[0], r[1]) for r in con.execute(f"DESCRIBE {all_table(entity)}").fetchall())
    out = []
    for rule in rules:
        lists = [f for f in rule if types.get(f, "").endswith("[]")]
        many = " OR ".join(
            f"len(list_filter({q(f)}, lambda x: nullif(lower(trim(x::VARCHAR, {BLANKS})), '') "
            "IS NOT NULL)) > 1"
            for f in lists
        )
        out.append(
            not lists
            or not con.execute(f"SELECT count(*) FROM {all_table(entity)} WHERE {many}").fetchall()[0][0]
        )
    return out


def carries(con: duckdb.DuckDBPyConnection, token: str | None) -> bool:
    """Whether the attached copy `pub` is the publish `token` was given to (or a copy a write
    patched since)."""
    try:
        rows = con.execute("SELECT reconcile_token FROM pub.publish_info").fetchall()
    except duckdb.Error:
        return False  # a file published before publishes were tokened
    return token is not None and [r[0] for r in rows] == [token]


# ------------------------------------------------------------------- the records to merge


def _key_selects(
    con: duckdb.DuckDBPyConnection, entity: str, rules: list[list[str]], records: str
) -> list[str]:
    """Per identity rule, SQL giving (source, record_id, rule, k) of the records of `entity`
    in `records` (a table or a query of `all_<entity>`) with a key for it, `k` at least as
    coarse as federation.pipeline.identity's comparison (case and surrounding blanks ignored,
    empty text no key; a list gives a row per element; a rule of several fields with a list
    in it keys on the others)."""
    types = dict((r[0], r[1]) for r in con.execute(f"DESCRIBE {all_table(entity)}").fetchall())

    def norm(expr: str) -> str:
        return f"nullif(lower(trim(({expr})::VARCHAR, {BLANKS})), '')"

    out = []
    for i, rule in enumerate(rules):
        if not rule or any(f not in types for f in rule):
            continue
        lists = [f for f in rule if types[f].endswith("[]")]
        if len(rule) == 1 and lists:
            out.append(
                f"SELECT source, record_id, {i} AS rule, {norm('v')} AS k FROM "
                f"(SELECT source, record_id, unnest({q(rule[0])}) AS v FROM {records})"
            )
            continue
        parts = [norm(q(f)) for f in rule if f not in lists]
        key = parts[0] if len(parts) == 1 else "concat_ws(chr(31), " + ", ".join(parts) + ")"
        present = " AND ".join(f"{q(f)} IS NOT NULL" for f in rule if f not in lists)
        out.append(f"SELECT source, record_id, {i} AS rule, {key} AS k FROM {records} WHERE {present}")
    return [f"SELECT * FROM ({s}) WHERE k IS NOT NULL" for s in out]


def remember_keys(
    con: duckdb.DuckDBPyConnection, entity: str, rules: list[list[str]], *, delta: bool
) -> None:
    """Keep every record's identity keys in the store (`record_keys`): all of them, or with
    `delta` those of the records that changed (the next closure reads the old ones too).
    Records and keys are kept as 64-bit hashes (two keys colliding only make a closure larger;
    two records colliding, at odds of about n²/2⁶⁴, would share their remembered keys)."""
    if delta:
        records = f"(SELECT * FROM {all_table(entity)} SEMI JOIN changed_{entity} USING (source, record_id))"
        con.execute(
            "DELETE FROM record_keys WHERE entity = ? AND rec IN "
            f"(SELECT hash(source, record_id) FROM changed_{entity})",
            [entity],
        )
    else:
        records = all_table(entity)
        con.execute("DELETE FROM record_keys WHERE entity = ?", [entity])
    for select in _key_selects(con, entity, rules, records):
        con.execute(
            f"INSERT INTO record_keys SELECT '{entity}', hash(source, record_id), rule, hash(k) "
            f"FROM ({select})"
        )


def affected(
    con: duckdb.DuckDBPyConnection, table: Table, rules: list[list[str]], patched: set[str], *, whole: bool
) -> None:
    """Temp table `todo` (source, record_id): the records to merge again, from the seeds in
    `seeds`, closed under "belonged to the same entity" and "shares an identity key"; and
    `gone_ids`: the entity ids they had (to delete from the copied snapshot). `whole`: every
    record of the entity."""
    entity = table.name
    if whole:
        con.execute(f"CREATE OR REPLACE TEMP TABLE todo AS SELECT source, record_id FROM {all_table(entity)}")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE gone_ids AS SELECT DISTINCT entity_id FROM entity_ids "
            f"WHERE entity = '{entity}'"
        )
        return
    if patched:
        con.execute("CREATE OR REPLACE TEMP TABLE _patched (entity_id VARCHAR)")
        con.executemany("INSERT INTO _patched VALUES (?)", [[i] for i in sorted(patched)])
        con.execute(
            f"INSERT INTO seeds SELECT source, record_id FROM entity_ids WHERE entity = '{entity}' "
            "AND entity_id IN (SELECT entity_id FROM _patched)"
        )
    con.execute("CREATE OR REPLACE TEMP TABLE todo AS SELECT DISTINCT source, record_id FROM seeds")
    # the keys the records have now and had at the last publish (a key a record gave up may
    # have been what kept another from merging: that one is decided again too)
    changed = f"(SELECT * FROM {all_table(entity)} SEMI JOIN changed_{entity} USING (source, record_id))"
    fresh = [
        f"SELECT hash(source, record_id) AS rec, rule, hash(k) AS k FROM ({s})"
        for s in _key_selects(con, entity, rules, changed)
    ] or ["SELECT 0::UBIGINT AS rec, 0 AS rule, 0::UBIGINT AS k WHERE false"]
    con.execute("CREATE OR REPLACE TEMP TABLE fresh_idkeys AS " + " UNION ALL ".join(fresh))
    con.execute(
        "CREATE OR REPLACE TEMP VIEW idkeys AS SELECT rec, rule, k FROM record_keys "
        f"WHERE entity = '{entity}' UNION ALL SELECT * FROM fresh_idkeys"
    )
    size = -1
    while True:
        now = con.execute("SELECT count(*) FROM todo").fetchall()[0][0]
        if now == size:
            break
        size = now
        con.execute(
            "CREATE OR REPLACE TEMP TABLE todo AS SELECT source, record_id FROM todo UNION "
            f"SELECT e.source, e.record_id FROM entity_ids e WHERE e.entity = '{entity}' AND e.entity_id IN "
            f"(SELECT entity_id FROM entity_ids i SEMI JOIN todo t USING (source, record_id) "
            f"WHERE i.entity = '{entity}') UNION "
            f"SELECT source, record_id FROM {all_table(entity)} WHERE hash(source, record_id) IN "
            "(SELECT rec FROM idkeys SEMI JOIN (SELECT DISTINCT rule, k FROM idkeys WHERE rec IN "
            "(SELECT hash(source, record_id) FROM todo)) s USING (rule, k))"
        )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE gone_ids AS SELECT DISTINCT entity_id FROM entity_ids "
        f"SEMI JOIN todo USING (source, record_id) WHERE entity = '{entity}'"
    )
    if patched:
        con.execute("INSERT INTO gone_ids SELECT entity_id FROM _patched")


# ------------------------------------------------------------------------ the copied file


def clear_entity(con: duckdb.DuckDBPyConnection, entity: str, whole: bool) -> None:
    """Delete from the copied snapshot (`pub`) the rows of the entities merged again."""
    if whole:
        con.execute(f"DELETE FROM pub.{q(entity)}")
        for aux in ("record_sources", "provenance", "conflicts", "ambiguities"):
            con.execute(f"DELETE FROM pub.{aux} WHERE entity = '{entity}'")
        return
    con.execute(
        "INSERT INTO gone_ids SELECT DISTINCT entity_id FROM recs "
        "WHERE entity_id NOT IN (SELECT entity_id FROM gone_ids WHERE entity_id IS NOT NULL)"
    )
    con.execute(f"DELETE FROM pub.{q(entity)} WHERE id IN (SELECT entity_id FROM gone_ids)")
    for aux in ("record_sources", "provenance", "conflicts"):
        con.execute(
            f"DELETE FROM pub.{aux} WHERE entity = '{entity}' "
            "AND entity_id IN (SELECT entity_id FROM gone_ids)"
        )
    con.execute(
        f"DELETE FROM pub.ambiguities WHERE entity = '{entity}' AND ((source IS NULL AND record_id IN "
        "(SELECT entity_id FROM gone_ids)) OR (source, record_id) IN (SELECT (source, record_id) FROM todo))"
    )


def refresh_fetched(con: duckdb.DuckDBPyConnection, entity: str) -> None:
    """Records read again unchanged: their provenance says when they were read last. A full
    read moves every record of a source from one fetch time to another: one UPDATE by that
    time, instead of a join per record, when no other record of the source has it."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE refetched AS SELECT a.source, a.record_id, "
        f"e.fetched_at AS was, a.fetched_at FROM {all_table(entity)} a JOIN entity_ids e "
        f"ON e.entity = '{entity}' AND e.source = a.source AND e.record_id = a.record_id "
        "WHERE a.fetched_at IS DISTINCT FROM e.fetched_at"
    )
    moves = con.execute(
        "SELECT r.source, r.was, r.fetched_at, r.n, (SELECT count(*) FROM entity_ids e WHERE e.entity = ? "
        "AND e.source = r.source AND e.fetched_at IS NOT DISTINCT FROM r.was) AS holding FROM "
        "(SELECT source, was, fetched_at, count(*) AS n FROM refetched GROUP BY ALL) r",
        [entity],
    ).fetchall()
    for source, was, at, n, holding in moves:
        if n != holding or was is None:
            continue
        for table in ("pub.record_sources", "pub.provenance", "entity_ids"):
            con.execute(
                f"UPDATE {table} SET fetched_at = ? WHERE entity = ? AND source = ? AND fetched_at = ?",
                [at, entity, source, was],
            )
        con.execute(
            "DELETE FROM refetched WHERE source = ? AND was = ? AND fetched_at = ?", [source, was, at]
        )
    if not con.execute("SELECT count(*) FROM refetched").fetchall()[0][0]:
        return
    for table in ("pub.record_sources", "pub.provenance", "entity_ids"):
        con.execute(
            f"UPDATE {table} AS p SET fetched_at = f.fetched_at FROM refetched f WHERE p.entity = "
            f"'{entity}' AND p.source = f.source AND p.record_id = f.record_id"
        )


def clear_all(con: duckdb.DuckDBPyConnection) -> None:
    """Empty every table of the copied snapshot (a publish that must merge everything after all)."""
    for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'pub'"
    ).fetchall():
        con.execute(f"DELETE FROM pub.{q(name)}")


def drop_scratch(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the temp tables and views a publish made (every record of the estate, stacked and
    merged): the store's connection lives on between syncs and would hold them in memory."""
    for name, kind in con.execute(
        "SELECT table_name, 'TABLE' FROM duckdb_tables() WHERE temporary UNION ALL "
        "SELECT view_name, 'VIEW' FROM duckdb_views() WHERE temporary AND NOT internal"
    ).fetchall():
        con.execute(f"DROP {kind} IF EXISTS temp.{q(name)}")
