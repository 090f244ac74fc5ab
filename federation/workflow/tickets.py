"""The queue of ServiceNow tickets the gateway opens: one row per request or maintenance
record, written in the same transaction as the request (right after the source accepted the
repair, for maintenance), then worked through by federation/workflow/ticketing.py.

    enqueue(conn, "requests", request.id, order)          # ticket_status pending on the record
    for job in claim(conn, now, limit=20, lease=timedelta(minutes=1)): ...
    settle(conn, job, now, opened={"number": "REQ0010001", "sys_id": …}, error=None, max_attempts=8)

A row is claimed by a conditional update (`locked_until`), so of several processes one makes
each attempt. Each attempt's outcome is written on the record too (`ticket`, `ticket_sys_id`,
`ticket_status`, `ticket_error`), in the same transaction: readers of a request see where its
ticket stands. A failed attempt is tried again after 5 s, 10 s, 20 s, … (at most an hour), until
`max_attempts` (then `failed`, until `retry` sends it again).
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
from federation.config.forms import FormConfig
from federation.config.tickets import TicketsConfig
from federation.workflow.records import Maintenance, Request
from federation.workflow.tables import MAINTENANCE, REQUESTS, TICKETS

T = TICKETS
_RECORDS = {"requests": REQUESTS, "maintenance": MAINTENANCE}


@dataclass(frozen=True)
class TicketOrder:
    """A ticket to open: through which source, in which table, with which fields."""

    source: str
    table: str
    body: dict[str, Any]


@dataclass(frozen=True)
class TicketJob:
    id: str
    entity: str
    entity_id: str
    source: str
    table: str
    body: dict[str, Any]
    attempts: int


class RetryRefused(queue.RequeueRefused):
    """Some of the tickets to retry do not exist or were opened already."""


# ----------------------------------------------------------------------------- what is sent


def request_order(
    tickets: TicketsConfig, form: FormConfig, request: Request | Mapping[str, Any], facts: Mapping[str, Any]
) -> TicketOrder:
    """The ticket of a request: what is asked for, by whom, and the answers, label by label."""
    get = request.get if isinstance(request, Mapping) else lambda key: getattr(request, key)
    model = " ".join(str(facts[k]) for k in ("manufacturer", "model") if facts.get(k))
    what = (
        f"{model} ({facts['category']})"
        if model and facts.get("category")
        else model or facts.get("category")
    )
    answers = get("answers") or {}
    lines = [f"{form.fields[k].label if k in form.fields else k}: {v}" for k, v in answers.items()]
    lines.append(f"Requested by {get('requester')} through assetgraph.")
    body = {
        **tickets.requests.fields,
        "short_description": f"{form.title}: {what or 'an item'} for {get('requester')}"[:160],
        "description": "\n".join(lines),
    }
    return TicketOrder(tickets.source, tickets.requests.table, body)


def maintenance_order(tickets: TicketsConfig, record: Maintenance, asset_tag: str | None) -> TicketOrder:
    """The ticket of a maintenance record: the repair (or upgrade…) of which asset, and its notes."""
    body = {
        **tickets.maintenance.fields,
        "short_description": f"{record.kind} of {asset_tag or record.asset_id}"[:160],
        "description": f"{record.notes or ''}\n\nOpened by {record.opened_by} through assetgraph.".strip(),
    }
    return TicketOrder(tickets.source, tickets.maintenance.table, body)


# ----------------------------------------------------------------------------- the queue


def show(conn: sa.Connection, entity: str, entity_id: str, **values: Any) -> None:
    """Write where the ticket stands on the record it is for (nothing when `values` is empty)."""
    if values:
        table = _RECORDS[entity]
        conn.execute(sa.update(table).where(table.c.id == entity_id).values(**values))


def enqueue(
    conn: sa.Connection, entity: str, entity_id: str, order: TicketOrder, *, at: datetime | None = None
) -> str:
    """Queue the ticket of a record (one per record); its id."""
    now = at or datetime.now(UTC)
    ticket_id = str(uuid4())
    conn.execute(
        sa.insert(T).values(
            id=ticket_id, entity=entity, entity_id=entity_id, source=order.source, target_table=order.table,
            body=orjson.dumps(order.body).decode(), status="pending", attempts=0, created_at=now,
            next_attempt_at=now,
        )
    )  # fmt: skip
    show(conn, entity, entity_id, ticket_status="pending", ticket_error=None)
    return ticket_id


def claim(
    conn: sa.Connection,
    now: datetime,
    *,
    limit: int,
    lease: timedelta,
    entity_ids: Sequence[str] | None = None,
) -> list[TicketJob]:
    """Pending tickets that are due and not being opened, oldest first, locked for `lease`
    (only those of `entity_ids`, when given)."""
    where = [] if entity_ids is None else [T.c.entity_id.in_(list(entity_ids))]
    rows = queue.claim(conn, T, now, limit=limit, lease=lease, where=where)
    return [TicketJob(r.id, r.entity, r.entity_id, r.source, r.target_table, orjson.loads(r.body), r.attempts)
            for r in rows]  # fmt: skip


def settle(
    conn: sa.Connection,
    job: TicketJob,
    now: datetime,
    *,
    opened: Mapping[str, str] | None,
    error: str | None,
    max_attempts: int,
    give_up: bool = False,
) -> str:
    """Record an attempt: opened (with ServiceNow's number and sys_id), pending again after a
    backoff, or failed after `max_attempts` (at once with `give_up`: ServiceNow refused the
    ticket itself). The new status; the record shows it too."""
    values = queue.outcome(job.attempts + 1, now, done="opened" if opened is not None else None,
                           error=error, max_attempts=max_attempts, give_up=give_up)  # fmt: skip
    shown: dict[str, Any] = {"ticket_error": error}
    if opened is not None:
        number, sys_id = opened["number"], opened["sys_id"]
        values |= {"opened_at": now, "number": number, "sys_id": sys_id}
        shown = {"ticket": number, "ticket_sys_id": sys_id, "ticket_error": None}
    conn.execute(sa.update(T).where(T.c.id == job.id).values(**values))
    show(conn, job.entity, job.entity_id, ticket_status=values["status"], **shown)
    return str(values["status"])


def tickets(
    conn: sa.Connection,
    *,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    ids: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """The queue's rows (those of `ids`, when given), oldest first, as dicts (the `tickets`
    root, tests)."""
    where = []
    if ids is not None:
        where.append(T.c.id.in_(list(ids)))
    if status is not None:
        where.append(T.c.status == status)
    rows = queue.listed(conn, T, where=where, limit=limit, offset=offset)
    return [{**row._mapping, "body": orjson.loads(row.body)} for row in rows]


def retry(conn: sa.Connection, ids: Sequence[str], now: datetime) -> list[dict[str, Any]]:
    """Try failed (or pending) tickets again at once, with a fresh count of attempts; nothing
    changes if one of `ids` is unknown or opened already."""
    rows = queue.requeue(conn, T, ids, now, done="opened", noun="ticket",
                         why="a retry would open a second one", refused=RetryRefused)  # fmt: skip
    for row in rows:
        show(conn, row.entity, row.entity_id, ticket_status="pending")
    return tickets(conn, ids=ids)
