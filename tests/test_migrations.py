"""The alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from govflow.models import Base
from govflow.store import Store


def test_migrations_match_the_models(database_url):
    store = Store(database_url)
    store.migrate()
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    store.dispose()
    assert differences == []


def test_migrating_twice_changes_nothing(database_url):
    store = Store(database_url)
    store.migrate()
    store.migrate()
    with store.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0006"
    store.dispose()
