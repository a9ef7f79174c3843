"""Notifications: the outbox (notification), deliveries and their attempts, channels and preferences

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("event_key", sa.String(36), nullable=False),
        sa.Column("person_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.String(2000), nullable=False),
        sa.Column("link", sa.String(200), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("dispatched", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_notification_person", "notification", ["person_id", "read_at", "created_at"])
    op.create_index("ix_notification_pending", "notification", ["dispatched"],
                    sqlite_where=sa.text("NOT dispatched"), postgresql_where=sa.text("NOT dispatched"))
    op.create_table(
        "notification_delivery",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(120), nullable=False, unique=True),
        sa.Column("notification_id", sa.String(36), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("target", sa.String(500), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=False),
    )
    op.create_index("ix_notification_delivery_notification_id", "notification_delivery", ["notification_id"])
    op.create_index("ix_delivery_due", "notification_delivery", ["state", "next_at"])
    op.create_table(
        "delivery_attempt",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("delivery_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(500), nullable=False),
        sa.Column("milliseconds", sa.Integer(), nullable=False),
    )
    op.create_index("ix_delivery_attempt_delivery_id", "delivery_attempt", ["delivery_id"])
    op.create_table(
        "notify_channel",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("scope", sa.String(10), nullable=False),
        sa.Column("owner", sa.String(40), nullable=False),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("target", sa.String(500), nullable=False),
    )
    op.create_index("ix_notify_channel_owner", "notify_channel", ["owner"])
    op.create_table(
        "notify_preference",
        sa.Column("person_id", sa.String(40), primary_key=True),
        sa.Column("channels", sa.String(100), nullable=False),
        sa.Column("quiet_from", sa.String(5), nullable=False),
        sa.Column("quiet_to", sa.String(5), nullable=False),
    )


def downgrade() -> None:
    for table in ("notify_preference", "notify_channel", "delivery_attempt", "notification_delivery", "notification"):
        op.drop_table(table)
