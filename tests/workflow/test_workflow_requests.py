"""Requests in the workflow store: the steps in order (manager, then a role, then the
fulfilling role), who may act at each, the states a transition may start from, and every
transition — refused ones included — in the change history."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from federation.model.where import Compare, conjoin
from federation.workflow import Actor, WorkflowConflict, WorkflowError, WorkflowForbidden, WorkflowStore
from federation.workflow.requests import visibility, visible_to

ANN = Actor("ann@example.com", "employee")
BOB = Actor("bob@example.com", "employee")  # Ann's manager
LEADER = Actor("lea@example.com", "it_leader", approves=True)
DESK = Actor("dan@example.com", "service_desk", fulfils=True)
PERSON = "bbbbbbbb-0000-4000-8000-000000000001"


def _submit(store: WorkflowStore, approvals: list[dict[str, Any]]) -> str:
    request = store.submit_request(
        form="laptop",
        item={"category": "laptop"},
        item_asset_id=None,
        answers={"purpose": "daily work"},
        requester=ANN,
        person_id=PERSON,
        approvals=approvals,
        fulfil_role="service_desk",
    )
    return request.id


def _history(store: WorkflowStore, request_id: str) -> list[tuple[str, Any, Any, str, str]]:
    return [
        (c.field, c.before, c.after, c.outcome, c.actor)
        for c in reversed(store.history("requests", request_id))
    ]


def test_manager_then_role_then_fulfilment(store: WorkflowStore) -> None:
    rid = _submit(store, [{"approver": "manager", "email": BOB.email}, {"role": "it_leader"}])
    first = store.request(rid)
    assert first is not None
    assert (first.state, first.waiting_on_email) == ("submitted", BOB.email)

    with pytest.raises(WorkflowError, match="no request"):
        store.transition_request(rid, LEADER, "approve")  # not the leader's turn yet: not visible
    with pytest.raises(WorkflowForbidden, match=r"waiting on bob@example\.com, not on you"):
        store.transition_request(rid, ANN, "approve")  # her own request
    second = store.transition_request(rid, BOB, "approve", reason="fine")
    assert (second.state, second.waiting_on_email, second.waiting_on_role) == ("submitted", None, "it_leader")
    third = store.transition_request(rid, LEADER, "approve")
    assert (third.state, third.waiting_on_role) == ("approved", "service_desk")
    with pytest.raises(WorkflowError, match="no request"):
        store.transition_request(rid, LEADER, "approve")  # no longer waiting on it: not visible
    done = store.transition_request(rid, DESK, "fulfil")
    assert (done.state, done.fulfilled_by) == ("fulfilled", DESK.email)
    with pytest.raises(WorkflowConflict, match="is fulfilled"):
        store.transition_request(rid, ANN, "cancel")

    fields = [(f, before, after, outcome) for f, before, after, outcome, _ in _history(store, rid)]
    assert [f for f in fields if f[0] == "state"] == [
        ("state", None, "submitted", "accepted"),
        ("state", "submitted", "approved", "refused"),  # Ann approving her own
        ("state", "submitted", "approved", "accepted"),
        ("state", "approved", "fulfilled", "accepted"),
        ("state", "fulfilled", "cancelled", "conflict"),  # Ann, too late
    ]
    approvals = [after for f, _, after, _ in fields if f == "approval"]
    assert [(a["by"], a["decision"]) for a in approvals] == [
        (BOB.email, "approved"),
        (LEADER.email, "approved"),
    ]


def test_rejection_needs_a_reason_and_ends_it(store: WorkflowStore) -> None:
    rid = _submit(store, [{"approver": "manager", "email": BOB.email}])
    with pytest.raises(WorkflowError, match="needs a reason"):
        store.transition_request(rid, BOB, "reject")
    rejected = store.transition_request(rid, BOB, "reject", reason="you have one")
    assert (rejected.state, rejected.reason, rejected.waiting_on_email) == ("rejected", "you have one", None)
    with pytest.raises(WorkflowConflict):
        store.transition_request(rid, ANN, "cancel")


def test_only_the_requester_cancels(store: WorkflowStore) -> None:
    rid = _submit(store, [{"approver": "manager", "email": BOB.email}])
    with pytest.raises(WorkflowForbidden, match="only the requester"):
        store.transition_request(rid, BOB, "cancel")
    assert store.transition_request(rid, ANN, "cancel", reason="changed my mind").state == "cancelled"


def test_without_approval_steps_it_is_approved_at_once(store: WorkflowStore) -> None:
    rid = _submit(store, [])
    found = store.request(rid)
    assert found is not None
    assert (found.state, found.waiting_on_role) == ("approved", "service_desk")
    with pytest.raises(WorkflowError, match="no request"):  # the role lacks the `fulfil` action
        store.transition_request(rid, Actor("eve@example.com", "service_desk"), "fulfil")


def test_lists_show_requesters_and_those_waited_on(store: WorkflowStore) -> None:
    mine = _submit(store, [{"approver": "manager", "email": BOB.email}])
    other = store.submit_request(
        form="laptop", item={}, item_asset_id=None, answers={}, requester=BOB, person_id=None,
        approvals=[{"role": "it_leader"}], fulfil_role="service_desk",
    ).id  # fmt: skip

    def ids(actor: Actor) -> set[str]:
        return {r.id for r in store.query("requests", where=conjoin(visibility(actor)))}

    assert ids(ANN) == {mine}
    assert ids(BOB) == {mine, other}  # his own, and Ann's waiting on him
    assert ids(LEADER) == {other}
    assert ids(DESK) == set()
    assert ids(Actor("", "employee")) == set()


def test_two_approvers_racing_one_wins(store: WorkflowStore) -> None:
    rid = _submit(store, [{"role": "it_leader"}])
    stale = store.request(rid)
    store.transition_request(rid, LEADER, "approve")
    with store.transaction() as conn:  # the loser's UPDATE, from the state it read
        done = conn.execute(
            sa.text("UPDATE requests SET state = 'rejected' WHERE id = :id AND state = :s AND step = :n"),
            {"id": rid, "s": stale.state, "n": stale.step},  # type: ignore[union-attr]
        )
        assert done.rowcount == 0


EMAILS = ("ann@example.com", "bob@example.com", "cy@example.com")
ACTORS = [
    Actor(email, role, approves=role == "it_leader", fulfils=role == "service_desk")
    for email in (*EMAILS, "")
    for role in ("employee", "it_leader", "service_desk")
]
ACTIONS = ("approve", "reject", "cancel", "fulfil")
STEP = st.one_of(
    st.sampled_from(EMAILS).map(lambda e: {"approver": "manager", "email": e}),
    st.just({"role": "it_leader"}),
)
PLAN = st.lists(
    st.tuples(
        st.sampled_from(EMAILS),  # the requester
        st.lists(STEP, max_size=2),  # its approval steps
        st.lists(st.tuples(st.sampled_from(ACTORS), st.sampled_from(ACTIONS)), max_size=4),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=PLAN)
def test_no_one_sees_another_requesters_request_unless_it_waits_on_them(
    store: WorkflowStore, plan: list[tuple[str, list[dict[str, Any]], list[tuple[Actor, str]]]]
) -> None:
    """Whatever was submitted and done to it: a list shows an actor exactly the requests the
    rule lets them act on or made (the SQL filter and the rule agree), and never another
    requester's request that is not waiting on them."""
    ids = []
    for requester, approvals, actions in plan:
        rid = store.submit_request(
            form="laptop", item={}, item_asset_id=None, answers={},
            requester=Actor(requester, "employee"), person_id=None, approvals=approvals,
            fulfil_role="service_desk",
        ).id  # fmt: skip
        ids.append(rid)
        for actor, action in actions:
            with contextlib.suppress(WorkflowError):
                store.transition_request(rid, actor, action, reason="because")
    mine = Compare("id", "_in", ids)
    for actor in ACTORS:
        listed = {r.id: r for r in store.query("requests", where=conjoin(mine, visibility(actor)))}
        everything = store.query("requests", where=mine)
        assert set(listed) == {r.id for r in everything if visible_to(r, actor)}
        for r in listed.values():
            assert (
                r.requester == actor.email
                or r.waiting_on_email == actor.email
                or (r.waiting_on_role == actor.role and (actor.approves or actor.fulfils))
            )
