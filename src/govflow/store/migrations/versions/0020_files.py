"""Files: 正文 and 附件 of a matter, their bytes stored once by SHA-256 in chunks (store/contents.py)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("file_content",
                    sa.Column("hash", sa.String(64), primary_key=True),
                    sa.Column("size", sa.Integer(), nullable=False),
                    sa.Column("stored_in", sa.String(4), nullable=False))
    op.create_table("file_chunk",
                    sa.Column("hash", sa.String(64), sa.ForeignKey("file_content.hash"), primary_key=True),
                    sa.Column("n", sa.Integer(), primary_key=True, autoincrement=False),
                    sa.Column("data", sa.LargeBinary(), nullable=False))
    op.create_table("attachment",
                    sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("instance_id", sa.Integer(), sa.ForeignKey("instance.id"), nullable=False),
                    sa.Column("task_id", sa.String(36), nullable=True),
                    sa.Column("step_id", sa.String(100), nullable=False),
                    sa.Column("role", sa.String(4), nullable=False),
                    sa.Column("version", sa.Integer(), nullable=False),
                    sa.Column("name", sa.String(200), nullable=False),
                    sa.Column("kind", sa.String(10), nullable=False),
                    sa.Column("size", sa.Integer(), nullable=False),
                    sa.Column("hash", sa.String(64), sa.ForeignKey("file_content.hash"), nullable=False),
                    sa.Column("uploaded_by", sa.String(40), nullable=False),
                    sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False))
    op.create_index("ix_attachment_instance", "attachment", ["instance_id", "role", "version"])


def downgrade() -> None:
    op.drop_index("ix_attachment_instance", table_name="attachment")
    op.drop_table("attachment")
    op.drop_table("file_chunk")
    op.drop_table("file_content")
