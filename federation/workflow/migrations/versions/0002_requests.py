"""Requests: an employee's request of an item, its answers, approval steps and state.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON_VALUE = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
UTC_TIME = sa.DateTime(timezone=True)
UUID = sa.Uuid(as_uuid=False)


def upgrade() -> None:
    op.create_table(
        "requests",
        sa.Column("id", UUID, nullable=False),
        sa.Column("form", sa.String(100), nullable=False, comment="the form of config.yaml it answers"),
        sa.Column("item", JSON_VALUE, nullable=False, comment="what is requested (asset or catalog entry)"),
        sa.Column("item_asset_id", UUID, comment="the asset requested, when one was named"),
        sa.Column("answers", JSON_VALUE, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requester", sa.String(320), nullable=False, comment="the requester's email"),
        sa.Column("requester_role", sa.String(100), nullable=False),
        sa.Column("requester_person_id", UUID, comment="the requester in `people`, when found"),
        sa.Column("steps", JSON_VALUE, nullable=False, comment="approval steps, with their decisions"),
        sa.Column("step", sa.Integer, nullable=False, comment="index of the step waiting for a decision"),
        sa.Column("waiting_on_email", sa.String(320), comment="the person who must act next"),
        sa.Column("waiting_on_role", sa.String(100), comment="the role whose members may act next"),
        sa.Column("submitted_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("reason", sa.Text, comment="why it was rejected or cancelled"),
        sa.Column("fulfilled_by", sa.String(320)),
        sa.Column("fulfilled_at", UTC_TIME),
        sa.Column("asset_id", UUID, comment="the asset handed out"),
        sa.Column("checkout_id", UUID, comment="the check-out that handed it out"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
        sa.CheckConstraint(
            "state IN ('submitted', 'approved', 'rejected', 'fulfilled', 'cancelled')",
            name=op.f("ck_requests_state"),
        ),
        sa.CheckConstraint(
            "(state = 'fulfilled') = (fulfilled_at IS NOT NULL)", name=op.f("ck_requests_fulfilled_at")
        ),
        sa.CheckConstraint("updated_at >= submitted_at", name=op.f("ck_requests_updated_after_submitted")),
    )
    op.create_index("ix_requests_requester_submitted_at", "requests", ["requester", "submitted_at"])
    op.create_index("ix_requests_waiting_on_email", "requests", ["waiting_on_email"])
    op.create_index("ix_requests_waiting_on_role", "requests", ["waiting_on_role"])


def downgrade() -> None:
    op.drop_table("requests")
