"""Revision tokens of cached settings (the calendar)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table("revision", sa.Column("name", sa.String(40), primary_key=True),
                            sa.Column("token", sa.String(32), nullable=False))
    op.bulk_insert(table, [{"name": "calendar", "token": "initial"}])


def downgrade() -> None:
    op.drop_table("revision")
