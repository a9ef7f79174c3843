"""议定事项督办: follow-up items and their entries; tasks that escalate when pressed long enough

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("escalate_to", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("escalate_after", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "followup_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("source_ref", sa.String(length=300), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("decision_item_id", sa.Integer(), nullable=True),
        sa.Column("task", sa.Text(), nullable=False),
        sa.Column("lead_unit", sa.String(length=40), nullable=False),
        sa.Column("assisting_units", sa.Text(), nullable=False),
        sa.Column("leader", sa.String(length=40), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("original_due_on", sa.Date(), nullable=False),
        sa.Column("report_every_wd", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("late_reports", sa.Integer(), nullable=False),
        sa.Column("extensions", sa.Integer(), nullable=False),
        sa.Column("topic_instance_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["decision_item_id"], ["decision_item.id"]),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"]),
        sa.ForeignKeyConstraint(["meeting_id"], ["meeting.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("decision_item_id"),
        sa.UniqueConstraint("instance_id"),
        sa.UniqueConstraint("number"),
    )
    with op.batch_alter_table("followup_item", schema=None) as batch_op:
        for column in ("meeting_id", "lead_unit", "leader", "due_on", "status", "created_at"):
            batch_op.create_index(batch_op.f(f"ix_followup_item_{column}"), [column], unique=False)
    op.create_table(
        "followup_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["followup_item.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("followup_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followup_entry_item_id"), ["item_id"], unique=False)


def downgrade() -> None:
    op.drop_table("followup_entry")
    op.drop_table("followup_item")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("escalate_after")
        batch_op.drop_column("escalate_to")
