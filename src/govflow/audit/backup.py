"""Backups taken while the server runs, and restoring them — each checked by the event chain.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the database inside one read
transaction, so the copy is the state after some commit and never half a step; copying the file of
a live WAL database is not (the last steps may be in the -wal file, or half-written in it).
PostgreSQL: ``pg_dump`` in custom format, which reads everything in one snapshot.

A backup is checked after it is written: its hash chain verifies and every instance's snapshot
matches the hash its last step wrote. A PostgreSQL archive is read back with ``pg_restore`` (its
event rows into a scratch SQLite file, to walk the chain in order), so that check needs no database
of its own.

A restore never writes into the target until the whole backup has passed: SQLite's file is copied
next to the target and checked there (``PRAGMA integrity_check``, every row of every table, every
snapshot inflated and hashed, the chain), then moved over it; a PostgreSQL archive is listed
(``pg_restore --list``), restored into a scratch schema of the target database, checked the same
way, and swapped in by renaming schemas in one transaction. Any failure drops the scratch copy and
leaves the target as it was, byte for byte.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import zlib
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from sqlalchemy import LargeBinary, create_engine, func, inspect, select, text, type_coerce
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ..errors import Conflict, GovflowError, NotFound, ValidationFailed
from ..store import eventlog
from ..store.models import ChainHead, CompressedText, Event, FileChunk, FileContent, Instance
from ..work.instances import snapshot_digest

SQLITE_HEADER, PG_ARCHIVE_HEADER = b"SQLite format 3\x00", b"PGDMP"


@dataclass
class Check:
    """What a backup (or a restored database) holds, and whether it is whole."""
    chain: eventlog.Verification
    head_hash: str
    instances: int
    bad_snapshots: list[int]
    bad_files: list[str] = field(default_factory=list)      # SHA-256 of stored files whose bytes do not match

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.bad_snapshots and not self.bad_files

    def problems(self) -> list[dict]:
        found = [{"field": "事件链", "reason": f.reason} for f in self.chain.findings]
        return found + [{"field": f"流程实例 {i}", "reason": "快照无法解压或与其校验值不符"}
                        for i in self.bad_snapshots] + [
            {"field": f"文件 {h[:12]}…", "reason": f"文件 {h[:12]}… 的内容与其 SHA-256 不符或缺失"}
            for h in self.bad_files]

    def summary(self) -> str:
        return (f"共 {self.chain.events} 条事件，链尾第 {self.chain.head_seq} 条（哈希 {self.head_hash}），"
                f"{self.instances} 个流程实例的快照")


class BackupBroken(GovflowError):
    """A backup whose chain or snapshots do not verify."""
    status = 422
    code = "backup_broken"

    def __init__(self, message: str, check: Check):
        super().__init__(message, check.problems())
        self.check = check


def backup(database_url: str, output: Path) -> Check:
    """Write a consistent copy of the database to ``output`` (replacing it only once the copy is
    complete) and check it."""
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    partial.unlink(missing_ok=True)
    if _is_sqlite(database_url):
        _sqlite_copy(_sqlite_path(database_url, must_exist=True), partial)
    else:
        _pg_dump(database_url, partial)
    os.replace(partial, output)
    check = check_backup(output)
    if not check.ok:
        raise BackupBroken(f"备份已写入 {output}，但其中的数据未通过校验（数据库本身已被改动）："
                           f"{check.problems()[0]['reason']}", check)
    return check


def restore(database_url: str, source: Path, force: bool = False) -> Check:
    """Replace the database's content with the backup's. The backup is restored into a new file or
    schema and checked whole there; only then does it take the target's place. A database that
    holds anything is replaced only with ``force``; a broken backup changes nothing."""
    kind = _kind(source)
    if kind != ("sqlite" if _is_sqlite(database_url) else "pg"):
        raise ValidationFailed("备份与目标数据库的类型不符：SQLite 的备份只能恢复到 SQLite，"
                               "pg_dump 的备份只能恢复到 PostgreSQL")
    if kind == "sqlite":
        return _sqlite_restore(source, _sqlite_path(database_url), force)
    return _pg_restore(database_url, source, force)


def _refused(source: Path, check: Check) -> BackupBroken:
    return BackupBroken(f"备份 {source} 未通过校验，未作任何改动：{check.problems()[0]['reason']}", check)


def check_backup(path: Path) -> Check:
    """Open a backup file (SQLite copy or pg_dump archive) without changing it, and check it."""
    if _kind(path) == "pg":
        return _check_archive(path)
    return _check_sqlite_file(path)


def _check_sqlite_file(path: Path) -> Check:
    """A SQLite file that nothing else has open, read-only and ``immutable`` (no journal, no lock
    file, not a byte written): SQLite's own page check, then every row of every table, then
    govflow's checks."""
    engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(f"file:{path}?mode=ro&immutable=1",
                                                                        uri=True))
    try:
        with engine.connect() as connection:
            damage = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check(20)")]
            if damage != ["ok"]:
                raise ValidationFailed(f"{path} 已损坏（SQLite 完整性检查未通过：{'；'.join(damage[:3])}），"
                                       "未作任何改动", [{"field": "文件", "reason": d} for d in damage])
        with Session(engine) as session:
            return check_session(session)
    except (DBAPIError, sqlite3.Error) as err:
        raise ValidationFailed(f"无法读取 {path} 中的数据（文件已损坏、被截断，或表结构与本版本 govflow 不符），"
                               f"未作任何改动：{getattr(err, 'orig', err)}") from None
    finally:
        engine.dispose()


def check_session(session: Session) -> Check:
    """Every row of every table read (a damaged page shows as an error), then the chain and the
    snapshots: each inflated and hashed, one that does not inflate is a bad snapshot."""
    connection = session.connection()
    tables = inspect(connection).get_table_names()
    if "event" not in tables:
        raise ValidationFailed("其中没有 govflow 的数据（找不到事件表）")
    for table in tables:
        for _ in connection.execute(text(f'SELECT * FROM "{table}"')).yield_per(2000):
            pass
    chain = eventlog.verify(session)
    raw = type_coerce(Instance.snapshot, LargeBinary)     # inflated here, where a bad one is a finding
    count, bad = _snapshots(session.execute(select(Instance.id, raw, Instance.snapshot_hash)))
    head = session.get(ChainHead, 1)
    return Check(chain, head.hash if head else eventlog.GENESIS, count, bad,
                 _bad_files(session) if "file_content" in tables else [])


def _bad_files(session: Session) -> list[str]:
    """Files kept in the database whose chunks no longer hash to their name (one in a directory is
    the directory's backup to check)."""
    bad = []
    stored = select(FileContent.hash, FileContent.size).where(FileContent.stored_in == "db")
    for digest, size in session.execute(stored):
        check, length = hashlib.sha256(), 0
        for (block,) in session.execute(select(FileChunk.data).where(FileChunk.hash == digest).order_by(FileChunk.n)):
            check.update(block)
            length += len(block)
        if check.hexdigest() != digest or length != size:
            bad.append(digest)
    return bad


def _snapshots(rows: Iterable[tuple]) -> tuple[int, list[int]]:
    """(instances, those whose deflated snapshot does not inflate or does not match its hash)."""
    count, bad = 0, []
    for instance_id, deflated, digest in rows:
        count += 1
        try:
            snapshot = CompressedText().process_result_value(deflated, None)
        except (zlib.error, UnicodeDecodeError):
            bad.append(int(instance_id))
            continue
        if snapshot_digest(snapshot) != digest:
            bad.append(int(instance_id))
    return count, bad


def _kind(path: Path) -> str:
    try:
        with open(path, "rb") as file:
            start = file.read(len(SQLITE_HEADER))
    except OSError as err:
        raise NotFound(f"无法读取备份文件 {path}（{err.strerror}）") from None
    if start == SQLITE_HEADER:
        return "sqlite"
    if start.startswith(PG_ARCHIVE_HEADER):
        return "pg"
    raise ValidationFailed(f"{path} 不是 govflow 的备份文件（既不是 SQLite 数据库，也不是 pg_dump 自定义格式）")


# -- SQLite ------------------------------------------------------------------------------------------------
def _is_sqlite(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "sqlite"


def _sqlite_path(database_url: str, must_exist: bool = False) -> Path:
    database = make_url(database_url).database
    if not database or database == ":memory:":
        raise ValidationFailed("内存数据库无法备份或恢复：请使用 SQLite 文件或 PostgreSQL")
    path = Path(database)
    if must_exist and not path.is_file():
        raise NotFound(f"数据库文件 {path} 不存在")
    return path


def _sqlite_copy(source: Path, target: Path) -> None:
    """One read transaction on the source (WAL lets the server keep writing meanwhile); the copy is
    a single self-contained file."""
    with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=DELETE")


def _sqlite_restore(source: Path, target: Path, force: bool) -> Check:
    """Copy the backup next to the target, check the copy whole, then move it into place (after
    fsync, so that a power cut leaves one database or the other); the old -wal and -shm files go
    just before, or SQLite would replay the old database's last steps into the restored one."""
    if target.is_file():
        _refuse_unless_empty(_read_only_sqlite(target), force)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".restoring")
    partial.unlink(missing_ok=True)
    try:
        shutil.copyfile(source, partial)
        _fsync(partial)
        check = _check_sqlite_file(partial)
        if not check.ok:
            raise _refused(source, check)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(partial, target)
    _fsync(target.parent)
    return check


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _read_only_sqlite(path: Path):
    """The target opened read-only: looking at it must not checkpoint its WAL into the file."""
    return create_engine("sqlite://", creator=lambda: sqlite3.connect(f"file:{path}?mode=ro", uri=True))


def _refuse_unless_empty(engine, force: bool) -> None:
    try:
        with engine.connect() as connection:
            _refuse_unless_empty_in(connection, force)
    finally:
        engine.dispose()


def _refuse_unless_empty_in(connection, force: bool) -> None:
    has_events = inspect(connection).has_table("event")
    events = connection.scalar(select(func.count()).select_from(Event)) if has_events else 0
    if events and not force:
        raise Conflict(f"目标数据库不是空的（已有 {events} 条事件），未作任何改动；"
                       "确需用备份覆盖，请先停止服务与 worker，再加 --force")


# -- PostgreSQL --------------------------------------------------------------------------------------------
def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise NotFound(f"找不到 {name}：请安装 PostgreSQL 客户端（Debian：apt-get install postgresql-client），"
                       "其版本不低于数据库服务器的版本")
    return found


def _libpq(database_url: str) -> tuple[str, dict]:
    """The connection as pg_dump and pg_restore take it; the password goes in the environment, not
    on the command line where ``ps`` shows it."""
    url = make_url(database_url)
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run(command: list[str], env: dict, what: str) -> subprocess.CompletedProcess:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise GovflowError(f"{what}失败：{done.stderr.strip()[-2000:]}")
    return done


def _current_schema(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT current_schema()"))
    finally:
        engine.dispose()


def _pg_dump(database_url: str, target: Path) -> None:
    """govflow's schema, in custom format: pg_dump reads it all in one snapshot, so the archive is
    the state after some commit, while the app servers and workers keep running."""
    pg_dump = _tool("pg_dump")
    conninfo, env = _libpq(database_url)
    schema = _current_schema(database_url)
    if schema is None:
        raise NotFound("目标数据库连接的模式（search_path）不存在，没有可备份的数据")
    _run([pg_dump, "--format=custom", f"--schema={schema}", f"--file={target}", conninfo], env,
         "pg_dump 备份")


def _archive_schema(path: Path, listing: str) -> str:
    schemas = re.findall(r"^\d+; \d+ \d+ SCHEMA - (\S+) ", listing, re.M)
    if len(schemas) != 1:
        raise ValidationFailed(f"{path} 不是 govflow 的备份：其中应恰有一个模式，实有 {len(schemas)} 个")
    return schemas[0]


def _pg_restore(database_url: str, source: Path, force: bool) -> Check:
    """Into the schema the target connection names first (any name: the archive's own is rewritten),
    by way of a scratch schema beside it that takes its place only once it has passed every check."""
    conninfo, env = _libpq(database_url)
    listing = _run([_tool("pg_restore"), "--list", str(source)], env, "读取备份目录").stdout
    origin = _archive_schema(source, listing)
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            target = _target_schema(connection)
            _refuse_unless_empty_in(connection, force)
    finally:
        engine.dispose()
    scratch = f"{target[:40]}_restoring_{secrets.token_hex(4)}"
    try:
        _pg_restore_into(conninfo, env, source, listing, origin, scratch)
        check = _check_schema(database_url, scratch)
        if not check.ok:
            raise _refused(source, check)
        _swap_in(database_url, scratch, target, force)
    finally:
        _drop_schema(database_url, scratch)
    return check


def _target_schema(connection) -> str:
    """The first schema of the connection's search_path, whether or not it exists yet."""
    names = [n.strip().strip('"') for n in connection.scalar(text("SHOW search_path")).split(",") if n.strip()]
    user = connection.scalar(text("SELECT current_user"))
    names = [user if n == "$user" else n for n in names]
    existing = set(connection.scalars(text("SELECT nspname FROM pg_namespace")))
    return next((n for n in names if n != user or n in existing), "public")


def _pg_restore_into(conninfo: str, env: dict, source: Path, listing: str, origin: str, scratch: str) -> None:
    """pg_restore writes the archive as SQL (its own CREATE SCHEMA left out), the schema's name is
    rewritten outside the COPY data, and psql runs it in one transaction into ``scratch``."""
    wanted = "\n".join(line for line in listing.splitlines()
                       if not re.search(rf" (SCHEMA - |COMMENT - SCHEMA ){re.escape(origin)} ", line))
    with tempfile.TemporaryDirectory() as work:
        use_list, errors = Path(work) / "use.list", Path(work) / "errors"
        use_list.write_text(wanted + "\n", encoding="utf-8")
        with open(errors, "w+", encoding="utf-8") as restore_errors, open(Path(work) / "psql", "w+") as psql_errors:
            dump = subprocess.Popen([_tool("pg_restore"), "--no-owner", "--no-privileges", f"--use-list={use_list}",
                                     "--file=-", str(source)], env=env, stdout=subprocess.PIPE,
                                    stderr=restore_errors, text=True, encoding="utf-8")
            load = subprocess.Popen([_tool("psql"), "--quiet", "--no-psqlrc", "--single-transaction",
                                     "--set=ON_ERROR_STOP=1", f"--dbname={conninfo}", "--file=-"], env=env,
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=psql_errors,
                                    text=True, encoding="utf-8")
            try:
                load.stdin.write(f'CREATE SCHEMA "{scratch}";\n')
                for line in _renamed(dump.stdout, origin, scratch):
                    load.stdin.write(line)
                load.stdin.close()
            except BrokenPipeError:
                pass
            dump.wait()
            load.wait()
            for process, log, what in ((dump, restore_errors, "读取备份"), (load, psql_errors, "恢复到临时模式")):
                if process.returncode != 0:
                    log.seek(0)
                    raise ValidationFailed(f"备份 {source} 无法恢复（{what}失败），未作任何改动："
                                           f"{log.read().strip()[-2000:]}")


def _renamed(lines: Iterable[str], origin: str, scratch: str) -> Iterator[str]:
    """The SQL with ``origin.`` (or ``"origin".``) as ``"scratch".``; rows of COPY blocks pass as
    they are, so no data is ever rewritten."""
    qualified = re.compile(rf'(?<![\w$"])(?:{re.escape(origin)}|"{re.escape(origin)}")\.')
    in_copy = False
    for line in lines:
        if in_copy:
            in_copy = line != "\\.\n"
            yield line
            continue
        line = qualified.sub(f'"{scratch}".', line)
        in_copy = line.startswith("COPY ") and line.rstrip().endswith("FROM stdin;")
        yield line


def _schema_url(database_url: str, schema: str) -> str:
    return make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
        hide_password=False)


def _check_schema(database_url: str, schema: str) -> Check:
    engine = create_engine(_schema_url(database_url, schema))
    try:
        with Session(engine) as session:
            return check_session(session)
    except DBAPIError as err:
        raise ValidationFailed(f"恢复出的数据无法读取，未作任何改动：{err.orig}") from None
    finally:
        engine.dispose()


def _swap_in(database_url: str, scratch: str, target: str, force: bool) -> None:
    """One transaction: the target (if any) renamed aside and dropped, the scratch schema renamed to
    the target's name. Readers see the old schema or the new one, never a mix."""
    engine = create_engine(_schema_url(database_url, target))
    aside = f"{target[:40]}_replaced_{secrets.token_hex(4)}"
    try:
        with engine.begin() as connection:
            if connection.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = :n"), {"n": target}):
                _refuse_unless_empty_in(connection, force)
                connection.execute(text(f'ALTER SCHEMA "{_quoted(target)}" RENAME TO "{aside}"'))
                connection.execute(text(f'ALTER SCHEMA "{scratch}" RENAME TO "{_quoted(target)}"'))
                connection.execute(text(f'DROP SCHEMA "{aside}" CASCADE'))
            else:
                connection.execute(text(f'ALTER SCHEMA "{scratch}" RENAME TO "{_quoted(target)}"'))
    finally:
        engine.dispose()


def _drop_schema(database_url: str, schema: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


def _quoted(name: str) -> str:
    return name.replace('"', '""')


def _check_archive(path: Path) -> Check:
    """Read the archive's event, chain_head and instance rows back through pg_restore: snapshots are
    checked as they stream by, events go into a scratch SQLite file to be walked in order."""
    command = [_tool("pg_restore"), "--data-only", "--table=event", "--table=chain_head", "--table=instance",
               "--file=-", str(path)]
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/chain.db")
        try:
            Event.metadata.create_all(engine, tables=[Event.__table__, ChainHead.__table__])
            with _streamed(command) as lines, engine.begin() as connection:
                count, bad = _load_rows(connection, _copy_rows(lines))
            with Session(engine) as session:
                chain = eventlog.verify(session)
                head = session.get(ChainHead, 1)
                return Check(chain, head.hash if head else eventlog.GENESIS, count, bad)
        finally:
            engine.dispose()


@contextmanager
def _streamed(command: list[str]) -> Iterator[Iterable[str]]:
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          encoding="utf-8") as process:
        yield process.stdout
        error = process.stderr.read()
    if process.returncode != 0:
        raise ValidationFailed(f"无法读取备份 {command[-1]}：{error.strip()[-2000:]}")


def _load_rows(connection, rows: Iterable[tuple[str, list[str], list]]) -> tuple[int, list[int]]:
    count, bad, batches = 0, [], {}
    for table, columns, values in rows:
        if table == "instance":
            row = dict(zip(columns, values, strict=True))
            one_count, one_bad = _snapshots([(row["id"], _bytea(row["snapshot"]), row["snapshot_hash"])])
            count, bad = count + one_count, bad + one_bad
            continue
        batch = batches.setdefault((table, tuple(columns)), [])
        batch.append(values)
        if len(batch) >= 1000:
            _insert(connection, table, columns, batch)
    for (table, columns), batch in batches.items():
        _insert(connection, table, list(columns), batch)
    return count, bad


def _insert(connection, table: str, columns: list[str], batch: list) -> None:
    if batch:
        names = ", ".join(f'"{c}"' for c in columns)
        connection.exec_driver_sql(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" * len(columns))})',
                                   [tuple(v) for v in batch])
        batch.clear()


_COPY = re.compile(r'^COPY (?:"?[^ ."]+"?\.)?"?(\w+)"? \((.*)\) FROM stdin;$')
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def _copy_rows(lines: Iterable[str]) -> Iterator[tuple[str, list[str], list]]:
    """The rows of COPY ... FROM stdin blocks in pg_restore's output (text format: tab-separated,
    backslash escapes, \\N for NULL; COPY TO never writes octal or hex escapes)."""
    table, columns = None, []
    for line in lines:
        line = line.rstrip("\n")
        if table is None:
            match = _COPY.match(line)
            if match:
                table, columns = match.group(1), [c.strip().strip('"') for c in match.group(2).split(",")]
        elif line == "\\.":
            table = None
        else:
            yield table, columns, [_field(f) for f in line.split("\t")]


def _bytea(value: str) -> bytes:
    """A bytea as COPY writes it (``\\x`` and hex)."""
    return bytes.fromhex(value[2:])


def _field(raw: str):
    if raw == "\\N":
        return None
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), raw)
