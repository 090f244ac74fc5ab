"""Check-out and check-in of assets: an asset is out to one person or one location at a
time, until it comes back.

The rule "one open check-out per asset" is the database's (a partial unique index), so two
requests racing for the same asset cannot both win: the loser gets `WorkflowConflict`. The
insert runs in a savepoint, so a caller's transaction survives the refusal (and can record
it in the history).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from uuid import uuid4

import sqlalchemy as sa

from federation.workflow.records import (
    Checkout,
    WorkflowConflict,
    WorkflowError,
    as_row,
    optional_uuid,
    require_text,
    require_utc,
    require_uuid,
)
from federation.workflow.tables import CHECKOUTS

#: the columns a check-in fills
_CHECKIN = ("checked_in_at", "checkin_location_id", "condition", "note_in", "checked_in_by")


def _asset(asset_id: str) -> str:
    return require_uuid("asset", asset_id)


def current(conn: sa.Connection, asset_id: str) -> Checkout | None:
    row = conn.execute(
        sa.select(CHECKOUTS).where(
            CHECKOUTS.c.asset_id == _asset(asset_id), CHECKOUTS.c.checked_in_at.is_(None)
        )
    ).first()
    return Checkout.from_row(row) if row else None


def _already_out(found: Checkout) -> WorkflowConflict:
    to = f"person {found.to_person_id}" if found.to_person_id else f"location {found.to_location_id}"
    return WorkflowConflict(
        f"asset {found.asset_tag or found.asset_id} is already checked out (to {to} since "
        f"{found.checked_out_at.isoformat()}, check-out {found.id}); check it in first"
    )


def open_checkout(
    conn: sa.Connection,
    *,
    asset_id: str,
    actor: str,
    to_person_id: str | None = None,
    to_location_id: str | None = None,
    expected_checkin: datetime | None = None,
    note: str | None = None,
    asset_tag: str | None = None,
    at: datetime | None = None,
) -> Checkout:
    """Check `asset_id` out to a person or a location (exactly one of them)."""
    asset = _asset(asset_id)
    person, location = optional_uuid("to_person", to_person_id), optional_uuid("to_location", to_location_id)
    if (person is None) == (location is None):
        raise WorkflowError(
            "check out to a person or to a location: give exactly one of to_person, to_location"
        )
    require_text("actor", actor, required=True)
    require_text("note", note)
    require_text("asset_tag", asset_tag)
    out_at = require_utc("at", at) or datetime.now(UTC)
    due = require_utc("expected_checkin", expected_checkin)
    if due is not None and due <= out_at:
        raise WorkflowError(
            f"expected_checkin: {due.isoformat()} is not after the check-out ({out_at.isoformat()})"
        )
    found = current(conn, asset)
    if found is not None:
        raise _already_out(found)
    record = Checkout(
        id=str(uuid4()),
        asset_id=asset,
        asset_tag=asset_tag,
        to_person_id=person,
        to_location_id=location,
        checked_out_at=out_at,
        expected_checkin=due,
        note_out=note,
        actor=actor,
        checked_in_at=None,
        checkin_location_id=None,
        condition=None,
        note_in=None,
        checked_in_by=None,
    )
    try:
        with conn.begin_nested():
            conn.execute(CHECKOUTS.insert().values(as_row(record)))
    except sa.exc.IntegrityError:
        raced = current(conn, asset)
        if raced is None:
            raise
        raise _already_out(raced) from None
    return record


def close_checkout(
    conn: sa.Connection,
    *,
    asset_id: str,
    actor: str,
    to_location_id: str | None = None,
    condition: str | None = None,
    note: str | None = None,
    at: datetime | None = None,
) -> Checkout:
    """Check `asset_id` back in (to `to_location_id`, if given)."""
    asset = _asset(asset_id)
    location = optional_uuid("to_location", to_location_id)
    require_text("actor", actor, required=True)
    require_text("condition", condition)
    require_text("note", note)
    in_at = require_utc("at", at) or datetime.now(UTC)
    found = current(conn, asset)
    if found is None:
        raise WorkflowConflict(f"asset {asset} is not checked out; nothing to check in")
    if in_at < found.checked_out_at:
        raise WorkflowError(
            f"at: {in_at.isoformat()} is before the check-out ({found.checked_out_at.isoformat()})"
        )
    back = replace(
        found,
        checked_in_at=in_at,
        checkin_location_id=location,
        condition=condition,
        note_in=note,
        checked_in_by=actor,
    )
    done = conn.execute(
        CHECKOUTS.update()
        .where(CHECKOUTS.c.id == found.id, CHECKOUTS.c.checked_in_at.is_(None))
        .values({name: getattr(back, name) for name in _CHECKIN})
    )
    if done.rowcount != 1:  # checked in by someone else since we looked
        raise WorkflowConflict(f"asset {found.asset_tag or asset} was checked in by another request just now")
    return back


def discard_checkout(conn: sa.Connection, checkout_id: str) -> None:
    """Remove a check-out whose source write was refused (it never happened)."""
    conn.execute(CHECKOUTS.delete().where(CHECKOUTS.c.id == checkout_id, CHECKOUTS.c.checked_in_at.is_(None)))


def reopen_checkout(conn: sa.Connection, checkout_id: str) -> None:
    """Undo a check-in whose source write was refused (the asset is still out)."""
    conn.execute(CHECKOUTS.update().where(CHECKOUTS.c.id == checkout_id).values(dict.fromkeys(_CHECKIN)))


def open_checkouts(conn: sa.Connection, asset_ids: Sequence[str]) -> dict[str, Checkout]:
    """The open check-out of each asset that has one (one statement for all of them)."""
    ids = sorted({_asset(a) for a in asset_ids})
    if not ids:
        return {}
    rows = conn.execute(
        sa.select(CHECKOUTS).where(CHECKOUTS.c.asset_id.in_(ids), CHECKOUTS.c.checked_in_at.is_(None))
    )
    return {row.asset_id: Checkout.from_row(row) for row in rows}


def overdue(conn: sa.Connection, now: datetime | None = None, *, limit: int | None = None) -> list[Checkout]:
    """Open check-outs whose expected check-in has passed, the longest overdue first."""
    when = require_utc("now", now) or datetime.now(UTC)
    stmt = (
        sa.select(CHECKOUTS)
        .where(CHECKOUTS.c.checked_in_at.is_(None), CHECKOUTS.c.expected_checkin < when)
        .order_by(CHECKOUTS.c.expected_checkin, CHECKOUTS.c.id)
        .limit(limit)
    )
    return [Checkout.from_row(row) for row in conn.execute(stmt)]
