"""Check-out and check-in: one open check-out per asset (the database's rule, not only the
code's), overdue check-ins, and every bad request refused with what is wrong."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from federation.workflow import CHECKOUTS, Change, WorkflowConflict, WorkflowError, WorkflowStore
from federation.workflow.checkouts import open_checkout
from federation.workflow.history import record_changes

ASSET, OTHER = "aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002"
PERSON = "bbbbbbbb-0000-4000-8000-000000000001"
DESK = "cccccccc-0000-4000-8000-000000000001"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_an_asset_goes_out_and_comes_back(store: WorkflowStore) -> None:
    out = store.open_checkout(
        ASSET, actor="ana@example.com", to_person_id=PERSON, expected_checkin=T0 + timedelta(days=7),
        note="for the trip", asset_tag="P000001", at=T0,
    )  # fmt: skip
    assert (out.to_person_id, out.to_location_id, out.checked_in_at) == (PERSON, None, None)
    assert store.open_checkouts([ASSET, OTHER]) == {ASSET: out}

    back = store.close_checkout(
        ASSET,
        actor="bob@example.com",
        to_location_id=DESK,
        condition="scratched",
        note="lid",
        at=T0 + timedelta(days=3),
    )
    assert back.id == out.id
    assert (back.checked_in_at, back.checkin_location_id, back.condition) == (
        T0 + timedelta(days=3),
        DESK,
        "scratched",
    )
    assert (back.checked_in_by, back.note_in, back.note_out) == ("bob@example.com", "lid", "for the trip")
    assert store.open_checkouts([ASSET]) == {}
    assert store.query("checkouts") == [back]  # what was returned is what was stored

    again = store.open_checkout(
        ASSET, actor="ana@example.com", to_location_id=DESK, at=T0 + timedelta(days=4)
    )
    assert store.open_checkouts([ASSET]) == {ASSET: again}


def test_a_second_open_check_out_is_refused_with_who_has_it(store: WorkflowStore) -> None:
    first = store.open_checkout(
        ASSET, actor="ana@example.com", to_person_id=PERSON, asset_tag="P000001", at=T0
    )
    with pytest.raises(WorkflowConflict) as info:
        store.open_checkout(ASSET, actor="bob@example.com", to_location_id=DESK)
    message = str(info.value)
    assert message.startswith("asset P000001 is already checked out (to person " + PERSON)
    assert first.id in message
    assert message.endswith("check it in first")
    assert info.value.code == "CONFLICT"
    assert store.open_checkouts([ASSET]) == {ASSET: first}


def test_the_database_itself_allows_one_open_check_out_per_asset(store: WorkflowStore) -> None:
    row = {"asset_id": ASSET, "to_person_id": PERSON, "checked_out_at": T0, "actor": "ana@example.com"}
    with store.transaction() as conn:
        conn.execute(CHECKOUTS.insert().values(row | {"id": str(uuid.uuid4())}))
    with pytest.raises(sa.exc.IntegrityError), store.transaction() as conn:
        conn.execute(CHECKOUTS.insert().values(row | {"id": str(uuid.uuid4())}))
    closed = {"checked_in_at": T0 + timedelta(hours=1), "checked_in_by": "ana@example.com"}
    with store.transaction() as conn:  # closed ones do not count
        conn.execute(CHECKOUTS.insert().values(row | closed | {"id": str(uuid.uuid4())}))
    assert len(store.query("checkouts")) == 2


def test_a_refusal_leaves_the_callers_transaction_usable(store: WorkflowStore) -> None:
    store.open_checkout(ASSET, actor="ana@example.com", to_person_id=PERSON)
    with store.transaction() as conn:
        with pytest.raises(WorkflowConflict):
            open_checkout(conn, asset_id=ASSET, actor="bob@example.com", to_location_id=DESK)
        record_changes(conn, [Change(
            entity="assets", entity_id=ASSET, field="checkout", before=None, after={"to_location": DESK},
            outcome="conflict", reason="already checked out", actor="bob@example.com", role="it",
        )])  # fmt: skip
    assert [c.outcome for c in store.history("assets", ASSET)] == ["conflict"]


def test_checking_in_what_is_not_out_is_a_conflict(store: WorkflowStore) -> None:
    with pytest.raises(WorkflowConflict, match=f"asset {ASSET} is not checked out; nothing to check in"):
        store.close_checkout(ASSET, actor="ana@example.com")


def test_overdue_lists_open_check_outs_past_their_date_longest_first(store: WorkflowStore) -> None:
    assets = [f"dddddddd-0000-4000-8000-00000000000{i}" for i in range(5)]
    due = [T0 + timedelta(days=d) for d in (3, 1, 10, 2)]
    for asset, when in zip(assets, due, strict=False):
        store.open_checkout(asset, actor="ana@example.com", to_person_id=PERSON, expected_checkin=when, at=T0)
    store.open_checkout(assets[4], actor="ana@example.com", to_person_id=PERSON, at=T0)  # no due date
    store.close_checkout(assets[3], actor="ana@example.com", at=T0 + timedelta(hours=1))  # back already

    now = T0 + timedelta(days=5)
    late = store.overdue(now)
    assert [c.asset_id for c in late] == [assets[1], assets[0]]
    assert all(c.overdue(now) for c in late)
    assert store.overdue(T0) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"to_person_id": PERSON, "to_location_id": DESK},
            "give exactly one of to_person, to_location",
            id="both-targets",
        ),
        pytest.param({}, "give exactly one of to_person, to_location", id="no-target"),
        pytest.param({"to_person_id": "Ana"}, "to_person: 'Ana' is not a UUID", id="bad-person"),
        pytest.param(
            {"to_person_id": PERSON, "asset_id": "P000001"}, "asset: 'P000001' is not a UUID", id="bad-asset"
        ),
        pytest.param(
            {"to_person_id": PERSON, "at": datetime(2026, 3, 2, 9)},
            "at: 2026-03-02T09:00:00 has no time zone",
            id="naive-time",
        ),
        pytest.param(
            {"to_person_id": PERSON, "at": T0, "expected_checkin": T0 - timedelta(days=1)},
            "expected_checkin: 2026-03-01T09:00:00+00:00 is not after the check-out",
            id="due-before-out",
        ),
        pytest.param({"to_person_id": PERSON, "actor": " "}, "actor: required", id="no-actor"),
    ],
)
def test_bad_check_outs_are_refused(store: WorkflowStore, kwargs: dict[str, Any], message: str) -> None:
    args = {"asset_id": ASSET, "actor": "ana@example.com"} | kwargs
    with pytest.raises(WorkflowError) as info:
        store.open_checkout(args.pop("asset_id"), **args)
    assert message in str(info.value)
    assert not isinstance(info.value, WorkflowConflict)
    assert store.query("checkouts") == []


def test_a_check_in_before_the_check_out_is_refused(store: WorkflowStore) -> None:
    store.open_checkout(ASSET, actor="ana@example.com", to_person_id=PERSON, at=T0)
    with pytest.raises(WorkflowError, match="is before the check-out"):
        store.close_checkout(ASSET, actor="ana@example.com", at=T0 - timedelta(minutes=1))
    assert store.open_checkouts([ASSET])[ASSET].checked_in_at is None
