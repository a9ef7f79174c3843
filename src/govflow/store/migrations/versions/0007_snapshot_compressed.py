"""Snapshots stored deflated (bytes instead of text)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""
import zlib

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

instance = sa.table("instance", sa.column("id", sa.Integer), sa.column("snapshot", sa.Text),
                    sa.column("snapshot_z", sa.LargeBinary))


def upgrade() -> None:
    with op.batch_alter_table("instance") as batch_op:
        batch_op.add_column(sa.Column("snapshot_z", sa.LargeBinary(), nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(instance.c.id, instance.c.snapshot)):
        connection.execute(instance.update().where(instance.c.id == row.id)
                           .values(snapshot_z=zlib.compress(row.snapshot.encode("utf-8"), 6)))
    with op.batch_alter_table("instance") as batch_op:
        batch_op.drop_column("snapshot")
        batch_op.alter_column("snapshot_z", new_column_name="snapshot", existing_type=sa.LargeBinary(),
                              nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("instance") as batch_op:
        batch_op.add_column(sa.Column("snapshot_text", sa.Text(), nullable=True))
    connection = op.get_bind()
    table = sa.table("instance", sa.column("id", sa.Integer), sa.column("snapshot", sa.LargeBinary),
                     sa.column("snapshot_text", sa.Text))
    for row in connection.execute(sa.select(table.c.id, table.c.snapshot)):
        connection.execute(table.update().where(table.c.id == row.id)
                           .values(snapshot_text=zlib.decompress(row.snapshot).decode("utf-8")))
    with op.batch_alter_table("instance") as batch_op:
        batch_op.drop_column("snapshot")
        batch_op.alter_column("snapshot_text", new_column_name="snapshot", existing_type=sa.Text(), nullable=False)
