"""What the workflow API takes and gives back: plain frozen records, and its errors.

The records mirror the tables' rows (tables.py) field for field, so a row read back is
`Change(**row)`. Errors carry the `code` a GraphQL error should show in `extensions.code`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, Self
from uuid import UUID

import sqlalchemy as sa

Outcome = Literal["accepted", "refused", "conflict", "failed"]


class WorkflowError(Exception):
    """A workflow request that cannot be done as asked; `code` for `extensions.code`."""

    code = "BAD_USER_INPUT"


class WorkflowConflict(WorkflowError):
    """The request contradicts the current state (already checked out, nothing open...)."""

    code = "CONFLICT"


class _Row:
    @classmethod
    def from_row(cls, row: sa.Row[Any]) -> Self:
        mapping = row._mapping
        return cls(**{f.name: mapping[f.name] for f in fields(cls)})  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class Change(_Row):
    """One field of one mutation, as decided. `id` and `at` are set by the store."""

    entity: str
    entity_id: str
    field: str
    before: Any
    after: Any
    outcome: Outcome
    actor: str
    role: str
    reason: str | None = None
    source: str | None = None
    record_id: str | None = None
    request_id: str | None = None
    id: int | None = None
    at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class Checkout(_Row):
    id: str
    asset_id: str
    asset_tag: str | None
    to_person_id: str | None
    to_location_id: str | None
    checked_out_at: datetime
    expected_checkin: datetime | None
    note_out: str | None
    actor: str
    checked_in_at: datetime | None
    checkin_location_id: str | None
    condition: str | None
    note_in: str | None
    checked_in_by: str | None

    def overdue(self, now: datetime) -> bool:
        return (
            self.checked_in_at is None and self.expected_checkin is not None and self.expected_checkin < now
        )


@dataclass(frozen=True, kw_only=True)
class Maintenance(_Row):
    id: str
    asset_id: str
    kind: str
    notes: str | None
    cost: Decimal | None
    started_at: datetime
    done_at: datetime | None
    ticket: str | None
    status: Literal["open", "closed"]
    previous_status: str | None
    opened_by: str
    closed_by: str | None
    #: the ServiceNow ticket the gateway opens for an open record (`ticket` is its number, or
    #: the reference the caller gave): pending, opened or failed; None when it opens none
    ticket_sys_id: str | None = None
    ticket_status: str | None = None
    ticket_error: str | None = None
    #: the updates of that ticket: its state as ServiceNow last answered (`closed_complete`,
    #: `6`), where the latest update stands (pending, sent, failed) and why it is not sent
    ticket_state: str | None = None
    ticket_update: str | None = None
    ticket_update_error: str | None = None


@dataclass(frozen=True, kw_only=True)
class Request(_Row):
    """One request of an item through a form; `steps` holds the approval steps that apply,
    each with its decision once made."""

    id: str
    form: str
    item: dict[str, Any]
    item_asset_id: str | None
    answers: dict[str, Any]
    state: Literal["submitted", "approved", "rejected", "fulfilled", "cancelled"]
    requester: str
    requester_role: str
    requester_person_id: str | None
    steps: list[dict[str, Any]]
    step: int
    waiting_on_email: str | None
    waiting_on_role: str | None
    submitted_at: datetime
    updated_at: datetime
    reason: str | None
    fulfilled_by: str | None
    fulfilled_at: datetime | None
    asset_id: str | None
    checkout_id: str | None
    #: the ServiceNow ticket the gateway opens for it: its number and sys_id once opened;
    #: `ticket_status` pending, opened or failed (`ticket_error` says why); None when none
    ticket: str | None = None
    ticket_sys_id: str | None = None
    ticket_status: str | None = None
    ticket_error: str | None = None
    #: the updates of that ticket: its state as ServiceNow last answered (`closed_complete`,
    #: `6`), where the latest update stands (pending, sent, failed) and why it is not sent
    ticket_state: str | None = None
    ticket_update: str | None = None
    ticket_update_error: str | None = None


def jsonable(value: Any) -> Any:
    """A field value as the JSON the history keeps: numbers stay numbers (Decimal → float),
    times become ISO 8601 text (UTC), UUIDs and enums their text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((jsonable(v) for v in value), key=repr)
    raise TypeError(f"cannot keep a {type(value).__name__} in the change history")


def require_utc(name: str, value: datetime | None) -> datetime | None:
    """`value` in UTC; a naive time is refused (which zone would it be?)."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise WorkflowError(f"{name}: {value.isoformat()} has no time zone; give one (e.g. ...Z)")
    return value.astimezone(UTC)


def require_text(name: str, value: str | None, *, required: bool = False) -> str | None:
    if value is not None and not isinstance(value, str):
        raise WorkflowError(f"{name}: expected text, got {type(value).__name__}")
    if required and not (value and value.strip()):
        raise WorkflowError(f"{name}: required")
    return value


def require_uuid(name: str, value: str | None) -> str:
    """`value` as a canonical UUID text (lower case, with dashes)."""
    if value is None:
        raise WorkflowError(f"{name}: required")
    try:
        return str(UUID(value))
    except (TypeError, ValueError, AttributeError):
        raise WorkflowError(f"{name}: {value!r} is not a UUID") from None


def optional_uuid(name: str, value: str | None) -> str | None:
    return None if value is None else require_uuid(name, value)


def as_row(record: Any) -> dict[str, Any]:
    """The record's fields as a row of its table."""
    return {f.name: getattr(record, f.name) for f in fields(record)}
