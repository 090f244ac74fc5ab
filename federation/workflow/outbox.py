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

import federation.workflow.queue as queue
from federation.config.webhooks import EVENTS, WebhookConfig
from federation.workflow.tables import WEBHOOK_DELIVERIES

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
    return [
        Delivery(row.id, row.subscription, row.event, row.payload, row.attempts)
        for row in queue.claim(conn, T, now, limit=limit, lease=lease)
    ]


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
    ok = error is None and status is not None and 200 <= status < 300
    values = queue.outcome(delivery.attempts + 1, now, done="delivered" if ok else None, error=error,
                           max_attempts=max_attempts, give_up=give_up, retry_after=retry_after)  # fmt: skip
    values["last_status"] = status
    if ok:
        values["delivered_at"] = now
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
    where = []
    if subscription is not None:
        where.append(T.c.subscription == subscription)
    if status is not None:
        where.append(T.c.status == status)
    return [dict(row._mapping) for row in queue.listed(conn, T, where=where, limit=limit, offset=offset)]


class ReplayRefused(queue.RequeueRefused):
    """Some of the deliveries to replay do not exist or were delivered already."""


def replay(conn: sa.Connection, ids: Sequence[str], now: datetime) -> list[dict[str, Any]]:
    """Send failed (or still pending) deliveries again, at once, with a fresh count of
    attempts; nothing changes if one of `ids` is unknown or delivered already."""
    queue.requeue(conn, T, ids, now, done="delivered", noun="delivery",
                  why="replaying would send it twice", refused=ReplayRefused)  # fmt: skip
    return [dict(row._mapping) for row in queue.listed(conn, T, where=[T.c.id.in_(list(ids))])]
