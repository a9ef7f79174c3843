"""Whoever can write the database cannot rewrite history unnoticed (issue 18, point 4).

Events and the chain head are sealed with a key the database does not hold, so an appended event
with a correctly computed hash, a tail cut off with the head set back, or a moved start of sealing
fails ``verify``; the worker takes anchors on a schedule and ``verify`` checks the newest, naming a
cut tail; the rows access is decided on (task holders, started_by, title, 密级, 分发范围) are checked
against the events by re-execution; re-execution survives a damaged snapshot and re-executes
against what each step computed, not against today's calendar."""
from __future__ import annotations

import json
import zlib
from datetime import date, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bpmn_builder import chain, diagram, end, script, user
from bpmn_builder import start as start_event
from conftest import REPO, SEAL_KEY_FILE, build_system, load_org
from govflow.app import create_app
from govflow.audit import replay
from govflow.cli import main
from govflow.config import Settings
from govflow.errors import ValidationFailed
from govflow.store import eventlog
from govflow.store.models import ChainHead, Distribution, Event
from govflow.work import admin, worker
from govflow.work.system import Govflow
from helpers import deploy_xml, events, open_tasks, start
from test_audit_anchor import CLERK, DIAGRAM, REQUEST, run_sql

OUTSIDER = "xuxiaoling"


@pytest.fixture
def history(system):
    deploy_xml(system, DIAGRAM.read_bytes())
    start(system, CLERK, "dept_request", REQUEST)
    return system


def verify(system) -> eventlog.Verification:
    with system.store.read() as session:
        return eventlog.verify(session)


def reasons(result) -> str:
    return "\n".join(f.reason for f in result.findings)


def forge_append(system) -> int:
    """What a database administrator can do without the key: append an event whose hash is right."""
    last = events(system)[-1]
    seq, at, payload = last.seq + 1, last.at, eventlog.canonical({"note": "补记"})
    forged = eventlog.link_hash(last.hash, seq, at, "comment", "forger", None, None, None, payload)
    run_sql(system, "INSERT INTO event (seq, at, type, actor, instance_id, instance_seq, task_id, payload, prev_hash, "
                    "hash) VALUES (:seq, :at, 'comment', 'forger', NULL, NULL, NULL, :p, :prev, :h)",
            seq=seq, at=at, p=payload, prev=last.hash, h=forged)
    run_sql(system, "UPDATE chain_head SET seq = :seq, hash = :h", seq=seq, h=forged)
    return seq


def cut_tail(system, keep: int) -> None:
    run_sql(system, "DELETE FROM event WHERE seq > :keep", keep=keep)
    run_sql(system, "UPDATE chain_head SET seq = :keep, hash = (SELECT hash FROM event WHERE seq = :keep)", keep=keep)


# -- a. seals ----------------------------------------------------------------------------------------------------
def test_every_event_and_the_chain_head_carry_a_seal_that_checks(history):
    rows = events(history)
    assert rows and all(e.seal for e in rows)
    with history.store.read() as session:
        head = session.get(ChainHead, 1)
        assert head.sealed_from == 1 and head.seal
    result = verify(history)
    assert result.ok and result.sealed_from == 1 and result.notes == [], result.to_dict()


def test_an_appended_event_with_a_correct_hash_is_named_by_its_seal(history):
    seq = forge_append(history)
    result = verify(history)
    assert not result.ok and result.first_bad.seq == seq, result.to_dict()
    assert f"第 {seq} 条事件（comment）没有封签" in result.first_bad.reason
    assert "链尾" in reasons(result)


def test_an_appended_event_is_named_against_an_older_anchor_too(history):
    with history.store.read() as session:
        taken = json.loads(json.dumps(eventlog.anchor(session, history.now(session))))
    seq = forge_append(history)
    with history.store.read() as session:
        result = eventlog.verify_anchor(session, taken)
    assert not result.ok and any(f.seq == seq and "封签" in f.reason for f in result.findings)


def test_a_tail_cut_off_with_the_head_set_back_is_named(history):
    last = events(history)[-1].seq
    cut_tail(history, last - 3)
    result = verify(history)
    assert not result.ok and "链尾" in result.first_bad.reason and "封签不符" in result.first_bad.reason


def test_a_deleted_chain_head_is_named(history):
    run_sql(history, "DELETE FROM chain_head")
    assert "链尾记录不存在" in verify(history).first_bad.reason


def test_a_copied_seal_does_not_pass_for_another_event(history):
    rows = events(history)
    run_sql(history, "UPDATE event SET seal = :s WHERE seq = :q", s=rows[2].seal, q=rows[3].seq)
    assert verify(history).first_bad.seq == rows[3].seq


def test_the_cli_names_a_forged_event_in_chinese_and_fails(history):
    seq = forge_append(history)
    out = CliRunner().invoke(main, ["--database-url", history.settings.database_url, "audit", "verify"])
    assert out.exit_code == 1 and f"第 {seq} 条事件（comment）没有封签" in out.output, out.output


def test_production_refuses_to_start_without_a_sealing_key(sqlite_url, tmp_path, monkeypatch):
    build_system(sqlite_url).store.dispose()
    monkeypatch.delenv("GOVFLOW_SEAL_KEY_FILE")
    monkeypatch.delenv("GOVFLOW_SEAL_KEY", raising=False)
    with pytest.raises(ValidationFailed, match="封签密钥"):
        create_app(Settings(database_url=sqlite_url, mode="production", secret_key="x"))
    short = tmp_path / "short.key"
    short.write_text("abc", encoding="utf-8")
    for bad in (str(short), str(tmp_path / "missing.key")):
        with pytest.raises(ValidationFailed, match="封签密钥"):
            create_app(Settings(database_url=sqlite_url, mode="production", secret_key="x", seal_key_file=bad))
    refused = CliRunner().invoke(main, ["--database-url", sqlite_url, "worker", "--once"],
                                 env={"GOVFLOW_MODE": "production"})
    assert refused.exit_code == 2 and "封签密钥" in refused.output, refused.output
    app = create_app(Settings(database_url=sqlite_url, mode="production", secret_key="x", seal_key_file=SEAL_KEY_FILE))
    assert app.extensions["govflow"].store.seal_key


def test_events_written_before_sealing_are_named_and_sealing_fixes_its_start(database_url):
    unsealed = build_system(database_url, seal_key_file="")
    deploy_xml(unsealed, DIAGRAM.read_bytes())
    start(unsealed, CLERK, "dept_request", REQUEST)
    before = events(unsealed)[-1].seq
    assert not any(e.seal for e in events(unsealed))
    assert verify(unsealed).ok and "未封签" in verify(unsealed).notes[0]
    unsealed.store.dispose()
    sealed = Govflow(Settings(database_url=database_url, mode="test", home=REPO, secret_key="test",
                              seal_key_file=SEAL_KEY_FILE))
    try:
        # a key, but nothing sealed: the seals stripped, or sealing not begun yet
        assert "没有封签起点" in verify(sealed).first_bad.reason
        began = CliRunner().invoke(main, ["--database-url", database_url, "init"])
        assert began.exit_code == 0 and f"第 {before + 1} 条起" in began.output, began.output
        result = verify(sealed)
        assert result.ok and result.sealed_from == before + 1
        assert f"第 1–{before} 条事件写于启用封签之前" in result.notes[0]
        # the unsealed part is held by the first seal: rewriting it changes a sealed hash
        run_sql(sealed, "UPDATE event SET actor = 'someone' WHERE seq = 3")
        rows = {e.seq: e for e in events(sealed)}
        with sealed.store.write() as session:
            prev = rows[2].hash
            for row in session.scalars(select(Event).where(Event.seq >= 3).order_by(Event.seq)):
                row.prev_hash = prev
                row.hash = prev = eventlog.row_hash(row)
            session.get(ChainHead, 1).hash = prev
        found = verify(sealed)
        assert any(f.seq == before + 1 and "封签不符" in f.reason for f in found.findings), reasons(found)
        # and the start of sealing cannot be moved past the rewrite: the head's seal covers it
        run_sql(sealed, "UPDATE chain_head SET sealed_from = sealed_from + 5")
        assert "封签起点被挪动" in reasons(verify(sealed))
    finally:
        sealed.store.dispose()


# -- b. anchors on a schedule -------------------------------------------------------------------------------------
@pytest.fixture
def anchored(database_url, tmp_path):
    built = build_system(database_url, anchor_dir=str(tmp_path / "anchors"), anchor_minutes=60)
    deploy_xml(built, DIAGRAM.read_bytes())
    start(built, CLERK, "dept_request", REQUEST)
    yield built
    built.store.dispose()


def anchor_files(system) -> list:
    return sorted((REPO / system.settings.anchor_dir).glob("anchor-*.json"))


def advance(system, minutes: int) -> None:
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(minutes=minutes), "test")


def test_the_worker_writes_an_anchor_on_its_schedule(anchored):
    worker.run_once(anchored)
    first = anchor_files(anchored)
    assert len(first) == 1
    taken = json.loads(first[0].read_text(encoding="utf-8"))
    assert taken["head"]["seq"] == events(anchored)[-1].seq and taken["digest"] == eventlog.anchor_digest(taken)
    start(anchored, CLERK, "dept_request", {**REQUEST, "title": "关于增设便民窗口的请示"})
    worker.run_once(anchored)
    assert anchor_files(anchored) == first                  # not due yet
    advance(anchored, 61)
    worker.run_once(anchored)
    assert len(anchor_files(anchored)) == 2
    worker.run_once(anchored)
    assert len(anchor_files(anchored)) == 2                 # the next one is due an hour on
    assert not list((REPO / anchored.settings.anchor_dir).glob("*.part"))


def test_verify_checks_the_newest_anchor_and_names_a_cut_tail(anchored, monkeypatch):
    worker.run_once(anchored)
    start(anchored, CLERK, "dept_request", {**REQUEST, "title": "关于增设便民窗口的请示"})
    advance(anchored, 61)
    worker.run_once(anchored)
    directory = REPO / anchored.settings.anchor_dir
    (directory / "anchor-999999999999-junk.json").write_text("[" * 100_000, encoding="utf-8")   # hostile: skipped
    newest = events(anchored)[-1].seq
    monkeypatch.setenv("GOVFLOW_ANCHOR_DIR", str(directory))
    runner, url = CliRunner(), anchored.settings.database_url
    ok = runner.invoke(main, ["--database-url", url, "audit", "verify"])
    assert ok.exit_code == 0 and "与锚点一致" in ok.output and f"链尾第 {newest} 条" in ok.output, ok.output
    assert "junk" in ok.output and "已跳过" in ok.output
    cut_tail(anchored, newest - 4)
    bad = runner.invoke(main, ["--database-url", url, "audit", "verify"])
    assert bad.exit_code == 1, bad.output
    assert f"链尾缺失：锚点记录到第 {newest} 条，数据库只到第 {newest - 4} 条" in bad.output


def test_an_anchor_forged_without_the_key_is_not_evidence(anchored):
    worker.run_once(anchored)
    path = anchor_files(anchored)[0]
    taken = json.loads(path.read_text(encoding="utf-8"))
    taken["head"]["seq"] -= 1
    taken["digest"] = eventlog.anchor_digest(taken)          # the digest anyone can recompute; the seal not
    with anchored.store.read() as session:
        result = eventlog.verify_anchor(session, taken)
    assert "锚点的封签不符" in reasons(result)


# -- c. the rows access is decided on -----------------------------------------------------------------------------
def differences(system, instance_id: int) -> str:
    with system.store.read() as session:
        results = replay.reexecute_all(system, session, instance_id)
    return "\n".join(d.what for r in results for d in r.differences)


@pytest.fixture
def matter(system):
    deploy_xml(system, DIAGRAM.read_bytes())
    instance_id = start(system, CLERK, "dept_request", REQUEST)
    assert differences(system, instance_id) == ""
    return system, instance_id


def test_an_edited_task_assignee_is_named_with_its_event(matter):
    system, instance_id = matter
    row = open_tasks(system, instance_id)[0]
    run_sql(system, "UPDATE task SET assignee = :p WHERE id = :t", p=OUTSIDER, t=row.id)
    found = differences(system, instance_id)
    assert f"task 表任务 {row.id}" in found and f"办理人（assignee）为“{OUTSIDER}”" in found and "条事件" in found


def test_an_added_candidate_is_named(matter):
    system, instance_id = matter
    row = open_tasks(system, instance_id)[0]
    if row.assignee is not None:
        run_sql(system, "UPDATE task SET assignee = NULL WHERE id = :t", t=row.id)
    run_sql(system, "INSERT INTO task_candidate (task_id, person_id) VALUES (:t, :p)", t=row.id, p=OUTSIDER)
    found = differences(system, instance_id)
    assert f"task 表任务 {row.id}" in found and OUTSIDER in found


@pytest.mark.parametrize("column, value, said", [
    ("started_by", OUTSIDER, "发起人（started_by）"),
    ("title", "关于别的事项的请示", "标题"),
    ("secrecy", "机密", "密级"),
])
def test_an_edited_instance_row_is_named_with_its_event(matter, column, value, said):
    system, instance_id = matter
    run_sql(system, f"UPDATE instance SET {column} = :v WHERE id = :i", v=value, i=instance_id)
    found = differences(system, instance_id)
    assert f"instance 表实例 {instance_id} 的{said}" in found and value in found and "条事件" in found, found


def test_an_added_distribution_row_and_read_copy_are_named(matter):
    system, instance_id = matter
    run_sql(system, "INSERT INTO distribution (instance_id, kind, ref) VALUES (:i, 'person', :p)",
            i=instance_id, p=OUTSIDER)
    row = open_tasks(system, instance_id)[0]
    run_sql(system, "INSERT INTO task (id, kind, instance_id, process_id, title, step_id, step_name, lane, role, "
                    "assignee, created_at, urgency, priority, state, pressed_count, note, due_estimated) "
                    "SELECT 'forged-read-copy', 'read', instance_id, process_id, title, 'circulation', '传阅', '', "
                    "'reader', :p, created_at, urgency, priority, 'open', 0, '', due_estimated FROM task WHERE id = :t",
            p=OUTSIDER, t=row.id)
    found = differences(system, instance_id)
    assert "分发范围" in found and f"person:{OUTSIDER}" in found
    assert "forged-read-copy" in found and "没有任何传阅" in found


def test_a_deleted_instance_row_is_named_by_its_events(matter):
    system, instance_id = matter
    index = "search_index WHERE rowid = :i" if system.store.is_sqlite else "search_index WHERE instance_id = :i"
    for table in ("task_candidate WHERE task_id IN (SELECT id FROM task WHERE instance_id = :i)",
                  "task WHERE instance_id = :i", index, "instance WHERE id = :i"):
        run_sql(system, f"DELETE FROM {table}", i=instance_id)
    with system.store.read() as session:
        results = replay.reexecute_all(system, session)
    assert [r.instance_id for r in results if not r.ok] == [instance_id]
    assert "instance 表中没有实例" in results[-1].differences[0].what


# -- d. re-execution: a damaged snapshot, and against what each step computed -------------------------------------
@pytest.mark.parametrize("damage", [b"not deflated at all", zlib.compress(b"\xff\xfe{\"broken\": ")],
                         ids=["not-deflate", "not-utf8"])
def test_reexecute_reports_a_damaged_snapshot_and_goes_on(matter, damage):
    system, damaged = matter
    other = start(system, CLERK, "dept_request", {**REQUEST, "title": "关于增设便民窗口的请示"})
    run_sql(system, "UPDATE instance SET snapshot = :b WHERE id = :i", b=damage, i=damaged)
    with system.store.read() as session:
        results = {r.instance_id: r for r in replay.reexecute_all(system, session)}
    assert set(results) == {damaged, other}
    assert results[other].ok
    assert any("快照已损坏" in d.what for d in results[damaged].differences), results[damaged].to_dict()
    out = CliRunner().invoke(main, ["--database-url", system.settings.database_url, "audit", "reexecute"])
    assert out.exit_code == 1 and "快照已损坏" in out.output and "Traceback" not in out.output, out.output


COUNTED = diagram("counted_deadline", start_event(), script("count", "deadline = workdays(3)"),
                  user("reply", form="press_record.json"), end(), chain("start", "count", "reply", "end"),
                  lanes={"办公室": ["start", "count", "reply", "end"]})


def test_a_later_calendar_override_is_no_difference(system):
    deploy_xml(system, COUNTED)
    instance_id = start(system, CLERK, "counted_deadline", {"title": "限期答复"})
    recorded = events(system, instance_id, "workdays_computed")
    assert [json.loads(e.payload)["calls"] for e in recorded] == [[{"n": 3, "from": None,
                                                                    "at": "2026-11-26T17:30:00+08:00"}]]
    with system.store.write() as session:         # a 调休 entered afterwards: Tuesday becomes a day off
        admin.set_calendar_day(system, session, date(2026, 11, 24), False, "调休", "test")
    assert differences(system, instance_id) == ""


def test_a_later_personnel_change_is_no_difference(system):
    """The people a lane resolved to are recorded with each task (task_created) and re-execution
    takes them from there; a 分发范围 is kept to the organisation in force when the step ran."""
    deploy_xml(system, COUNTED)
    instance_id = start(system, CLERK, "counted_deadline", {"title": "限期答复",
                                                            "distribution": {"people": [OUTSIDER]}})
    with system.store.read() as session:
        assert {(d.kind, d.ref) for d in session.scalars(select(Distribution))} == {("person", OUTSIDER)}
    advance(system, 60)
    changed = load_org("bazhou")
    del changed.people[OUTSIDER]                       # the person has left since
    with system.store.write() as session:
        admin.load_organisation(system, session, changed, "test")
    assert differences(system, instance_id) == ""
