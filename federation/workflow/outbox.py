"""The outbox of webhook events: written in the same transaction as what they report (a
request's transition, a conflict in the history) or right after it (a check-out once its
source accepted it), one row per event and subscription, then sent by `delivery.py`.

    ids = enqueue(conn, hooks, "asset.checked_out", {"asset_id": …})
    for delivery in claim(conn, now, limit=20, lease=timedelta(minutes=1)): …
    settle(conn, delivery, now, status=200, error=None, max_attempts=8)

Several processes may deliver from one store: a row is claimed by a conditional update
(`locked_until`), so each attempt is made by one of them.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import sqlalchemy as sa

from federation.config.webhooks import EVENTS, WebhookConfig
from federation.workflow.tables import WEBHOOK_DELIVERIES

#: first retry after this, doubling each attempt, at most MAX_BACKOFF
FIRST_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)
T = WEBHOOK_DELIVERIES


@dataclass(frozen=True)
class Delivery:
    id: str
    subscription: str
    event: str
    payload: str
    attempts: int


def message_id() -> str:
    """A `webhook-id`: unique per event and subscription, the same on every retry."""
    return f"msg_{secrets.token_urlsafe(18)}"


def payload(event: str, data: Mapping[str, Any], at: datetime) -> str:
    """The body, in Standard Webhooks' recommended shape: {type, timestamp, data}."""
    body = {"type": event, "timestamp": at.astimezone(UTC).isoformat(), "data": data}
    return orjson.dumps(body, default=str).decode()


def enqueue(
    conn: sa.Connection,
    hooks: Sequence[WebhookConfig],
    event: str,
    data: Mapping[str, Any],
    *,
    at: datetime | None = None,
) -> list[str]:
    """One pending delivery per subscription that wants `event`; their ids."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    now = at or datetime.now(UTC)
    rows = [
        {
            "id": message_id(),
            "subscription": hook.name,
            "event": event,
            "payload": payload(event, data, now),
            "created_at": now,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        }
        for hook in hooks
        if hook.wants(event)
    ]
    if rows:
        conn.execute(sa.insert(T), rows)
    return [row["id"] for row in rows]


def claim(conn: sa.Connection, now: datetime, *, limit: int, lease: timedelta) -> list[Delivery]:
    """Pending deliveries that are due and not being sent, oldest first, locked for `lease`."""
    due = conn.execute(
        sa.select(T.c.id, T.c.subscription, T.c.event, T.c.payload, T.c.attempts)
        .where(T.c.status == "pending", T.c.next_attempt_at <= now)
        .where(sa.or_(T.c.locked_until.is_(None), T.c.locked_until < now))
        .order_by(T.c.created_at, T.c.id)
        .limit(limit)
    ).all()
    claimed = []
    for row in due:
        taken = conn.execute(
            sa.update(T)
            .where(T.c.id == row.id, T.c.status == "pending")
            .where(sa.or_(T.c.locked_until.is_(None), T.c.locked_until < now))
            .values(locked_until=now + lease)
        )
        if taken.rowcount == 1:
            claimed.append(Delivery(row.id, row.subscription, row.event, row.payload, row.attempts))
    return claimed


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 5 s, 10 s, 20 s, … at most an hour."""
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def settle(
    conn: sa.Connection,
    delivery: Delivery,
    now: datetime,
    *,
    status: int | None,
    error: str | None,
    max_attempts: int,
    retry_after: timedelta | None = None,
    give_up: bool = False,
) -> str:
    """Record an attempt: delivered (a 2xx), pending again after a backoff, or failed after
    `max_attempts` (or at once with `give_up`, e.g. 410 Gone). The new status."""
    attempts = delivery.attempts + 1
    values: dict[str, Any] = {"attempts": attempts, "locked_until": None, "last_status": status}
    if error is None and status is not None and 200 <= status < 300:
        values |= {"status": "delivered", "delivered_at": now, "last_error": None}
    elif give_up or attempts >= max_attempts:
        values |= {"status": "failed", "last_error": error}
    else:
        wait = max(backoff(attempts), retry_after or timedelta(0))
        values |= {"status": "pending", "next_attempt_at": now + wait, "last_error": error}
    conn.execute(sa.update(T).where(T.c.id == delivery.id).values(**values))
    return str(values["status"])


def deliveries(
    conn: sa.Connection,
    *,
    subscription: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Deliveries, oldest first, as dicts (the `webhook_deliveries` root, tests)."""
    stmt = sa.select(T).order_by(T.c.created_at, T.c.id).offset(offset)
    if subscription is not None:
        stmt = stmt.where(T.c.subscription == subscription)
    if status is not None:
        stmt = stmt.where(T.c.status == status)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [dict(row._mapping) for row in conn.execute(stmt)]


class ReplayRefused(ValueError):
    """Some of the deliveries to replay do not exist or were delivered already."""


def replay(conn: sa.Connection, ids: Sequence[str], now: datetime) -> list[dict[str, Any]]:
    """Send failed (or still pending) deliveries again, at once, with a fresh count of
    attempts; nothing changes if one of `ids` is unknown or delivered already."""
    rows = {row.id: row for row in conn.execute(sa.select(T.c.id, T.c.status).where(T.c.id.in_(list(ids))))}
    unknown = [i for i in ids if i not in rows]
    delivered = [i for i in ids if i in rows and rows[i].status == "delivered"]
    if unknown or delivered:
        parts = [f"no delivery {', '.join(unknown)}"] if unknown else []
        if delivered:
            parts.append(f"delivered already (replaying would send it twice): {', '.join(delivered)}")
        raise ReplayRefused("; ".join(parts))
    conn.execute(
        sa.update(T)
        .where(T.c.id.in_(list(ids)))
        .values(status="pending", attempts=0, next_attempt_at=now, locked_until=None)
    )
    return [d for d in deliveries(conn) if d["id"] in set(ids)]
