"""重大行政决策 (Procedure 4): the decisions and the records of their statutory steps

Revision ID: 0018
Revises: 0015
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "major_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=40), nullable=False),
        sa.Column("scope_item", sa.String(length=200), nullable=False),
        sa.Column("scope_article", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("records", sa.Text(), nullable=False),
        sa.Column("topic_instance_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id"),
        sa.UniqueConstraint("topic_instance_id"),
    )
    op.create_index("ix_major_decision_department", "major_decision", ["department"])
    op.create_index("ix_major_decision_status", "major_decision", ["status"])


def downgrade() -> None:
    op.drop_index("ix_major_decision_status", table_name="major_decision")
    op.drop_index("ix_major_decision_department", table_name="major_decision")
    op.drop_table("major_decision")
