"""Access: an instance's department and 密级, the 分发范围 of 涉密 documents, failed logins

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("department", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("secrecy", sa.String(length=10), nullable=False, server_default=""))
        batch_op.create_index("ix_instance_department", ["department"], unique=False)
    op.create_table(
        "distribution",
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("ref", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"]),
        sa.PrimaryKeyConstraint("instance_id", "kind", "ref"),
    )
    op.create_index("ix_distribution_ref", "distribution", ["kind", "ref", "instance_id"], unique=False)
    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_login_failure_user", "login_failure", ["username", "at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_login_failure_user", table_name="login_failure")
    op.drop_table("login_failure")
    op.drop_index("ix_distribution_ref", table_name="distribution")
    op.drop_table("distribution")
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.drop_index("ix_instance_department")
        batch_op.drop_column("secrecy")
        batch_op.drop_column("department")
