"""Access: an instance's department and 密级, the 分发范围 of 涉密 documents, failed logins

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""
import json

import sqlalchemy as sa
from alembic import op

CLASSIFIED = ("秘密", "机密", "绝密")      # as govflow.people.access has them (a migration does not import the app)

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
    _backfill()


def _backfill() -> None:
    """Instances started before this migration: their department from their start data, and the
    highest 密级 any of their submitted data carried, so a 涉密 document is restricted from the
    moment of the upgrade (its 分发范围 is left empty: only its handlers see it until its next step)."""
    bind = op.get_bind()
    found: dict[int, dict] = {}
    rows = bind.execute(sa.text("SELECT instance_id, type, payload FROM event WHERE instance_id IS NOT NULL "
                                "AND type IN ('instance_started', 'task_completed') ORDER BY seq"))
    for instance_id, type_, payload in rows:
        data = json.loads(payload).get("data")
        if not isinstance(data, dict):
            continue
        entry = found.setdefault(instance_id, {"department": None, "secrecy": ""})
        department = data.get("department") or data.get("lead_unit")
        if type_ == "instance_started" and isinstance(department, str) and len(department) <= 40:
            entry["department"] = department
        if data.get("secrecy") in CLASSIFIED and _rank(data["secrecy"]) > _rank(entry["secrecy"]):
            entry["secrecy"] = data["secrecy"]
    for instance_id, entry in found.items():
        bind.execute(sa.text("UPDATE instance SET department = :department, secrecy = :secrecy WHERE id = :id"),
                     {**entry, "id": instance_id})


def _rank(secrecy: str) -> int:
    return CLASSIFIED.index(secrecy) + 1 if secrecy in CLASSIFIED else 0


def downgrade() -> None:
    op.drop_index("ix_login_failure_user", table_name="login_failure")
    op.drop_table("login_failure")
    op.drop_index("ix_distribution_ref", table_name="distribution")
    op.drop_table("distribution")
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.drop_index("ix_instance_department")
        batch_op.drop_column("secrecy")
        batch_op.drop_column("department")
