"""`govflow backup` while tasks keep being completed, and `govflow restore`: the copy is the state
after some commit (its chain verifies, every snapshot matches its hash, the inbox matches the
workflows), a restored database has the same chain head and its instances go on; an edited event
in a backup is found before anything is restored; a non-empty database is overwritten only with
--force; on PostgreSQL through pg_dump and pg_restore into a fresh database."""
from __future__ import annotations

import hashlib
import re
import sqlite3
import threading
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import create_engine, select, text, update
from sqlalchemy.engine import make_url

from conftest import REPO, build_system, load_org
from govflow.audit import backup
from govflow.cli import main
from govflow.config import Settings
from govflow.store import eventlog
from govflow.store.models import Event, Instance, Task
from govflow.work import instances
from govflow.work.system import Govflow
from helpers import complete, deploy_xml, holder, open_tasks, start

ORG = load_org("bazhou")
CLERK = next(p.id for p in ORG.with_post("office_clerk", ORG.office_id) if not p.roles)
DEPT = next(d for d in ORG.departments if ORG.portfolio_leader(d))
ANSWERS = {"office_review": {"decision": "拟办", "opinion": "拟同意"}, "office_check": {"decision": "同意"},
           "leader_countersign": {"decision": "同意"}, "sign_off": {"decision": "同意签发", "opinion": "同意"}}


def govflow(database_url: str, *args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["--database-url", database_url, *args],
                              env={"GOVFLOW_MODE": "test", "GOVFLOW_HOME": str(REPO), **(env or {})})


def new_request(system, number: int) -> int:
    return start(system, CLERK, "dept_request", {"title": f"关于第 {number} 批防汛物资的请示", "department": DEPT,
                                                 "urgency": "一般"})


def step(system, instance_id: int) -> bool:
    """Complete one open task of the instance; False when it has none left."""
    rows = open_tasks(system, instance_id)
    if not rows:
        return False
    complete(system, holder(system, rows[0]), rows[0].id, ANSWERS[rows[0].step_id])
    return True


def opened(url: str) -> Govflow:
    return Govflow(Settings(database_url=url, mode="test", home=REPO, secret_key="test"))


def head(output: str) -> tuple[int, str]:
    found = re.search(r"共 (\d+) 条事件，链尾第 (\d+) 条（哈希 ([0-9a-f]{64})）", output)
    assert found, output
    assert int(found.group(1)) == int(found.group(2))
    return int(found.group(2)), found.group(3)


def assert_whole(system) -> None:
    """The chain verifies, every snapshot loads against its hash, and every running instance's open
    inbox rows are exactly the READY user tasks of its workflow."""
    with system.store.read() as session:
        assert eventlog.verify(session).ok
        for instance in session.scalars(select(Instance)):
            workflow = instances.load(system, session, instance)
            ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
            rows = set(session.scalars(select(Task.id).where(Task.instance_id == instance.id, Task.state == "open",
                                                              Task.kind == "task")))
            assert rows == ready, instance.id


@pytest.fixture
def requests(sqlite_system):
    deploy_xml(sqlite_system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    return sqlite_system


def test_a_backup_taken_while_tasks_are_completed_is_consistent_and_restores(requests, tmp_path):
    system, stop, failures, steps = requests, threading.Event(), [], [0]
    waiting = new_request(system, 0)                 # left alone until it goes on after the restore

    def keep_working():
        try:
            number = 0
            while not stop.is_set():
                number += 1
                instance_id = new_request(system, number)
                while not stop.is_set() and step(system, instance_id):
                    steps[0] += 1
        except Exception as err:  # noqa: BLE001 - reported by the test below
            failures.append(err)

    worker = threading.Thread(target=keep_working)
    worker.start()
    taken = []
    try:
        for number in range(4):
            while steps[0] < 3 * (number + 1) and worker.is_alive():
                stop.wait(0.05)
            before = len(all_events(system))
            result = govflow(system.settings.database_url, "backup", str(tmp_path / f"backup-{number}.db"))
            taken.append((before, result, len(all_events(system))))
    finally:
        stop.set()
        worker.join()
    assert not failures
    for before, result, after in taken:
        assert result.exit_code == 0, result.output
        assert "备份已写入" in result.output and "均与校验值一致" in result.output
        seq, _ = head(result.output)
        assert before <= seq <= after                  # the state after some commit made during the backup
    assert any(after > before for before, _, after in taken)    # tasks were completed while backups ran

    restored_url = f"sqlite:///{tmp_path}/restored.db"
    restored = govflow(restored_url, "restore", str(tmp_path / "backup-3.db"))
    assert restored.exit_code == 0, restored.output
    assert head(restored.output) == head(taken[-1][1].output)
    again = opened(restored_url)
    try:
        assert_whole(again)
        assert [t.step_id for t in open_tasks(again, waiting)] == ["office_review"]
        assert step(again, waiting)                                      # the instances go on after a restore
        assert {t.step_id for t in open_tasks(again, waiting)} == {"office_check", "leader_countersign"}
        assert_whole(again)
    finally:
        again.store.dispose()


def all_events(system) -> list[Event]:
    with system.store.read() as session:
        return list(session.scalars(select(Event).order_by(Event.seq)))


@pytest.fixture
def one_request(requests):
    instance_id = new_request(requests, 1)
    step(requests, instance_id)
    return requests, instance_id


def test_an_edited_event_in_a_backup_is_found_and_nothing_is_restored(one_request, tmp_path):
    system, _ = one_request
    copy = tmp_path / "backup.db"
    assert govflow(system.settings.database_url, "backup", str(copy)).exit_code == 0
    with sqlite3.connect(copy) as edited:
        edited.execute("UPDATE event SET payload = replace(payload, '拟同意', '不同意') WHERE type = 'task_completed'")
    seq = sqlite3.connect(copy).execute("SELECT seq FROM event WHERE type = 'task_completed'").fetchone()[0]
    target = tmp_path / "restored.db"
    result = govflow(f"sqlite:///{target}", "restore", str(copy))
    assert result.exit_code == 2
    assert f"未作任何改动：第 {seq} 条事件（task_completed）内容被改动" in result.output
    assert not target.exists()


def test_a_database_with_data_is_overwritten_only_with_force(one_request, tmp_path):
    system, instance_id = one_request
    url = system.settings.database_url
    copy = tmp_path / "backup.db"
    assert govflow(url, "backup", str(copy)).exit_code == 0
    step(system, instance_id)                                        # the live database moves on
    moved_on = len(all_events(system))
    refused = govflow(url, "restore", str(copy))
    assert refused.exit_code == 2 and "目标数据库不是空的" in refused.output and "--force" in refused.output
    assert len(all_events(system)) == moved_on
    system.store.dispose()
    forced = govflow(url, "restore", "--force", str(copy))
    assert forced.exit_code == 0, forced.output
    assert len(all_events(system)) == head(forced.output)[0] < moved_on


def fingerprint(path) -> tuple:
    """The bytes of a SQLite database as it lies on disk: the file and what its -wal holds (a reader
    may leave an empty one)."""
    return tuple(hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() and p.stat().st_size else None
                 for p in (path, path.with_name(path.name + "-wal")))


def page_of(path, table: str) -> tuple[int, int]:
    """(offset, size) of a b-tree leaf page of ``table`` in the file."""
    with closing(sqlite3.connect(path)) as connection:
        size = connection.execute("PRAGMA page_size").fetchone()[0]
        page = connection.execute("SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno",
                                  (table,)).fetchone()[0]
    return (page - 1) * size, size


def zero_task_page(path) -> None:
    offset, _ = page_of(path, "task")
    with open(path, "r+b") as file:
        file.seek(offset + 8)
        file.write(bytes(2048))


def cut_tail(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:-1000])


def spoil_a_snapshot(path) -> None:
    """Bytes inside an instance's deflated snapshot changed: the page's structure stays sound (SQLite's
    own check passes), its content does not inflate."""
    with closing(sqlite3.connect(path)) as connection:
        deflated = connection.execute("SELECT snapshot FROM instance ORDER BY id LIMIT 1").fetchone()[0]
    data = bytearray(path.read_bytes())
    at = data.find(deflated[:64])
    assert at > 0
    data[at + 10:at + 60] = b"\xff" * 50
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage, says", [
    (zero_task_page, "SQLite 完整性检查未通过"),
    (cut_tail, "已损坏"),
    (spoil_a_snapshot, "快照无法解压或与其校验值不符"),
])
def test_a_damaged_backup_never_replaces_a_good_database(one_request, tmp_path, damage, says):
    """Even with --force: the whole backup is checked in a new file first, and the target keeps its
    exact bytes when anything in it fails."""
    system, _ = one_request
    url, target = system.settings.database_url, Path(system.settings.database_url.split("///", 1)[1])
    copy = tmp_path / "backup.db"
    assert govflow(url, "backup", str(copy)).exit_code == 0
    system.store.dispose()
    damage(copy)
    before = fingerprint(target)
    result = govflow(url, "restore", "--force", str(copy))
    assert result.exit_code == 2, result.output
    assert says in result.output and "未作任何改动" in result.output and "Traceback" not in result.output, result.output
    assert "校验通过" not in result.output
    assert fingerprint(target) == before
    assert not target.with_name(target.name + ".restoring").exists()
    assert_whole(opened(url))


def test_verifying_a_backup_copy_never_changes_it(one_request, tmp_path):
    """`audit verify` opens the file read-only: it used to switch a backup copy to WAL mode."""
    system, _ = one_request
    copy = tmp_path / "kept" / "backup.db"
    assert govflow(system.settings.database_url, "backup", str(copy)).exit_code == 0
    before = hashlib.sha256(copy.read_bytes()).hexdigest()
    for _ in range(5):
        result = govflow(f"sqlite:///{copy}", "audit", "verify")
        assert result.exit_code == 0 and "事件链完整" in result.output, result.output
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in copy.parent.iterdir()) == ["backup.db"]      # no -wal, no -shm either


def test_verifying_a_damaged_file_says_so_in_words(one_request, tmp_path):
    system, _ = one_request
    copy = tmp_path / "backup.db"
    assert govflow(system.settings.database_url, "backup", str(copy)).exit_code == 0
    whole = copy.read_bytes()
    copy.write_bytes(whole[:len(whole) // 2])
    before = hashlib.sha256(copy.read_bytes()).hexdigest()
    result = govflow(f"sqlite:///{copy}", "audit", "verify")
    assert result.exit_code == 2, result.output
    assert "数据库文件已损坏或被截断" in result.output and "Traceback" not in result.output, result.output
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == before
    missing = govflow(f"sqlite:///{tmp_path}/none.db", "audit", "verify")
    assert missing.exit_code == 2 and "不存在" in missing.output and not (tmp_path / "none.db").exists()


def test_a_file_that_is_no_backup_is_refused(tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("不是备份", encoding="utf-8")
    other, empty = tmp_path / "other.db", tmp_path / "empty.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE event (what TEXT)")
    with sqlite3.connect(empty) as connection:
        connection.execute("CREATE TABLE notes (what TEXT)")
    for source, says in ((junk, "不是 govflow 的备份文件"), (other, "表结构与本版本 govflow 不符"),
                         (empty, "其中没有 govflow 的数据")):
        result = govflow(f"sqlite:///{tmp_path}/new.db", "restore", str(source))
        assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output, result.output
    assert not (tmp_path / "new.db").exists()


def test_without_pg_dump_the_backup_says_so_in_chinese(tmp_path):
    result = govflow("postgresql+psycopg://govflow@127.0.0.1:1/govflow", "backup", str(tmp_path / "x.dump"),
                     env={"PATH": str(tmp_path)})
    assert result.exit_code == 2 and "找不到 pg_dump：请安装 PostgreSQL 客户端" in result.output


# -- PostgreSQL -------------------------------------------------------------------------------------------
@pytest.fixture
def fresh_database(pg_admin, pg_database):
    """An empty database on the same server, reached with the same search_path as ``pg_database``."""
    name = f"govflow_r_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(pg_database).set(database=name).render_as_string(hide_password=False)
    with pg_admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def schemas_in(database_url: str, name: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.scalar(text("SELECT count(*) FROM pg_namespace WHERE nspname = :n"), {"n": name})
    finally:
        engine.dispose()


def leftovers(database_url: str) -> list[str]:
    """Scratch schemas a restore left behind."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.scalars(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE "
                                                "'%\\_restoring\\_%' OR nspname LIKE '%\\_replaced\\_%'")))
    finally:
        engine.dispose()


def table_digest(database_url: str) -> tuple:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return tuple(connection.execute(text("SELECT count(*), max(seq), (SELECT hash FROM chain_head) "
                                                 "FROM event")).one())
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_damaged_postgres_archive_leaves_the_target_as_it_was(pg_database, tmp_path):
    system = build_system(pg_database)
    try:
        deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
        step(system, new_request(system, 1))
        archive = tmp_path / "govflow.dump"
        assert govflow(pg_database, "backup", str(archive)).exit_code == 0
        step(system, new_request(system, 2))                 # the live database moves on
    finally:
        system.store.dispose()
    before = table_digest(pg_database)
    cut = tmp_path / "cut.dump"
    cut.write_bytes(archive.read_bytes()[:-4000])
    result = govflow(pg_database, "restore", "--force", str(cut))
    assert result.exit_code == 2 and "未作任何改动" in result.output and "Traceback" not in result.output, result.output
    assert table_digest(pg_database) == before
    assert not leftovers(pg_database)


@pytest.mark.postgres
def test_a_postgres_backup_round_trips_through_pg_dump_and_pg_restore(pg_database, fresh_database, tmp_path):
    system = build_system(pg_database)
    try:
        deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
        instance_id = new_request(system, 1)
        step(system, instance_id)
        archive = tmp_path / "govflow.dump"
        taken = govflow(pg_database, "backup", str(archive))
        assert taken.exit_code == 0, taken.output
        assert archive.read_bytes().startswith(b"PGDMP")
    finally:
        system.store.dispose()

    origin = make_url(pg_database).query["options"].split("=", 1)[1]
    restored = govflow(fresh_database, "restore", str(archive))           # the schema of the same name
    assert restored.exit_code == 0, restored.output
    assert head(restored.output) == head(taken.output)
    elsewhere = make_url(fresh_database).update_query_dict({"options": "-csearch_path=elsewhere"})
    moved = govflow(elsewhere.render_as_string(hide_password=False), "restore", str(archive))   # any other name
    assert moved.exit_code == 0, moved.output
    assert head(moved.output) == head(taken.output)
    assert schemas_in(fresh_database, "elsewhere") == 1 and schemas_in(fresh_database, origin) == 1
    for url in (fresh_database, elsewhere.render_as_string(hide_password=False)):
        again = opened(url)
        try:
            assert_whole(again)
            assert step(again, instance_id)
            assert_whole(again)
        finally:
            again.store.dispose()
    assert not leftovers(fresh_database)
    refused = govflow(fresh_database, "restore", str(archive))
    assert refused.exit_code == 2 and "目标数据库不是空的" in refused.output
    forced = govflow(fresh_database, "restore", "--force", str(archive))
    assert forced.exit_code == 0, forced.output
    assert head(forced.output) == head(taken.output)


@pytest.mark.postgres
def test_a_postgres_backup_of_an_edited_chain_is_reported(pg_database, tmp_path):
    system = build_system(pg_database)
    try:
        with system.store.write() as session:
            session.execute(update(Event).where(Event.seq == 2).values(actor="intruder"))
    finally:
        system.store.dispose()
    result = govflow(pg_database, "backup", str(tmp_path / "govflow.dump"))
    assert result.exit_code == 2 and "未通过校验" in result.output and "第 2 条事件" in result.output
    assert backup.check_backup(tmp_path / "govflow.dump").chain.first_bad.seq == 2
