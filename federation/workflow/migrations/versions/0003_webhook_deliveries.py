"""Webhook deliveries: the outbox of events for the Standard Webhooks subscriptions.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(40), nullable=False, comment="the webhook-id header (msg_…)"),
        sa.Column("subscription", sa.String(64), nullable=False, comment="the webhook's name in config"),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text, nullable=False, comment="the JSON body sent, as sent"),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=False),
        sa.Column("locked_until", UTC_TIME, comment="a deliverer is sending it until then"),
        sa.Column("delivered_at", UTC_TIME),
        sa.Column("last_status", sa.Integer, comment="the HTTP status of the last attempt"),
        sa.Column("last_error", sa.Text),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')", name=op.f("ck_webhook_deliveries_status")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_webhook_deliveries_attempts")),
    )
    op.create_index(
        "ix_webhook_deliveries_status_next_attempt_at", "webhook_deliveries", ["status", "next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
