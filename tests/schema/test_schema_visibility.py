"""Per-view schemas (`visible`, `allow_aggregations`), introspection names, errors."""

from __future__ import annotations

from typing import Any

import pytest
from schema_estate import Runner, aid

from schema.build import build_schema

RESTRICTED = {
    "assets": {"id", "hostname", "assigned_to", "provenance", "conflicts"},
    "people": {"id", "email", "assets"},
    "locations": {"id", "name"},
}


@pytest.fixture(scope="module")
def restricted_schema() -> Any:
    return build_schema(visible=RESTRICTED)


@pytest.fixture
def restricted(store: Any, restricted_schema: Any) -> Runner:
    return Runner(store, restricted_schema)


def type_info(run: Runner, name: str) -> dict[str, Any]:
    query = (
        "query($n: String!) { __type(name: $n) { name kind fields { name } "
        "inputFields { name } enumValues { name } } }"
    )
    return run.data(query, {"n": name})["__type"]


def names(entries: list[dict[str, str]] | None) -> set[str]:
    return {e["name"] for e in entries or []}


def test_full_schema_names_follow_hasura(run: Runner) -> None:
    root = names(type_info(run, "query_root")["fields"])
    for table in ("assets", "people", "locations"):
        assert {table, f"{table}_aggregate", f"{table}_by_pk"} <= root
    assert {"sources", "quarantine", "ambiguities"} <= root
    for type_name in (
        "uuid", "numeric", "date", "timestamptz", "jsonb", "order_by",
        "String_comparison_exp", "uuid_comparison_exp", "numeric_comparison_exp",
        "date_comparison_exp", "timestamptz_comparison_exp", "jsonb_comparison_exp",
        "String_array_comparison_exp", "assets_bool_exp", "assets_order_by",
        "assets_select_column", "assets_aggregate", "assets_aggregate_fields",
        "assets_sum_fields", "assets_avg_fields", "assets_min_fields", "assets_max_fields",
        "assets_group", "asset_source", "asset_provenance", "asset_conflict",
        "asset_conflict_value", "source_status", "quarantine_record",
    ):  # fmt: skip
        assert type_info(run, type_name) is not None, type_name
    assert names(type_info(run, "order_by")["enumValues"]) == {
        "asc", "asc_nulls_first", "asc_nulls_last", "desc", "desc_nulls_first", "desc_nulls_last",
    }  # fmt: skip
    assert names(type_info(run, "String_comparison_exp")["inputFields"]) == {
        "_eq", "_neq", "_gt", "_gte", "_lt", "_lte", "_in", "_nin", "_is_null",
        "_like", "_nlike", "_ilike", "_nilike",
    }  # fmt: skip
    assert names(type_info(run, "assets_sum_fields")["fields"]) == {"cost"}
    people_bool = names(type_info(run, "people_bool_exp")["inputFields"])
    assert {"assets", "manager", "_and", "_or", "_not", "email"} <= people_bool
    assert names(type_info(run, "assets_order_by")["inputFields"]) >= {"assigned_to", "location"}


def test_restricted_types_only_show_visible_fields(restricted: Runner) -> None:
    assert names(type_info(restricted, "assets")["fields"]) == {
        "id", "hostname", "assigned_to", "provenance", "conflicts",
    }  # fmt: skip
    assert names(type_info(restricted, "assets_bool_exp")["inputFields"]) == {
        "_and", "_or", "_not", "id", "hostname", "assigned_to",
    }  # fmt: skip
    assert names(type_info(restricted, "assets_order_by")["inputFields"]) == {
        "id", "hostname", "assigned_to",
    }  # fmt: skip
    assert names(type_info(restricted, "assets_select_column")["enumValues"]) == {"id", "hostname"}
    assert names(type_info(restricted, "assets_min_fields")["fields"]) == {"hostname"}
    assert type_info(restricted, "assets_sum_fields") is None
    assert names(type_info(restricted, "people")["fields"]) == {
        "id", "email", "assets", "assets_aggregate",
    }  # fmt: skip
    # a hidden relation's target still exists when reachable from the root
    assert names(type_info(restricted, "locations")["fields"]) == {"id", "name"}
    assert "sources" not in names(type_info(restricted, "query_root")["fields"])


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("{ assets { cost } }", id="select"),
        pytest.param("{ assets(where: {cost: {_gt: 1}}) { id } }", id="where"),
        pytest.param("{ assets(where: {_not: {cost: {_gt: 1}}}) { id } }", id="nested-where"),
        pytest.param("{ assets(order_by: [{cost: asc}]) { id } }", id="order-by"),
        pytest.param("{ assets(distinct_on: [cost]) { id } }", id="distinct-on"),
        pytest.param("{ assets_aggregate { aggregate { max { cost } } } }", id="aggregate"),
        pytest.param("{ assets_aggregate { group_by(fields: [cost]) { count } } }", id="group-by"),
        pytest.param("{ people(where: {assets: {cost: {_gt: 1}}}) { id } }", id="through-relation"),
        pytest.param("{ assets { location { name } } }", id="hidden-relation"),
    ],
)
def test_hidden_fields_fail_validation(restricted: Runner, query: str) -> None:
    error = restricted.error(query)
    assert "cost" in error.message or "location" in error.message


def test_hidden_fields_are_left_out_of_provenance_and_conflicts(restricted: Runner) -> None:
    data = restricted.data(
        f'{{ assets_by_pk(id: "{aid(1)}") {{ provenance {{ field value }} conflicts {{ field }} }} }}'
    )
    assert data["assets_by_pk"] == {
        "provenance": [{"field": "hostname", "value": "lap-001"}],
        "conflicts": [{"field": "hostname"}],
    }


def test_search_only_looks_in_visible_columns(restricted: Runner) -> None:
    """`name` is hidden: searching a word found only in names matches nothing."""
    data = restricted.data('{ assets(search: "laptop") { id } }')
    assert data["assets"] == []
    data = restricted.data('{ assets(search: "lap-00") { id } }')
    assert len(data["assets"]) == 5


def test_aggregations_can_be_withheld(run: Runner) -> None:
    run.schema = build_schema(allow_aggregations={"people": True})
    root = names(type_info(run, "query_root")["fields"])
    assert "people_aggregate" in root
    assert "assets_aggregate" not in root
    assert "assets_aggregate" not in names(type_info(run, "people")["fields"])


def test_restricted_errors_list_only_visible_names(restricted: Runner) -> None:
    error = restricted.error("{ assets(where: {cost: {_gt: 1}}) { id } }")
    assert error.message.endswith("Allowed: _and, _not, _or, id, hostname, assigned_to.")


def test_unknown_visible_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="unknown fields"):
        build_schema(visible={"assets": {"id", "nope"}})


@pytest.mark.parametrize(
    ("query", "fragments"),
    [
        pytest.param("{ assets { nope } }", ["nope", "Allowed: id, asset_tag,"], id="unknown-field"),
        pytest.param(
            "{ assets(where: {nope: {_eq: 1}}) { id } }",
            ["nope", "Allowed: _and, _not, _or, id,"],
            id="unknown-filter",
        ),
        pytest.param(
            '{ assets(where: {cost: {_like: "1%"}}) { id } }',
            ["_like", "Allowed: _eq, _neq, _in, _nin, _is_null, _gt, _gte, _lt, _lte."],
            id="like-on-number",
        ),
        pytest.param(
            "{ assets(nope: 1) { id } }",
            ["Allowed: where, order_by, limit, offset, distinct_on, search."],
            id="unknown-argument",
        ),
        pytest.param(
            '{ assets(where: {cost: {_eq: "abc"}}) { id } }',
            ["not a number", "expected a number"],
            id="bad-number",
        ),
        pytest.param(
            '{ assets(where: {purchase_date: {_gt: "31/12/2023"}}) { id } }',
            ["not a date", "YYYY-MM-DD"],
            id="bad-date",
        ),
        pytest.param(
            '{ assets(where: {last_seen: {_gt: "yesterday"}}) { id } }',
            ["not a timestamp", "ISO 8601"],
            id="bad-timestamp",
        ),
        pytest.param('{ assets(where: {id: {_eq: "123"}}) { id } }', ["not a uuid"], id="bad-uuid"),
        pytest.param(
            "{ assets(order_by: [{cost: upwards}]) { id } }",
            ["upwards", "order_by"],
            id="bad-order",
        ),
    ],
)
def test_errors_say_what_is_wrong(run: Runner, query: str, fragments: list[str]) -> None:
    error = run.error(query)
    for fragment in fragments:
        assert fragment in error.message
    assert error.extensions["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize(
    "query",
    [
        pytest.param('{ assets(where: {cost: {_eq: "abc"}}) { id } }', id="bad-number"),
        pytest.param('{ assets(where: {purchase_date: {_gt: "x"}}) { id } }', id="bad-date"),
        pytest.param("{ assets(limit: -1) { id } }", id="bad-limit"),
    ],
)
def test_bad_values_are_bad_user_input(run: Runner, query: str) -> None:
    assert run.error(query).extensions["code"] == "BAD_USER_INPUT"
