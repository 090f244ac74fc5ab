"""Maintenance records: open until closed (one open per asset, the database's rule), closed
at once when logged with `done_at`, the status to give back kept, bad input refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from federation.workflow import MAINTENANCE, WorkflowConflict, WorkflowError, WorkflowStore

ASSET, OTHER = "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_an_open_record_is_closed_with_the_status_to_restore(store: WorkflowStore) -> None:
    opened = store.log_maintenance(
        ASSET, kind="repair", actor="ana@example.com", notes="cracked screen", cost="149.9",
        started_at=T0, ticket="INC-1", previous_status="in_use",
    )  # fmt: skip
    assert (opened.status, opened.done_at, opened.cost) == ("open", None, Decimal("149.9"))
    closed = store.close_maintenance(
        opened.id,
        actor="bob@example.com",
        done_at=T0 + timedelta(days=2),
        cost=Decimal("180"),
        notes="new panel",
    )
    assert (closed.status, closed.done_at, closed.closed_by) == (
        "closed",
        T0 + timedelta(days=2),
        "bob@example.com",
    )
    assert (closed.previous_status, closed.cost, closed.notes, closed.ticket) == (
        "in_use",
        180,
        "new panel",
        "INC-1",
    )
    assert store.maintenance_of([ASSET]) == {ASSET: [closed]}


def test_a_second_open_record_is_refused(store: WorkflowStore) -> None:
    first = store.log_maintenance(ASSET, kind="repair", actor="ana@example.com", started_at=T0)
    with pytest.raises(WorkflowConflict) as info:
        store.log_maintenance(ASSET, kind="upgrade", actor="bob@example.com")
    assert str(info.value).startswith(
        f"asset {ASSET} already has open maintenance (repair since 2026-03-02T09:00"
    )
    assert first.id in str(info.value)
    store.log_maintenance(OTHER, kind="upgrade", actor="bob@example.com")  # another asset is free


def test_a_record_logged_done_is_closed_and_blocks_nothing(store: WorkflowStore) -> None:
    done = store.log_maintenance(
        ASSET, kind="inspection", actor="ana@example.com", started_at=T0, done_at=T0 + timedelta(hours=1)
    )
    assert (done.status, done.closed_by) == ("closed", "ana@example.com")
    opened = store.log_maintenance(
        ASSET, kind="repair", actor="ana@example.com", started_at=T0 + timedelta(days=1)
    )
    assert [m.id for m in store.maintenance_of([ASSET])[ASSET]] == [opened.id, done.id]  # newest first


def test_closing_twice_or_closing_nothing_is_refused(store: WorkflowStore) -> None:
    opened = store.log_maintenance(ASSET, kind="repair", actor="ana@example.com", started_at=T0)
    store.close_maintenance(opened.id, actor="ana@example.com", done_at=T0 + timedelta(days=1))
    with pytest.raises(
        WorkflowConflict, match=f"maintenance {opened.id} was already closed at 2026-03-03T09:00"
    ):
        store.close_maintenance(opened.id, actor="ana@example.com")
    missing = str(uuid.uuid4())
    with pytest.raises(WorkflowError, match=f"maintenance: no record {missing}"):
        store.close_maintenance(missing, actor="ana@example.com")


def test_the_database_itself_keeps_the_rules(store: WorkflowStore) -> None:
    row = {
        "asset_id": ASSET,
        "kind": "repair",
        "started_at": T0,
        "status": "open",
        "opened_by": "ana@example.com",
    }
    with store.transaction() as conn:
        conn.execute(MAINTENANCE.insert().values(row | {"id": str(uuid.uuid4())}))
    bad_rows = [
        row,  # a second open record
        row | {"asset_id": OTHER, "status": "closed"},  # closed without done_at
        row | {"asset_id": OTHER, "cost": Decimal("-1")},  # negative cost
        row | {"asset_id": OTHER, "status": "paused"},  # unknown status
    ]
    for bad in bad_rows:
        with pytest.raises(sa.exc.IntegrityError), store.transaction() as conn:
            conn.execute(MAINTENANCE.insert().values(bad | {"id": str(uuid.uuid4())}))
    assert len(store.query("maintenance")) == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"cost": -5}, "cost: expected 0 or more, got -5", id="negative-cost"),
        pytest.param({"cost": "a lot"}, "cost: 'a lot' is not a number", id="text-cost"),
        pytest.param({"cost": float("nan")}, "cost: expected 0 or more, got nan", id="nan-cost"),
        pytest.param({"kind": ""}, "kind: required", id="no-kind"),
        pytest.param(
            {"started_at": T0, "done_at": T0 - timedelta(seconds=1)},
            "done_at: 2026-03-02T08:59:59+00:00 is before started_at",
            id="done-before-start",
        ),
        pytest.param(
            {"started_at": datetime(2026, 3, 2)},
            "started_at: 2026-03-02T00:00:00 has no time zone",
            id="naive-start",
        ),
    ],
)
def test_bad_records_are_refused(store: WorkflowStore, kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"kind": "repair", "actor": "ana@example.com"} | kwargs
    with pytest.raises(WorkflowError) as info:
        store.log_maintenance(ASSET, **args)
    assert message in str(info.value)
    assert store.query("maintenance") == []
