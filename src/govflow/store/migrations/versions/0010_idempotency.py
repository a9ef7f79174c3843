"""Answers kept per Idempotency-Key, so that a retried write is answered, not done again

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("idempotent_request",
                    sa.Column("person", sa.String(40), primary_key=True),
                    sa.Column("key", sa.String(100), primary_key=True),
                    sa.Column("fingerprint", sa.String(64), nullable=False),
                    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("status", sa.Integer(), nullable=True),
                    sa.Column("content_type", sa.String(100), nullable=True),
                    sa.Column("location", sa.String(2000), nullable=True),
                    sa.Column("body", sa.LargeBinary(), nullable=True))
    op.create_index("ix_idempotent_request_created_at", "idempotent_request", ["created_at"])


def downgrade() -> None:
    op.drop_table("idempotent_request")
