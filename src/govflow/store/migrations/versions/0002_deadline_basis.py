"""a task's 工作日 deadline keeps its basis, so that an estimated one can be recomputed

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("due_from", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("due_workdays", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_column("due_workdays")
        batch_op.drop_column("due_from")
