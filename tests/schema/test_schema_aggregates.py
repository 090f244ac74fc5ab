"""`T_aggregate`: count, count(columns, distinct), sum/avg/min/max, group_by, relation
aggregates. Expected values are worked out by hand from the seed (see conftest)."""

from __future__ import annotations

from typing import Any

import pytest

# costs of the 17 costed assets sum to 41500
TOTAL_COST = 41500.0


@pytest.mark.parametrize(
    ("args", "fields", "expected"),
    [
        pytest.param("", "count", {"count": 20}, id="count"),
        pytest.param(
            "", "count(columns: [hostname])", {"count": 14}, id="count-column-skips-nulls"
        ),
        pytest.param(
            "", "count(columns: [manufacturer], distinct: true)", {"count": 8}, id="count-distinct"
        ),
        pytest.param(
            "", "count(columns: [category, status], distinct: true)", {"count": 15},
            id="count-distinct-pairs",
        ),
        pytest.param(
            "", "sum { cost } avg { cost } min { cost } max { cost }",
            {"sum": {"cost": TOTAL_COST}, "avg": {"cost": pytest.approx(TOTAL_COST / 17)},
             "min": {"cost": 400.0}, "max": {"cost": 12000.0}},
            id="cost-stats",
        ),
        pytest.param(
            "", "min { purchase_date hostname last_seen } max { purchase_date hostname last_seen }",
            {"min": {"purchase_date": "2015-01-01", "hostname": "desk-001",
                     "last_seen": "2024-04-30T23:00:00+00:00"},
             "max": {"purchase_date": "2024-02-29", "hostname": "vm-002",
                     "last_seen": "2024-05-02T07:30:00+00:00"}},
            id="min-max-date-string-timestamp",
        ),
        pytest.param(
            '(where: {category: {_eq: "laptop"}})', "count sum { cost } avg { cost }",
            {"count": 5, "sum": {"cost": 8500.0}, "avg": {"cost": 1700.0}}, id="filtered",
        ),
        pytest.param(
            "(order_by: [{cost: desc_nulls_last}], limit: 3)", "count sum { cost }",
            {"count": 3, "sum": {"cost": 25000.0}}, id="limited-as-hasura",
        ),
        pytest.param(
            "(order_by: [{cost: asc}], limit: 2, offset: 1)", "count sum { cost }",
            {"count": 2, "sum": {"cost": 900.0}}, id="offset",
        ),
        pytest.param(
            '(search: "lap")', "count", {"count": 5}, id="search",
        ),
        pytest.param(
            '(where: {category: {_eq: "nothing"}})', "count sum { cost } max { hostname }",
            {"count": 0, "sum": {"cost": None}, "max": {"hostname": None}}, id="empty",
        ),
        pytest.param(
            "(distinct_on: [category])", "count", {"count": 8}, id="distinct-on",
        ),
        pytest.param(
            '(where: {assigned_to: {department: {_eq: "IT"}}})', "count sum { cost }",
            {"count": 8, "sum": {"cost": 29500.0}}, id="relation-filter",
        ),
    ],
)  # fmt: skip
def test_aggregate(run: Any, args: str, fields: str, expected: dict[str, Any]) -> None:
    data = run.data(f"{{ assets_aggregate{args} {{ aggregate {{ {fields} }} }} }}")
    assert data["assets_aggregate"]["aggregate"] == expected


def test_aggregate_count_aliases(run: Any) -> None:
    data = run.data(
        "{ assets_aggregate { aggregate { all: count costed: count(columns: [cost]) "
        "makers: count(columns: [manufacturer], distinct: true) } } }"
    )
    assert data["assets_aggregate"]["aggregate"] == {"all": 20, "costed": 17, "makers": 8}


def test_aggregate_nodes_follow_the_same_rows(run: Any) -> None:
    data = run.data(
        '{ assets_aggregate(where: {category: {_eq: "server"}}, order_by: [{cost: desc}]) '
        "{ aggregate { count } nodes { hostname } } }"
    )
    agg = data["assets_aggregate"]
    assert agg["aggregate"]["count"] == 3
    assert [n["hostname"] for n in agg["nodes"]] == ["srv-003", "srv-001", "srv-002"]


CATEGORY_STATUS = {
    ("desktop", "in_use"): 1, ("desktop", "retired"): 1,
    ("laptop", "in_repair"): 1, ("laptop", "in_stock"): 1, ("laptop", "in_use"): 3,
    ("monitor", "in_stock"): 1, ("monitor", "in_use"): 1,
    ("network", "in_use"): 2,
    ("phone", "in_use"): 2, ("phone", "lost"): 1,
    ("server", "in_use"): 2, ("server", "retired"): 1,
    ("tablet", "in_use"): 1,
    ("virtual_machine", "in_use"): 1, ("virtual_machine", "ordered"): 1,
}  # fmt: skip


def test_group_by_category_and_status(run: Any) -> None:
    data = run.data("{ assets_aggregate { group_by(fields: [category, status]) { keys count } } }")
    groups = data["assets_aggregate"]["group_by"]
    assert [tuple(g["keys"].values()) for g in groups] == sorted(CATEGORY_STATUS)
    assert {(g["keys"]["category"], g["keys"]["status"]): g["count"] for g in groups} == (CATEGORY_STATUS)


def test_group_counts_agree_with_lists(run: Any) -> None:
    data = run.data("{ assets_aggregate { group_by(fields: [category, status]) { keys count } } }")
    for group in data["assets_aggregate"]["group_by"]:
        keys = group["keys"]
        rows = run.data(
            "query($c: String, $s: String) { assets(where: {category: {_eq: $c}, "
            "status: {_eq: $s}}) { id } }",
            {"c": keys["category"], "s": keys["status"]},
        )["assets"]
        assert len(rows) == group["count"], keys


def test_group_by_with_stats(run: Any) -> None:
    data = run.data(
        "{ assets_aggregate { group_by(fields: [category]) { keys count sum { cost } "
        "max { purchase_date } } } }"
    )
    got = {
        g["keys"]["category"]: (g["count"], g["sum"]["cost"], g["max"]["purchase_date"])
        for g in data["assets_aggregate"]["group_by"]
    }
    assert got == {
        "desktop": (2, 1600.0, "2021-09-09"),
        "laptop": (5, 8500.0, "2024-01-05"),
        "monitor": (2, 800.0, "2023-07-07"),
        "network": (2, 7000.0, "2021-02-02"),
        "phone": (3, 2100.0, "2024-02-29"),
        "server": (3, 21000.0, "2022-11-12"),
        "tablet": (1, 500.0, "2023-06-06"),
        "virtual_machine": (2, None, None),
    }


def test_group_by_null_key_and_date_key(run: Any) -> None:
    data = run.data(
        '{ assets_aggregate(where: {category: {_eq: "monitor"}}) '
        "{ a: group_by(fields: [purchase_date]) { keys count } "
        "b: group_by(fields: [assigned_to_id]) { keys count } } }"
    )
    agg = data["assets_aggregate"]
    assert agg["a"] == [{"keys": {"purchase_date": "2023-07-07"}, "count": 2}]
    assert [g["count"] for g in agg["b"]] == [1, 1]
    assert agg["b"][-1]["keys"] == {"assigned_to_id": None}


def test_group_by_needs_fields(run: Any) -> None:
    error = run.error("{ assets_aggregate { group_by(fields: []) { count } } }")
    assert error.extensions["code"] == "BAD_USER_INPUT"
    assert "group_by needs at least one field" in error.message


def test_relation_aggregates(run: Any) -> None:
    data = run.data(
        "{ people(order_by: [{email: asc}]) { email assets_aggregate { aggregate { count sum { cost } } } } }"
    )
    got = {
        p["email"].split("@")[0]: (
            p["assets_aggregate"]["aggregate"]["count"],
            p["assets_aggregate"]["aggregate"]["sum"]["cost"],
        )
        for p in data["people"]
    }
    assert got == {
        "alice": (3, 14300.0),
        "bob": (5, 15200.0),
        "carol": (2, 2900.0),
        "dave": (1, 1200.0),
        "erin": (2, 1500.0),
        "frank": (1, 500.0),
    }


def test_relation_aggregate_with_where_and_nodes(run: Any) -> None:
    data = run.data(
        "{ locations(order_by: [{name: asc}]) { name assets_aggregate(where: {status: {_eq: "
        '"in_use"}}) { aggregate { count } nodes { hostname } } } }'
    )
    got = {loc["name"]: loc["assets_aggregate"]["aggregate"]["count"] for loc in data["locations"]}
    assert got == {"DC1": 5, "HQ": 6, "Store Room": 0}
    store = data["locations"][2]["assets_aggregate"]
    assert store["nodes"] == []
