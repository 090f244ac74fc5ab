"""Each demo role over HTTP: the fields and rows it sees, what its introspection shows, and
FORBIDDEN (naming the field) for whatever it may not read, wherever the query names it.

Expected values come from the estate in tests/schema/schema_estate.py and the roles in
config.yaml (plus the test roles of conftest.py), worked out by hand."""

from __future__ import annotations

from typing import Any

import pytest
from auth_gateway import Gateway
from schema_estate import aid, pid

from federation.model import TABLES

ALICE = "alice@example.com"
BOB = "bob@example.com"

ASSET_COLUMNS = {
    "employee": {"id", "asset_tag", "hostname", "name", "category", "manufacturer", "model", "status",
                 "os", "warranty_end", "location", "assigned_to"},
    "network_team": {"id", "asset_tag", "serial_number", "hostname", "name", "category", "manufacturer",
                     "model", "status", "location_id", "location", "mac_addresses", "ip_addresses", "os",
                     "last_seen", "warranty_end", "attributes"},
    "finance": {"id", "asset_tag", "serial_number", "hostname", "name", "category", "manufacturer", "model",
                "status", "department", "purchase_date", "warranty_end", "cost", "cost_currency", "location",
                "assigned_to", "sources", "provenance", "conflicts"},
}  # fmt: skip
EVERY_ASSET_FIELD = {
    "id", "asset_tag", "serial_number", "hostname", "name", "category", "manufacturer", "model", "status",
    "location_id", "assigned_to_id", "department", "purchase_date", "warranty_end", "cost", "cost_currency",
    "mac_addresses", "ip_addresses", "os", "last_seen", "attributes", "location", "assigned_to",
    "sources", "provenance", "conflicts",
}  # fmt: skip


def data(body: dict[str, Any]) -> Any:
    assert "errors" not in body, body
    return body["data"]


def forbidden(body: dict[str, Any]) -> str:
    assert body.get("data") is None, body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "FORBIDDEN", error
    return error["message"]


def tags(rows: list[dict[str, Any]]) -> list[str]:
    return [r["asset_tag"] for r in rows]


# ----------------------------------------------------------------------------- rows


@pytest.mark.parametrize(
    ("role", "email", "expected"),
    [
        pytest.param(
            "employee", ALICE, ["AT-001", "AT-005", "AT-008", "AT-013", "AT-018"], id="employee-alice"
        ),
        pytest.param(
            "employee",
            BOB,
            ["AT-002", "AT-005", "AT-009", "AT-011", "AT-014", "AT-018", "AT-019"],
            id="employee-bob",
        ),
        pytest.param("employee", None, ["AT-005", "AT-018"], id="employee-without-email-sees-the-catalog"),
        pytest.param("network_team", None, ["AT-011", "AT-012"], id="network_team"),
        pytest.param("finance", None, [f"AT-{n:03d}" for n in range(1, 21)], id="finance"),
        pytest.param(
            "laptop_finance", None, ["AT-001", "AT-002", "AT-003", "AT-004", "AT-005"], id="laptops"
        ),
    ],
)
def test_rows_of_the_list(gateway: Gateway, role: str, email: str | None, expected: list[str]) -> None:
    body = gateway.as_role(role, "{ assets(order_by: {asset_tag: asc}) { asset_tag } }", email=email)
    assert tags(data(body)["assets"]) == expected


@pytest.mark.parametrize(
    ("role", "email", "n", "visible"),
    [
        pytest.param("employee", ALICE, 1, True, id="own"),
        pytest.param("employee", ALICE, 5, True, id="catalog"),
        pytest.param("employee", ALICE, 2, False, id="someone-elses"),
        pytest.param("network_team", None, 11, True, id="network"),
        pytest.param("network_team", None, 1, False, id="laptop-for-network"),
    ],
)
def test_rows_by_primary_key(gateway: Gateway, role: str, email: str | None, n: int, visible: bool) -> None:
    body = gateway.as_role(role, f'{{ assets_by_pk(id: "{aid(n)}") {{ asset_tag }} }}', email=email)
    found = data(body)["assets_by_pk"]
    assert (found == {"asset_tag": f"AT-{n:03d}"}) if visible else found is None


def test_aggregates_count_only_visible_rows(gateway: Gateway) -> None:
    query = """{ assets_aggregate { aggregate { count } group_by(fields: [status]) { keys count } }
                 all: assets_aggregate(where: {category: {_eq: "laptop"}}) { aggregate { count } } }"""
    got = data(gateway.as_role("network_team", query))
    assert got["assets_aggregate"]["aggregate"]["count"] == 2
    assert got["assets_aggregate"]["group_by"] == [{"keys": {"status": "in_use"}, "count": 2}]
    assert got["all"]["aggregate"]["count"] == 0
    finance = data(gateway.as_role("finance", "{ assets_aggregate { aggregate { count sum { cost } } } }"))
    assert finance["assets_aggregate"]["aggregate"] == {"count": 20, "sum": {"cost": 41500.0}}


def test_relationship_to_an_invisible_row_is_null(gateway: Gateway) -> None:
    # laptop_finance sees laptops, and people of Finance only (carol, dave)
    query = "{ assets(order_by: {asset_tag: asc}) { asset_tag assigned_to { name } } }"
    rows = data(gateway.as_role("laptop_finance", query))["assets"]
    assert [(r["asset_tag"], r["assigned_to"]) for r in rows] == [
        ("AT-001", None),
        ("AT-002", None),
        ("AT-003", {"name": "Carol Chen"}),
        ("AT-004", {"name": "Dave Doe"}),
        ("AT-005", None),
    ]


def test_array_relationship_and_its_aggregate_hold_only_visible_rows(gateway: Gateway) -> None:
    query = """{ people(order_by: {name: asc}) { name assets { asset_tag }
                 assets_aggregate { aggregate { count } } } }"""
    got = data(gateway.as_role("laptop_finance", query))["people"]
    # carol also holds the monitor AT-017, which is not a laptop
    assert got == [
        {
            "name": "Carol Chen",
            "assets": [{"asset_tag": "AT-003"}],
            "assets_aggregate": {"aggregate": {"count": 1}},
        },
        {
            "name": "Dave Doe",
            "assets": [{"asset_tag": "AT-004"}],
            "assets_aggregate": {"aggregate": {"count": 1}},
        },
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # alice holds AT-001, but alice is not visible: nothing can be inferred about her
        pytest.param(
            '{ assets(where: {assigned_to: {name: {_like: "Alice%"}}}) { asset_tag } }', [], id="object"
        ),
        pytest.param(
            "{ assets(where: {assigned_to: {email: {_is_null: false}}}, order_by: {asset_tag: asc})"
            " { asset_tag } }",
            ["AT-003", "AT-004"],
            id="exists",
        ),
    ],
)
def test_nested_filters_do_not_see_invisible_rows(gateway: Gateway, query: str, expected: list[str]) -> None:
    assert tags(data(gateway.as_role("laptop_finance", query))["assets"]) == expected


def test_nested_array_filter_does_not_see_invisible_rows(gateway: Gateway) -> None:
    # carol holds a monitor (AT-017), which laptop_finance cannot see
    query = '{ people(where: {assets: {asset_tag: {_eq: "AT-017"}}}) { name } }'
    assert data(gateway.as_role("laptop_finance", query))["people"] == []
    query = '{ people(where: {assets: {asset_tag: {_eq: "AT-003"}}}) { name } }'
    assert data(gateway.as_role("laptop_finance", query))["people"] == [{"name": "Carol Chen"}]


def test_ordering_through_an_invisible_row_sorts_it_as_null(gateway: Gateway) -> None:
    query = "{ assets(order_by: [{assigned_to: {name: desc_nulls_last}}, {asset_tag: asc}]) { asset_tag } }"
    got = tags(data(gateway.as_role("laptop_finance", query))["assets"])
    assert got == ["AT-004", "AT-003", "AT-001", "AT-002", "AT-005"]


def test_inherited_role_unions_rows(gateway: Gateway) -> None:
    # team_lead = employee + people of the actor's department
    body = gateway.as_role("team_lead", "{ people(order_by: {name: asc}) { name } }", email=ALICE)
    assert data(body)["people"] == [{"name": "Alice Admin"}]
    from auth_gateway import token

    headers = {"authorization": f"Bearer {token('team_lead', email=ALICE, department='Finance')}"}
    response = gateway.post("{ people(order_by: {name: asc}) { name } }", headers=headers)
    assert response.json()["data"]["people"] == [
        {"name": "Alice Admin"}, {"name": "Carol Chen"}, {"name": "Dave Doe"}
    ]  # fmt: skip


def test_provenance_and_conflicts_only_of_readable_fields(gateway: Gateway) -> None:
    query = f"""{{ assets_by_pk(id: "{aid(1)}") {{
        provenance {{ field source value }} conflicts {{ field values {{ source value }} }} }} }}"""
    got = data(gateway.as_role("cost_history", query))["assets_by_pk"]
    # the estate also records hostname provenance and conflicts (intune, cmdb), which
    # cost_history may not read: neither the values nor which sources hold them may appear
    assert got["provenance"] == [{"field": "cost", "source": "cmdb", "value": 1500}]
    assert got["conflicts"] == [
        {"field": "cost", "values": [{"source": "cmdb", "value": 1500}, {"source": "sheet", "value": 1450}]}
    ]
    admin = data(gateway.as_role("admin", query))["assets_by_pk"]
    assert {p["field"] for p in admin["provenance"]} == {"cost", "hostname"}


# ----------------------------------------------------------------------------- fields


@pytest.mark.parametrize("role", sorted(ASSET_COLUMNS))
def test_introspection_shows_only_the_roles_fields(gateway: Gateway, role: str) -> None:
    query = """{ t: __type(name: "assets") { fields { name } }
                 w: __type(name: "assets_bool_exp") { inputFields { name } }
                 o: __type(name: "assets_order_by") { inputFields { name } }
                 s: __type(name: "assets_select_column") { enumValues { name } } }"""
    got = data(gateway.as_role(role, query, email=ALICE))
    fields = {f["name"] for f in got["t"]["fields"]}
    fields -= {"assigned_to_aggregate", "location_aggregate"}
    assert fields == ASSET_COLUMNS[role]
    extras = {"sources", "provenance", "conflicts"}
    assert {f["name"] for f in got["w"]["inputFields"]} - {"_and", "_or", "_not"} == ASSET_COLUMNS[
        role
    ] - extras
    # a JSON column granted key by key (network_team: attributes.cpu, …) is not a column to
    # sort, group or count by: it would use the whole object
    keyed = {"attributes"} if role == "network_team" else set()
    columns = ASSET_COLUMNS[role] - extras - {"location", "assigned_to"} - keyed
    assert {v["name"] for v in got["s"]["enumValues"]} == columns


@pytest.mark.parametrize(
    ("role", "roots"),
    [
        (
            "employee",
            {
                "assets",
                "assets_by_pk",
                "assets_aggregate",
                "people",
                "people_by_pk",
                "locations",
                "locations_by_pk",
                # the software on their own machines (no totals: no aggregate)
                "software_installations",
                "software_installations_by_pk",
                # the `request` action: request forms and their own requests
                "request_form",
                "requests",
                # its catalog grant (config.yaml: roles.employee.catalog)
                "catalog",
            },
        ),
        ("network_team", {"assets", "assets_by_pk", "assets_aggregate", "locations", "locations_by_pk"}),
        ("anonymous", {"no_access"}),
        (
            "auditor",
            # types: {"*": ...} grants every type of the model, those added later included
            {f"{t}{s}" for t in TABLES for s in ("", "_by_pk", "_aggregate")}
            | {"sources", "quarantine", "ambiguities", "access_log", "changes"}
            # the quality notes open with `quarantine: true`
            | {"quality", "quality_summary"},
        ),
    ],
)
def test_introspection_root_fields(gateway: Gateway, role: str, roots: set[str]) -> None:
    got = data(gateway.as_role(role, "{ __schema { queryType { fields { name } } } }", email=ALICE))
    assert {f["name"] for f in got["__schema"]["queryType"]["fields"]} == roots


def test_admin_sees_every_field(gateway: Gateway) -> None:
    got = data(gateway.as_role("admin", '{ __type(name: "assets") { fields { name } } }'))
    assert {f["name"] for f in got["__type"]["fields"]} >= EVERY_ASSET_FIELD


@pytest.mark.parametrize(
    ("role", "query", "message"),
    [
        pytest.param("employee", "{ assets { id cost } }", "field `cost` of `assets`", id="selection"),
        pytest.param(
            "employee", "{ assets(where: {cost: {_gt: 1}}) { id } }", "field `cost` of `assets`", id="where"
        ),
        pytest.param(
            "employee",
            '{ assets(where: {_or: [{_not: {serial_number: {_eq: "SN001"}}}]}) { id } }',
            "field `serial_number` of `assets`",
            id="where-nested-and-or-not",
        ),
        pytest.param(
            "employee", "{ assets(order_by: {cost: desc}) { id } }", "field `cost` of `assets`", id="order_by"
        ),
        pytest.param(
            "employee",
            "{ assets(distinct_on: [department]) { id } }",
            "field `department` of `assets`",
            id="distinct_on",
        ),
        pytest.param(
            "employee",
            "{ assets { assigned_to { employment_status } } }",
            "field `employment_status` of `people`",
            id="nested-selection",
        ),
        pytest.param(
            "employee",
            '{ assets(where: {assigned_to: {employment_status: {_eq: "active"}}}) { id } }',
            "field `employment_status` of `people`",
            id="nested-where",
        ),
        pytest.param(
            "employee",
            "{ assets(order_by: {assigned_to: {manager_id: asc}}) { id } }",
            "field `manager_id` of `people`",
            id="nested-order_by",
        ),
        pytest.param(
            "employee",
            "{ assets { provenance { field } } }",
            "field `provenance` of `assets`",
            id="provenance",
        ),
        pytest.param(
            "employee", "{ assets { conflicts { field } } }", "field `conflicts` of `assets`", id="conflicts"
        ),
        pytest.param(
            "employee",
            "{ people_aggregate { aggregate { count } } }",
            "aggregations over `people`",
            id="aggregate",
        ),
        pytest.param(
            "employee",
            "{ assets_aggregate { group_by(fields: [status]) { count } } }",
            "only counts over `assets`",
            id="count-only-group_by",
        ),
        pytest.param(
            "employee",
            "{ assets_aggregate { aggregate { max { name } } } }",
            "only counts over `assets`",
            id="count-only-max",
        ),
        pytest.param(
            "network_team",
            "{ assets_aggregate { group_by(fields: [department]) { count } } }",
            "field `department` of `assets`",
            id="group_by",
        ),
        pytest.param(
            "network_team",
            "{ assets_aggregate { aggregate { sum { cost } } } }",
            "field `cost` of `assets`",
            id="aggregate-column",
        ),
        pytest.param(
            "network_team",
            "{ assets_aggregate { aggregate { count(columns: [assigned_to_id]) } } }",
            "field `assigned_to_id` of `assets`",
            id="count-columns",
        ),
        pytest.param("network_team", "{ people { name } }", "type `people`", id="hidden-type"),
        pytest.param(
            "network_team",
            '{ assets(where: {assigned_to: {email: {_eq: "bob@example.com"}}}) { id } }',
            "field `assigned_to` of `assets`",
            id="hidden-relation-in-where",
        ),
        pytest.param("finance", "{ quarantine { reason } }", "`quarantine`", id="quarantine"),
        pytest.param("finance", "{ access_log { role } }", "`access_log`", id="access_log"),
        pytest.param("anonymous", "{ assets { id } }", "type `assets`", id="anonymous"),
        # the workflow's roots, refused like the others when the role lacks their action or grant
        pytest.param("finance", "{ requests { id } }", "`requests` needs the request", id="requests"),
        pytest.param(
            "service_desk",
            '{ request_form(item: {category: "laptop"}) }',
            "`request_form` needs the request action",
            id="request_form",
        ),
        pytest.param(
            "service_desk",
            'mutation { approve_request(id: "00000000-0000-4000-8000-000000000001") { id } }',
            "`approve_request` needs the approve or request action",
            id="approve_request",
        ),
        pytest.param(
            "finance",
            'mutation { submit_request(item: {category: "laptop"}, answers: {}) { id } }',
            "may not request `assets`",
            id="submit_request",
        ),
        pytest.param("employee", "{ checkouts { id } }", "`checkouts` needs the checkout", id="checkouts"),
        pytest.param("finance", "{ catalog { model } }", "`catalog`", id="catalog"),
        pytest.param(
            "employee", "{ catalog { price_max } }", "field `price_max` of `catalog`", id="catalog-price"
        ),
        pytest.param(
            "employee",
            "{ catalog(where: {price_min: {_gt: 1}}) { model } }",
            "field `price_min` of `catalog`",
            id="catalog-price-filter",
        ),
        pytest.param(
            "employee",
            "{ catalog { assets { hostname } } }",
            "field `hostname` of `catalog`",
            id="catalog-asset-field",
        ),
    ],
)
def test_forbidden_names_the_field(gateway: Gateway, role: str, query: str, message: str) -> None:
    text = forbidden(gateway.as_role(role, query, email=ALICE))
    assert message in text
    assert f"role `{role}`" in text


def test_forbidden_through_variables(gateway: Gateway) -> None:
    query = (
        "query($w: assets_bool_exp, $d: [assets_select_column!]) "
        "{ assets(where: $w, distinct_on: $d) { id } }"
    )
    body = gateway.as_role("employee", query, email=ALICE, variables={"w": {"cost": {"_gt": 1}}})
    assert "field `cost` of `assets`" in forbidden(body)
    body = gateway.as_role("employee", query, email=ALICE, variables={"d": ["serial_number"]})
    assert "field `serial_number` of `assets`" in forbidden(body)


def test_forbidden_rejects_the_whole_query(gateway: Gateway) -> None:
    body = gateway.as_role(
        "employee", "{ assets { asset_tag } locations { name } x: assets { cost } }", email=ALICE
    )
    forbidden(body)  # no partial data


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ assets { hostnme } }", id="typo"),
        pytest.param("{ assets(where: {cost: {_like: 1}}) { id } }", id="hidden-and-invalid"),
    ],
)
def test_a_mistake_is_bad_user_input_not_forbidden(gateway: Gateway, query: str) -> None:
    body = gateway.as_role("employee", query, email=ALICE)
    codes = {e["extensions"]["code"] for e in body["errors"]}
    if "cost" in query:
        # the query names a hidden field: that alone decides
        assert codes == {"FORBIDDEN"}
    else:
        assert codes == {"BAD_USER_INPUT"}
        assert "cost" not in body["errors"][0]["message"]  # suggestions list only visible fields


def test_search_does_not_match_hidden_columns(gateway: Gateway) -> None:
    # serial numbers are hidden from employees: searching for one finds nothing
    query = '{ assets(search: "SN001") { asset_tag } }'
    assert data(gateway.as_role("employee", query, email=ALICE))["assets"] == []
    assert tags(data(gateway.as_role("admin", query))["assets"]) == ["AT-001"]


def test_auditor_reads_quarantine_and_sources(gateway: Gateway) -> None:
    got = data(
        gateway.as_role("auditor", "{ quarantine { record_id } sources { name } ambiguities { record_id } }")
    )
    assert {q["record_id"] for q in got["quarantine"]} == {"r-9", "r-10", "c-99"}
    assert {s["name"] for s in got["sources"]} == {"cmdb", "intune", "sheet"}
    assert got["ambiguities"] == [{"record_id": "c-50"}]


def test_people_filter_by_actor(gateway: Gateway) -> None:
    body = gateway.as_role("employee", "{ people { email } }", email=BOB)
    assert data(body)["people"] == [{"email": BOB}]
    body = gateway.as_role("employee", f'{{ people_by_pk(id: "{pid("alice")}") {{ email }} }}', email=BOB)
    assert data(body)["people_by_pk"] is None
