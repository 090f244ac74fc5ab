"""`apply` lays patches set-wise (a few statements per round, table and column); it must leave
the published tables as laying each patch alone, value by value, did: `_one_by_one` below is
that former code, kept as the specification. Hypothesis draws sequences of updates, inserts
and deletes over a few entities (one entity patched several times, by several sources, with
values of every type and None), over a snapshot with provenance and conflicts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.model import DUCKDB_TYPES, TABLES
from federation.pipeline.patches import Patch, apply
from federation.pipeline.store import published_ddl

IDS = ["a1", "a2", "a3", "a4"]
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _snapshot() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("ATTACH ':memory:' AS pub")
    for ddl in published_ddl("pub."):
        con.execute(ddl)
    for i, entity_id in enumerate(IDS[:3]):
        con.execute(
            'INSERT INTO pub."assets" (id, asset_tag, status, cost) VALUES (?, ?, ?, ?)',
            [entity_id, f"T{i}", "in_stock", 100 * i],
        )
        con.execute(
            "INSERT INTO pub.record_sources VALUES ('assets', ?, 'cmdb', ?, ?)", [entity_id, f"r{i}", T0]
        )
        for field, value in (("status", "in_stock"), ("cost", 100 * i)):
            con.execute(
                "INSERT INTO pub.provenance VALUES ('assets', ?, ?, 'cmdb', ?, ?::JSON, ?)",
                [entity_id, field, f"r{i}", json.dumps(value), T0],
            )
        for source, value in (("cmdb", 100 * i), ("finance", 100 * i + 1)):
            con.execute(
                "INSERT INTO pub.conflicts VALUES ('assets', ?, 'cost', ?, ?, ?::JSON)",
                [entity_id, source, f"r{i}" if source == "cmdb" else f"f{i}", json.dumps(value)],
            )
    return con


_values = st.fixed_dictionaries(
    {},
    optional={
        "status": st.sampled_from(["in_use", "in_stock", "in_repair", None]),
        "cost": st.one_of(st.none(), st.sampled_from([0, 1, 101.5, 200])),
        "purchase_date": st.sampled_from(["2024-01-31", None]),
        "mac_addresses": st.sampled_from([["aa:bb:cc:dd:ee:ff"], [], None]),
        "attributes": st.sampled_from([{"ram": 16}, {"a": [1, "x"]}, None]),
        "last_seen": st.sampled_from(["2024-05-01T08:00:00+00:00", None]),
        "location_id": st.sampled_from(["l1", "l2", None]),
    },
)
_patch = st.builds(
    lambda n, source, entity_id, values, action: Patch(
        (T0 + timedelta(seconds=n)).isoformat(),
        source,
        "assets",
        entity_id,
        {"cmdb": "r", "finance": "f"}[source] + entity_id[1:],
        values if action != "delete" else {},
        action,
    ),
    st.integers(0, 1000),
    st.sampled_from(["cmdb", "finance"]),
    st.sampled_from(IDS),
    _values,
    st.sampled_from(["update", "update", "update", "insert", "delete"]),
)


def _dump(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    out = {}
    for name in ("assets", "record_sources", "provenance", "conflicts"):
        rows = con.execute(f'SELECT * FROM pub."{name}"').fetchall()
        out[name] = sorted(rows, key=repr)
    return out


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(patches=st.lists(_patch, min_size=1, max_size=10))
def test_set_wise_patches_leave_what_each_patch_laid_alone_leaves(patches: list[Patch]) -> None:
    together, alone = _snapshot(), _snapshot()
    try:
        apply(together, patches)
        _one_by_one(alone, patches)
        assert _dump(together) == _dump(alone)
    finally:
        together.close()
        alone.close()


def test_many_patches_in_one_publish_take_a_few_statements() -> None:
    """The point of it: 300 patches of 3 columns each, not 300 x 3 x 5 statements."""
    con = _snapshot()
    patches = [
        Patch(T0.isoformat(), "cmdb", "assets", IDS[i % 3], f"r{i % 3}", {"status": "in_use", "cost": i})
        for i in range(3)
    ] + [
        Patch(T0.isoformat(), "cmdb", "assets", f"n{i}", f"r{i}", {"status": "in_use"}, "insert")
        for i in range(300)
    ]
    calls: list[str] = []

    class Counting:
        def execute(self, sql: str, params: Sequence[Any] | None = None) -> Any:
            calls.append(sql)
            return con.execute(sql, params)

    apply(Counting(), patches)  # type: ignore[arg-type]
    assert len(calls) < 30, len(calls)
    assert con.execute("SELECT count(*) FROM pub.assets WHERE status = 'in_use'").fetchall() == [(303,)]


# ----------------------------------------------------------------------------- the former code
def _one_by_one(con: duckdb.DuckDBPyConnection, patches: Sequence[Patch], prefix: str = "pub.") -> None:
    for patch in patches:
        table = TABLES[patch.entity]
        if patch.action == "delete":
            con.execute(f'DELETE FROM {prefix}"{patch.entity}" WHERE id = ?', [patch.entity_id])
            for aux in ("record_sources", "provenance", "conflicts"):
                con.execute(
                    f"DELETE FROM {prefix}{aux} WHERE entity = ? AND entity_id = ?",
                    [patch.entity, patch.entity_id],
                )
            continue
        if patch.action == "insert":
            name = f'{prefix}"{patch.entity}"'
            if not con.execute(f"SELECT 1 FROM {name} WHERE id = ?", [patch.entity_id]).fetchall():
                con.execute(f"INSERT INTO {name} (id) VALUES (?)", [patch.entity_id])
                con.execute(
                    f"INSERT INTO {prefix}record_sources VALUES (?, ?, ?, ?, ?::TIMESTAMPTZ)",
                    [patch.entity, patch.entity_id, patch.source, patch.record_id, patch.at],
                )
        for column, value in patch.values.items():
            type_ = DUCKDB_TYPES[table.column(column).type]
            param = (
                None if value is None else json.dumps(value, ensure_ascii=False) if type_ == "JSON" else value
            )
            con.execute(
                f'UPDATE {prefix}"{table.name}" SET "{column}" = CAST(? AS {type_}) WHERE id = ?',
                [param, patch.entity_id],
            )
            if column in {f"{r.name}_id" for r in table.references}:
                continue
            text = json.dumps(value, ensure_ascii=False, default=str) if value is not None else None
            key = [patch.entity, patch.entity_id, column]
            con.execute(
                f"DELETE FROM {prefix}provenance WHERE entity = ? AND entity_id = ? AND field = ?", key
            )
            if value is not None:
                con.execute(
                    f"INSERT INTO {prefix}provenance VALUES (?, ?, ?, ?, ?, ?::JSON, ?::TIMESTAMPTZ)",
                    [*key, patch.source, patch.record_id, text, patch.at],
                )
            con.execute(
                f"UPDATE {prefix}conflicts SET value = ?::JSON "
                "WHERE entity = ? AND entity_id = ? AND field = ? AND source = ? AND record_id = ?",
                [text, *key, patch.source, patch.record_id],
            )
            con.execute(
                f"DELETE FROM {prefix}conflicts WHERE entity = ? AND entity_id = ? AND field = ? AND "
                f"(SELECT count(DISTINCT value::VARCHAR) FROM {prefix}conflicts "
                "WHERE entity = ? AND entity_id = ? AND field = ?) <= 1",
                [*key, *key],
            )
