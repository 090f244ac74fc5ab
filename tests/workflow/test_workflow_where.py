"""`where` and `order_by` over the workflow tables mean the same on SQLite and PostgreSQL,
and what Hasura means over PostgreSQL: every operator of every column type the tables use,
run against rows whose expected matches are written out by hand."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from federation.model.where import WhereError, parse
from federation.workflow import (
    CHANGES,
    WORKFLOW_TABLES,
    Change,
    WorkflowStore,
    open_store,
    where_to_sqlalchemy,
)
from federation.workflow.tables import MAINTENANCE

A1, A2, A3 = (f"{d * 8}-{d * 4}-4{d * 3}-8{d * 3}-{d * 12}" for d in "123")
REQUEST = "0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a"
SPECS = {"cpu": {"arch": "arm64", "cores": 8}, "disks": [{"size": 512}], "ram_gb": 16}
ALL = {"c1", "c2", "c3", "c4", "c5", "c6"}


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


#: label, entity_id, field, before, after, actor, outcome, source, at, request_id
ROWS: list[tuple[Any, ...]] = [
    ("c1", A1, "cost", 1200, 1299.95, "ana@example.com",
     "accepted", "cmdb", "2025-12-31T23:30Z", REQUEST),
    ("c2", A1, "status", "in_use", "in_repair", "Müller@example.com",
     "refused", "finance", "2026-01-01T00:00Z", REQUEST),
    ("c3", A1, "tags", None, ["laptop", "loaner"], "bob_smith@example.com",
     "accepted", None, "2026-01-01T09:00Z", None),
    ("c4", A2, "specs", {"ram_gb": 8}, SPECS, "MÜLLER@example.com",
     "conflict", "cmdb", "2026-02-01T12:00Z", None),
    ("c5", A2, "active", True, False, "carol%admin@example.com",
     "failed", "finance", "2026-03-01T00:00Z", None),
    ("c6", A3, "cost", "x", 5.0, "dave@example.com",
     "accepted", None, "2026-03-02T00:00Z", None),
]  # fmt: skip


@pytest.fixture(scope="module")
def seeded(module_store_url: str) -> Iterator[WorkflowStore]:
    """The rows above, shared by the module's tests (which only read)."""
    store = open_store(module_store_url)
    store.record_changes(
        Change(
            record_id=label, entity="assets", entity_id=entity_id, field=field, before=before,
            after=after, actor=actor, role="admin", outcome=outcome, source=source, at=_at(at),
            request_id=request, reason=None if outcome == "accepted" else f"{outcome} for a reason",
        )
        for label, entity_id, field, before, after, actor, outcome, source, at, request in ROWS
    )  # fmt: skip
    for ticket, cost in (("m1", 12.5), ("m2", "1200"), ("m3", None)):
        store.log_maintenance(
            A1, kind="repair", actor="ana@example.com", cost=cost, ticket=ticket,
            started_at=_at("2026-01-01T00:00:00Z"), done_at=_at("2026-01-02T00:00:00Z"),
        )  # fmt: skip
    yield store
    store.close()


def P(where: dict[str, Any], expected: set[str], name: str) -> Any:
    return pytest.param(where, expected, id=name)


CHANGE_CASES = [
    # the contract's example
    P({"field": {"_eq": "cost"}, "at": {"_gte": "2026-01-01"}}, {"c6"}, "contract-example"),
    # String
    P({"field": {"_eq": "cost"}}, {"c1", "c6"}, "string-eq"),
    P({"field": {"_neq": "cost"}}, {"c2", "c3", "c4", "c5"}, "string-neq"),
    P({"source": {"_neq": "cmdb"}}, {"c2", "c5"}, "string-neq-skips-null"),
    P({"field": {"_in": ["status", "tags"]}}, {"c2", "c3"}, "string-in"),
    P({"field": {"_in": []}}, set(), "string-in-empty"),
    P({"field": {"_nin": ["cost", "status"]}}, {"c3", "c4", "c5"}, "string-nin"),
    P({"field": {"_nin": []}}, ALL, "string-nin-empty"),
    P({"source": {"_is_null": True}}, {"c3", "c6"}, "string-is-null"),
    P({"source": {"_is_null": False}}, {"c1", "c2", "c4", "c5"}, "string-is-not-null"),
    P({"field": {"_gt": "specs"}}, {"c2", "c3"}, "string-gt"),
    P({"field": {"_gte": "specs"}}, {"c2", "c3", "c4"}, "string-gte"),
    P({"field": {"_lt": "cost"}}, {"c5"}, "string-lt"),
    P({"field": {"_lte": "cost"}}, {"c1", "c5", "c6"}, "string-lte"),
    P({"actor": {"_like": "Mü%"}}, {"c2"}, "like-is-case-sensitive"),
    P({"actor": {"_like": "ANA%"}}, set(), "like-is-case-sensitive-ascii"),
    P({"actor": {"_ilike": "ANA%"}}, {"c1"}, "ilike-ascii"),
    P({"actor": {"_ilike": "mü%"}}, {"c2", "c4"}, "ilike-folds-unicode"),
    P({"actor": {"_nlike": "%@example.com"}}, set(), "nlike"),
    P({"actor": {"_nilike": "MÜ%"}}, {"c1", "c3", "c5", "c6"}, "nilike"),
    P({"actor": {"_like": "%\\_%"}}, {"c3"}, "like-escaped-underscore"),
    P({"actor": {"_like": "%\\%%"}}, {"c5"}, "like-escaped-percent"),
    P({"actor": {"_like": "b_b%"}}, {"c3"}, "like-underscore-wildcard"),
    # uuid
    P({"entity_id": {"_eq": A1.upper()}}, {"c1", "c2", "c3"}, "uuid-eq-any-case"),
    P({"entity_id": {"_neq": A1}}, {"c4", "c5", "c6"}, "uuid-neq"),
    P({"entity_id": {"_in": [A2, A3]}}, {"c4", "c5", "c6"}, "uuid-in"),
    P({"entity_id": {"_nin": [A2]}}, {"c1", "c2", "c3", "c6"}, "uuid-nin"),
    P({"entity_id": {"_gt": A1}}, {"c4", "c5", "c6"}, "uuid-gt"),
    P({"entity_id": {"_lte": A2}}, {"c1", "c2", "c3", "c4", "c5"}, "uuid-lte"),
    P({"request_id": {"_is_null": True}}, {"c3", "c4", "c5", "c6"}, "uuid-is-null"),
    # Int
    P({"id": {"_eq": 2}}, {"c2"}, "int-eq"),
    P({"id": {"_neq": 2}}, ALL - {"c2"}, "int-neq"),
    P({"id": {"_gt": 4}}, {"c5", "c6"}, "int-gt"),
    P({"id": {"_gte": 5}}, {"c5", "c6"}, "int-gte"),
    P({"id": {"_lt": 2}}, {"c1"}, "int-lt"),
    P({"id": {"_lte": 2}}, {"c1", "c2"}, "int-lte"),
    P({"id": {"_in": [1, 6]}}, {"c1", "c6"}, "int-in"),
    P({"id": {"_nin": [1]}}, ALL - {"c1"}, "int-nin"),
    # timestamptz: a date is its midnight UTC; an offset is honoured
    P({"at": {"_gte": "2026-01-01"}}, ALL - {"c1"}, "time-gte-date"),
    P({"at": {"_lt": "2026-01-01"}}, {"c1"}, "time-lt-date"),
    P({"at": {"_lt": "2026-01-01T00:30:00+01:00"}}, set(), "time-lt-offset"),
    P({"at": {"_lte": "2026-01-01T00:30:00+01:00"}}, {"c1"}, "time-lte-offset"),
    P({"at": {"_gt": "2026-02-01T12:00:00Z"}}, {"c5", "c6"}, "time-gt"),
    P({"at": {"_eq": "2026-01-01T09:00:00Z"}}, {"c3"}, "time-eq"),
    P({"at": {"_neq": "2026-01-01T09:00:00Z"}}, ALL - {"c3"}, "time-neq"),
    P({"at": {"_in": ["2026-01-01T00:00:00Z", "2026-03-01T01:00:00+01:00"]}}, {"c2", "c5"}, "time-in"),
    P({"at": {"_nin": ["2026-01-01T00:00:00Z"]}}, ALL - {"c2"}, "time-nin"),
    # jsonb: PostgreSQL's equality, key test and containment
    P({"after": {"_eq": "in_repair"}}, {"c2"}, "json-eq-string"),
    P({"after": {"_eq": 5}}, {"c6"}, "json-eq-number-5-is-5.0"),
    P({"after": {"_eq": 1299.95}}, {"c1"}, "json-eq-decimal"),
    P({"after": {"_eq": False}}, {"c5"}, "json-eq-false"),
    P({"after": {"_eq": True}}, set(), "json-eq-true"),
    P({"after": {"_eq": ["laptop", "loaner"]}}, {"c3"}, "json-eq-array"),
    P({"after": {"_eq": ["loaner", "laptop"]}}, set(), "json-eq-array-order-matters"),
    P(
        {"after": {"_eq": {"ram_gb": 16, "disks": [{"size": 512}], "cpu": {"cores": 8, "arch": "arm64"}}}},
        {"c4"},
        "json-eq-object-any-key-order",
    ),
    P({"after": {"_neq": "in_repair"}}, ALL - {"c2"}, "json-neq"),
    P({"before": {"_neq": "in_use"}}, {"c1", "c4", "c5", "c6"}, "json-neq-skips-null"),
    P({"before": {"_is_null": True}}, {"c3"}, "json-is-null"),
    P({"before": {"_is_null": False}}, ALL - {"c3"}, "json-is-not-null"),
    P({"after": {"_has_key": "cpu"}}, {"c4"}, "json-has-key"),
    P({"after": {"_has_key": "cores"}}, set(), "json-has-key-top-level-only"),
    P({"after": {"_has_key": "laptop"}}, {"c3"}, "json-has-key-array-string"),
    P({"after": {"_has_key": "in_repair"}}, {"c2"}, "json-has-key-string-itself"),
    P({"before": {"_has_key": "ram_gb"}}, {"c4"}, "json-has-key-before"),
    P({"after": {"_contains": {"cpu": {"arch": "arm64"}}}}, {"c4"}, "json-contains-nested-object"),
    P({"after": {"_contains": {"disks": [{}]}}}, {"c4"}, "json-contains-array-of-objects"),
    P({"after": {"_contains": {"ram_gb": 16.0}}}, {"c4"}, "json-contains-number-by-value"),
    P({"after": {"_contains": {"cpu": "arm64"}}}, set(), "json-contains-structure-must-match"),
    P({"after": {"_contains": {"disks": {"size": 512}}}}, set(), "json-contains-array-is-not-object"),
    P({"after": {"_contains": ["loaner"]}}, {"c3"}, "json-contains-array-subset"),
    P({"after": {"_contains": ["loaner", "laptop", "loaner"]}}, {"c3"}, "json-contains-array-any-order"),
    P({"after": {"_contains": "laptop"}}, {"c3"}, "json-contains-top-array-has-scalar"),
    P({"after": {"_contains": {"disks": 512}}}, set(), "json-contains-nested-array-not-scalar"),
    P({"after": {"_contains": "in_repair"}}, {"c2"}, "json-contains-scalar"),
    P({"after": {"_contains": 5}}, {"c6"}, "json-contains-number"),
    P({"after": {"_contains": {}}}, {"c4"}, "json-contains-empty-object"),
    P({"after": {"_contains": []}}, {"c3"}, "json-contains-empty-array"),
    # _and, _or, _not, null
    P({"_and": [{"field": {"_eq": "cost"}}, {"at": {"_gte": "2026-01-01"}}]}, {"c6"}, "and"),
    P({"_or": [{"id": {"_eq": 1}}, {"id": {"_eq": 2}}]}, {"c1", "c2"}, "or"),
    P({"_not": {"field": {"_eq": "cost"}}}, {"c2", "c3", "c4", "c5"}, "not"),
    P({"_not": {"source": {"_eq": "cmdb"}}}, {"c2", "c5"}, "not-keeps-sql-nulls-out"),
    P({"_and": []}, ALL, "and-empty-is-true"),
    P({"_or": []}, set(), "or-empty-is-false"),
    P({"field": {"_eq": None}}, ALL, "null-operand-is-ignored"),
    P(
        {
            "_or": [
                {"outcome": {"_eq": "refused"}},
                {"_and": [{"outcome": {"_eq": "accepted"}}, {"_not": {"source": {"_is_null": False}}}]},
            ]
        },
        {"c2", "c3", "c6"},
        "nested",
    ),
]


@pytest.mark.parametrize(("where", "expected"), CHANGE_CASES)
def test_where_over_changes(seeded: WorkflowStore, where: dict[str, Any], expected: set[str]) -> None:
    node = parse(where, "changes", tables=WORKFLOW_TABLES)
    assert {c.record_id for c in seeded.changes(where=node)} == expected
    assert seeded.count("changes", where=node) == len(expected)


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        P({"cost": {"_eq": "12.50"}}, {"m1"}, "numeric-eq-text"),
        P({"cost": {"_eq": 12.5}}, {"m1"}, "numeric-eq"),
        P({"cost": {"_neq": 12.5}}, {"m2"}, "numeric-neq"),
        P({"cost": {"_gt": 100}}, {"m2"}, "numeric-gt"),
        P({"cost": {"_gte": 12.5}}, {"m1", "m2"}, "numeric-gte"),
        P({"cost": {"_lt": 1200}}, {"m1"}, "numeric-lt"),
        P({"cost": {"_lte": 12.5}}, {"m1"}, "numeric-lte"),
        P({"cost": {"_in": [12.5, 1200]}}, {"m1", "m2"}, "numeric-in"),
        P({"cost": {"_nin": [12.5]}}, {"m2"}, "numeric-nin"),
        P({"cost": {"_is_null": True}}, {"m3"}, "numeric-is-null"),
    ],
)
def test_where_over_maintenance(seeded: WorkflowStore, where: dict[str, Any], expected: set[str]) -> None:
    node = parse(where, "maintenance", tables=WORKFLOW_TABLES)
    assert {m.ticket for m in seeded.query("maintenance", where=node)} == expected


@pytest.mark.parametrize(
    ("order_by", "limit", "offset", "expected"),
    [
        pytest.param(None, None, 0, ["c6", "c5", "c4", "c3", "c2", "c1"], id="default-newest-first"),
        pytest.param(None, 2, 1, ["c5", "c4"], id="limit-offset"),
        pytest.param([("source", "asc")], None, 0, ["c1", "c4", "c2", "c5", "c3", "c6"], id="asc-nulls-last"),
        pytest.param(
            [("source", "desc")], None, 0, ["c3", "c6", "c2", "c5", "c1", "c4"], id="desc-nulls-first"
        ),
        pytest.param(
            [("source", "asc_nulls_first")],
            None,
            0,
            ["c3", "c6", "c1", "c4", "c2", "c5"],
            id="asc-nulls-first",
        ),
        pytest.param(
            [("source", "desc_nulls_last")],
            None,
            0,
            ["c2", "c5", "c1", "c4", "c3", "c6"],
            id="desc-nulls-last",
        ),
        pytest.param([("entity_id", "desc"), ("at", "asc")], 3, 0, ["c6", "c4", "c5"], id="two-keys"),
    ],
)
def test_order_by(
    seeded: WorkflowStore,
    order_by: list[tuple[str, str]] | None,
    limit: int | None,
    offset: int,
    expected: list[str],
) -> None:
    rows = seeded.changes(order_by=order_by, limit=limit, offset=offset)
    assert [c.record_id for c in rows] == expected


@pytest.mark.parametrize(
    ("table", "where", "message"),
    [
        pytest.param(
            CHANGES,
            {"at": {"_gte": "yesterday"}},
            "changes.at._gte: 'yesterday' is not a time in ISO 8601",
            id="bad-time",
        ),
        pytest.param(
            CHANGES,
            {"entity_id": {"_eq": "A-1"}},
            "changes.entity_id._eq: 'A-1' is not a UUID",
            id="bad-uuid",
        ),
        pytest.param(CHANGES, {"id": {"_eq": "3"}}, "changes.id._eq: '3' is not an integer", id="bad-int"),
        pytest.param(
            CHANGES, {"id": {"_in": [1, True]}}, "changes.id._in: True is not an integer", id="bool-not-int"
        ),
        pytest.param(CHANGES, {"field": {"_eq": 3}}, "changes.field._eq: 3 is not text", id="bad-text"),
        pytest.param(
            CHANGES, {"after": {"_has_key": 3}}, "changes.after._has_key: expected a key", id="bad-key"
        ),
        pytest.param(CHANGES, {"field": {"_is_null": "yes"}}, "expected true or false", id="bad-is-null"),
        pytest.param(
            MAINTENANCE,
            {"cost": {"_gt": "lots"}},
            "maintenance.cost._gt: 'lots' is not a number",
            id="bad-number",
        ),
        pytest.param(MAINTENANCE, {"cost": {"_gt": "NaN"}}, "'NaN' is not a number", id="nan"),
    ],
)
def test_bad_operands_are_refused_by_column_and_operator(
    table: Any, where: dict[str, Any], message: str
) -> None:
    node = parse(where, table.name, tables=WORKFLOW_TABLES)
    with pytest.raises(WhereError, match=re.escape(message)):
        where_to_sqlalchemy(node, table)


def test_actor_variables_must_be_substituted_first() -> None:
    node = parse({"actor": {"_eq": "X-Actor-Email"}}, "changes", tables=WORKFLOW_TABLES, variables=True)
    with pytest.raises(WhereError, match=r"changes\.actor\._eq: an actor variable is left in the filter"):
        where_to_sqlalchemy(node, CHANGES)


def test_unknown_fields_are_refused_by_the_grammar_with_the_columns() -> None:
    with pytest.raises(WhereError, match=r"where\.asset: unknown field of changes; expected .*entity_id"):
        parse({"asset": {"_eq": "x"}}, "changes", tables=WORKFLOW_TABLES)


@pytest.mark.parametrize(
    ("order_by", "message"),
    [
        pytest.param([("colour", "asc")], "order_by[0].colour: unknown column of changes", id="column"),
        pytest.param(
            [("at", "up")], "order_by[0].at: unknown direction 'up'; expected one of asc,", id="direction"
        ),
    ],
)
def test_bad_order_by_is_refused(
    seeded: WorkflowStore, order_by: list[tuple[str, str]], message: str
) -> None:
    with pytest.raises(WhereError) as info:
        seeded.changes(order_by=order_by)
    assert message in str(info.value)


def test_the_tables_are_described_for_the_where_grammar() -> None:
    types = {name: {c.name: c.type for c in table.columns} for name, table in WORKFLOW_TABLES.items()}
    assert types["changes"] == {
        "id": "int", "at": "timestamptz", "request_id": "uuid", "actor": "string", "role": "string",
        "entity": "string", "entity_id": "uuid", "field": "string", "before": "jsonb", "after": "jsonb",
        "source": "string", "record_id": "string", "outcome": "string", "reason": "string",
    }  # fmt: skip
    assert types["maintenance"]["cost"] == "numeric"
    assert types["checkouts"]["expected_checkin"] == "timestamptz"
