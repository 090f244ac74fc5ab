"""Keys inside JSON `attributes`: a role granted `attributes.<key>` entries reads those keys
and nothing else of the object, wherever the object appears or is filtered on.

service_desk (config.yaml) reads attributes.cpu, attributes.ram_gb and attributes.disk_gb;
desk_history (auth_gateway.TEST_ROLES) is service_desk plus provenance and conflicts. The
estate (tests/schema/schema_estate.py) holds these attributes, worked out by hand:

    AT-001 (alice) {"ram_gb": 16, "gpu": false}   → service_desk sees {"ram_gb": 16}
    AT-003 (carol) {"ram_gb": 32}                 → {"ram_gb": 32}
    AT-008 (alice) {"rack": "R1", "u": 4}         → {}
    every other asset: null

and auth_gateway.ATTRIBUTE_PROVENANCE / ATTRIBUTE_CONFLICTS the history of them.
Whole-object comparisons (`_eq`, `_neq`, `_contains`) run on the keys the role may read;
naming another key in them is FORBIDDEN."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from auth_gateway import Gateway, demo_sections
from schema_estate import aid
from test_roles import data, forbidden, tags

from federation.access.policy import RoleAccess, compile_policy
from federation.config.roles import RoleConfig
from federation.config.settings import ServerConfig
from federation.pipeline.store import StoreReader
from schema.build import build_schema
from schema.context import RequestContext
from schema.execute import decoded

DESK = "service_desk"
ALL_ATTRIBUTES = (
    "{ assets(where: {attributes: {_is_null: false}}, order_by: {asset_tag: asc}) { asset_tag attributes } }"
)


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        pytest.param(
            DESK,
            [("AT-001", {"ram_gb": 16}), ("AT-003", {"ram_gb": 32}), ("AT-008", {})],
            id="service_desk-reads-its-keys",
        ),
        pytest.param(
            "admin",
            [
                ("AT-001", {"ram_gb": 16, "gpu": False}),
                ("AT-003", {"ram_gb": 32}),
                ("AT-008", {"rack": "R1", "u": 4}),
            ],
            id="admin-reads-every-key",
        ),
    ],
)
def test_selection_holds_only_readable_keys(gateway: Gateway, role: str, expected: list[Any]) -> None:
    rows = data(gateway.as_role(role, ALL_ATTRIBUTES))["assets"]
    assert [(r["asset_tag"], r["attributes"]) for r in rows] == expected


@pytest.mark.parametrize(
    ("query", "path", "expected"),
    [
        pytest.param(
            f'{{ assets_by_pk(id: "{aid(1)}") {{ attributes }} }}',
            ["assets_by_pk"],
            {"attributes": {"ram_gb": 16}},
            id="by_pk",
        ),
        pytest.param(
            '{ people(where: {email: {_eq: "alice@example.com"}}) '
            "{ assets(order_by: {asset_tag: asc}) { asset_tag attributes } } }",
            ["people", 0, "assets"],
            [
                {"asset_tag": "AT-001", "attributes": {"ram_gb": 16}},
                {"asset_tag": "AT-008", "attributes": {}},
                {"asset_tag": "AT-013", "attributes": None},
            ],
            id="through-a-relationship",
        ),
        pytest.param(
            '{ assets_aggregate(where: {asset_tag: {_in: ["AT-001", "AT-008"]}}) '
            "{ nodes { asset_tag attributes } } }",
            ["assets_aggregate", "nodes"],
            [
                {"asset_tag": "AT-001", "attributes": {"ram_gb": 16}},
                {"asset_tag": "AT-008", "attributes": {}},
            ],
            id="aggregate-nodes",
        ),
    ],
)
def test_hidden_keys_are_stripped_everywhere(
    gateway: Gateway, query: str, path: list[Any], expected: Any
) -> None:
    found = data(gateway.as_role(DESK, query))
    for step in path:
        found = found[step]
    assert found == expected


def test_provenance_of_attributes_holds_only_readable_keys(gateway: Gateway) -> None:
    query = f'{{ assets_by_pk(id: "{aid(3)}") {{ provenance {{ field source value }} }} }}'
    got = data(gateway.as_role("desk_history", query))["assets_by_pk"]["provenance"]
    assert got == [{"field": "attributes", "source": "intune", "value": {"ram_gb": 32}}]
    admin = data(gateway.as_role("admin", query))["assets_by_pk"]["provenance"]
    assert admin == [{"field": "attributes", "source": "intune", "value": {"encryption": "on", "ram_gb": 32}}]


def test_conflicts_of_attributes_hold_only_readable_keys(gateway: Gateway) -> None:
    query = """query($a: uuid!, $b: uuid!) {
        one: assets_by_pk(id: $a) { conflicts { field values { source value } } }
        three: assets_by_pk(id: $b) { conflicts { field values { source value } } } }"""
    variables = {"a": aid(1), "b": aid(3)}
    got = data(gateway.as_role("desk_history", query, variables=variables))
    assert got["one"]["conflicts"] == [
        {"field": "attributes", "values": [{"source": "cmdb", "value": {"ram_gb": 16}},
                                           {"source": "sheet", "value": {"ram_gb": 8}}]},
        {"field": "hostname", "values": [{"source": "cmdb", "value": "LAP-001"},
                                         {"source": "intune", "value": "lap-001"}]},
    ]  # fmt: skip
    # the sources of AT-003 differ on `encryption` only: for this role there is no conflict
    assert got["three"]["conflicts"] == []
    admin = data(gateway.as_role("admin", query, variables=variables))
    assert [c["field"] for c in admin["three"]["conflicts"]] == ["attributes"]


# ----------------------------------------------------------------------------- filters


@pytest.mark.parametrize(
    ("where", "desk", "admin"),
    [
        pytest.param('{_has_key: "ram_gb"}', ["AT-001", "AT-003"], ["AT-001", "AT-003"], id="has_key"),
        pytest.param("{_contains: {ram_gb: 32}}", ["AT-003"], ["AT-003"], id="contains-visible"),
        # compared on the readable keys: AT-001 is {"ram_gb": 16} for service_desk
        pytest.param("{_eq: {ram_gb: 16}}", ["AT-001"], [], id="eq-on-the-projection"),
        pytest.param("{_neq: {ram_gb: 16}}", ["AT-003", "AT-008"], ["AT-001", "AT-003", "AT-008"], id="neq"),
        pytest.param("{_eq: {}}", ["AT-008"], [], id="eq-empty"),
        # json_contains also looks inside values: not inside hidden ones
        pytest.param('{_contains: "R1"}', [], ["AT-008"], id="contains-scalar-of-a-hidden-key"),
        pytest.param("{_contains: 4}", [], ["AT-008"], id="contains-number-of-a-hidden-key"),
        pytest.param("{_is_null: false}", ["AT-001", "AT-003", "AT-008"], ["AT-001", "AT-003", "AT-008"],
                     id="is_null"),
    ],
)  # fmt: skip
def test_filters_on_readable_keys(gateway: Gateway, where: str, desk: list[str], admin: list[str]) -> None:
    query = f"{{ assets(where: {{attributes: {where}}}, order_by: {{asset_tag: asc}}) {{ asset_tag }} }}"
    assert tags(data(gateway.as_role(DESK, query))["assets"]) == desk
    assert tags(data(gateway.as_role("admin", query))["assets"]) == admin


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param(
            '{ assets(where: {attributes: {_has_key: "gpu"}}) { id } }', "attributes.gpu", id="has_key"
        ),
        pytest.param(
            "{ assets(where: {attributes: {_contains: {gpu: false}}}) { id } }",
            "attributes.gpu",
            id="contains",
        ),
        pytest.param(
            "{ assets(where: {attributes: {_eq: {ram_gb: 16, gpu: false}}}) { id } }",
            "attributes.gpu",
            id="eq",
        ),
        pytest.param("{ assets(where: {attributes: {_neq: {u: 4}}}) { id } }", "attributes.u", id="neq"),
        pytest.param(
            '{ assets(where: {_or: [{_not: {attributes: {_has_key: "rack"}}}]}) { id } }',
            "attributes.rack",
            id="nested-and-or-not",
        ),
        pytest.param(
            '{ people(where: {assets: {attributes: {_has_key: "rack"}}}) { name } }',
            "attributes.rack",
            id="through-a-relationship",
        ),
        pytest.param(
            '{ people { assets(where: {attributes: {_has_key: "gpu"}}) { id } } }',
            "attributes.gpu",
            id="nested-list-argument",
        ),
        pytest.param(
            '{ assets_aggregate(where: {attributes: {_has_key: "gpu"}}) { aggregate { count } } }',
            "attributes.gpu",
            id="aggregate",
        ),
    ],
)
def test_filters_naming_a_hidden_key_are_forbidden(gateway: Gateway, query: str, field: str) -> None:
    text = forbidden(gateway.as_role(DESK, query))
    assert f"field `{field}` of `assets` is not readable by role `service_desk`" in text
    assert "errors" not in gateway.as_role("admin", query)


@pytest.mark.parametrize(
    ("where", "field"),
    [
        pytest.param({"attributes": {"_has_key": "gpu"}}, "attributes.gpu", id="has_key"),
        pytest.param(
            {"attributes": {"_contains": {"encryption": "on"}}}, "attributes.encryption", id="contains"
        ),
        pytest.param({"_and": [{"attributes": {"_eq": {"rack": "R1", "u": 4}}}]}, "attributes.rack", id="eq"),
    ],
)
def test_hidden_keys_through_variables_are_forbidden(
    gateway: Gateway, where: dict[str, Any], field: str
) -> None:
    query = "query($w: assets_bool_exp) { assets(where: $w) { id } }"
    body = gateway.as_role(DESK, query, variables={"w": where})
    assert f"field `{field}` of `assets`" in forbidden(body)
    variables = {"w": {"attributes": {"_has_key": "ram_gb"}}}
    assert len(data(gateway.as_role(DESK, query, variables=variables))["assets"]) == 2


# ----------------------------------------------------------------------------- whole-object uses


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        pytest.param("{ assets(order_by: {attributes: asc}) { id } }", None, id="order_by"),
        pytest.param(
            "query($o: [assets_order_by!]) { assets(order_by: $o) { id } }",
            {"o": [{"attributes": "desc"}]},
            id="order_by-variable",
        ),
        pytest.param("{ assets(distinct_on: [attributes]) { id } }", None, id="distinct_on"),
        pytest.param(
            "{ assets_aggregate { group_by(fields: [attributes]) { keys count } } }", None, id="group_by"
        ),
        pytest.param(
            "{ assets_aggregate { aggregate { count(columns: [attributes], distinct: true) } } }",
            None,
            id="count-distinct",
        ),
        pytest.param("{ people { assets(order_by: {attributes: asc}) { id } } }", None, id="nested-order_by"),
    ],
)
def test_whole_object_uses_are_forbidden_for_key_grants(
    gateway: Gateway, query: str, variables: dict[str, Any] | None
) -> None:
    text = forbidden(gateway.as_role(DESK, query, variables=variables))
    assert "field `attributes` of `assets` is readable by role `service_desk` only key by key" in text
    assert "errors" not in gateway.as_role("admin", query, variables=variables)


def test_admin_groups_by_whole_attributes(gateway: Gateway) -> None:
    query = "{ assets_aggregate { group_by(fields: [attributes]) { keys count } } }"
    groups = data(gateway.as_role("admin", query))["assets_aggregate"]["group_by"]
    found = {json.dumps(g["keys"]["attributes"], sort_keys=True): g["count"] for g in groups}
    assert found == {
        '{"gpu": false, "ram_gb": 16}': 1, '{"ram_gb": 32}': 1, '{"rack": "R1", "u": 4}': 1, "null": 17
    }  # fmt: skip


@pytest.mark.parametrize(
    ("role", "orderable"),
    [
        pytest.param(DESK, False, id="service_desk"),
        pytest.param("it_leader", True, id="it_leader-reads-whole"),
    ],
)
def test_introspection_of_key_grants(gateway: Gateway, role: str, orderable: bool) -> None:
    query = """{ t: __type(name: "assets") { fields { name } }
                 w: __type(name: "assets_bool_exp") { inputFields { name } }
                 o: __type(name: "assets_order_by") { inputFields { name } }
                 s: __type(name: "assets_select_column") { enumValues { name } } }"""
    got = data(gateway.as_role(role, query))
    assert "attributes" in {f["name"] for f in got["t"]["fields"]}
    assert "attributes" in {f["name"] for f in got["w"]["inputFields"]}
    assert ("attributes" in {f["name"] for f in got["o"]["inputFields"]}) is orderable
    assert ("attributes" in {v["name"] for v in got["s"]["enumValues"]}) is orderable


# ----------------------------------------------------------------------------- the mechanism alone


def _policy(extra: dict[str, Any] | None = None) -> Any:
    roles = {**demo_sections()["roles"], **(extra or {})}
    return compile_policy({name: RoleConfig.model_validate(body or {}) for name, body in roles.items()})


def _run(store: Path, policy: Any, role: str, query: str) -> Any:
    ctx = RequestContext(
        snapshot=StoreReader(store).current(),
        server=ServerConfig(),
        actor={"role": role},
        access=policy.role(role),
    )
    return decoded(build_schema().execute_sync(query, context_value=ctx))  # the FULL schema: every field


@pytest.mark.parametrize(
    ("query", "field"),
    [
        pytest.param("{ assets(order_by: {attributes: asc}) { id } }", "field `attributes`", id="order_by"),
        pytest.param(
            "{ assets_aggregate { group_by(fields: [attributes]) { count } } }",
            "field `attributes`",
            id="group_by",
        ),
        pytest.param("{ assets(distinct_on: [attributes]) { id } }", "field `attributes`", id="distinct_on"),
        pytest.param(
            '{ assets(where: {attributes: {_has_key: "gpu"}}) { id } }',
            "field `attributes.gpu`",
            id="has_key",
        ),
    ],
)
def test_guard_refuses_whole_uses_and_hidden_keys_under_a_too_wide_schema(
    schema_store: Path, query: str, field: str
) -> None:
    result = _run(schema_store, _policy(), DESK, query)
    assert result.errors, result.data
    assert result.errors[0].extensions["code"] == "FORBIDDEN"
    assert field in result.errors[0].message


def test_values_and_filters_under_a_too_wide_schema(schema_store: Path) -> None:
    result = _run(schema_store, _policy(), DESK, ALL_ATTRIBUTES)
    assert result.errors is None
    assert [r["attributes"] for r in result.data["assets"]] == [{"ram_gb": 16}, {"ram_gb": 32}, {}]
    result = _run(schema_store, _policy(), DESK, '{ assets(where: {attributes: {_contains: "R1"}}) { id } }')
    assert result.errors is None
    assert result.data == {"assets": []}


def test_the_roles_own_filter_may_use_hidden_keys(schema_store: Path) -> None:
    # like other fields, a key named in the role's own row filter need not be readable
    policy = _policy(
        {"gpu_desk": {"types": {"assets": {"columns": ["asset_tag", "attributes.ram_gb"],
                                           "filter": {"attributes": {"_has_key": "gpu"}}}}}}
    )  # fmt: skip
    result = _run(schema_store, policy, "gpu_desk", "{ assets { asset_tag attributes } }")
    assert result.errors is None
    assert result.data == {"assets": [{"asset_tag": "AT-001", "attributes": {"ram_gb": 16}}]}


def test_key_grants_compile_and_inherit() -> None:
    policy = _policy(
        {
            "desk_and_leader": {"inherits": ["service_desk", "it_leader"]},
            "two_parts": {
                "types": {"assets": {"columns": ["attributes.cpu"]}},
                "inherits": ["desk_and_gpu"],
            },
            "desk_and_gpu": {
                "inherits": ["service_desk"],
                "types": {"assets": {"columns": ["attributes.gpu"]}},
            },
        }
    )
    desk: RoleAccess = policy.role(DESK)
    assert desk.json_keys("assets", "attributes") == {"cpu", "ram_gb", "disk_gb"}
    assert desk.can_read("assets", "attributes")
    assert desk.keyed_columns() == {"assets": {"attributes"}}
    # it_leader reads attributes whole: so does a role inheriting from both
    assert policy.role("desk_and_leader").json_keys("assets", "attributes") is None
    assert policy.role("it_leader").json_keys("assets", "attributes") is None
    # network_team reads the hardware keys only (config.yaml)
    assert policy.role("network_team").json_keys("assets", "attributes") == {"cpu", "ram_gb", "disk_gb"}
    # key grants of several roles add up
    assert policy.role("two_parts").json_keys("assets", "attributes") == {"cpu", "ram_gb", "disk_gb", "gpu"}
