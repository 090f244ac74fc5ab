"""The change history: a batch is stored whole or not at all, values keep their JSON form,
times are UTC, and an object's history comes back newest first (in one query for many)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from federation.model.where import parse
from federation.workflow import WORKFLOW_TABLES, Change, WorkflowError, WorkflowStore

A1, A2 = "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def change(**fields: Any) -> Change:
    base: dict[str, Any] = {
        "entity": "assets", "entity_id": A1, "field": "status", "before": "in_use", "after": "in_repair",
        "outcome": "accepted", "actor": "ana@example.com", "role": "it",
    }  # fmt: skip
    return Change(**(base | fields))


def test_one_batch_shares_its_time_and_comes_back_as_stored(store: WorkflowStore) -> None:
    request = "0a0a0a0a-0a0a-4a0a-8a0a-0a0a0a0a0a0a"
    kept = store.record_changes(
        [
            change(field="cost", before=Decimal("1299.95"), after=Decimal("1400"), source="finance",
                   record_id="FA-1", request_id=request),
            change(field="purchase_date", before=date(2024, 1, 31), after=None, request_id=request),
            change(field="status", outcome="refused", reason="cmdb is read-only", request_id=request),
        ],
        at=T0,
    )  # fmt: skip
    assert [c.at for c in kept] == [T0, T0, T0]
    assert len({c.id for c in kept}) == 3
    assert [(c.before, c.after) for c in kept] == [
        (1299.95, 1400),
        ("2024-01-31", None),
        ("in_use", "in_repair"),
    ]
    assert store.history("assets", A1) == sorted(kept, key=lambda c: -c.id)  # type: ignore[operator]
    read = store.history("assets", A1)[0]
    assert read.at is not None
    assert read.at.tzinfo is UTC


def test_times_are_kept_in_utc(store: WorkflowStore) -> None:
    paris = timezone(timedelta(hours=1))
    store.record_change(
        change(
            at=datetime(2026, 3, 2, 10, 0, tzinfo=paris), after={"when": datetime(2026, 1, 1, tzinfo=paris)}
        )
    )
    [read] = store.history("assets", A1)
    assert read.at == T0
    assert read.at.utcoffset() == timedelta(0)
    assert read.after == {"when": "2025-12-31T23:00:00+00:00"}
    with pytest.raises(WorkflowError, match=re.escape("changes[0].at: 2026-03-02T09:00:00 has no time zone")):
        store.record_change(change(at=datetime(2026, 3, 2, 9, 0)))


def test_a_bad_change_keeps_the_whole_batch_out(store: WorkflowStore) -> None:
    with pytest.raises(
        WorkflowError, match=re.escape("changes[1].reason: a refused change needs the reason")
    ):
        store.record_changes([change(), change(outcome="refused")])
    assert store.changes() == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        pytest.param(
            {"outcome": "maybe"},
            "changes[0].outcome: 'maybe'; expected one of accepted, refused, conflict, failed",
            id="outcome",
        ),
        pytest.param(
            {"entity_id": "P000001"}, "changes[0].entity_id: 'P000001' is not a UUID", id="entity-id"
        ),
        pytest.param({"actor": ""}, "changes[0].actor: required", id="actor"),
        pytest.param(
            {"after": object()}, "changes[0]: cannot keep a object in the change history", id="value"
        ),
    ],
)
def test_bad_changes_are_refused(store: WorkflowStore, fields: dict[str, Any], message: str) -> None:
    with pytest.raises(WorkflowError) as info:
        store.record_change(change(**fields))
    assert str(info.value) == message


def test_histories_of_many_objects_newest_first_with_a_limit_each(store: WorkflowStore) -> None:
    for i in range(4):
        store.record_changes(
            [change(entity_id=A1, field=f"f{i}"), change(entity_id=A2, field=f"g{i}")],
            at=T0 + timedelta(minutes=i),
        )
    store.record_change(change(entity="people", entity_id=A1, field="email", at=T0 + timedelta(hours=1)))
    both = store.history_of("assets", [A1, A2.upper()], limit=2)
    assert {k: [c.field for c in v] for k, v in both.items()} == {A1: ["f3", "f2"], A2: ["g3", "g2"]}
    assert [c.field for c in store.history("assets", A1)] == ["f3", "f2", "f1", "f0"]
    assert store.history_of("assets", []) == {}


def test_an_auditors_query_reads_the_same_rows(store: WorkflowStore) -> None:
    store.record_changes([change(field="cost", after=10), change(field="status")], at=T0)
    store.record_change(change(field="cost", after=20, at=T0 + timedelta(days=1)))
    where = parse({"field": {"_eq": "cost"}, "at": {"_gte": "2026-03-03"}}, "changes", tables=WORKFLOW_TABLES)
    assert [c.after for c in store.changes(where=where)] == [20]
    assert store.count("changes") == 3


def test_ids_are_kept_in_one_spelling(store: WorkflowStore) -> None:
    kept = store.record_change(change(entity_id=A1.upper(), request_id="{" + A2.upper() + "}"))
    assert (kept.entity_id, kept.request_id) == (A1, A2)
    assert store.history("assets", A1) == [kept]
