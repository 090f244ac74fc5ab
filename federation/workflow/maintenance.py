"""Maintenance records: repairs, upgrades, inspections of an asset.

A record logged without `done_at` is open (the GraphQL layer sets the asset `in_repair` in
its owning source, and keeps the status it had in `previous_status`); closing it gives that
status back. One open record per asset, enforced by the database as for check-outs. A
record logged with `done_at` is history already: closed, and no status changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from uuid import uuid4

import sqlalchemy as sa

from federation.workflow.records import (
    Maintenance,
    WorkflowConflict,
    WorkflowError,
    as_row,
    require_text,
    require_utc,
    require_uuid,
)
from federation.workflow.tables import MAINTENANCE

#: the columns closing a record sets
_CLOSING = ("status", "done_at", "closed_by", "notes", "cost")


def _cost(cost: Decimal | float | int | str | None) -> Decimal | None:
    if cost is None:
        return None
    try:
        value = Decimal(str(cost))
    except InvalidOperation:
        raise WorkflowError(f"cost: {cost!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise WorkflowError(f"cost: expected 0 or more, got {cost!r}")
    return value.quantize(Decimal("0.0001"))


def current(conn: sa.Connection, asset_id: str) -> Maintenance | None:
    asset = require_uuid("asset", asset_id)
    row = conn.execute(
        sa.select(MAINTENANCE).where(MAINTENANCE.c.asset_id == asset, MAINTENANCE.c.status == "open")
    ).first()
    return Maintenance.from_row(row) if row else None


def _already_open(found: Maintenance) -> WorkflowConflict:
    return WorkflowConflict(
        f"asset {found.asset_id} already has open maintenance ({found.kind} since "
        f"{found.started_at.isoformat()}, record {found.id}); close it first"
    )


def log_maintenance(
    conn: sa.Connection,
    *,
    asset_id: str,
    kind: str,
    actor: str,
    notes: str | None = None,
    cost: Decimal | float | int | str | None = None,
    started_at: datetime | None = None,
    done_at: datetime | None = None,
    ticket: str | None = None,
    previous_status: str | None = None,
) -> Maintenance:
    """Log maintenance of `asset_id`: open until `close_maintenance`, or closed at once when
    `done_at` is given."""
    asset = require_uuid("asset", asset_id)
    require_text("kind", kind, required=True)
    require_text("actor", actor, required=True)
    for name, value in (("notes", notes), ("ticket", ticket), ("previous_status", previous_status)):
        require_text(name, value)
    start = require_utc("started_at", started_at) or datetime.now(UTC)
    done = require_utc("done_at", done_at)
    if done is not None and done < start:
        raise WorkflowError(f"done_at: {done.isoformat()} is before started_at ({start.isoformat()})")
    record = Maintenance(
        id=str(uuid4()),
        asset_id=asset,
        kind=kind,
        notes=notes,
        cost=_cost(cost),
        started_at=start,
        done_at=done,
        ticket=ticket,
        status="open" if done is None else "closed",
        previous_status=previous_status,
        opened_by=actor,
        closed_by=None if done is None else actor,
    )
    if done is None and (found := current(conn, asset)) is not None:
        raise _already_open(found)
    try:
        with conn.begin_nested():
            conn.execute(MAINTENANCE.insert().values(as_row(record)))
    except sa.exc.IntegrityError:
        raced = current(conn, asset)
        if raced is None:
            raise
        raise _already_open(raced) from None
    return record


def close_maintenance(
    conn: sa.Connection,
    *,
    maintenance_id: str,
    actor: str,
    done_at: datetime | None = None,
    notes: str | None = None,
    cost: Decimal | float | int | str | None = None,
) -> Maintenance:
    """Close an open record; `notes` and `cost`, when given, replace the record's (the final
    bill is known at the end). The result's `previous_status` is the status to restore."""
    record_id = require_uuid("maintenance", maintenance_id)
    require_text("actor", actor, required=True)
    require_text("notes", notes)
    done = require_utc("done_at", done_at) or datetime.now(UTC)
    row = conn.execute(sa.select(MAINTENANCE).where(MAINTENANCE.c.id == record_id)).first()
    if row is None:
        raise WorkflowError(f"maintenance: no record {record_id}")
    found = Maintenance.from_row(row)
    if found.status != "open":
        when = found.done_at.isoformat() if found.done_at else "an unknown time"
        raise WorkflowConflict(f"maintenance {record_id} was already closed at {when}")
    if done < found.started_at:
        raise WorkflowError(
            f"done_at: {done.isoformat()} is before the start ({found.started_at.isoformat()})"
        )
    closed = replace(
        found,
        status="closed",
        done_at=done,
        closed_by=actor,
        notes=found.notes if notes is None else notes,
        cost=found.cost if cost is None else _cost(cost),
    )
    updated = conn.execute(
        MAINTENANCE.update()
        .where(MAINTENANCE.c.id == record_id, MAINTENANCE.c.status == "open")
        .values({name: getattr(closed, name) for name in _CLOSING})
    )
    if updated.rowcount != 1:
        raise WorkflowConflict(f"maintenance {record_id} was closed by another request just now")
    return closed


def discard_maintenance(conn: sa.Connection, maintenance_id: str) -> None:
    """Remove an open record whose source write was refused (the repair never started)."""
    conn.execute(
        MAINTENANCE.delete().where(MAINTENANCE.c.id == maintenance_id, MAINTENANCE.c.status == "open")
    )


def maintenance_of(conn: sa.Connection, asset_ids: Sequence[str]) -> dict[str, list[Maintenance]]:
    """Each asset's maintenance records, newest first (one statement for all of them)."""
    ids = sorted({require_uuid("asset", a) for a in asset_ids})
    out: dict[str, list[Maintenance]] = {i: [] for i in ids}
    if not ids:
        return out
    stmt = (
        sa.select(MAINTENANCE)
        .where(MAINTENANCE.c.asset_id.in_(ids))
        .order_by(MAINTENANCE.c.asset_id, MAINTENANCE.c.started_at.desc(), MAINTENANCE.c.id)
    )
    for row in conn.execute(stmt):
        out[row.asset_id].append(Maintenance.from_row(row))
    return out
