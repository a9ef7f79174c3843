"""The alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from govflow.store.database import MIGRATIONS, Store
from govflow.store.models import Base, Instance


def test_migrations_match_the_models(database_url):
    store = Store(database_url)
    store.migrate()
    with store.engine.connect() as connection:
        # the search index is the backend's own (an FTS5 table and its shadow tables, or a tsvector
        # table): the migration builds it, store/fulltext.py writes it, no model describes it
        context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": _not_search})
        differences = compare_metadata(context, Base.metadata)
    store.dispose()
    assert differences == []


def _not_search(name, type_, _parent) -> bool:
    return not (type_ in ("table", "index") and (name or "").startswith(("search_index", "ix_search_index")))


def test_migrating_twice_changes_nothing(database_url):
    store = Store(database_url)
    store.migrate()
    store.migrate()
    with store.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == "0022"
    store.dispose()


def test_snapshots_written_as_text_are_read_back_the_same_after_they_are_compressed(database_url):
    store = Store(database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    snapshot = '{"tasks": {"b": 1, "a": 2}, "说明": "键的顺序不变"}'
    with store.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        connection.execute(text("INSERT INTO blob (hash, kind, content) VALUES ('h', 'bpmn', '')"))
        connection.execute(text("INSERT INTO process_version (id, process_id, version, name, bpmn_hash, forms, "
                                "filename, deployed_at, deployed_by) VALUES (1, 'p', 1, 'p', 'h', '{}', 'p.bpmn', "
                                ":at, 'x')"),
                           {"at": "2026-12-01 00:00:00"})
        connection.execute(text("INSERT INTO instance (id, process_version_id, process_id, title, status, "
                                "started_at, started_by, snapshot, snapshot_hash, lock_version) VALUES "
                                "(1, 1, 'p', 't', 'running', :at, 'x', :snapshot, :hash, 1)"),
                           {"at": "2026-12-01 00:00:00", "snapshot": snapshot,
                            "hash": hashlib.sha256(snapshot.encode()).hexdigest()})
    store.migrate()
    with store.read() as session:
        assert session.scalar(select(Instance.snapshot)) == snapshot
        stored = session.connection().scalar(text("SELECT snapshot FROM instance"))
    assert bytes(stored) != snapshot.encode()          # deflated on disk
    store.dispose()
