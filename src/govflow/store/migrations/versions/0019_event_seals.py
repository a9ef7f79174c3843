"""Event seals: an HMAC per event and on the chain head, with a key the database does not hold

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seal", sa.String(length=64), nullable=True))
    with op.batch_alter_table("chain_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed_from", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("seal", sa.String(length=64), nullable=True))
    # Events of before this migration stay unsealed: the first append with a key (or `govflow init`)
    # records the first sealed event in the sealed chain head; verify says which part is sealed.


def downgrade() -> None:
    with op.batch_alter_table("chain_head", schema=None) as batch_op:
        batch_op.drop_column("seal")
        batch_op.drop_column("sealed_from")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_column("seal")
