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

import procedures
from conftest import Api
from govflow.app import create_app
from govflow.audit import replay
from govflow.audit.replay_steps import DERIVED
from govflow.cli import main
from govflow.store.models import Event, Instance, Meeting
from govflow.work import admin, convening, instances, rewind, tasks, worker
from helpers import actor, complete, events, holder, instance, open_tasks, start, task, workflow
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


# -- the other procedures: 督办 items, and topics through the 常务会议 to signed minutes -------------------------
@pytest.fixture
def bazhou_procedures(sqlite_url):
    system = procedures.system_for(sqlite_url, "bazhou")
    yield system
    system.store.dispose()


def followup_report(system, people: procedures.People, lead: str, instance_id: int, **data) -> None:
    for row in [t for t in open_tasks(system, instance_id) if t.step_id == "contribute"]:
        complete(system, holder(system, row), row.id, {"progress": "已配合完成本单位部分"})
    complete(system, people.staff(lead), task(system, instance_id, "progress_report").id,
             {"progress": "已完成摸排", "action": "继续办理", **data})


def verify(system, instance_id: int, data: dict) -> None:
    row = task(system, instance_id, "verify")
    complete(system, holder(system, row), row.id, data)


def close(system, people: procedures.People, lead: str, instance_id: int) -> None:
    followup_report(system, people, lead, instance_id, action="申请销号", evidence="整治点位照片 12 张")
    verify(system, instance_id, {"result": "通过", "opinion": "经实地复核，已整治到位"})


def all_reproduced(system, process_ids: set[str]) -> list[replay.Result]:
    with system.store.read() as session:
        found = [replay.reexecute(system, session, i) for i in session.scalars(
            select(Instance).where(Instance.process_id.in_(process_ids)).order_by(Instance.id))]
    return found


def test_a_hundred_followup_items_are_reproduced_without_a_difference(bazhou_procedures):
    """Reports on time and late (pressed by the worker), 退回整改 at 核查, an extension, 销号."""
    system, people = bazhou_procedures, procedures.People("bazhou")
    lead, _ = procedures.lead_and_other(people.org)
    began = time.perf_counter()
    late = [procedures.by_hand(system, people, lead, ["czj"], "2028-06-30", report_every_wd=5) for _ in range(25)]
    others = [procedures.by_hand(system, people, lead, ["czj"] if n % 2 else [], "2028-06-30") for n in range(75)]
    for n, instance_id in enumerate(others):
        followup_report(system, people, lead, instance_id)
        if n % 3 == 0:
            followup_report(system, people, lead, instance_id, action="申请销号", evidence="初步整治")
            verify(system, instance_id, {"result": "退回整改", "opinion": "东门片区仍有占道"})
        elif n % 3 == 1:
            followup_report(system, people, lead, instance_id, action="申请延期", new_due_on="2028-09-30",
                            reason="冬季停工")
            extension = task(system, instance_id, "extension")
            complete(system, extension.assignee, extension.id, {"decision": "同意", "opinion": "同意延期"})
        close(system, people, lead, instance_id)
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(days=9), "test")
    worker.run_once(system)                                         # every late report pressed
    for instance_id in late:
        followup_report(system, people, lead, instance_id)          # reported late
        close(system, people, lead, instance_id)
    made = time.perf_counter() - began
    began = time.perf_counter()
    results = all_reproduced(system, {"decision_followup"})
    print(f"\n100 followup items: built in {made:.1f}s, re-executed in {time.perf_counter() - began:.1f}s")
    assert len(results) == 100 and all(r.events for r in results)
    assert sum(len(events(system, i, "task_pressed")) for i in late) >= len(late)
    assert {instance(system, r.instance_id).status for r in results} == {"completed"}
    assert [r.to_dict() for r in results if not r.ok] == []


def meeting_of(system, topics: list[int]) -> int:
    """The process of the meeting the topics were placed on (the next on the cadence, once one is held)."""
    placed = {procedures.schedule_of(system, t)["placed"]["id"] for t in topics}
    assert len(placed) == 1, placed
    with system.store.write() as session:
        meeting = session.get(Meeting, placed.pop())
        return meeting.instance_id or convening.convene(system, session, meeting, convening.SYSTEM).id


def test_a_hundred_topics_through_ten_meetings_and_their_items_are_reproduced_without_a_difference(
        bazhou_procedures):
    """Ten topics on each agenda; signed minutes start one 督办 item a topic, from the meeting's step."""
    system, people = bazhou_procedures, procedures.People("bazhou")
    org, (lead, other) = people.org, procedures.lead_and_other(people.org)
    began, topics, meetings = time.perf_counter(), [], []
    for week in range(10):
        if week == 0:
            procedures.convened(system, "2026-11-26T09:00:00+08:00")
        placed = [procedures.scheduled_topic(system, org, title=f"第{week + 1}批第{n + 1}个议题")
                  for n in range(10)]
        topics += placed
        meeting_instance = meeting_of(system, placed)
        meetings.append(meeting_instance)
        procedures.to_sign_in(system, org, meeting_instance)
        complete(system, people.clerk, task(system, meeting_instance, "sign_in").id,
                 {"present": people.members, "absent": []})
        for n, topic in enumerate(placed):
            complete(system, people.clerk, task(system, topic, "hearing").id,
                     {"outcome": "通过" if n % 2 else "原则通过", "conclusion": "同意",
                      "presenters_present": [people.dept_head(lead)],
                      "decisions": [{"task": f"落实第{week + 1}批第{n + 1}个议题", "lead_unit": lead,
                                     "assisting_units": [other] if n % 3 else [], "due_on": "2027-06-30"}]})
        complete(system, people.clerk, task(system, meeting_instance, "hold").id, {"closed": True})
        held = workflow(system, meeting_instance).last_task.data["held"]
        decisions = [{k: d[k] for k in ("agenda_item", "task", "lead_unit", "assisting_units", "due_on")}
                     for d in held["proposed_decisions"]]
        complete(system, people.clerk, task(system, meeting_instance, "draft_minutes").id,
                 {"summary": "会议审议了十个议题。", "decisions": decisions})
        complete(system, people.head, task(system, meeting_instance, "sign").id, {"decision": "签发"})
    made = time.perf_counter() - began
    with system.store.read() as session:
        followups = list(session.scalars(select(Instance.id).where(Instance.process_id == "decision_followup")))
    for instance_id in followups[::4]:                      # some items acknowledged and reported on
        complete(system, people.staff(lead), task(system, instance_id, "acknowledge").id,
                 {"responsible": "分管副局长张某", "plan": "分三步推进"})
        followup_report(system, people, lead, instance_id)
    began = time.perf_counter()
    results = all_reproduced(system, {"topic_submission", "standing_meeting", "decision_followup"})
    print(f"\n100 topics, 10 meetings, {len(followups)} items: built in {made:.1f}s, "
          f"re-executed in {time.perf_counter() - began:.1f}s")
    assert len(topics) == 100 and len(followups) == 100 and len(results) == 210
    assert {instance(system, i).status for i in topics + meetings} == {"completed"}
    assert [r.to_dict() for r in results if not r.ok] == []
