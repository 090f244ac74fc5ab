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

from federation.config.forms import FormConfig
from federation.config.tickets import TicketsConfig
from federation.workflow.outbox import backoff
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


class RetryRefused(ValueError):
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


def _show(conn: sa.Connection, entity: str, entity_id: str, **values: Any) -> None:
    """Write where the ticket stands on the record it is for."""
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
    _show(conn, entity, entity_id, ticket_status="pending", ticket_error=None)
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
    stmt = (
        sa.select(T)
        .where(T.c.status == "pending", T.c.next_attempt_at <= now)
        .where(sa.or_(T.c.locked_until.is_(None), T.c.locked_until < now))
        .order_by(T.c.created_at, T.c.id)
        .limit(limit)
    )
    if entity_ids is not None:
        stmt = stmt.where(T.c.entity_id.in_(list(entity_ids)))
    claimed = []
    for row in conn.execute(stmt).all():
        taken = conn.execute(
            sa.update(T)
            .where(T.c.id == row.id, T.c.status == "pending")
            .where(sa.or_(T.c.locked_until.is_(None), T.c.locked_until < now))
            .values(locked_until=now + lease)
        )
        if taken.rowcount == 1:
            body = orjson.loads(row.body)
            claimed.append(TicketJob(row.id, row.entity, row.entity_id, row.source, row.target_table, body,
                                     row.attempts))  # fmt: skip
    return claimed


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
    attempts = job.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "locked_until": None}
    if opened is not None:
        number, sys_id = opened["number"], opened["sys_id"]
        values |= {
            "status": "opened",
            "opened_at": now,
            "number": number,
            "sys_id": sys_id,
            "last_error": None,
        }
        shown = {"ticket": number, "ticket_sys_id": sys_id, "ticket_error": None}
    elif give_up or attempts >= max_attempts:
        values |= {"status": "failed", "last_error": error}
        shown = {"ticket_error": error}
    else:
        values |= {"status": "pending", "next_attempt_at": now + backoff(attempts), "last_error": error}
        shown = {"ticket_error": error}
    conn.execute(sa.update(T).where(T.c.id == job.id).values(**values))
    _show(conn, job.entity, job.entity_id, ticket_status=values["status"], **shown)
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
    stmt = sa.select(T).order_by(T.c.created_at, T.c.id).offset(offset)
    if ids is not None:
        stmt = stmt.where(T.c.id.in_(list(ids)))
    if status is not None:
        stmt = stmt.where(T.c.status == status)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [{**row._mapping, "body": orjson.loads(row.body)} for row in conn.execute(stmt)]


def retry(conn: sa.Connection, ids: Sequence[str], now: datetime) -> list[dict[str, Any]]:
    """Try failed (or pending) tickets again at once, with a fresh count of attempts; nothing
    changes if one of `ids` is unknown or opened already."""
    rows = {str(r.id): r for r in conn.execute(sa.select(T).where(T.c.id.in_(list(ids))))}
    unknown = [i for i in ids if i not in rows]
    opened = [i for i in ids if i in rows and rows[i].status == "opened"]
    if unknown or opened:
        parts = [f"no ticket {', '.join(unknown)}"] if unknown else []
        if opened:
            parts.append(f"opened already (a retry would open a second one): {', '.join(opened)}")
        raise RetryRefused("; ".join(parts))
    conn.execute(
        sa.update(T)
        .where(T.c.id.in_(list(ids)))
        .values(status="pending", attempts=0, next_attempt_at=now, locked_until=None)
    )
    for row in rows.values():
        _show(conn, row.entity, row.entity_id, ticket_status="pending")
    return tickets(conn, ids=ids)
