"""The database: SQLite (WAL) on one machine, PostgreSQL when govflow grows past one.

A workflow step is one write transaction. On SQLite a write transaction starts with
``BEGIN IMMEDIATE`` so that two writers queue instead of failing halfway; on PostgreSQL the step
locks its instance row (``SELECT … FOR UPDATE``). Either way two people completing one task are
serialised and the second one sees that the task is gone.
"""
from __future__ import annotations

import shutil
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import bindparam, create_engine, event, inspect, literal, select, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from ..errors import Conflict, Damaged, GovflowError, StorageFull, Unavailable, ValidationFailed
from . import idempotency

MIGRATIONS = Path(__file__).parent / "migrations"


class Store:
    def __init__(self, url: str, read_only: bool = False, seal_key: bytes | None = None):
        """``read_only``: a SQLite file opened ``mode=ro`` and left in its journal mode, so that
        looking at it (an auditor verifying a backup copy) never writes a byte of it. ``seal_key``:
        the event log's sealing key (``eventlog``), handed to every session in ``session.info``."""
        self.url = url
        self.engine = _create_engine(url, read_only)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self.seal_key = seal_key
        info = {"seal_key": seal_key} if seal_key else {}
        self._writer = sessionmaker(self.engine, expire_on_commit=False, info=info)
        self._reader = sessionmaker(self.engine.execution_options(govflow_read=True), expire_on_commit=False,
                                    info=info)
        self._full_until = 0.0

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One transaction: everything in it commits together or not at all. Callables in
        ``session.info["after_commit"]`` run once it has committed. The Idempotency-Key of the
        request being served, if any, is written in the first one that commits."""
        with self._writer() as session:
            with session.begin():
                claim = idempotency.join(session)     # the request's Idempotency-Key, if it sent one
                yield session
            if claim is not None:
                claim.written = True
            for then in session.info.pop("after_commit", ()):
                then()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._reader() as session, session.begin():
            yield session

    def health(self) -> GovflowError | None:
        """None, or what keeps this process from working: the database unreachable, or its disk
        full (a SQLite file's disk has under ``LOW_DISK`` free; on PostgreSQL, a write here met a
        full disk within the last minute — the server's disk is not visible from here)."""
        try:
            with self.read() as session:
                session.execute(select(literal(1)))
        except DBAPIError as err:
            return fault(err) or Unavailable(UNAVAILABLE, RETRY_AFTER)
        database = make_url(self.url).database
        if self.is_sqlite and database and database != ":memory:":
            if shutil.disk_usage(Path(database).resolve().parent).free < LOW_DISK:
                return StorageFull(DISK_FULL)
        if time.monotonic() < self._full_until:
            return StorageFull(DISK_FULL)
        return None

    def check_durability(self) -> None:
        """Refuse to run (in production) unless an answered commit is on disk: SQLite in WAL mode
        with ``synchronous=FULL``, PostgreSQL with ``synchronous_commit`` and ``fsync`` on. A
        SIGKILL test cannot see these (the OS still writes the page cache out); a power cut can."""
        with self.engine.connect() as connection:
            if self.is_sqlite:
                wrong = {"PRAGMA synchronous": ("2", "3"), "PRAGMA journal_mode": ("wal",)}
            else:
                wrong = {"SHOW synchronous_commit": ("on", "remote_apply"), "SHOW fsync": ("on",)}
            for query, allowed in wrong.items():
                value = str(connection.exec_driver_sql(query).scalar()).lower()
                if value not in allowed:
                    setting = query.split()[-1]
                    raise ValidationFailed(f"数据库的 {setting} 为 {value}，已办结的步骤在断电时可能丢失；"
                                           f"生产模式拒绝启动：请设为 {' 或 '.join(allowed)}",
                                           [{"field": setting, "reason": value}])

    def noticed(self, trouble: GovflowError) -> None:
        """A fault a request met, remembered for the health check."""
        if isinstance(trouble, StorageFull):
            self._full_until = time.monotonic() + 60

    def migrate(self) -> None:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        self.engine.dispose()


def write_row(session: Session, obj, **values) -> None:
    """Write ``values`` to ``obj``'s row now, with one prebuilt Core UPDATE, and leave the object
    holding them as stored rather than dirty. The rows every step writes (its instance, its task)
    skip the unit of work, which costs more than the statement. A versioned row is checked and
    bumped as the ORM would."""
    mapper = inspect(obj).mapper
    statement = _updates.get((mapper, *values))
    if statement is None:
        statement = _updates[(mapper, *values)] = _update(mapper, tuple(values))
    params = {**values, "row_key": getattr(obj, mapper.primary_key[0].key)}
    if mapper.version_id_col is not None:
        params["row_version"] = current = getattr(obj, mapper.version_id_col.key)
        values[mapper.version_id_col.key] = params["row_version_next"] = current + 1
    if session.connection().execute(statement, params).rowcount != 1:
        raise Conflict("该记录已被他人同时修改，请刷新后重试")
    for name, value in values.items():
        set_committed_value(obj, name, value)


_updates: dict[tuple, object] = {}


def _update(mapper, names: tuple[str, ...]):
    statement = update(mapper.local_table).where(mapper.primary_key[0] == bindparam("row_key"))
    statement = statement.values({name: bindparam(name) for name in names})
    version = mapper.version_id_col
    if version is not None:
        statement = statement.where(version == bindparam("row_version")).values(
            {version: bindparam("row_version_next")})
    return statement


def _create_engine(url: str, read_only: bool = False) -> Engine:
    if url.startswith("sqlite"):
        path = make_url(url).database
        if read_only and path and path != ":memory:":
            engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                                                                timeout=30))
        else:
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})
        _sqlite_transactions(engine, read_only)
        return engine
    engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    if read_only:
        engine = engine.execution_options(postgresql_readonly=True)
    return engine


def _sqlite_transactions(engine: Engine, read_only: bool) -> None:
    # The documented pysqlite recipe: let SQLAlchemy emit BEGIN itself, so that it can be IMMEDIATE.
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
            cursor.close()
            return
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before the client hears of it. NORMAL (WAL's usual partner) may
        # lose the last commits to a power cut — completions someone was told had succeeded.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        read_only = connection.get_execution_options().get("govflow_read", False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


# SQLite's result codes (sqlite3.h) that are the database's state rather than a bug
_SQLITE_BUSY, _SQLITE_IOERR, _SQLITE_CORRUPT, _SQLITE_FULL, _SQLITE_CANTOPEN, _SQLITE_NOTADB = 5, 10, 11, 13, 14, 26
RETRY_AFTER = 5       # seconds a client is told to wait while the database is away
LOW_DISK = 1 << 20    # bytes free under which a SQLite file's disk counts as full
DISK_FULL = "数据库所在磁盘已满，本次操作未保存；请联系管理员清理磁盘后重试"
UNAVAILABLE = "数据库暂时无法访问，请稍后重试（重试时带同一个 Idempotency-Key，已办理的不会重复办理）"


def fault(err: DBAPIError) -> GovflowError | None:
    """The error a failed statement means to the people waiting on it: the database cannot be
    reached (503, try again), its disk is full (507), its file is damaged; None for anything else
    (a bug: the caller logs it)."""
    orig = err.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        code &= 0xFF                      # the primary code of an extended one
        if code == _SQLITE_FULL:
            return StorageFull(DISK_FULL)
        if code in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            return Damaged(f"数据库文件已损坏或被截断，无法读取：{orig}")
        if code in (_SQLITE_BUSY, _SQLITE_IOERR, _SQLITE_CANTOPEN):
            return Unavailable(UNAVAILABLE, RETRY_AFTER)
        return None
    state = getattr(orig, "sqlstate", None) or ""
    if state == "53100":                  # disk_full
        return StorageFull(DISK_FULL)
    if err.connection_invalidated or state.startswith("08") or state in ("57P01", "57P02", "57P03") or (
            not state and type(orig).__name__ == "OperationalError"):
        return Unavailable(UNAVAILABLE, RETRY_AFTER)
    return None
