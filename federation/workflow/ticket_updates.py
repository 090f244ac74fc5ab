"""The queue of updates of the ServiceNow tickets the gateway opened: when a request is
approved, fulfilled, rejected or cancelled, or a repair closed, what its ticket is told (a
Table API PATCH of its sys_id: state and close fields from `tickets.*.updates`, and a work
note saying what happened and who did it), written in the same transaction as the
transition, then sent by federation/workflow/ticketing.py.

    enqueue(conn, tickets, "requests", request.id, "fulfilled", {"actor": …, "reason": …})
    for job in claim(conn, now, limit=20, lease=…): ...   # only updates whose ticket is opened
    settle(conn, job, now, answer={"request_state": "closed_complete"}, error=None, max_attempts=8)

An update waits, unclaimed, until its ticket is opened (ServiceNow was down when the record
was made): it is never sent before the open, and never lost. A ticket's updates go in order
(`seq`): one is not claimed while an earlier one is pending. A new update merges into the
ticket's latest one that is not sent and not under way (its fields, then the new ones; both
work notes), so a failed one is not overtaken by a later state that it would then undo.
Each outcome is shown on the record (`ticket_state`, `ticket_update`, `ticket_update_error`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import orjson
import sqlalchemy as sa

import federation.workflow.queue as queue
from federation.config.ticket_updates import render
from federation.config.tickets import TicketsConfig
from federation.workflow.tables import TICKET_UPDATES, TICKETS
from federation.workflow.tickets import show

U = TICKET_UPDATES
T = TICKETS
#: the fields whose answer is the ticket's state, by preference
STATE_FIELDS = ("request_state", "state")


@dataclass(frozen=True)
class UpdateJob:
    id: str
    ticket_id: str
    entity: str
    entity_id: str
    source: str
    table: str
    sys_id: str
    state: str
    body: dict[str, Any]
    attempts: int


def summary(entity: str, state: str, facts: Mapping[str, str | None]) -> str:
    """The work note: what happened to the record, who did it, and why (when said)."""
    what = "Request" if entity == "requests" else (facts.get("kind") or "Maintenance").capitalize()
    text = f"{what} {state} in assetgraph by {facts.get('actor') or 'someone'}"
    why = facts.get("reason") or facts.get("notes")
    return f"{text}: {why}" if why else f"{text}."


def enqueue(
    conn: sa.Connection,
    tickets: TicketsConfig | None,
    entity: str,
    entity_id: str,
    state: str,
    facts: Mapping[str, str | None],
    *,
    at: datetime | None = None,
) -> str | None:
    """Queue what the ticket of this record is told now that it is `state` (`facts`: actor,
    reason, notes, kind); its id, or None when the record has no ticket or `state` tells
    nothing."""
    fields = tickets.update_for(entity, state) if tickets is not None else None
    ticket = conn.execute(
        sa.select(T.c.id, T.c.number).where(T.c.entity == entity, T.c.entity_id == entity_id)
    ).first()
    if fields is None or ticket is None:
        return None
    now = at or datetime.now(UTC)
    note = summary(entity, state, facts)
    body = {**render(fields, {**facts, "summary": note, "number": ticket.number}), "work_notes": note}
    latest = conn.execute(
        sa.select(U).where(U.c.ticket_id == ticket.id).order_by(U.c.seq.desc()).limit(1)
    ).first()
    idle = latest is not None and latest.status != "sent"
    if idle and latest is not None and (latest.locked_until is None or latest.locked_until < now):
        held = orjson.loads(latest.body)
        merged = {**held, **body, "work_notes": f"{held.get('work_notes', '')}\n{note}".strip()}
        conn.execute(
            sa.update(U).where(U.c.id == latest.id).values(
                state=state, body=orjson.dumps(merged).decode(), status="pending", attempts=0,
                next_attempt_at=now, locked_until=None, last_error=None,
            )
        )  # fmt: skip
        update_id = str(latest.id)
    else:
        update_id = str(uuid4())
        conn.execute(
            sa.insert(U).values(
                id=update_id, ticket_id=ticket.id, seq=(latest.seq + 1) if latest is not None else 1,
                state=state, body=orjson.dumps(body).decode(), status="pending", attempts=0,
                created_at=now, next_attempt_at=now,
            )
        )  # fmt: skip
    show(conn, entity, entity_id, ticket_update="pending", ticket_update_error=None)
    return update_id


def claim(
    conn: sa.Connection,
    now: datetime,
    *,
    limit: int,
    lease: timedelta,
    entity_ids: Sequence[str] | None = None,
) -> list[UpdateJob]:
    """Pending updates that are due, whose ticket is opened and that no earlier pending update
    of the same ticket holds back, oldest first, locked for `lease`."""
    earlier = U.alias("earlier")
    where: list[sa.ColumnElement[bool]] = [
        sa.exists().where(T.c.id == U.c.ticket_id, T.c.status == "opened"),
        ~sa.exists().where(
            earlier.c.ticket_id == U.c.ticket_id, earlier.c.seq < U.c.seq, earlier.c.status == "pending"
        ),
    ]
    if entity_ids is not None:
        mine = sa.select(T.c.id).where(T.c.entity_id.in_(list(entity_ids)))
        where.append(U.c.ticket_id.in_(mine))
    rows = queue.claim(conn, U, now, limit=limit, lease=lease, where=where)
    if not rows:
        return []
    found = {r.id: r for r in conn.execute(sa.select(T).where(T.c.id.in_([r.ticket_id for r in rows])))}
    jobs = []
    for row in rows:
        ticket = found[row.ticket_id]
        jobs.append(UpdateJob(
            str(row.id), str(row.ticket_id), ticket.entity, str(ticket.entity_id), ticket.source,
            ticket.target_table, str(ticket.sys_id), row.state, orjson.loads(row.body), row.attempts,
        ))  # fmt: skip
    return jobs


def settle(
    conn: sa.Connection,
    job: UpdateJob,
    now: datetime,
    *,
    answer: Mapping[str, Any] | None,
    error: str | None,
    max_attempts: int,
    give_up: bool = False,
) -> str:
    """Record an attempt: sent (with what ServiceNow answered), pending again after a backoff,
    or failed after `max_attempts` (at once with `give_up`: ServiceNow refused it). The new
    status; the record shows it."""
    values = queue.outcome(job.attempts + 1, now, done="sent" if answer is not None else None,
                           error=error, max_attempts=max_attempts, give_up=give_up)  # fmt: skip
    shown: dict[str, Any] = {}
    if answer is not None:
        values |= {"sent_at": now, "answer": orjson.dumps(dict(answer)).decode()}
        state = next((answer[f] for f in STATE_FIELDS if answer.get(f) not in (None, "")), None)
        if state is not None:
            shown["ticket_state"] = str(state)[:40]
    conn.execute(sa.update(U).where(U.c.id == job.id).values(**values))
    latest = conn.execute(
        sa.select(U.c.status, U.c.last_error).where(U.c.ticket_id == job.ticket_id).order_by(U.c.seq.desc())
    ).first()
    if latest is not None:
        shown |= {"ticket_update": latest.status, "ticket_update_error": latest.last_error}
    show(conn, job.entity, job.entity_id, **shown)
    return str(values["status"])


def updates_of(conn: sa.Connection, ticket_ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Each ticket's updates, in order, as dicts (the `tickets` root)."""
    out: dict[str, list[dict[str, Any]]] = {str(i): [] for i in ticket_ids}
    if not ticket_ids:
        return out
    stmt = sa.select(U).where(U.c.ticket_id.in_(list(ticket_ids))).order_by(U.c.ticket_id, U.c.seq)
    for row in conn.execute(stmt):
        out[str(row.ticket_id)].append(
            {**row._mapping, "body": orjson.loads(row.body),
             "answer": orjson.loads(row.answer) if row.answer else None}
        )  # fmt: skip
    return out


def retry(conn: sa.Connection, ticket_ids: Sequence[str], now: datetime) -> list[str]:
    """Send the failed updates of these (opened) tickets again now, with a fresh count of
    attempts; the ids of the tickets that had some (the others are left to tickets.retry)."""
    rows = list(conn.execute(sa.select(U).where(U.c.ticket_id.in_(list(ticket_ids)), U.c.status == "failed")))
    if not rows:
        return []
    queue.requeue(conn, U, [str(r.id) for r in rows], now, done="sent", noun="ticket update",
                  why="a PATCH sent already")  # fmt: skip
    tickets = {str(r.ticket_id) for r in rows}
    for ticket in conn.execute(sa.select(T.c.entity, T.c.entity_id).where(T.c.id.in_(list(tickets)))):
        show(conn, ticket.entity, str(ticket.entity_id), ticket_update="pending", ticket_update_error=None)
    return sorted(tickets)
