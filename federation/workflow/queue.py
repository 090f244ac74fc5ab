"""What the outbox of webhook deliveries (outbox.py) and the queue of ServiceNow tickets
(tickets.py) share: a table of jobs that are due at `next_attempt_at`, claimed by a
conditional update of `locked_until` (of several processes, one makes each attempt), tried
again after a doubling backoff until `max_attempts`, sent again by hand with a fresh count,
and worked through by a `Poller` thread in each serving process.

A queue table has the columns `id`, `status` (`pending`, `failed` or the queue's own done
state), `attempts`, `created_at`, `next_attempt_at`, `locked_until` and `last_error`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

#: first retry after this, doubling each attempt, at most MAX_BACKOFF
FIRST_BACKOFF = timedelta(seconds=5)
MAX_BACKOFF = timedelta(hours=1)


class RequeueRefused(ValueError):
    """Some of the jobs to send again do not exist or are done already."""


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 5 s, 10 s, 20 s, … at most an hour."""
    return min(FIRST_BACKOFF * 2 ** max(attempts - 1, 0), MAX_BACKOFF)


def claim(
    conn: sa.Connection,
    table: sa.Table,
    now: datetime,
    *,
    limit: int,
    lease: timedelta,
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> list[sa.Row[Any]]:
    """Pending jobs that are due and not under way, oldest first, locked for `lease`."""
    unlocked = sa.or_(table.c.locked_until.is_(None), table.c.locked_until < now)
    due = conn.execute(
        sa.select(table)
        .where(table.c.status == "pending", table.c.next_attempt_at <= now, unlocked, *where)
        .order_by(table.c.created_at, table.c.id)
        .limit(limit)
    ).all()
    claimed = []
    for row in due:
        taken = conn.execute(
            sa.update(table)
            .where(table.c.id == row.id, table.c.status == "pending", unlocked)
            .values(locked_until=now + lease)
        )
        if taken.rowcount == 1:
            claimed.append(row)
    return claimed


def outcome(
    attempts: int,
    now: datetime,
    *,
    done: str | None,
    error: str | None,
    max_attempts: int,
    give_up: bool = False,
    retry_after: timedelta | None = None,
) -> dict[str, Any]:
    """The columns an attempt leaves (it was the `attempts`-th): the `done` status when it
    succeeded (the caller adds what it brought back), `failed` when it was the last one allowed
    (or at once with `give_up`), else `pending` again after the backoff (or the other side's
    Retry-After, if longer)."""
    values: dict[str, Any] = {"attempts": attempts, "locked_until": None}
    if done is not None:
        return values | {"status": done, "last_error": None}
    if give_up or attempts >= max_attempts:
        return values | {"status": "failed", "last_error": error}
    wait = max(backoff(attempts), retry_after or timedelta(0))
    return values | {"status": "pending", "next_attempt_at": now + wait, "last_error": error}


def requeue(
    conn: sa.Connection,
    table: sa.Table,
    ids: Sequence[str],
    now: datetime,
    *,
    done: str,
    noun: str,
    why: str,
    refused: type[RequeueRefused] = RequeueRefused,
) -> list[sa.Row[Any]]:
    """Make `ids` due now with a fresh count of attempts; nothing changes (`refused` is raised,
    naming them) if one of them is unknown or `done` already (`why`: what sending it again
    would do). The rows as they were."""
    rows = {str(r.id): r for r in conn.execute(sa.select(table).where(table.c.id.in_(list(ids))))}
    unknown = [i for i in ids if i not in rows]
    finished = [i for i in ids if i in rows and rows[i].status == done]
    if unknown or finished:
        parts = [f"no {noun} {', '.join(unknown)}"] if unknown else []
        if finished:
            parts.append(f"{done} already ({why}): {', '.join(finished)}")
        raise refused("; ".join(parts))
    conn.execute(
        sa.update(table)
        .where(table.c.id.in_(list(ids)))
        .values(status="pending", attempts=0, next_attempt_at=now, locked_until=None)
    )
    return list(rows.values())


def listed(
    conn: sa.Connection,
    table: sa.Table,
    *,
    where: Sequence[sa.ColumnElement[bool]] = (),
    limit: int | None = None,
    offset: int = 0,
) -> list[sa.Row[Any]]:
    """The jobs, oldest first."""
    stmt = sa.select(table).where(*where).order_by(table.c.created_at, table.c.id).offset(offset)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(conn.execute(stmt))


class Poller(threading.Thread):
    """A thread that works through what is due: `work()` returns how many jobs it attempted;
    when none, it waits `poll_seconds` (or until `wake()`). An exception (the store down) is
    logged and the thread goes on."""

    def __init__(
        self, name: str, work: Callable[[], int], log: logging.Logger, *, poll_seconds: float
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.work = work
        self.log = log
        self.poll_seconds = poll_seconds
        self._stopping = threading.Event()
        self._wake = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                done = self.work()
            except Exception:  # a store outage: keep the thread, try again later
                self.log.exception("%s: the queue could not be worked through; retrying", self.name)
                done = 0
            if not done:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
        self.finish()

    def finish(self) -> None:
        """Called once the thread stops (close what it used)."""
