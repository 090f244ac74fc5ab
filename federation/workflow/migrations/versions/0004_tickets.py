"""Tickets: the ServiceNow tickets the gateway opens for requests and maintenance records,
queued in `tickets` (one per record) and shown on the record (`ticket`, `ticket_sys_id`,
`ticket_status`, `ticket_error`).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
UUID = sa.Uuid(as_uuid=False)


def _record_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("ticket_sys_id", sa.String(64), comment="the ticket's sys_id in ServiceNow"),
        sa.Column(
            "ticket_status", sa.String(16), comment="pending, opened or failed: the ticket the gateway opens"
        ),
        sa.Column("ticket_error", sa.Text, comment="why the last attempt to open the ticket failed"),
    ]


def upgrade() -> None:
    op.add_column("requests", sa.Column("ticket", sa.String(200), comment="the ticket's number (REQ…)"))
    for column in _record_columns():
        op.add_column("requests", column)
    for column in _record_columns():
        op.add_column("maintenance", column)
    op.create_table(
        "tickets",
        sa.Column("id", UUID, nullable=False),
        sa.Column("entity", sa.String(32), nullable=False, comment="requests or maintenance"),
        sa.Column("entity_id", UUID, nullable=False, comment="the record the ticket is for"),
        sa.Column("source", sa.String(100), nullable=False, comment="the servicenow source that opens it"),
        sa.Column("target_table", sa.String(80), nullable=False, comment="the Table API table (incident…)"),
        sa.Column("body", sa.Text, nullable=False, comment="the fields sent, as JSON"),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=False),
        sa.Column("locked_until", UTC_TIME, comment="an attempt is under way until then"),
        sa.Column("opened_at", UTC_TIME),
        sa.Column("number", sa.String(40), comment="the number ServiceNow gave (INC…)"),
        sa.Column("sys_id", sa.String(64)),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.CheckConstraint("status IN ('pending', 'opened', 'failed')", name=op.f("ck_tickets_status")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_tickets_attempts")),
        sa.CheckConstraint("entity IN ('requests', 'maintenance')", name=op.f("ck_tickets_entity")),
        sa.CheckConstraint("status <> 'opened' OR number IS NOT NULL", name=op.f("ck_tickets_number")),
        sa.UniqueConstraint("entity", "entity_id", name=op.f("uq_tickets_entity_entity_id")),
    )
    op.create_index("ix_tickets_status_next_attempt_at", "tickets", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("tickets")
    for table in ("requests", "maintenance"):
        for column in _record_columns():
            op.drop_column(table, column.name)
    op.drop_column("requests", "ticket")
