"""Requests and their workflow: submitted → approved | rejected → fulfilled | cancelled.

A request carries its steps: the approval steps that applied when it was submitted (the
requester's manager by email, or a role), then the fulfilment (a role). `step` points at the
one waiting; `waiting_on_email` / `waiting_on_role` say who may act on it now. Every
transition is one conditional UPDATE (on the state and step it was decided from), so two
approvers racing cannot both win; it is recorded in the change history (entity `requests`)
in the same transaction. A refused transition on a request the caller sees is recorded too.

Who sees a request: its requester, and whoever it is waiting on (`visible_to`, and the same
rule as a `where` tree for lists, `visibility`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import sqlalchemy as sa

from federation.model.where import FALSE, Compare, Node, disjoin
from federation.workflow.history import record_changes
from federation.workflow.records import (
    Change,
    Request,
    WorkflowConflict,
    WorkflowError,
    as_row,
    jsonable,
    require_text,
    require_utc,
    require_uuid,
)
from federation.workflow.tables import REQUESTS

#: the states from which each transition may start
FROM_STATES = {
    "approve": ("submitted",),
    "reject": ("submitted",),
    "cancel": ("submitted", "approved"),
    "fulfil": ("approved",),
}


class WorkflowForbidden(WorkflowError):
    """The caller sees the request but may not do this to it (not waiting on them)."""

    code = "FORBIDDEN"


@dataclass(frozen=True)
class Actor:
    """Who acts: email (lower case), role, whether the role holds `approve` / `fulfil`."""

    email: str
    role: str
    approves: bool = False
    fulfils: bool = False
    request_id: str | None = None


def visibility(actor: Actor) -> Node:
    """The `where` tree of the requests `actor` sees."""
    parts: list[Node] = []
    if actor.email:
        parts += [Compare("requester", "_eq", actor.email), Compare("waiting_on_email", "_eq", actor.email)]
    if actor.approves or actor.fulfils:
        parts.append(Compare("waiting_on_role", "_eq", actor.role))
    return disjoin(parts) if parts else FALSE


def waiting_on(request: Request, actor: Actor) -> bool:
    if request.waiting_on_email is not None:
        return bool(actor.email) and request.waiting_on_email == actor.email
    if request.waiting_on_role is None or request.waiting_on_role != actor.role:
        return False
    fulfilling = request.state == "approved"
    return actor.fulfils if fulfilling else actor.approves


def visible_to(request: Request, actor: Actor) -> bool:
    return (bool(actor.email) and request.requester == actor.email) or waiting_on(request, actor)


def _waiting(steps: list[dict[str, Any]], step: int) -> dict[str, Any]:
    """waiting_on_email / waiting_on_role of the step at `step` (none past the last)."""
    current = steps[step] if step < len(steps) else {}
    return {
        "waiting_on_email": current.get("email"),
        "waiting_on_role": current.get("role") if "email" not in current else None,
    }


def _change(request: Request, actor: Actor, field: str, before: Any, after: Any, **extra: Any) -> Change:
    return Change(
        entity="requests",
        entity_id=request.id,
        field=field,
        before=jsonable(before),
        after=jsonable(after),
        outcome=extra.pop("outcome", "accepted"),
        actor=actor.email or "?",
        role=actor.role,
        request_id=actor.request_id,
        **extra,
    )


def get(conn: sa.Connection, request_id: str) -> Request | None:
    row = conn.execute(sa.select(REQUESTS).where(REQUESTS.c.id == require_uuid("id", request_id))).first()
    return Request.from_row(row) if row else None


def submit(
    conn: sa.Connection,
    *,
    form: str,
    item: Mapping[str, Any],
    item_asset_id: str | None,
    answers: Mapping[str, Any],
    requester: Actor,
    person_id: str | None,
    approvals: list[dict[str, Any]],
    fulfil_role: str | None,
    at: datetime | None = None,
) -> Request:
    """A new request; with no approval step it is approved at once (by the form's rule)."""
    require_text("requester", requester.email, required=True)
    now = require_utc("at", at) or datetime.now(UTC)
    steps = [{**s, "decision": None} for s in approvals] + [{"role": fulfil_role, "fulfil": True}]
    state = "submitted" if approvals else "approved"
    record = Request(
        id=str(uuid4()),
        form=form,
        item=jsonable(dict(item)),
        item_asset_id=item_asset_id,
        answers=jsonable(dict(answers)),
        state=state,  # type: ignore[arg-type]
        requester=requester.email,
        requester_role=requester.role,
        requester_person_id=person_id,
        steps=steps,
        step=0,
        submitted_at=now,
        updated_at=now,
        reason=None,
        fulfilled_by=None,
        fulfilled_at=None,
        asset_id=None,
        checkout_id=None,
        **_waiting(steps, 0),
    )
    conn.execute(REQUESTS.insert().values(as_row(record)))
    changes = [_change(record, requester, "state", None, "submitted")]
    if not approvals:
        why = "no approval step applies"
        changes.append(_change(record, requester, "state", "submitted", "approved", reason=why))
    record_changes(conn, changes, at=now)
    return record


def _update(conn: sa.Connection, found: Request, new: Request) -> None:
    values = {k: v for k, v in as_row(new).items() if getattr(found, k) != v or k == "updated_at"}
    done = conn.execute(
        REQUESTS.update()
        .where(REQUESTS.c.id == found.id, REQUESTS.c.state == found.state, REQUESTS.c.step == found.step)
        .values(values)
    )
    if done.rowcount != 1:
        raise WorkflowConflict(f"request {found.id} was changed by someone else just now; read it again")


def _check(found: Request | None, request_id: str, actor: Actor, action: str) -> Request:
    if found is None or not visible_to(found, actor):
        raise WorkflowError(f"no request {request_id} that you can see")
    if found.state not in FROM_STATES[action]:
        raise WorkflowConflict(
            f"request {found.id} is {found.state}; only a request that is "
            f"{' or '.join(FROM_STATES[action])} can be {_DONE[action]}"
        )
    if action == "cancel":
        if found.requester != actor.email:
            raise WorkflowForbidden(f"only the requester ({found.requester}) may cancel request {found.id}")
    elif not waiting_on(found, actor):
        who = found.waiting_on_email or f"role {found.waiting_on_role}"
        raise WorkflowForbidden(f"request {found.id} is waiting on {who}, not on you")
    return found


_DONE = {"approve": "approved", "reject": "rejected", "cancel": "cancelled", "fulfil": "fulfilled"}


def transition(
    conn: sa.Connection,
    request_id: str,
    actor: Actor,
    action: str,
    *,
    reason: str | None = None,
    asset_id: str | None = None,
    checkout_id: str | None = None,
    at: datetime | None = None,
) -> tuple[Request, str]:
    """Apply `action` (approve, reject, cancel, fulfil) as `actor`, recording the change;
    the request as it now is, and the state it had before (an approval that leaves steps
    to go keeps it)."""
    require_text("reason", reason)
    now = require_utc("at", at) or datetime.now(UTC)
    found = _check(get(conn, request_id), request_id, actor, action)
    if action == "reject" and not (reason and reason.strip()):
        raise WorkflowError("reason: a rejection needs a reason")
    changes: list[Change] = []
    new = replace(found, updated_at=max(now, found.submitted_at))
    if action == "approve":
        steps = [dict(s) for s in found.steps]
        steps[found.step] |= {"decision": "approved", "by": actor.email, "at": now.isoformat()}
        step = found.step + 1
        last = steps[step].get("fulfil", False)
        state = "approved" if last else "submitted"
        new = replace(new, steps=steps, step=step, state=state, **_waiting(steps, step))  # type: ignore[arg-type]
        changes.append(_change(found, actor, "approval", None, steps[found.step], reason=reason))
        if last:
            changes.append(_change(found, actor, "state", "submitted", "approved"))
    elif action == "reject":
        steps = [dict(s) for s in found.steps]
        steps[found.step] |= {"decision": "rejected", "by": actor.email, "at": now.isoformat()}
        new = replace(
            new, steps=steps, state="rejected", reason=reason, waiting_on_email=None, waiting_on_role=None
        )
        changes.append(_change(found, actor, "state", found.state, "rejected", reason=reason))
    elif action == "cancel":
        new = replace(new, state="cancelled", reason=reason, waiting_on_email=None, waiting_on_role=None)
        changes.append(_change(found, actor, "state", found.state, "cancelled", reason=reason))
    else:
        new = replace(
            new, state="fulfilled", fulfilled_by=actor.email, fulfilled_at=new.updated_at,
            asset_id=asset_id, checkout_id=checkout_id, waiting_on_email=None, waiting_on_role=None,
        )  # fmt: skip
        changes.append(_change(found, actor, "state", "approved", "fulfilled", reason=reason))
        if asset_id is not None:
            changes.append(_change(found, actor, "asset_id", None, asset_id))
    _update(conn, found, new)
    record_changes(conn, changes, at=now)
    return new, found.state


def refusal(conn: sa.Connection, request_id: str, actor: Actor, action: str, error: WorkflowError) -> None:
    """Record a refused transition on a request the actor sees (one it cannot see: nothing)."""
    try:
        found = get(conn, request_id)
    except WorkflowError:
        return
    if found is None or not visible_to(found, actor):
        return
    outcome = "conflict" if isinstance(error, WorkflowConflict) else "refused"
    change = _change(found, actor, "state", found.state, _DONE[action], outcome=outcome, reason=str(error))
    record_changes(conn, [change])
