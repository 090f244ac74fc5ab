"""Lists: ordering, paging and its warnings, distinct_on, by_pk, relationships, provenance
and the auxiliary root fields."""

from __future__ import annotations

from typing import Any

import pytest
from schema_estate import Runner, aid

from federation.config.settings import ServerConfig
from federation.pipeline.store import Snapshot


def numbers(rows: list[dict[str, Any]]) -> list[int]:
    return [int(r["id"][-12:]) for r in rows]


def order(run: Any, order_by: str, where: str = "{}", **extra: Any) -> list[int]:
    args = "".join(f", {k}: {v}" for k, v in extra.items())
    query = f"{{ assets(where: {where}, order_by: {order_by}{args}) {{ id }} }}"
    return numbers(run.data(query)["assets"])


BY_COST_ASC = [17, 18, 16, 15, 7, 14, 13, 6, 4, 1, 2, 5, 3, 12, 11, 9, 8]
BY_COST_DESC = [8, 9, 11, 12, 3, 5, 1, 2, 4, 6, 13, 7, 14, 15, 16, 17, 18]
NO_COST = [10, 19, 20]


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        pytest.param("[{cost: asc}]", BY_COST_ASC + NO_COST, id="asc-nulls-last"),
        pytest.param("[{cost: asc_nulls_last}]", BY_COST_ASC + NO_COST, id="asc_nulls_last"),
        pytest.param("[{cost: asc_nulls_first}]", NO_COST + BY_COST_ASC, id="asc_nulls_first"),
        pytest.param("[{cost: desc}]", NO_COST + BY_COST_DESC, id="desc-nulls-first"),
        pytest.param("[{cost: desc_nulls_first}]", NO_COST + BY_COST_DESC, id="desc_nulls_first"),
        pytest.param("[{cost: desc_nulls_last}]", BY_COST_DESC + NO_COST, id="desc_nulls_last"),
        pytest.param("{cost: asc}", BY_COST_ASC + NO_COST, id="single-object"),
        pytest.param(
            "[{assigned_to: {name: asc}}, {id: asc}]",
            [1, 8, 13, 2, 9, 11, 14, 19, 3, 17, 4, 6, 15, 16, 5, 7, 10, 12, 18, 20],
            id="nested-object-relation",
        ),
        pytest.param(
            "[{assigned_to: {manager: {name: desc_nulls_last}}}, {id: desc}]",
            # assignee's manager: Erin (frank: 16), Carol (dave, erin: 4, 6, 15), Alice (bob,
            # carol: 2, 3, 9, 11, 14, 17, 19), none (alice's and unassigned), ids descending
            [16, 15, 6, 4, 19, 17, 14, 11, 9, 3, 2, 20, 18, 13, 12, 10, 8, 7, 5, 1],
            id="two-levels",
        ),
    ],
)
def test_order_by(run: Any, order_by: str, expected: list[int]) -> None:
    assert order(run, order_by) == expected
    # an explicit limit fetches no row past it: the page is compiled without numbering its
    # rows, and the list takes its order from the ORDER BY terms themselves
    assert order(run, order_by, limit=50) == expected
    assert order(run, order_by, limit=4, offset=3) == expected[3:7]


def test_order_by_location_then_hostname(run: Any) -> None:
    got = order(run, "[{location: {name: desc}}, {hostname: asc}]", "{location_id: {_is_null: false}}")
    assert got == [7, 4, 5, 18, 6, 1, 2, 3, 16, 17, 12, 8, 9, 10, 11, 19, 20]


def test_people_order_by_manager(run: Any) -> None:
    data = run.data("{ people(order_by: [{manager: {name: asc_nulls_first}}, {name: asc}]) { email } }")
    names = [p["email"].split("@")[0] for p in data["people"]]
    assert names == ["alice", "bob", "carol", "dave", "erin", "frank"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        pytest.param({"limit": 3}, [17, 18, 16], id="limit"),
        pytest.param({"limit": 3, "offset": 2}, [16, 15, 7], id="limit-offset"),
        pytest.param({"offset": 18}, [19, 20], id="offset-only"),
        pytest.param({"limit": 0}, [], id="limit-zero"),
        pytest.param({"offset": 50}, [], id="offset-past-end"),
    ],
)
def test_paging(run: Any, extra: dict[str, int], expected: list[int]) -> None:
    assert order(run, "[{cost: asc}]", **extra) == expected
    assert run.ctx.warnings == []


@pytest.fixture
def small(store: Any, schema: Any) -> Runner:
    return Runner(store, schema, ServerConfig(default_limit=5, max_limit=8))


@pytest.mark.parametrize(
    ("args", "count", "truncated"),
    [
        pytest.param("", 5, True, id="default-limit-cuts"),
        pytest.param('where: {category: {_eq: "laptop"}}', 5, False, id="default-limit-exact"),
        pytest.param("limit: 20", 8, True, id="capped"),
        pytest.param("limit: 8", 8, False, id="at-cap"),
        pytest.param("limit: 20, offset: 15", 5, False, id="capped-but-all-left"),
        pytest.param("limit: 3", 3, False, id="explicit-limit-no-warning"),
    ],
)
def test_limits_and_truncation_warning(small: Runner, args: str, count: int, truncated: bool) -> None:
    result = small.result(f"{{ assets{'(' + args + ')' if args else ''} {{ id }} }}")
    assert result.errors is None
    assert len(result.data["assets"]) == count
    codes = [w["code"] for w in small.ctx.warnings]  # type: ignore[union-attr]
    assert codes == (["RESULT_TRUNCATED"] if truncated else [])


def test_truncation_warning_names_the_field_and_the_limits(small: Runner) -> None:
    small.data("{ first: assets { id } }")
    (warning,) = small.ctx.warnings  # type: ignore[union-attr]
    assert warning["field"] == "first"
    assert "default limit of 5" in warning["message"]
    assert "at most 8" in warning["message"]


def test_objects_counted_for_a_cut_page_with_to_one_relations(small: Runner) -> None:
    """The access log's row count: the page's rows and the objects of their to-one relations,
    not those of the row fetched past the limit only to see that the list was cut (a06)."""
    result = small.result(
        '{ assets(where: {category: {_in: ["laptop", "desktop"]}}, order_by: [{asset_tag: asc}]) '
        "{ asset_tag location { name } assigned_to { email __typename } } }"
    )
    assert result.errors is None
    assert [a["asset_tag"] for a in result.data["assets"]] == [f"AT-00{n}" for n in range(1, 6)]
    assert [a["assigned_to"] and a["assigned_to"]["email"] for a in result.data["assets"]] == [
        "alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com", None,
    ]  # fmt: skip
    assert result.data["assets"][0]["assigned_to"]["__typename"] == "people"
    assert [w["code"] for w in small.ctx.warnings] == ["RESULT_TRUNCATED"]  # type: ignore[union-attr]
    assert small.ctx.rows == 5 + 5 + 4  # type: ignore[union-attr]  # assets, locations, people


@pytest.mark.parametrize(
    "args",
    [
        pytest.param("limit: -1", id="negative-limit"),
        pytest.param("offset: -2", id="negative-offset"),
    ],
)
def test_negative_paging_is_bad_user_input(run: Any, args: str) -> None:
    error = run.error(f"{{ assets({args}) {{ id }} }}")
    assert error.extensions["code"] == "BAD_USER_INPUT"
    assert "0 or more" in error.message


def test_distinct_on_picks_first_row_per_value(run: Any) -> None:
    got = order(run, "[{category: asc}, {cost: desc_nulls_last}]", distinct_on="[category]")
    assert got == [6, 3, 17, 11, 13, 8, 16, 19]


def test_distinct_on_without_order_by(run: Any) -> None:
    data = run.data("{ assets(distinct_on: [manufacturer]) { manufacturer } }")
    assert [a["manufacturer"] for a in data["assets"]] == [
        "Apple", "Cisco", "Dell", "Fortinet", "HP", "HPE", "Lenovo", "Samsung", None,
    ]  # fmt: skip


def test_distinct_on_with_limit(run: Any) -> None:
    got = order(
        run, "[{category: asc}, {cost: desc_nulls_last}]", distinct_on="[category]", limit=2,
        offset=1,
    )  # fmt: skip
    assert got == [3, 17]


def test_distinct_on_must_lead_order_by(run: Any) -> None:
    error = run.error("{ assets(distinct_on: [category], order_by: [{cost: asc}]) { id } }")
    assert error.extensions["code"] == "BAD_USER_INPUT"
    assert "distinct_on (category) must match the first order_by columns" in error.message


def test_by_pk_hit(run: Any) -> None:
    data = run.data(f'{{ assets_by_pk(id: "{aid(8)}") {{ hostname location {{ name }} }} }}')
    assert data["assets_by_pk"] == {"hostname": "srv-001", "location": {"name": "DC1"}}


def test_by_pk_miss(run: Any) -> None:
    data = run.data(f'{{ assets_by_pk(id: "{aid(99)}") {{ hostname }} }}')
    assert data["assets_by_pk"] is None


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        pytest.param('{ assets_by_pk(id: "nope") { id } }', None, id="literal"),
        pytest.param("query($id: uuid!) { assets_by_pk(id: $id) { id } }", {"id": "12-34"}, id="variable"),
    ],
)
def test_by_pk_invalid_uuid(run: Any, query: str, variables: Any) -> None:
    error = run.error(query, variables)
    assert error.extensions["code"] == "BAD_USER_INPUT"
    assert "is not a uuid" in error.message


def test_scalars_serialize_as_hasura(run: Any) -> None:
    data = run.data(
        f'{{ assets_by_pk(id: "{aid(2)}") {{ id cost purchase_date last_seen mac_addresses attributes }} }}'
    )
    assert data["assets_by_pk"] == {
        "id": aid(2),
        "cost": 1500.0,
        "purchase_date": "2023-02-15",
        "last_seen": "2024-05-02T07:30:00+00:00",
        "mac_addresses": ["aa:bb:cc:00:00:02", "aa:bb:cc:00:00:22"],
        "attributes": None,
    }
    data = run.data(f'{{ assets_by_pk(id: "{aid(1)}") {{ attributes }} }}')
    assert data["assets_by_pk"]["attributes"] == {"ram_gb": 16, "gpu": False}


def test_object_relations_chain(run: Any) -> None:
    data = run.data(
        '{ people(where: {email: {_eq: "frank@example.com"}}) '
        "{ manager { name manager { name manager { name manager { name } } } } } }"
    )
    assert data["people"] == [
        {"manager": {"name": "Erin Eve", "manager": {"name": "Carol Chen",
                     "manager": {"name": "Alice Admin", "manager": None}}}}
    ]  # fmt: skip


def test_aliases_of_one_relation_share_a_load(run: Any) -> None:
    data = run.data(
        f'{{ assets_by_pk(id: "{aid(1)}") {{ a: assigned_to {{ name }} b: assigned_to {{ email }} }} }}'
    )
    assert data["assets_by_pk"] == {"a": {"name": "Alice Admin"}, "b": {"email": "alice@example.com"}}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            "order_by: [{cost: desc_nulls_last}], limit: 2",
            {"alice": [8, 1], "bob": [9, 11], "carol": [3, 17], "dave": [4], "erin": [6, 15],
             "frank": [16]},
            id="limit-per-parent",
        ),
        pytest.param(
            "order_by: [{cost: desc_nulls_last}], limit: 1, offset: 1",
            {"alice": [1], "bob": [11], "carol": [17], "dave": [], "erin": [15], "frank": []},
            id="offset-per-parent",
        ),
        pytest.param(
            'where: {category: {_eq: "phone"}}',
            {"alice": [13], "bob": [14], "carol": [], "dave": [], "erin": [15], "frank": []},
            id="where",
        ),
        pytest.param(
            "distinct_on: [category], order_by: [{category: asc}, {id: desc}]",
            {"alice": [1, 13, 8], "bob": [2, 11, 14, 9, 19], "carol": [3, 17], "dave": [4],
             "erin": [6, 15], "frank": [16]},
            id="distinct-on-per-parent",
        ),
    ],
)  # fmt: skip
def test_array_relation_arguments(run: Any, args: str, expected: dict[str, list[int]]) -> None:
    data = run.data(f"{{ people(order_by: [{{email: asc}}]) {{ email assets({args}) {{ id }} }} }}")
    got = {p["email"].split("@")[0]: numbers(p["assets"]) for p in data["people"]}
    assert got == expected


def test_array_relation_aliases_with_different_arguments(run: Any) -> None:
    data = run.data(
        '{ locations(where: {name: {_eq: "DC1"}}) { servers: assets(where: {category: {_eq: '
        '"server"}}, order_by: [{id: asc}]) { id } vms: assets(where: {category: {_eq: '
        '"virtual_machine"}}, order_by: [{id: asc}]) { id } } }'
    )
    (dc1,) = data["locations"]
    assert numbers(dc1["servers"]) == [8, 9, 10]
    assert numbers(dc1["vms"]) == [19, 20]


class _CountingCursor:
    def __init__(self, cursor: Any, calls: list[str]) -> None:
        self._cursor, self._calls = cursor, calls

    def execute(self, text: str, params: Any = None) -> Any:
        self._calls.append(text)
        return self._cursor.execute(text, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


def test_one_statement_per_root_field(run: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """No N+1, and no statement per level either: each root field — with its to-one,
    nested and aggregated relationships — is one SQL statement."""
    calls: list[str] = []
    original = Snapshot.cursor
    monkeypatch.setattr(Snapshot, "cursor", lambda self: _CountingCursor(original(self), calls))
    data = run.data(
        "{ assets { id location { name } assigned_to { name manager { name } } } "
        "  locations { name assets(limit: 2) { id } assets_aggregate { aggregate { count } } } }"
    )
    assert len(data["assets"]) == 20
    assert len(calls) == 2
    assert run.ctx.touched == {"assets", "locations", "people"}


def test_fragments_and_skip(run: Any) -> None:
    data = run.data(
        "query($skip: Boolean!) { assets(limit: 1, order_by: [{id: asc}]) { ...F } } "
        "fragment F on assets { id hostname @skip(if: $skip) ... on assets { location { name } } }",
        {"skip": True},
    )
    assert data["assets"] == [{"id": aid(1), "location": {"name": "HQ"}}]


def test_sources_provenance_conflicts(run: Any) -> None:
    data = run.data(
        f'{{ assets(where: {{id: {{_in: ["{aid(1)}", "{aid(3)}"]}}}}, order_by: [{{id: asc}}]) '
        "{ sources { source record_id fetched_at } provenance { field source record_id value } "
        "conflicts { field values { source record_id value } } } }"
    )
    first, third = data["assets"]
    assert first["sources"] == [
        {"source": "cmdb", "record_id": "c-1", "fetched_at": "2024-05-03T08:00:00+00:00"},
        {"source": "intune", "record_id": "i-1", "fetched_at": "2024-05-03T08:00:00+00:00"},
    ]
    assert first["provenance"] == [
        {"field": "cost", "source": "cmdb", "record_id": "c-1", "value": 1500},
        {"field": "hostname", "source": "intune", "record_id": "i-1", "value": "lap-001"},
    ]
    assert first["conflicts"] == [
        {"field": "cost", "values": [
            {"source": "cmdb", "record_id": "c-1", "value": 1500},
            {"source": "sheet", "record_id": "s-1", "value": 1450},
        ]},
        {"field": "hostname", "values": [
            {"source": "cmdb", "record_id": "c-1", "value": "LAP-001"},
            {"source": "intune", "record_id": "i-1", "value": "lap-001"},
        ]},
    ]  # fmt: skip
    assert third == {"sources": [], "provenance": [], "conflicts": []}


def test_root_sources(run: Any) -> None:
    data = run.data("{ sources { name kind status last_sync_at last_success_at record_count stale error } }")
    assert data["sources"] == [
        {"name": "cmdb", "kind": "sql", "status": "ok", "last_sync_at": "2024-05-03T08:00:00+00:00",
         "last_success_at": "2024-05-03T08:00:00+00:00", "record_count": 20, "stale": False,
         "error": None},
        {"name": "intune", "kind": "msgraph", "status": "ok",
         "last_sync_at": "2024-05-03T08:00:00+00:00",
         "last_success_at": "2024-05-03T08:00:00+00:00", "record_count": 2, "stale": False,
         "error": None},
        {"name": "sheet", "kind": "excel", "status": "failed",
         "last_sync_at": "2024-05-03T08:00:00+00:00",
         "last_success_at": "2024-05-01T00:00:00+00:00", "record_count": 1, "stale": True,
         "error": "connection refused"},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param("", ["r-10", "r-9", "c-99"], id="newest-first"),
        pytest.param('(source: "sheet")', ["r-10", "r-9"], id="by-source"),
        pytest.param("(limit: 1, offset: 1)", ["r-9"], id="paged"),
        pytest.param('(source: "nope")', [], id="unknown-source"),
    ],
)
def test_quarantine(run: Any, args: str, expected: list[str]) -> None:
    data = run.data(f"{{ quarantine{args} {{ source entity record_id reason raw quarantined_at }} }}")
    assert [q["record_id"] for q in data["quarantine"]] == expected


def test_quarantine_record_fields(run: Any) -> None:
    data = run.data('{ quarantine(source: "cmdb") { source entity reason raw quarantined_at } }')
    assert data["quarantine"] == [
        {"source": "cmdb", "entity": "people", "reason": "email: missing",
         "raw": {"name": "Nobody"}, "quarantined_at": "2024-05-03T07:00:00+00:00"}
    ]  # fmt: skip


def test_ambiguities(run: Any) -> None:
    data = run.data("{ ambiguities { entity source record_id rule candidate_ids reason } }")
    assert data["ambiguities"] == [
        {"entity": "assets", "source": "cmdb", "record_id": "c-50", "rule": "serial_number",
         "candidate_ids": [aid(1), aid(2)], "reason": "matched two assets"}
    ]  # fmt: skip


# ---------------------------------------------------------------- quality notes (on_invalid: blank)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param("", ["cmdb c-1 attributes", "cmdb c-1 purchase_date", "cmdb c-2 cost",
                          "cmdb c-2 status", "hr h-7 employment_status", "intune i-1 cost"], id="all"),
        pytest.param('(source: "cmdb", field: "cost")', ["cmdb c-2 cost"], id="by-source-and-field"),
        pytest.param('(entity: "people")', ["hr h-7 employment_status"], id="by-entity"),
        pytest.param("(limit: 2, offset: 1)", ["cmdb c-1 purchase_date", "cmdb c-2 cost"], id="paged"),
        pytest.param('(field: "nope")', [], id="unknown-field"),
    ],
)  # fmt: skip
def test_quality_root(run: Any, args: str, expected: list[str]) -> None:
    data = run.data(f"{{ quality{args} {{ source entity record_id field value reason noted_at }} }}")
    assert [f"{q['source']} {q['record_id']} {q['field']}" for q in data["quality"]] == expected


def test_quality_note_fields(run: Any) -> None:
    data = run.data('{ quality(source: "intune") { source entity record_id field value reason noted_at } }')
    assert data["quality"] == [
        {"source": "intune", "entity": "assets", "record_id": "i-1", "field": "cost", "value": "lots",
         "reason": "cannot read 'lots' as an amount", "noted_at": "2024-05-03T08:00:00+00:00"}
    ]  # fmt: skip


def test_quality_summary(run: Any) -> None:
    data = run.data('{ quality_summary(entity: "assets", field: "cost") { source field reason count } }')
    assert data["quality_summary"] == [
        {"source": "cmdb", "field": "cost", "reason": "cannot read … as an amount", "count": 1},
        {"source": "intune", "field": "cost", "reason": "cannot read … as an amount", "count": 1},
    ]


def test_quality_on_assets_lists_the_notes_of_the_merged_records(run: Any) -> None:
    query = (
        f'{{ assets(where: {{id: {{_in: ["{aid(1)}", "{aid(2)}", "{aid(3)}"]}}}}, order_by: [{{id: asc}}]) '
        "{ asset_tag quality { source record_id field value reason } } }"
    )
    got = {a["asset_tag"]: a["quality"] for a in run.data(query)["assets"]}
    assert got["AT-003"] == []
    assert [(n["source"], n["record_id"], n["field"], n["value"]) for n in got["AT-001"]] == [
        ("cmdb", "c-1", "attributes", "ram=16"),
        ("intune", "i-1", "cost", "lots"),
        ("cmdb", "c-1", "purchase_date", "31/31/24"),
    ]
    assert [n["reason"] for n in got["AT-002"]] == [
        "cannot read 'TBD' as an amount",
        "unknown status 'Shredded?'",
    ]
