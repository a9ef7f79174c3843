"""inbox rows made by task operations (加签, 传阅); 发文字号 sequences and the 发文登记簿

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=10), nullable=False, server_default="task"))
        batch_op.add_column(sa.Column("parent_task_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("note", sa.String(length=2000), nullable=False, server_default=""))
        batch_op.create_index(batch_op.f("ix_task_parent_task_id"), ["parent_task_id"], unique=False)
    op.create_table(
        "document_sequence",
        sa.Column("prefix", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "year"),
    )
    op.create_table(
        "document_register",
        sa.Column("number", sa.String(length=80), nullable=False),
        sa.Column("prefix", sa.String(length=40), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("doc_type", sa.String(length=10), nullable=False),
        sa.Column("signer", sa.String(length=40), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"]),
        sa.PrimaryKeyConstraint("number"),
    )
    with op.batch_alter_table("document_register", schema=None) as batch_op:
        batch_op.create_index("ux_document_number", ["prefix", "year", "sequence"], unique=True)
        batch_op.create_index(batch_op.f("ix_document_register_instance_id"), ["instance_id"], unique=False)


def downgrade() -> None:
    op.drop_table("document_register")
    op.drop_table("document_sequence")
    with op.batch_alter_table("task", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_task_parent_task_id"))
        batch_op.drop_column("note")
        batch_op.drop_column("parent_task_id")
        batch_op.drop_column("kind")
