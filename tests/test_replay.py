"""Replay and re-execution: an instance's history, run again in memory through the version it ran
on, shows the state at every event and reproduces the stored state; an altered history is named."""
from __future__ import annotations

import json
import re
import time
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from conftest import Api
from govflow import admin, instances, replay, rewind, tasks, worker
from govflow.app import create_app
from govflow.cli import main
from govflow.models import Event, Instance
from govflow.replay_steps import DERIVED
from helpers import actor, complete, events, holder, open_tasks, start, task
from test_document_process import People, system_for

ANSWERS = {
    "receipt": {"received": True},
    "office_review": {"decision": "拟办", "opinion": "拟请有关领导会签后报区长签发"},
    "reply_timed": {"decision": "同意", "opinion": "无意见"},
    "leader_review": {"decision": "同意", "opinion": "同意"},
    "signing": {"decision": "同意", "opinion": "同意印发"},
    "publish": {"copies": 50, "distribution": "主送：各镇街、区级各部门"},
}


@pytest.fixture
def dongchang(sqlite_url):
    system = system_for(sqlite_url, "dongchang")
    yield system
    system.store.dispose()


def answer(system, people: People, instance_id: int, step: str, data: dict | None = None) -> None:
    row = task(system, instance_id, step)
    complete(system, holder(system, row), row.id, data or ANSWERS[step])


def finish(system, people: People, instance_id: int) -> None:
    """Answer every open task with its usual answer until the document is published."""
    while rows := open_tasks(system, instance_id):
        row = rows[0]
        revised = {**people.document(), "revise_action": "重新报送"}
        data = revised if row.step_id == "revise" else ANSWERS[row.step_id]
        complete(system, holder(system, row), row.id, data)


def full_document(system, people: People) -> int:
    """退文 and resubmission, a consultation, 会签 by two leaders, 签发 with a 发文字号, 印发."""
    instance_id = start(system, people.sender, "document_approval", people.document())
    answer(system, people, instance_id, "receipt")
    answer(system, people, instance_id, "office_review", {"decision": "退文", "opinion": "请修改后重新报送"})
    revised = {**people.document(), "revise_action": "重新报送", "response": "已改"}
    answer(system, people, instance_id, "revise", revised)
    finish(system, people, instance_id)
    return instance_id


def rewound_document(system, people: People) -> int:
    """撤回, 转办, 加签 and 退回 before it is published."""
    instance_id = start(system, people.sender, "document_approval", people.document(departments=[]))
    receipt = task(system, instance_id, "receipt")
    complete(system, people.clerk, receipt.id, ANSWERS["receipt"])
    with system.store.write() as session:
        rewind.withdraw(system, session, actor(system, people.clerk), receipt.id, "登记有误")
    answer(system, people, instance_id, "receipt")
    answer(system, people, instance_id, "office_review")
    signing = task(system, instance_id, "signing")
    with system.store.write() as session:
        rewind.send_back(system, session, actor(system, signing.assignee), signing.id, "office_review", "请补充")
    review = task(system, instance_id, "office_review")
    with system.store.write() as session:
        tasks.transfer(system, session, actor(system, holder(system, review)), review.id, people.director, "请主任审")
    answer(system, people, instance_id, "office_review")
    signing = task(system, instance_id, "signing")
    with system.store.write() as session:
        added = tasks.add_signer(system, session, actor(system, signing.assignee), signing.id, people.director)
    complete(system, people.director, added.id, {"decision": "同意", "opinion": "文字已核"})
    finish(system, people, instance_id)
    return instance_id


def silent_consultation(system, people: People) -> int:
    """The consulted department stays silent past the window: a timer decides."""
    instance_id = start(system, people.sender, "document_approval", people.document())
    answer(system, people, instance_id, "receipt")
    answer(system, people, instance_id, "office_review")
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(days=12), "test")
    assert worker.run_once(system) >= 1
    finish(system, people, instance_id)
    return instance_id


def reexecute(system, instance_id: int) -> replay.Result:
    with system.store.read() as session:
        return replay.reexecute(system, session, session.get(Instance, instance_id))


def state_at(system, instance_id: int, seq: int) -> dict:
    with system.store.read() as session:
        return replay.state_at(system, session, session.get(Instance, instance_id), seq)


def recorded_open(history: list[Event], seq: int) -> dict[str, str]:
    """What the events up to ``seq`` say is open: created, not completed, cancelled or returned."""
    found: dict[str, str] = {}
    for event in history:
        if event.seq > seq:
            break
        if event.type == "task_created":
            found[event.task_id] = json.loads(event.payload)["step"]
        elif event.type in ("task_completed", "task_cancelled", "task_returned"):
            found.pop(event.task_id, None)
    return found


def step_ends(history: list[Event]) -> list[int]:
    """The events after which a step is over: the next one is not the engine's work of the same step."""
    derived = DERIVED
    return [e.seq for e, after in zip(history, [*history[1:], None], strict=True)
            if after is None or after.type not in derived or (after.type == "timer_fired" and e.type in derived
                                                               and e.type != "timer_fired")]


def test_replay_at_every_event_of_a_document_shows_the_tasks_then_open_and_ends_at_the_snapshot(dongchang):
    people = People("dongchang")
    instance_id = full_document(dongchang, people)
    history = events(dongchang, instance_id)
    assert len(history) >= 30 and history[-1].type == "instance_ended"
    for seq in step_ends(history):
        state = state_at(dongchang, instance_id, seq)
        shown = {t["task_id"]: t["step"] for t in state["open_tasks"]}
        assert shown == recorded_open(history, seq), f"at event {seq}"
        assert not state["differences"]
    final = state_at(dongchang, instance_id, history[-1].seq)
    with dongchang.store.read() as session:
        stored = instances.current_data(instances.load(dongchang, session, session.get(Instance, instance_id)))
    assert final["data"] == json.loads(json.dumps(stored, ensure_ascii=False))
    assert final["data"]["registration"]["number"].startswith("东昌府发")
    assert "issued" in final["progress"]["done"]


def test_replay_shows_holders_and_the_rule_checks_so_far(dongchang):
    people = People("dongchang")
    instance_id = rewound_document(dongchang, people)
    history = events(dongchang, instance_id)
    transferred = next(e for e in history if e.type == "task_transferred")
    state = state_at(dongchang, instance_id, transferred.seq)
    assert [t["holder"]["assignee"] for t in state["open_tasks"]] == [people.director]
    assert state["rule_checks"] and all(c["seq"] <= transferred.seq for c in state["rule_checks"])
    assert "office_review" in state["progress"]["current"]
    assert reexecute(dongchang, instance_id).differences == []


def test_a_hundred_documents_are_reproduced_without_a_difference(dongchang):
    people, built = People("dongchang"), []
    began = time.perf_counter()
    for n in range(100):
        built.append((full_document, rewound_document, silent_consultation)[n % 3](dongchang, people))
    made = time.perf_counter() - began
    began = time.perf_counter()
    with dongchang.store.read() as session:
        results = replay.reexecute_all(dongchang, session)
    checked = time.perf_counter() - began
    print(f"\n100 documents: built in {made:.1f}s, re-executed in {checked:.1f}s")
    assert len(results) == 100
    assert [r.to_dict() for r in results if not r.ok] == []


def test_an_edited_submission_is_named_at_its_event(dongchang):
    people = People("dongchang")
    instance_id = full_document(dongchang, people)
    signed = next(e for e in events(dongchang, instance_id, "task_completed")
                  if json.loads(e.payload)["step"] == "signing")
    payload = json.loads(signed.payload)
    payload["data"]["opinion"] = "同意（改）"
    with dongchang.store.write() as session:
        session.execute(text("UPDATE event SET payload = :p WHERE seq = :s"),
                        {"p": json.dumps(payload, ensure_ascii=False), "s": signed.seq})
    found = reexecute(dongchang, instance_id).differences
    assert found and signed.seq in {d.seq for d in found}, found


def test_an_edited_number_is_named_at_its_operator_call(dongchang):
    people = People("dongchang")
    instance_id = full_document(dongchang, people)
    numbered = next(e for e in events(dongchang, instance_id, "service_task")
                    if "东昌府发" in e.payload)
    edited = numbered.payload.replace("〔2026〕1号", "〔2026〕9号")
    with dongchang.store.write() as session:
        session.execute(text("UPDATE event SET payload = :p WHERE seq = :s"), {"p": edited, "s": numbered.seq})
    found = reexecute(dongchang, instance_id).differences
    assert any(d.seq == numbered.seq and "9号" in d.what for d in found), found


def test_a_deleted_operator_call_is_named(dongchang):
    people = People("dongchang")
    instance_id = full_document(dongchang, people)
    call = events(dongchang, instance_id, "service_task")[0]
    with dongchang.store.write() as session:
        session.execute(text("UPDATE event SET type = 'comment' WHERE seq = :s"), {"s": call.seq})
    found = reexecute(dongchang, instance_id).differences
    assert found and "服务操作" in found[0].what


def test_auditors_replay_and_reexecute_through_the_api_the_cli_and_the_page(dongchang):
    people, api = People("dongchang"), Api(create_app(system=dongchang))
    instance_id = full_document(dongchang, people)
    auditor = next(p.id for p in people.org.people.values() if "auditor" in p.roles)
    seq = events(dongchang, instance_id, "task_created")[2].seq
    shown = api.get(f"/instances/{instance_id}/replay?seq={seq}", auditor)
    assert shown.status_code == 200 and shown.get_json()["seq"] == seq and shown.get_json()["open_tasks"]
    checked = api.get(f"/audit/reexecute?instance_id={instance_id}", auditor).get_json()
    assert checked["ok"] and checked["results"][0]["events"] == len(events(dongchang, instance_id))
    assert api.get(f"/instances/{instance_id}/replay", people.clerk).status_code == 403
    assert api.get(f"/audit/reexecute?instance_id={instance_id}", people.clerk).status_code == 403
    with dongchang.store.read() as session:
        viewed = session.scalars(select(Event).where(Event.type == "audit_viewed")).all()
    assert any(json.loads(e.payload).get("instance_id") == instance_id for e in viewed)

    page = api.client.get(f"/instances/{instance_id}/replay?seq={seq}")
    assert page.status_code in (302, 401, 403)                               # not signed in
    ui = create_app(system=dongchang).test_client()
    login(ui, auditor)
    page = ui.get(f"/instances/{instance_id}/replay?seq={seq}")
    assert page.status_code == 200 and "上一步" in page.get_data(as_text=True)
    login(ui, people.clerk)
    assert ui.get(f"/instances/{instance_id}/replay?seq={seq}").status_code == 403

    url = str(dongchang.store.engine.url)
    result = CliRunner().invoke(main, ["--database-url", url, "audit", "reexecute", "--instance", str(instance_id)])
    assert result.exit_code == 0 and "无差异" in result.output, result.output
    with dongchang.store.write() as session:
        session.execute(text("UPDATE event SET payload = replace(payload, '同意印发', '不同意') "
                             "WHERE instance_id = :i"), {"i": instance_id})
    result = CliRunner().invoke(main, ["--database-url", url, "audit", "reexecute"])
    assert result.exit_code == 1 and f"实例 {instance_id}" in result.output, result.output


def login(client, person: str) -> None:
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"csrf": csrf, "username": person, "password": "demo"}).status_code == 302
