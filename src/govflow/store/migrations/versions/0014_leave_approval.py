"""Leave approved through the 请销假 procedure: its instance and its approvers

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leave") as batch:
        batch.add_column(sa.Column("instance_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("approved_by", sa.String(200), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("leave") as batch:
        batch.drop_column("approved_by")
        batch.drop_column("instance_id")
