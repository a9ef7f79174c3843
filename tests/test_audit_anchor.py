"""Anchors prove the log was not rewritten before them: an edited, deleted or reordered event is
named, and so is a history rewritten with every later hash recomputed, which the chain alone cannot
see. The auditor's page shows the check; every auditor's reading is itself an event of the chain;
an auditor changes nothing."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from conftest import REPO, Api
from govflow.app import create_app
from govflow.audit import readings
from govflow.cli import main
from govflow.errors import Conflict
from govflow.store import eventlog
from govflow.store.models import ChainHead, Event, Leave, Task
from helpers import complete, count, deploy_xml, events, open_tasks, start, task
from test_audit import swap
from test_task_pages import logged_in

AUDITOR, CLERK, ADMIN = "xuxiaoling", "zhongjie", "wangpeng"
DIAGRAM = REPO / "processes" / "dept_request.bpmn"
REQUEST = {"title": "关于修缮办公楼的请示", "department": "czj", "urgency": "一般"}


@pytest.fixture
def history(system):
    deploy_xml(system, DIAGRAM.read_bytes())
    instance_id = start(system, CLERK, "dept_request", REQUEST)
    complete(system, CLERK, task(system, instance_id, "office_review").id, {"decision": "拟办", "opinion": "拟同意"})
    return system


def instance_of(system) -> int:
    return events(system, type_="instance_started")[0].instance_id


def anchor(system) -> dict:
    with system.store.read() as session:
        return json.loads(json.dumps(eventlog.anchor(session, system.now(session))))     # as read back from a file


def against(system, anchor_: dict) -> eventlog.AnchorVerification:
    with system.store.read() as session:
        return eventlog.verify_anchor(session, anchor_)


def verify(system) -> eventlog.Verification:
    with system.store.read() as session:
        return eventlog.verify(session)


def verify_without_seals(system) -> eventlog.Verification:
    """The hash chain alone, as it stood before seals (or with no key configured)."""
    with system.store.read() as session:
        session.info.pop("seal_key", None)
        return eventlog.verify(session)


def run_sql(system, sql: str, **params):
    with system.store.write() as session:
        session.execute(text(sql), params)


def rechain(system, from_seq: int):
    """What a forger with database access does after an edit: recompute every hash from there on."""
    with system.store.write() as session:
        rows = list(session.scalars(select(Event).where(Event.seq >= from_seq).order_by(Event.seq)))
        prev = session.scalar(select(Event.hash).where(Event.seq == from_seq - 1))
        for row in rows:
            row.prev_hash = prev
            row.hash = prev = eventlog.row_hash(row)
        session.get(ChainHead, 1).hash = prev


def test_an_anchor_names_the_chain_head_and_each_instances_last_event_with_a_digest(history):
    taken, last = anchor(history), events(history)[-1]
    assert taken["head"] == {"seq": last.seq, "hash": last.hash} and taken["events"] == last.seq
    assert taken["at"] == "2026-11-23T09:00:00+08:00"
    instance_last = events(history, instance_of(history))[-1]
    assert taken["instances"] == [{"instance_id": instance_of(history), "instance_seq": instance_last.instance_seq,
                                   "seq": instance_last.seq, "hash": instance_last.hash}]
    assert taken["digest"] == eventlog.anchor_digest(taken)


def test_the_log_verifies_against_an_earlier_anchor_after_more_events(history):
    taken = anchor(history)
    start(history, CLERK, "dept_request", {**REQUEST, "title": "关于增设便民窗口的请示"})
    assert events(history)[-1].seq > taken["head"]["seq"]
    result = against(history, taken)
    assert result.ok and result.anchor_seq == taken["head"]["seq"], result.to_dict()


def test_an_edited_event_before_the_anchor_is_named_by_both_checks(history):
    taken = anchor(history)
    target = events(history, type_="task_completed")[0]
    run_sql(history, "UPDATE event SET payload = :p WHERE seq = :s", p=target.payload.replace("拟同意", "不同意"),
            s=target.seq)
    for result in (verify(history), against(history, taken)):
        assert result.first_bad.seq == target.seq and "改动" in result.first_bad.reason


def test_an_edited_hash_before_the_anchor_is_named_by_both_checks(history):
    taken = anchor(history)
    run_sql(history, "UPDATE event SET hash = :h WHERE seq = 3", h="a" * 64)
    for result in (verify(history), against(history, taken)):
        assert result.first_bad.seq == 3


def test_a_rewritten_history_with_recomputed_hashes_passes_the_chain_but_not_the_anchor(history):
    taken = anchor(history)
    instance_id = instance_of(history)
    target = events(history, type_="task_completed")[0]
    run_sql(history, "UPDATE event SET payload = :p WHERE seq = :s", p=target.payload.replace("拟同意", "不同意"),
            s=target.seq)
    rechain(history, target.seq)
    assert verify_without_seals(history).ok                     # the chain alone cannot tell
    assert not verify(history).ok and verify(history).first_bad.seq == target.seq    # its seal can
    result = against(history, taken)
    assert not result.ok
    assert result.first_bad.instance_id == instance_id and "改写" in result.first_bad.reason
    assert {f.seq for f in result.findings} >= {taken["head"]["seq"]}


def test_a_deleted_event_before_the_anchor_is_named(history):
    taken = anchor(history)
    run_sql(history, "DELETE FROM event WHERE seq = 5")
    result = against(history, taken)
    assert result.first_bad.seq == 5 and "缺失" in result.first_bad.reason


def test_a_deleted_anchored_head_is_named(history):
    taken = anchor(history)
    head = taken["head"]["seq"]
    run_sql(history, "DELETE FROM event WHERE seq = :s", s=head)
    run_sql(history, "UPDATE chain_head SET seq = :s, hash = (SELECT hash FROM event WHERE seq = :s)", s=head - 1)
    assert verify_without_seals(history).ok                     # a clean truncation: the chain cannot tell
    assert "链尾" in verify(history).first_bad.reason and "封签" in verify(history).first_bad.reason
    result = against(history, taken)
    assert any(f.seq == head and "不存在" in f.reason for f in result.findings), result.to_dict()


def test_reordered_events_before_the_anchor_are_named(history):
    taken = anchor(history)
    swap(history, 4, 5)
    assert verify(history).first_bad.seq == 4
    assert against(history, taken).first_bad.seq == 4


def test_an_edited_anchor_file_is_not_evidence(history):
    taken = anchor(history)
    taken["head"]["seq"] -= 1
    result = against(history, taken)
    assert not result.ok and "锚点文件本身被改动" in result.first_bad.reason


def test_no_anchor_is_issued_over_a_broken_chain(history):
    run_sql(history, "UPDATE event SET actor = 'someone' WHERE seq = 3")
    with pytest.raises(Conflict, match="第 3 条"), history.store.read() as session:
        eventlog.anchor(session, history.now(session))


def test_the_cli_writes_an_anchor_and_checks_the_log_against_it(history, tmp_path):
    runner, url, path = CliRunner(), history.settings.database_url, tmp_path / "anchor.json"
    written = runner.invoke(main, ["--database-url", url, "audit", "anchor", "--output", str(path)])
    assert written.exit_code == 0, written.output
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert saved["head"]["seq"] == len(events(history)) and saved["digest"] == eventlog.anchor_digest(saved)
    start(history, CLERK, "dept_request", REQUEST)
    ok = runner.invoke(main, ["--database-url", url, "audit", "verify", "--anchor", str(path)])
    assert ok.exit_code == 0 and "与锚点一致" in ok.output, ok.output
    run_sql(history, "UPDATE event SET actor = 'someone' WHERE seq = 3")
    rechain(history, 3)
    bad = runner.invoke(main, ["--database-url", url, "audit", "verify", "--anchor", str(path)])
    assert bad.exit_code == 1 and "锚点" in bad.output and "改写" in bad.output, bad.output
    refused = runner.invoke(main, ["--database-url", url, "audit", "verify", "--anchor", str(tmp_path)])
    assert refused.exit_code == 2


def test_the_cli_prints_an_anchor_and_refuses_one_over_a_broken_chain(history):
    runner, url = CliRunner(), history.settings.database_url
    printed = runner.invoke(main, ["--database-url", url, "audit", "anchor"])
    assert printed.exit_code == 0 and json.loads(printed.output)["head"]["seq"] == len(events(history))
    run_sql(history, "UPDATE event SET payload = '{}' WHERE seq = 2")
    refused = runner.invoke(main, ["--database-url", url, "audit", "anchor"])
    assert refused.exit_code == 2 and "不能生成锚点" in refused.output


# -- the auditor's page -----------------------------------------------------------------------------------------
@pytest.fixture
def audited(site):
    instance_id = start(site, CLERK, "dept_request", REQUEST)
    complete(site, CLERK, task(site, instance_id, "office_review").id, {"decision": "拟办", "opinion": "拟同意"})
    return site


def test_the_audit_page_shows_an_intact_chain_then_the_first_bad_event_in_red(audited):
    client, _ = logged_in(audited, AUDITOR)
    page = client.get("/audit").get_data(True)
    assert 'data-chain="ok"' in page and "事件链完整" in page and "2026年11月23日 09:00" in page
    assert f"链尾第 {len(events(audited))} 条" in page and 'href="/audit">审计</a>' in page
    target = events(audited, type_="task_completed")[0]
    run_sql(audited, "UPDATE event SET payload = '{}' WHERE seq = :s", s=target.seq)
    page = client.get("/audit").get_data(True)
    assert f'class="blocked" role="alert" data-first-bad="{target.seq}"' in page
    assert "task_completed" in page and f"第 {target.seq} 条事件（task_completed）内容被改动" in page
    assert client.get("/audit/anchor.json").status_code == 409          # no anchor over a broken chain


def test_the_audit_page_checks_one_instance_and_offers_an_anchor(audited):
    client, _ = logged_in(audited, AUDITOR)
    instance_id = instance_of(audited)
    page = client.get(f"/audit?instance_id={instance_id}").get_data(True)
    assert 'data-instance-chain="ok"' in page and "关于修缮办公楼的请示" in page
    assert "不存在" in client.get("/audit?instance_id=999").get_data(True)
    assert client.get("/audit?instance_id=abc").status_code == 400
    download = client.get("/audit/anchor.json")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    taken = download.get_json()
    assert taken["digest"] == eventlog.anchor_digest(taken) and against(audited, taken).ok


def test_only_auditors_and_administrators_see_the_audit_page(audited):
    for person, status in ((CLERK, 403), (ADMIN, 200), (AUDITOR, 200)):
        client, _ = logged_in(audited, person)
        assert client.get("/audit").status_code == status, person
        assert client.get("/audit/anchor.json").status_code == status, person
    page = logged_in(audited, CLERK)[0].get("/inbox").get_data(True)
    assert 'href="/audit"' not in page


# -- every auditor's reading is logged; an auditor changes nothing -------------------------------------------------
def viewed(system) -> list[dict]:
    """The auditors' readings; none is part of an instance's own chain."""
    found = events(system, type_=readings.VIEW)
    assert all(e.instance_id is None for e in found)
    return [{"actor": e.actor, **json.loads(e.payload)} for e in found]


def test_each_auditor_view_is_an_event_of_the_chain(audited):
    instance_id = instance_of(audited)
    api, (client, _) = Api(create_app(system=audited)), logged_in(audited, AUDITOR)
    instance_events = len(events(audited, instance_id))
    for path in (f"/instances/{instance_id}", f"/instances/{instance_id}/events", "/audit/verify",
                 f"/audit/verify?instance_id={instance_id}", "/audit/anchor"):
        assert api.get(path, AUDITOR).status_code == 200, path
    assert client.get(f"/instances/{instance_id}").status_code == 200
    assert client.get("/audit").status_code == 200
    assert viewed(audited) == [
        {"actor": AUDITOR, "what": "instance", "instance_id": instance_id},
        {"actor": AUDITOR, "what": "instance_events", "instance_id": instance_id},
        {"actor": AUDITOR, "what": "chain_verification"},
        {"actor": AUDITOR, "what": "chain_verification", "instance_id": instance_id},
        {"actor": AUDITOR, "what": "anchor"},
        {"actor": AUDITOR, "what": "instance_page", "instance_id": instance_id},
        {"actor": AUDITOR, "what": "audit_page"}]
    assert len(events(audited, instance_id)) == instance_events      # the instance's own history is untouched
    assert verify(audited).ok


def test_other_peoples_views_are_not_logged(audited):
    instance_id = instance_of(audited)
    api = Api(create_app(system=audited))
    assert api.get(f"/instances/{instance_id}", CLERK).status_code == 200
    assert api.get("/audit/verify", ADMIN).status_code == 200
    assert viewed(audited) == []


def writes(instance_id: int, task_id: str) -> list[tuple[str, str, dict]]:
    """Every writing route of the API, with a body that would be accepted from someone allowed."""
    on_task = f"/tasks/{task_id}"
    return [
        ("POST", "/instances/%d/circulate" % instance_id, {"to": [CLERK]}),
        ("POST", "/processes", None),
        ("PUT", "/calendar/days/2026-11-24", {"workday": False, "note": "测试"}),
        ("PUT", "/calendar/years/2027", {"holidays": ["2027-01-01"], "workdays": [], "source": "测试"}),
        ("PUT", "/clock", {"now": "2026-11-24T09:00:00+08:00"}),
        ("POST", "/clock/advance", {"days": 1}),
        ("POST", "/meetings", {"at": "2026-11-26T09:00:00+08:00"}),
        ("POST", "/emergency-decisions", {"matter": "防汛临机处置"}),
        ("POST", f"{on_task}/complete", {"data": {"decision": "同意", "opinion": "同意"}}),
        ("POST", f"{on_task}/claim", {}),
        ("POST", f"{on_task}/unclaim", {}),
        ("POST", f"{on_task}/transfer", {"to": CLERK}),
        ("POST", f"{on_task}/delegate", {"to": CLERK}),
        ("POST", f"{on_task}/resolve", {}),
        ("POST", f"{on_task}/return", {"to": "office_review", "reason": "退回"}),
        ("POST", f"{on_task}/withdraw", {}),
        ("POST", f"{on_task}/addsign", {"to": CLERK}),
        ("POST", f"{on_task}/read", {}),
    ]


# Writes open to staff: xuxiaoling is also staff of 目标绩效管理办公室 (督查 duty), and is refused them
# as an auditor, in one place (api/__init__.py, authenticate).
STAFF_WRITES = [
    ("POST", "/instances", {"process_id": "dept_request", "data": REQUEST}),
    ("POST", "/tasks/{task}/comments", {"text": "审计意见"}),
    ("POST", "/tasks/{task}/press", {"note": "请尽快办理"}),
    ("POST", "/leave", {"person": AUDITOR, "starts_at": "2026-11-24T09:00:00+08:00",
                        "ends_at": "2026-11-25T18:00:00+08:00"}),
]


def stored(system) -> tuple:
    changes = [e.seq for e in events(system) if e.type not in (readings.VIEW, "write_refused")]    # issue 18.7
    return changes, count(system, Task), count(system, Leave)


def test_the_auditor_is_refused_every_write_and_nothing_but_views_is_stored(audited):
    instance_id = instance_of(audited)
    task_id = open_tasks(audited, instance_id)[0].id
    api, before = Api(create_app(system=audited)), stored(audited)
    for method, path, payload in writes(instance_id, task_id):
        kwargs = {"json": payload} if payload is not None else {"data": DIAGRAM.read_bytes(),
                                                                "headers": {"Content-Type": "application/xml"}}
        response = api.call(method, path, AUDITOR, **kwargs)
        assert 400 <= response.status_code < 500, (method, path, response.get_json())
    assert stored(audited) == before
    assert verify(audited).ok


@pytest.mark.parametrize("method, path, payload", STAFF_WRITES, ids=[p for _, p, _ in STAFF_WRITES])
def test_the_auditor_is_refused_the_writes_open_to_staff(audited, method, path, payload):
    instance_id = instance_of(audited)
    task_id = open_tasks(audited, instance_id)[0].id
    api, before = Api(create_app(system=audited)), stored(audited)
    response = api.call(method, path.replace("{task}", task_id), AUDITOR, json=payload)
    assert response.status_code == 403 and stored(audited) == before
