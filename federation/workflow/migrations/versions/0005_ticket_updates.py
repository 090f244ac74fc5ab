"""Ticket updates: what the gateway tells a ServiceNow ticket as its request or repair moves
on, queued in `ticket_updates` (sent once the ticket is opened, in order) and shown on the
record (`ticket_state`, `ticket_update`, `ticket_update_error`).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
UUID = sa.Uuid(as_uuid=False)


def _record_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("ticket_state", sa.String(40), comment="the ticket's state as ServiceNow last answered"),
        sa.Column("ticket_update", sa.String(16), comment="pending, sent or failed: the latest update"),
        sa.Column("ticket_update_error", sa.Text, comment="why the latest update is not sent yet"),
    ]


def upgrade() -> None:
    for table in ("requests", "maintenance"):
        for column in _record_columns():
            op.add_column(table, column)
    op.create_table(
        "ticket_updates",
        sa.Column("id", UUID, nullable=False),
        sa.Column("ticket_id", UUID, nullable=False),
        sa.Column("seq", sa.Integer, nullable=False, comment="the order of the ticket's updates"),
        sa.Column("state", sa.String(16), nullable=False, comment="the record's state it tells (fulfilled…)"),
        sa.Column("body", sa.Text, nullable=False, comment="the fields sent, as JSON"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=False),
        sa.Column("locked_until", UTC_TIME, comment="an attempt is under way until then"),
        sa.Column("sent_at", UTC_TIME),
        sa.Column("answer", sa.Text, comment="what ServiceNow answered of the fields sent, as JSON"),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_updates")),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_ticket_updates_ticket_id"),
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name=op.f("ck_ticket_updates_status")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_ticket_updates_attempts")),
        sa.UniqueConstraint("ticket_id", "seq", name=op.f("uq_ticket_updates_ticket_id_seq")),
    )
    op.create_index(
        "ix_ticket_updates_status_next_attempt_at", "ticket_updates", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("ticket_updates")
    for table in ("requests", "maintenance"):
        for column in _record_columns():
            op.drop_column(table, column.name)
