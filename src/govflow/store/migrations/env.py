"""Alembic environment: govflow passes its own connection (``Store.migrate``); the command line
(``alembic -x url=...``) is only for writing new migrations."""
from alembic import context
from sqlalchemy import create_engine

from govflow.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///migrations-scratch.db")
    connection = create_engine(url).connect()

context.configure(connection=connection, target_metadata=Base.metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
