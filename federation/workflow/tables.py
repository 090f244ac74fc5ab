"""The tables of the gateway's own store: change history, check-outs, maintenance, requests.

SQLAlchemy Core tables, read by the API (history.py, checkouts.py, maintenance.py), by the
`where` compiler (filters.py) and by the migrations' consistency test; the migrations
themselves (migrations/versions/) spell the schema out on their own, as a migration must.

Times are UTC: a naive datetime is refused on the way in, and one read back from SQLite
(which keeps no time zone) gets UTC attached. Ids are UUIDs, except `changes.id`, a
sequence number that orders the log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

#: Alembic's version table, named so the store can share a database with other applications
VERSION_TABLE = "assetgraph_workflow_version"
OUTCOMES = ("accepted", "refused", "conflict", "failed")
MAINTENANCE_STATUSES = ("open", "closed")
#: a request's life: submitted → approved | rejected → fulfilled | cancelled
REQUEST_STATES = ("submitted", "approved", "rejected", "fulfilled", "cancelled")
#: a webhook delivery: waiting to be sent (again), sent, or given up after its attempts
DELIVERY_STATUSES = ("pending", "delivered", "failed")
#: a ticket the gateway opens: being opened (again), opened, or given up after its attempts
TICKET_STATUSES = ("pending", "opened", "failed")
#: the records a ticket is opened for
TICKET_ENTITIES = ("requests", "maintenance")
#: an update of a ticket: waiting to be sent (or for its ticket to open), sent, or given up
TICKET_UPDATE_STATUSES = ("pending", "sent", "failed")


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime: `timestamptz` on PostgreSQL, UTC text on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"{value.isoformat()} has no time zone; give a timezone-aware (UTC) time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _uuid() -> sa.Uuid[str]:
    return sa.Uuid(as_uuid=False)


#: a JSON value (SQL NULL for None): `jsonb` on PostgreSQL, JSON text on SQLite
JSON_VALUE: sa.types.TypeEngine[Any] = sa.JSON(none_as_null=True).with_variant(
    JSONB(none_as_null=True), "postgresql"
)
#: money and other amounts, exact (as the published store's DECIMAL(18, 4))
AMOUNT = sa.Numeric(18, 4)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _ticket_columns() -> list[sa.Column[Any]]:
    """What a record shows of the ticket the gateway opens for it (the `tickets` row's outcome)."""
    return [
        sa.Column("ticket_sys_id", sa.String(64), comment="the ticket's sys_id in ServiceNow"),
        sa.Column(
            "ticket_status", sa.String(16), comment="pending, opened or failed: the ticket the gateway opens"
        ),
        sa.Column("ticket_error", sa.Text, comment="why the last attempt to open the ticket failed"),
        *ticket_update_columns(),
    ]


def ticket_update_columns() -> list[sa.Column[Any]]:
    """What a record shows of the updates of its ticket (the `ticket_updates` rows' outcome)."""
    return [
        sa.Column("ticket_state", sa.String(40), comment="the ticket's state as ServiceNow last answered"),
        sa.Column("ticket_update", sa.String(16), comment="pending, sent or failed: the latest update"),
        sa.Column("ticket_update_error", sa.Text, comment="why the latest update is not sent yet"),
    ]


METADATA = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "pk": "pk_%(table_name)s",
    }
)

CHANGES = sa.Table(
    "changes",
    METADATA,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
    sa.Column("at", UtcDateTime(), nullable=False, comment="when the gateway decided"),
    sa.Column("request_id", _uuid(), comment="the changes of one mutation share it"),
    sa.Column("actor", sa.String(320), nullable=False),
    sa.Column("role", sa.String(100), nullable=False),
    sa.Column("entity", sa.String(100), nullable=False, comment="table of the changed object"),
    sa.Column("entity_id", _uuid(), nullable=False),
    sa.Column("field", sa.String(100), nullable=False),
    sa.Column("before", JSON_VALUE),
    sa.Column("after", JSON_VALUE),
    sa.Column("source", sa.String(100), comment="the source that owns the field (None: the gateway)"),
    sa.Column("record_id", sa.String(400), comment="the record in that source"),
    sa.Column("outcome", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, comment="why it was refused, conflicted or failed"),
    sa.CheckConstraint(_in("outcome", OUTCOMES), name="outcome"),
    sa.CheckConstraint("outcome = 'accepted' OR reason IS NOT NULL", name="reason"),
    sa.Index(None, "entity", "entity_id", "at"),
    sa.Index(None, "at"),
    sa.Index(None, "request_id"),
)

CHECKOUTS = sa.Table(
    "checkouts",
    METADATA,
    sa.Column("id", _uuid(), primary_key=True),
    sa.Column("asset_id", _uuid(), nullable=False),
    sa.Column("asset_tag", sa.String(100)),
    sa.Column("to_person_id", _uuid()),
    sa.Column("to_location_id", _uuid()),
    sa.Column("checked_out_at", UtcDateTime(), nullable=False),
    sa.Column("expected_checkin", UtcDateTime()),
    sa.Column("note_out", sa.Text),
    sa.Column("actor", sa.String(320), nullable=False, comment="who checked it out"),
    sa.Column("checked_in_at", UtcDateTime(), comment="None while the asset is out"),
    sa.Column("checkin_location_id", _uuid()),
    sa.Column("condition", sa.String(100)),
    sa.Column("note_in", sa.Text),
    sa.Column("checked_in_by", sa.String(320)),
    sa.CheckConstraint("(to_person_id IS NULL) <> (to_location_id IS NULL)", name="one_target"),
    sa.CheckConstraint(
        "expected_checkin IS NULL OR expected_checkin > checked_out_at", name="expected_after_out"
    ),
    sa.CheckConstraint("checked_in_at IS NULL OR checked_in_at >= checked_out_at", name="in_after_out"),
    sa.CheckConstraint("(checked_in_at IS NULL) = (checked_in_by IS NULL)", name="checked_in_by"),
    sa.Index(None, "asset_id", "checked_out_at"),
    # an asset is out at most once at a time
    sa.Index(
        "uq_checkouts_open_asset",
        "asset_id",
        unique=True,
        sqlite_where=sa.text("checked_in_at IS NULL"),
        postgresql_where=sa.text("checked_in_at IS NULL"),
    ),
    # the overdue list: open check-outs by due time
    sa.Index(
        "ix_checkouts_open_due",
        "expected_checkin",
        sqlite_where=sa.text("checked_in_at IS NULL"),
        postgresql_where=sa.text("checked_in_at IS NULL"),
    ),
)

MAINTENANCE = sa.Table(
    "maintenance",
    METADATA,
    sa.Column("id", _uuid(), primary_key=True),
    sa.Column("asset_id", _uuid(), nullable=False),
    sa.Column("kind", sa.String(100), nullable=False),
    sa.Column("notes", sa.Text),
    sa.Column("cost", AMOUNT),
    sa.Column("started_at", UtcDateTime(), nullable=False),
    sa.Column("done_at", UtcDateTime(), comment="None while the record is open"),
    sa.Column("ticket", sa.String(200)),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("previous_status", sa.String(32), comment="the asset's status before it opened"),
    sa.Column("opened_by", sa.String(320), nullable=False),
    sa.Column("closed_by", sa.String(320)),
    *_ticket_columns(),
    sa.CheckConstraint(_in("status", MAINTENANCE_STATUSES), name="status"),
    sa.CheckConstraint(
        "(status = 'open' AND done_at IS NULL AND closed_by IS NULL)"
        " OR (status = 'closed' AND done_at IS NOT NULL AND closed_by IS NOT NULL)",
        name="closed_when_done",
    ),
    sa.CheckConstraint("done_at IS NULL OR done_at >= started_at", name="done_after_start"),
    sa.CheckConstraint("cost IS NULL OR cost >= 0", name="cost"),
    sa.Index(None, "asset_id", "started_at"),
    # an asset has at most one open maintenance record
    sa.Index(
        "uq_maintenance_open_asset",
        "asset_id",
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    ),
)

REQUESTS = sa.Table(
    "requests",
    METADATA,
    sa.Column("id", _uuid(), primary_key=True),
    sa.Column("form", sa.String(100), nullable=False, comment="the form of config.yaml it answers"),
    sa.Column("item", JSON_VALUE, nullable=False, comment="what is requested (asset or catalog entry)"),
    sa.Column("item_asset_id", _uuid(), comment="the asset requested, when one was named"),
    sa.Column("answers", JSON_VALUE, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("requester", sa.String(320), nullable=False, comment="the requester's email"),
    sa.Column("requester_role", sa.String(100), nullable=False),
    sa.Column("requester_person_id", _uuid(), comment="the requester in `people`, when found"),
    sa.Column("steps", JSON_VALUE, nullable=False, comment="approval steps, with their decisions"),
    sa.Column("step", sa.Integer, nullable=False, comment="index of the step waiting for a decision"),
    sa.Column("waiting_on_email", sa.String(320), comment="the person who must act next"),
    sa.Column("waiting_on_role", sa.String(100), comment="the role whose members may act next"),
    sa.Column("submitted_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.Column("reason", sa.Text, comment="why it was rejected or cancelled"),
    sa.Column("fulfilled_by", sa.String(320)),
    sa.Column("fulfilled_at", UtcDateTime()),
    sa.Column("asset_id", _uuid(), comment="the asset handed out"),
    sa.Column("checkout_id", _uuid(), comment="the check-out that handed it out"),
    sa.Column("ticket", sa.String(200), comment="the ticket's number (REQ…)"),
    *_ticket_columns(),
    sa.CheckConstraint(_in("state", REQUEST_STATES), name="state"),
    sa.CheckConstraint("(state = 'fulfilled') = (fulfilled_at IS NOT NULL)", name="fulfilled_at"),
    sa.CheckConstraint("updated_at >= submitted_at", name="updated_after_submitted"),
    sa.Index(None, "requester", "submitted_at"),
    sa.Index(None, "waiting_on_email"),
    sa.Index(None, "waiting_on_role"),
)

#: events waiting to be sent (or sent) to a webhook subscription, one row per event and
#: subscription: the outbox the deliverer works through (federation/workflow/outbox.py)
WEBHOOK_DELIVERIES = sa.Table(
    "webhook_deliveries",
    METADATA,
    sa.Column("id", sa.String(40), primary_key=True, comment="the webhook-id header (msg_…)"),
    sa.Column("subscription", sa.String(64), nullable=False, comment="the webhook's name in config"),
    sa.Column("event", sa.String(64), nullable=False),
    sa.Column("payload", sa.Text, nullable=False, comment="the JSON body sent, as sent"),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("locked_until", UtcDateTime(), comment="a deliverer is sending it until then"),
    sa.Column("delivered_at", UtcDateTime()),
    sa.Column("last_status", sa.Integer, comment="the HTTP status of the last attempt"),
    sa.Column("last_error", sa.Text),
    sa.CheckConstraint(_in("status", DELIVERY_STATUSES), name="status"),
    sa.CheckConstraint("attempts >= 0", name="attempts"),
    sa.Index(None, "status", "next_attempt_at"),
)

#: the tickets the gateway opens in ServiceNow, one per request or maintenance record: the
#: queue the ticket opener works through (federation/workflow/tickets.py)
TICKETS = sa.Table(
    "tickets",
    METADATA,
    sa.Column("id", _uuid(), primary_key=True),
    sa.Column("entity", sa.String(32), nullable=False, comment="requests or maintenance"),
    sa.Column("entity_id", _uuid(), nullable=False, comment="the record the ticket is for"),
    sa.Column("source", sa.String(100), nullable=False, comment="the servicenow source that opens it"),
    sa.Column("target_table", sa.String(80), nullable=False, comment="the Table API table (incident…)"),
    sa.Column("body", sa.Text, nullable=False, comment="the fields sent, as JSON"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("locked_until", UtcDateTime(), comment="an attempt is under way until then"),
    sa.Column("opened_at", UtcDateTime()),
    sa.Column("number", sa.String(40), comment="the number ServiceNow gave (INC…)"),
    sa.Column("sys_id", sa.String(64)),
    sa.Column("last_error", sa.Text),
    sa.CheckConstraint(_in("status", TICKET_STATUSES), name="status"),
    sa.CheckConstraint("attempts >= 0", name="attempts"),
    sa.CheckConstraint(_in("entity", TICKET_ENTITIES), name="entity"),
    sa.CheckConstraint("status <> 'opened' OR number IS NOT NULL", name="number"),
    sa.UniqueConstraint("entity", "entity_id"),
    sa.Index(None, "status", "next_attempt_at"),
)

#: the tables the GraphQL layer serves (the outbox is the deliverer's own)
TABLES: dict[str, sa.Table] = {t.name: t for t in (CHANGES, CHECKOUTS, MAINTENANCE, REQUESTS)}

#: what the gateway tells a ticket as its record moves on (a PATCH of its sys_id), sent once
#: the ticket is opened, in `seq` order (federation/workflow/ticket_updates.py)
TICKET_UPDATES = sa.Table(
    "ticket_updates",
    METADATA,
    sa.Column("id", _uuid(), primary_key=True),
    sa.Column("ticket_id", _uuid(), sa.ForeignKey("tickets.id", name="fk_ticket_updates_ticket_id"),
              nullable=False),
    sa.Column("seq", sa.Integer, nullable=False, comment="the order of the ticket's updates"),
    sa.Column("state", sa.String(16), nullable=False, comment="the record's state it tells (fulfilled…)"),
    sa.Column("body", sa.Text, nullable=False, comment="the fields sent, as JSON"),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
    sa.Column("locked_until", UtcDateTime(), comment="an attempt is under way until then"),
    sa.Column("sent_at", UtcDateTime()),
    sa.Column("answer", sa.Text, comment="what ServiceNow answered of the fields sent, as JSON"),
    sa.Column("last_error", sa.Text),
    sa.CheckConstraint(_in("status", TICKET_UPDATE_STATUSES), name="status"),
    sa.CheckConstraint("attempts >= 0", name="attempts"),
    sa.UniqueConstraint("ticket_id", "seq"),
    sa.Index(None, "status", "next_attempt_at"),
)  # fmt: skip
