"""The workflow store: change history, check-outs, maintenance.

Revision ID: 0001
Revises:
Create Date: 2026-01-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON_VALUE = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
UTC_TIME = sa.DateTime(timezone=True)
UUID = sa.Uuid(as_uuid=False)


def upgrade() -> None:
    op.create_table(
        "changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("at", UTC_TIME, nullable=False, comment="when the gateway decided"),
        sa.Column("request_id", UUID, comment="the changes of one mutation share it"),
        sa.Column("actor", sa.String(320), nullable=False),
        sa.Column("role", sa.String(100), nullable=False),
        sa.Column("entity", sa.String(100), nullable=False, comment="table of the changed object"),
        sa.Column("entity_id", UUID, nullable=False),
        sa.Column("field", sa.String(100), nullable=False),
        sa.Column("before", JSON_VALUE),
        sa.Column("after", JSON_VALUE),
        sa.Column("source", sa.String(100), comment="the source that owns the field (None: the gateway)"),
        sa.Column("record_id", sa.String(400), comment="the record in that source"),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, comment="why it was refused, conflicted or failed"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_changes")),
        sa.CheckConstraint(
            "outcome IN ('accepted', 'refused', 'conflict', 'failed')", name=op.f("ck_changes_outcome")
        ),
        sa.CheckConstraint("outcome = 'accepted' OR reason IS NOT NULL", name=op.f("ck_changes_reason")),
    )
    op.create_index("ix_changes_entity_entity_id_at", "changes", ["entity", "entity_id", "at"])
    op.create_index("ix_changes_at", "changes", ["at"])
    op.create_index("ix_changes_request_id", "changes", ["request_id"])

    op.create_table(
        "checkouts",
        sa.Column("id", UUID, nullable=False),
        sa.Column("asset_id", UUID, nullable=False),
        sa.Column("asset_tag", sa.String(100)),
        sa.Column("to_person_id", UUID),
        sa.Column("to_location_id", UUID),
        sa.Column("checked_out_at", UTC_TIME, nullable=False),
        sa.Column("expected_checkin", UTC_TIME),
        sa.Column("note_out", sa.Text),
        sa.Column("actor", sa.String(320), nullable=False, comment="who checked it out"),
        sa.Column("checked_in_at", UTC_TIME, comment="None while the asset is out"),
        sa.Column("checkin_location_id", UUID),
        sa.Column("condition", sa.String(100)),
        sa.Column("note_in", sa.Text),
        sa.Column("checked_in_by", sa.String(320)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checkouts")),
        sa.CheckConstraint(
            "(to_person_id IS NULL) <> (to_location_id IS NULL)", name=op.f("ck_checkouts_one_target")
        ),
        sa.CheckConstraint(
            "expected_checkin IS NULL OR expected_checkin > checked_out_at",
            name=op.f("ck_checkouts_expected_after_out"),
        ),
        sa.CheckConstraint(
            "checked_in_at IS NULL OR checked_in_at >= checked_out_at", name=op.f("ck_checkouts_in_after_out")
        ),
        sa.CheckConstraint(
            "(checked_in_at IS NULL) = (checked_in_by IS NULL)", name=op.f("ck_checkouts_checked_in_by")
        ),
    )
    op.create_index("ix_checkouts_asset_id_checked_out_at", "checkouts", ["asset_id", "checked_out_at"])
    open_checkout = sa.text("checked_in_at IS NULL")
    op.create_index(
        "uq_checkouts_open_asset",
        "checkouts",
        ["asset_id"],
        unique=True,
        sqlite_where=open_checkout,
        postgresql_where=open_checkout,
    )
    op.create_index(
        "ix_checkouts_open_due",
        "checkouts",
        ["expected_checkin"],
        sqlite_where=open_checkout,
        postgresql_where=open_checkout,
    )

    op.create_table(
        "maintenance",
        sa.Column("id", UUID, nullable=False),
        sa.Column("asset_id", UUID, nullable=False),
        sa.Column("kind", sa.String(100), nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("cost", sa.Numeric(18, 4)),
        sa.Column("started_at", UTC_TIME, nullable=False),
        sa.Column("done_at", UTC_TIME, comment="None while the record is open"),
        sa.Column("ticket", sa.String(200)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("previous_status", sa.String(32), comment="the asset's status before it opened"),
        sa.Column("opened_by", sa.String(320), nullable=False),
        sa.Column("closed_by", sa.String(320)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_maintenance")),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_maintenance_status")),
        sa.CheckConstraint(
            "(status = 'open' AND done_at IS NULL AND closed_by IS NULL)"
            " OR (status = 'closed' AND done_at IS NOT NULL AND closed_by IS NOT NULL)",
            name=op.f("ck_maintenance_closed_when_done"),
        ),
        sa.CheckConstraint(
            "done_at IS NULL OR done_at >= started_at", name=op.f("ck_maintenance_done_after_start")
        ),
        sa.CheckConstraint("cost IS NULL OR cost >= 0", name=op.f("ck_maintenance_cost")),
    )
    op.create_index("ix_maintenance_asset_id_started_at", "maintenance", ["asset_id", "started_at"])
    open_record = sa.text("status = 'open'")
    op.create_index(
        "uq_maintenance_open_asset",
        "maintenance",
        ["asset_id"],
        unique=True,
        sqlite_where=open_record,
        postgresql_where=open_record,
    )


def downgrade() -> None:
    op.drop_table("maintenance")
    op.drop_table("checkouts")
    op.drop_table("changes")
