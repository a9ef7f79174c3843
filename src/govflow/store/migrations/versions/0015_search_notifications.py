"""Full-text search (an FTS5 table on SQLite, a tsvector table on PostgreSQL: store/fulltext.py)

Revision ID: 0015
Revises: 0008
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("urgency", sa.String(length=10), nullable=False, server_default="一般"))
        batch_op.add_column(sa.Column("search_digest", sa.String(length=64), nullable=True))
    op.create_index("ix_task_owner", "task", ["owner"], unique=False, sqlite_where=sa.text("owner IS NOT NULL"),
                    postgresql_where=sa.text("owner IS NOT NULL"))
    if op.get_bind().dialect.name == "sqlite":
        # unicode61 keeps each of govflow's terms whole (they are letters or digits only); body is the
        # text snippets are cut from, not indexed
        op.execute("CREATE VIRTUAL TABLE search_index USING fts5(terms, body UNINDEXED, tokenize = 'unicode61')")
    else:
        op.execute("CREATE TABLE search_index (instance_id integer PRIMARY KEY REFERENCES instance (id), "
                   "terms tsvector NOT NULL, body text NOT NULL)")
        op.execute("CREATE INDEX ix_search_index_terms ON search_index USING gin (terms)")
    # Instances of before this migration are indexed at their next step (their search_digest is empty).


def downgrade() -> None:
    op.execute("DROP TABLE search_index")
    op.drop_index("ix_task_owner", table_name="task")
    with op.batch_alter_table("instance", schema=None) as batch_op:
        batch_op.drop_column("search_digest")
        batch_op.drop_column("urgency")
