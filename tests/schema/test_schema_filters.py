"""`where` filters: every operator per type, boolean logic, relationships, search."""

from __future__ import annotations

from typing import Any

import pytest
from schema_estate import aid, lid, pid

from federation.access.policy import unrestricted
from federation.model import Column, Table
from schema.build import build_schema

ALL = set(range(1, 21))
HOSTNAMED = ALL - set(range(13, 19))
COSTED = ALL - {10, 19, 20}


def numbers(rows: list[dict[str, Any]]) -> set[int]:
    return {int(r["id"][-12:]) for r in rows}


def where(run: Any, exp: str, **extra: str) -> set[int]:
    args = ", ".join(f"{k}: {v}" for k, v in extra.items())
    query = f"{{ assets(where: {exp}, limit: 100{', ' + args if args else ''}) {{ id }} }}"
    return numbers(run.data(query)["assets"])


CASES = [
    # String
    pytest.param('{hostname: {_eq: "lap-001"}}', {1}, id="string-eq"),
    pytest.param('{hostname: {_neq: "lap-001"}}', HOSTNAMED - {1}, id="string-neq"),
    pytest.param('{hostname: {_gt: "srv-002"}}', {10, 11, 19, 20}, id="string-gt"),
    pytest.param('{hostname: {_gte: "srv-002"}}', {9, 10, 11, 19, 20}, id="string-gte"),
    pytest.param('{hostname: {_lt: "desk-002"}}', {6}, id="string-lt"),
    pytest.param('{hostname: {_lte: "desk-002"}}', {6, 7}, id="string-lte"),
    pytest.param('{hostname: {_in: ["lap-001", "srv-001", "x"]}}', {1, 8}, id="string-in"),
    pytest.param("{hostname: {_in: []}}", set(), id="string-in-empty"),
    pytest.param('{hostname: {_nin: ["lap-001", "srv-001"]}}', HOSTNAMED - {1, 8}, id="string-nin"),
    pytest.param("{hostname: {_is_null: true}}", set(range(13, 19)), id="string-is-null"),
    pytest.param("{hostname: {_is_null: false}}", HOSTNAMED, id="string-is-not-null"),
    pytest.param('{hostname: {_like: "lap-00%"}}', {1, 2, 3, 4, 5}, id="string-like"),
    pytest.param('{hostname: {_like: "LAP%"}}', set(), id="string-like-case"),
    pytest.param('{hostname: {_nlike: "lap-%"}}', HOSTNAMED - {1, 2, 3, 4, 5}, id="string-nlike"),
    pytest.param('{hostname: {_ilike: "LAP-00_"}}', {1, 2, 3, 4, 5}, id="string-ilike"),
    pytest.param('{hostname: {_nilike: "%SRV%"}}', HOSTNAMED - {8, 9, 10}, id="string-nilike"),
    # uuid
    pytest.param(f'{{id: {{_eq: "{aid(3)}"}}}}', {3}, id="uuid-eq"),
    pytest.param(f'{{id: {{_eq: "{aid(3).upper()}"}}}}', {3}, id="uuid-eq-upper-case"),
    pytest.param(
        f'{{assigned_to_id: {{_in: ["{pid("alice")}", "{pid("erin")}"]}}}}',
        {1, 6, 8, 13, 15},
        id="uuid-in",
    ),
    pytest.param("{assigned_to_id: {_is_null: true}}", {5, 7, 10, 12, 18, 20}, id="uuid-is-null"),
    pytest.param(
        f'{{location_id: {{_neq: "{lid("DC1")}"}}}}',
        {1, 2, 3, 4, 5, 6, 7, 16, 17, 18},
        id="uuid-neq",
    ),
    pytest.param(f'{{id: {{_gt: "{aid(18)}"}}}}', {19, 20}, id="uuid-gt"),
    # numeric
    pytest.param("{cost: {_eq: 1500}}", {1, 2}, id="numeric-eq"),
    pytest.param('{cost: {_eq: "1200.0"}}', {4}, id="numeric-eq-string"),
    pytest.param("{cost: {_neq: 1500}}", COSTED - {1, 2}, id="numeric-neq"),
    pytest.param("{cost: {_gt: 3000}}", {8, 9, 11}, id="numeric-gt"),
    pytest.param("{cost: {_gte: 3000}}", {8, 9, 11, 12}, id="numeric-gte"),
    pytest.param("{cost: {_lt: 600}}", {16, 17, 18}, id="numeric-lt"),
    pytest.param("{cost: {_lte: 600.0}}", {15, 16, 17, 18}, id="numeric-lte"),
    pytest.param("{cost: {_in: [400, 700]}}", {7, 14, 17, 18}, id="numeric-in"),
    pytest.param("{cost: {_nin: [400, 700, 1500]}}", COSTED - {1, 2, 7, 14, 17, 18}, id="numeric-nin"),
    pytest.param("{cost: {_is_null: true}}", {10, 19, 20}, id="numeric-is-null"),
    # date
    pytest.param('{purchase_date: {_eq: "2023-07-07"}}', {17, 18}, id="date-eq"),
    pytest.param('{purchase_date: {_neq: "2023-07-07"}}', set(range(1, 17)), id="date-neq"),
    pytest.param('{purchase_date: {_gt: "2023-07-07"}}', {5, 13, 14}, id="date-gt"),
    pytest.param('{purchase_date: {_gte: "2023-07-07"}}', {5, 13, 14, 17, 18}, id="date-gte"),
    pytest.param('{purchase_date: {_lt: "2020-01-01"}}', {7, 10}, id="date-lt"),
    pytest.param('{purchase_date: {_lte: "2020-05-05"}}', {7, 10, 11}, id="date-lte"),
    pytest.param('{purchase_date: {_in: ["2023-01-10", "2024-02-29"]}}', {1, 14}, id="date-in"),
    pytest.param("{purchase_date: {_is_null: true}}", {19, 20}, id="date-is-null"),
    # timestamptz
    pytest.param('{last_seen: {_gt: "2024-05-01T00:00:00Z"}}', {1, 2}, id="ts-gt"),
    pytest.param('{last_seen: {_lt: "2024-05-01T10:00:00+00:00"}}', {8}, id="ts-lt"),
    pytest.param('{last_seen: {_lte: "2024-05-01T12:00:00+02:00"}}', {1, 8}, id="ts-lte-offset"),
    pytest.param('{last_seen: {_eq: "2024-05-02T09:30:00+02:00"}}', {2}, id="ts-eq"),
    pytest.param('{last_seen: {_gte: "2024-05-02T07:30:00"}}', {2}, id="ts-gte-naive-is-utc"),
    pytest.param('{last_seen: {_in: ["2024-04-30T23:00:00Z"]}}', {8}, id="ts-in"),
    pytest.param("{last_seen: {_is_null: false}}", {1, 2, 8}, id="ts-is-not-null"),
    # jsonb
    pytest.param('{attributes: {_has_key: "ram_gb"}}', {1, 3}, id="jsonb-has-key"),
    pytest.param("{attributes: {_contains: {ram_gb: 16}}}", {1}, id="jsonb-contains"),
    pytest.param("{attributes: {_eq: {ram_gb: 32}}}", {3}, id="jsonb-eq"),
    pytest.param("{attributes: {_is_null: false}}", {1, 3, 8}, id="jsonb-is-not-null"),
    # string_list (extension)
    pytest.param('{mac_addresses: {_contains: ["aa:bb:cc:00:00:22"]}}', {2}, id="list-contains"),
    pytest.param(
        '{mac_addresses: {_contained_in: ["aa:bb:cc:00:00:01", "aa:bb:cc:00:00:08"]}}',
        {1, 8},
        id="list-contained-in",
    ),
    pytest.param("{mac_addresses: {_is_null: false}}", {1, 2, 8}, id="list-is-not-null"),
    # logic
    pytest.param("{_and: []}", ALL, id="and-empty-is-true"),
    pytest.param("{_or: []}", set(), id="or-empty-is-false"),
    pytest.param("{}", ALL, id="empty-object"),
    pytest.param('{_or: [{category: {_eq: "tablet"}}, {cost: {_gt: 9000}}]}', {8, 16}, id="or"),
    pytest.param('{_and: [{category: {_eq: "laptop"}}, {status: {_neq: "in_use"}}]}', {4, 5}, id="and"),
    pytest.param('{category: {_eq: "laptop"}, cost: {_gte: 1800}}', {3, 5}, id="implicit-and"),
    pytest.param(
        '{_not: {category: {_in: ["laptop", "phone", "server", "desktop", "network", "monitor"]}}}',
        {16, 19, 20},
        id="not",
    ),
    pytest.param("{_not: {cost: {_is_null: true}}}", COSTED, id="not-is-null"),
    pytest.param("{cost: {_eq: null}}", ALL, id="eq-null-is-ignored"),
    pytest.param("{cost: null}", ALL, id="field-null-is-ignored"),
    # relationships
    pytest.param('{assigned_to: {department: {_eq: "IT"}}}', {1, 2, 8, 9, 11, 13, 14, 19}, id="object-rel"),
    pytest.param(
        '{assigned_to: {manager: {name: {_eq: "Carol Chen"}}}}', {4, 6, 15}, id="object-rel-2-levels"
    ),
    pytest.param('{location: {city: {_eq: "London"}}}', {1, 2, 3, 4, 5, 6, 7, 16, 17, 18}, id="location"),
    pytest.param("{_not: {assigned_to: {}}}", {5, 7, 10, 12, 18, 20}, id="not-exists"),
    pytest.param(
        '{location: {assets: {category: {_eq: "server"}}}}',
        {8, 9, 10, 11, 12, 19, 20},
        id="object-then-array-rel",
    ),
]


@pytest.mark.parametrize(("exp", "expected"), CASES)
def test_where(run: Any, exp: str, expected: set[int]) -> None:
    assert where(run, exp) == expected


def test_where_through_variables(run: Any) -> None:
    query = "query($w: assets_bool_exp) { assets(where: $w) { id } }"
    variables = {"w": {"cost": {"_gt": 3000}, "assigned_to": {"email": {"_ilike": "%BOB%"}}}}
    assert numbers(run.data(query, variables)["assets"]) == {9, 11}


@pytest.mark.parametrize(
    ("exp", "expected"),
    [
        pytest.param('{assets: {category: {_eq: "laptop"}}}', ["alice", "bob", "carol", "dave"], id="array"),
        pytest.param('{manager: {email: {_eq: "alice@example.com"}}}', ["bob", "carol"], id="self"),
        pytest.param('{assets: {status: {_eq: "lost"}}}', ["bob"], id="array-lost"),
        pytest.param("{_not: {manager: {}}}", ["alice"], id="no-manager"),
        pytest.param('{assets: {location: {name: {_eq: "Store Room"}}}}', ["dave"], id="array-then-object"),
    ],
)
def test_people_where(run: Any, exp: str, expected: list[str]) -> None:
    data = run.data(f"{{ people(where: {exp}, order_by: [{{email: asc}}]) {{ email }} }}")
    assert [p["email"].split("@")[0] for p in data["people"]] == expected


def test_locations_where_array(run: Any) -> None:
    data = run.data(
        '{ locations(where: {assets: {status: {_eq: "retired"}}}, order_by: [{name: asc}]) { name } }'
    )
    assert [loc["name"] for loc in data["locations"]] == ["DC1", "Store Room"]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        pytest.param('"lap"', {1, 2, 3, 4, 5}, id="hostname-and-name"),
        pytest.param('"carol"', {3, 17}, id="name-and-assignee-name"),
        pytest.param('"ERIN@EXAMPLE"', {6, 15}, id="assignee-email"),
        pytest.param('"SN01"', set(range(10, 19)), id="serial"),
        pytest.param('"latitude"', {1, 2}, id="model"),
        pytest.param('"AT-020"', {20}, id="asset-tag"),
        pytest.param('"%"', set(), id="percent-is-literal"),
        pytest.param('"_"', set(), id="underscore-is-literal"),
        pytest.param('""', ALL, id="empty-is-no-op"),
    ],
)
def test_search(run: Any, term: str, expected: set[int]) -> None:
    assert numbers(run.data(f"{{ assets(search: {term}) {{ id }} }}")["assets"]) == expected


def test_search_combines_with_where(run: Any) -> None:
    assert where(run, '{status: {_eq: "in_use"}}', search='"lap"') == {1, 2, 3}


BOOL_TABLE = Table(
    name="source_status",
    columns=(
        Column("name", "string"),
        Column("stale", "boolean"),
        Column("record_count", "int"),
    ),
)


@pytest.mark.parametrize(
    ("exp", "expected"),
    [
        pytest.param("{stale: {_eq: true}}", ["sheet"], id="bool-eq"),
        pytest.param("{stale: {_neq: true}}", ["cmdb", "intune"], id="bool-neq"),
        pytest.param("{stale: {_in: [false]}}", ["cmdb", "intune"], id="bool-in"),
        pytest.param("{stale: {_is_null: true}}", [], id="bool-is-null"),
        pytest.param("{record_count: {_gt: 1}}", ["cmdb", "intune"], id="int-gt"),
        pytest.param("{record_count: {_lte: 2}}", ["intune", "sheet"], id="int-lte"),
        pytest.param("{record_count: {_nin: [20]}}", ["intune", "sheet"], id="int-nin"),
        pytest.param("{record_count: {_eq: 20}}", ["cmdb"], id="int-eq"),
    ],
)
def test_boolean_and_int_comparisons(run: Any, exp: str, expected: list[str]) -> None:
    """The model has no boolean or int column yet: a table over `source_status` has both (the
    aux root fields are left out: their type `source_status` would clash with the table's)."""
    run.access = unrestricted(tables={"source_status": BOOL_TABLE})
    run.schema = build_schema(
        {"source_status": BOOL_TABLE}, {"source_status": {"name", "stale", "record_count"}}
    )
    data = run.data(f"{{ source_status(where: {exp}, order_by: [{{name: asc}}]) {{ name }} }}")
    assert [s["name"] for s in data["source_status"]] == expected
    assert "Boolean_comparison_exp" in run.schema.as_str()
    assert "Int_comparison_exp" in run.schema.as_str()
