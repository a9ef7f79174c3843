"""processes/topic_submission.bpmn and processes/standing_meeting.bpmn driven with the people of the
example organisations: two topics from drafting through 征求意见, legality and fair-competition
review, approval and scheduling, to a meeting with an absent member and a recusal, and signed
minutes whose decisions become items for 督办; late topics, frozen materials, quorum."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from conftest import Api, load_org
from govflow.app import create_app
from govflow.errors import RuleBlocked, ValidationFailed
from govflow.records.meetings import Meetings
from govflow.store.models import AgendaItem, DecisionItem, EmergencyDecision, Instance, Meeting
from govflow.time.timeutil import SHANGHAI, isoformat, parse_moment
from govflow.work import admin, rewind, worker
from helpers import actor, complete, count, events, holder, instance, open_tasks, start, task, workflow
from procedures import (
    People,
    act,
    advance,
    approve,
    arrange,
    completed_steps,
    convened,
    lead_and_other,
    schedule_of,
    scheduled_topic,
    simple_topic,
    to_sign_in,
)

PARKING = {"title": "关于印发《巴州区城区停车管理办法》的议题", "department": "zjj",
           "request": "提请区政府常务会议审议《巴州区城区停车管理办法（送审稿）》。",
           "categories": ["行政规范性文件", "涉及市场主体"], "departments": ["czj", "sthjj"], "materials": ["依据文件"]}
SCHOOLS = {"title": "关于2027年城区学校建设资金安排的议题", "department": "jyj",
           "request": "提请安排城区学校建设资金 1200 万元。", "categories": ["重大投资资金"], "departments": [],
           "materials": ["依据文件"]}


def test_two_topics_from_drafting_to_signed_minutes_through_the_api(bazhou):
    people, api = People("bazhou"), Api(create_app(system=bazhou))
    arranged = api.post("/meetings", people.clerk, json={"at": "2026-12-03T09:00:00+08:00"})
    assert arranged.status_code == 201, arranged.get_json()
    meeting = arranged.get_json()
    assert meeting["title"] == "巴中市巴州区人民政府常务会议（2026年12月3日）" and meeting["instance_id"]

    started = {}
    for key, topic in (("parking", PARKING), ("schools", SCHOOLS)):
        response = api.post("/instances", people.staff(topic["department"]),
                            json={"process_id": "topic_submission", "data": topic})
        assert response.status_code == 201, response.get_json()
        started[key] = response.get_json()["id"]
    parking, schools = started["parking"], started["schools"]

    # 征求意见: 财政局 answers, 生态环境局 stays silent past the 3 工作日 window (巴州 第四十九条)
    reply = act(api, people.dept_head("czj"), "reply_timed", {"decision": "同意", "opinion": "资金渠道可行"},
                parking)                                               # 巴州 规则十六: the head or the deputy signs
    assert reply["due_at"] == "2026-11-26T17:30:00+08:00"
    advance(bazhou, api, days=4)
    consultation = api.get(f"/instances/{parking}", people.staff("zjj")).get_json()["data"]["consultation"]
    assert consultation["silent"] == ["sthjj"] and "第四十九条" in consultation["silence_rule"]

    # 合法性审查 (司法局) and 公平竞争审查 (市场监管局) are in those departments' inboxes
    act(api, people.duty("合法性审查"), "legal", {"conclusion": "合法", "opinion": "符合上位法"}, parking)
    fair = {"conclusion": "符合公平竞争审查标准", "opinion": "无排除、限制竞争内容"}
    act(api, people.duty("公平竞争审查"), "market", fair, parking)

    # 巴州 规则十三: 办公室主任审核 → 常务副区长核报 → 区长审定
    for topic, department in ((parking, "zjj"), (schools, "jyj")):
        for approver in (people.director, people.executive, people.head):
            act(api, approver, "review", {"decision": "同意", "opinion": "同意"}, topic)
        placed = api.get(f"/instances/{topic}", people.staff(department)).get_json()["data"]["schedule"]
        assert placed["placed"]["id"] == meeting["id"] and not placed["late"]
        assert placed["materials_due"] == "2026-12-02T17:30:00+08:00"      # 巴州 规则十三: 会前 1 工作日
        act(api, people.staff(department), "prep", {"materials_changed": False}, topic)

    # the meeting: agenda approved, one member on leave, quorum reached
    act(api, people.clerk, "draft_agenda", {"confirmed": True}, meeting["instance_id"])
    act(api, people.head, "approve_agenda", {"decision": "同意"}, meeting["instance_id"])
    advance(bazhou, api, days=6)                                          # 2026-12-03 09:00, the meeting
    absent = people.members[3]
    present = [m for m in people.members if m != absent]
    act(api, people.clerk, "sign_in", {"present": present, "absent": [{"person": absent, "reason": "赴省参加会议"}]},
        meeting["instance_id"])

    recused = people.members[2]
    act(api, people.clerk, "hearing", {
        "outcome": "通过", "conclusion": "原则同意，由区住建局按会议意见修改后印发。",
        "presenters_present": [people.dept_head("zjj")],
        "recused": [{"person": recused, "reason": "近亲属在拟承接停车经营的企业任职"}],
        "decisions": [{"task": "修改完善停车管理办法并印发", "lead_unit": "zjj", "assisting_units": ["czj"],
                       "due_on": "2026-12-31"}]}, parking)
    act(api, people.clerk, "hearing", {
        "outcome": "原则通过", "conclusion": "原则同意，资金分两年安排。",
        "presenters_present": [people.dept_head("jyj")],
        "decisions": [{"task": "编制学校建设资金分年度安排方案", "lead_unit": "jyj", "assisting_units": ["czj", "fgj"],
                       "due_on": "2027-01-15", "involves": ["资金"]}]}, schools)
    act(api, people.clerk, "hold", {"closed": True}, meeting["instance_id"])
    proposed = api.get(f"/instances/{meeting['instance_id']}", people.clerk).get_json()["data"]["held"]
    decisions = [{k: d[k] for k in ("agenda_item", "task", "lead_unit", "assisting_units", "due_on")}
                 for d in proposed["proposed_decisions"]]
    minutes = act(api, people.clerk, "draft_minutes", {"summary": "会议审议了两个议题。", "decisions": decisions},
                  meeting["instance_id"])
    assert minutes["due_at"] == "2026-12-07T17:30:00+08:00"          # 巴州 规则二十: 会后 2 工作日
    act(api, people.head, "sign", {"decision": "签发"}, meeting["instance_id"])

    shown = api.get(f"/meetings/{meeting['id']}", people.clerk).get_json()
    assert shown["status"] == "signed" and (shown["present"], shown["members"]) == (6, 7)
    assert shown["title"] == "巴中市巴州区人民政府2026年第1次常务会议"                # numbered when held
    assert [a for a in shown["attendance"] if not a["present"]] == [
        {"person": absent, "name": people.org.person(absent).name, "present": False, "leave_reason": "赴省参加会议"}]
    by_title = {i["title"]: i for i in shown["agenda"]}
    assert by_title[PARKING["title"]]["outcome"] == "通过"
    assert [r["person"] for r in by_title[PARKING["title"]]["recused"]] == [recused]
    assert by_title[SCHOOLS["title"]]["recused"] == [] and by_title[SCHOOLS["title"]]["outcome"] == "原则通过"
    assert [(d["task"], d["lead_unit"], d["assisting_units"], d["due_on"]) for d in shown["decisions"]] == [
        ("修改完善停车管理办法并印发", "zjj", ["czj"], "2026-12-31"),
        ("编制学校建设资金分年度安排方案", "jyj", ["czj", "fgj"], "2027-01-15")]
    for topic in (parking, schools):
        assert api.get(f"/instances/{topic}", people.head).get_json()["status"] == "completed"


# -- one topic at a time, in any jurisdiction -----------------------------------------------------------------
@pytest.mark.parametrize("profile, window_ends, article", [
    ("bazhou", "2026-11-26T17:30:00+08:00", "巴州区人民政府工作规则 第四十九条"),
    ("dongchang", "2026-12-02T17:30:00+08:00", "通化市东昌区人民政府工作规则 第二十七条")])
def test_a_consultation_unanswered_past_the_window_is_recorded_as_no_objection(make, profile, window_ends,
                                                                              article):
    system = make(profile)
    org = load_org(profile)
    lead, other = lead_and_other(org)
    instance_id = start(system, org.with_post("dept_staff", lead)[0].id, "topic_submission",
                        simple_topic(org, departments=[other]))
    reply = task(system, instance_id, "reply_timed")
    assert isoformat(reply.due_at) == window_ends
    with system.store.write() as session:
        admin.set_clock(system, session, parse_moment(window_ends) - timedelta(minutes=1), True, "test")
    assert worker.run_once(system) == 0                                        # not yet
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(minutes=2), "test")
    assert worker.run_once(system) == 1
    data = workflow(system, instance_id).last_task.data
    assert data["opinions"] == [{"decision": "无不同意见", "department": other, "opinion": "逾期未答复，视为无不同意见",
                                 "silent": True}]
    assert data["consultation"]["silent"] == [other] and data["consultation"]["silence_rule"] == article
    assert len(events(system, instance_id, "timer_fired")) == 1


@pytest.mark.parametrize("profile, head_admits", [("bazhou", False), ("bazhou", True), ("dazu", None)])
def test_a_topic_one_workday_late_is_moved_unless_the_head_admits_it(make, profile, head_admits):
    """Meeting on 周二 11-24, topic approved 周一 11-23: 1 工作日 short of 巴州's 2 (规则十三);
    大足 sets no deadline."""
    system = make(profile)
    org = load_org(profile)
    nearest = arrange(system, "2026-11-24T09:00:00+08:00")
    topic = simple_topic(org)
    instance_id = start(system, org.with_post("dept_staff", topic["department"])[0].id, "topic_submission", topic)
    approve(system, instance_id)
    if head_admits is None:
        assert schedule_of(system, instance_id)["placed"]["id"] == nearest
        assert [t.step_id for t in open_tasks(system, instance_id)] == ["prep"]
        return
    asked = schedule_of(system, instance_id)
    assert asked["placed"] is None and asked["late_for"]["id"] == nearest
    assert asked["article"] == "巴州常务会议规则 第十三条"
    late = task(system, instance_id, "late")
    assert late.assignee == org.head().id
    complete(system, org.head().id, late.id, {"approved": head_admits, "reason": "事关汛期安全，须本次会议研究"})
    placed = schedule_of(system, instance_id)
    with system.store.read() as session:
        items = {i.meeting_id: i for i in session.scalars(select(AgendaItem))}
        meetings = {m.id: m for m in session.scalars(select(Meeting))}
    if head_admits:
        assert placed["placed"]["id"] == nearest and placed["late"]
        assert items[nearest].late_exception == "区长同意超期上会：事关汛期安全，须本次会议研究"
    else:
        moved_to = meetings[placed["placed"]["id"]]
        assert placed["moved_from"]["id"] == nearest and nearest not in items
        assert isoformat(moved_to.scheduled_at) == "2026-12-04T09:00:00+08:00"     # 每10天 (规则六)
        assert moved_to.title == "巴中市巴州区人民政府常务会议（2026年12月4日）"
    assert [t.step_id for t in open_tasks(system, instance_id)] == ["prep"]


def test_a_meeting_without_a_quorum_is_not_held_and_its_topics_move_to_the_next(make):
    system = make("bazhou")
    org = load_org("bazhou")
    meeting_id, meeting_instance = convened(system, "2026-11-26T09:00:00+08:00")
    instance_id = scheduled_topic(system, org)
    to_sign_in(system, org, meeting_instance)
    members = list(org.meeting_members)
    clerk = org.with_post("office_clerk", org.office_id)[0].id
    complete(system, clerk, task(system, meeting_instance, "sign_in").id,
             {"present": members[:3], "absent": [{"person": p, "reason": "外出公务"} for p in members[3:]]})
    data = workflow(system, meeting_instance).last_task.data
    assert not data["opening"]["opened"] and (data["opening"]["present"], data["opening"]["members"]) == (3, 7)
    assert data["opening"]["reason"]["rule"] == "T8" and "第四十一条" in data["opening"]["reason"]["article"]
    assert instance(system, meeting_instance).status == "completed" and data["adjourned"]["moved"] == [
        simple_topic(org)["title"]]
    with system.store.read() as session:
        assert session.get(Meeting, meeting_id).status == "adjourned"
        item = Meetings(session).item_for(instance_id)
        next_meeting = session.get(Meeting, item.meeting_id)
    assert next_meeting.id != meeting_id and next_meeting.status == "planned"
    assert task(system, instance_id, "hearing").due_at == next_meeting.scheduled_at      # not pressed for 11-26
    with pytest.raises(RuleBlocked) as blocked:                     # the next meeting has not opened yet
        complete(system, clerk, task(system, instance_id, "hearing").id,
                 {"outcome": "通过", "conclusion": "同意", "presenters_present": []})
    assert blocked.value.violations[0].rule == "T8"


@pytest.mark.parametrize("profile, asks_head", [("bazhou", True), ("dazu", False)])
def test_approved_materials_change_only_with_the_heads_consent_in_bazhou(make, profile, asks_head):
    system = make(profile)
    org = load_org(profile)
    arrange(system, "2026-12-03T09:00:00+08:00")
    topic = simple_topic(org)
    staff = org.with_post("dept_staff", topic["department"])[0].id
    instance_id = start(system, staff, "topic_submission", topic)
    approve(system, instance_id)
    change = {"materials_changed": True, "changes": "资金由 1200 万元调整为 1000 万元"}
    complete(system, staff, task(system, instance_id, "prep").id, change)
    if asks_head:
        consent = task(system, instance_id, "change_consent")
        assert consent.assignee == org.head().id
        complete(system, org.head().id, consent.id, {"decision": "不同意", "opinion": "按审定稿上会"})
    amendment = workflow(system, instance_id).last_task.data["amendment"]
    assert amendment["applied"] is not asks_head
    if asks_head:
        assert amendment["article"] == "巴州常务会议规则 第十八条"
        assert amendment["consent"] == "区长不同意修改：按审定稿上会"
    assert [t.step_id for t in open_tasks(system, instance_id)] == ["hearing"]


def test_a_normative_document_found_unlawful_goes_back_and_its_resubmission_is_reviewed_afresh(make):
    system = make("bazhou")
    org = load_org("bazhou")
    topic = simple_topic(org, categories=["行政规范性文件"])
    staff = org.with_post("dept_staff", topic["department"])[0].id
    instance_id = start(system, staff, "topic_submission", topic)
    legal = task(system, instance_id, "legal")
    assert org.person(legal.assignee).department == org.with_duty("合法性审查")[0].id
    complete(system, legal.assignee, legal.id, {"conclusion": "不合法", "opinion": "设定了行政许可，超出权限"})
    gate = workflow(system, instance_id).last_task.data["gate"]
    assert not gate["passed"] and [(f["rule"], f["message"]) for f in gate["findings"]] == [
        ("T4", "合法性审查意见未通过审查（巴州常务会议规则 第十七条：要件不全的不上会）")]
    assert "第二十二条" in gate["findings"][0]["article"]
    revise = task(system, instance_id, "revise")
    with pytest.raises(ValidationFailed):           # the department cannot declare the review itself
        complete(system, staff, revise.id, {**topic, "materials": ["依据文件", "合法性审查意见"],
                                            "revise_action": "重新申报"})
    complete(system, staff, revise.id, {**topic, "request": "删去行政许可条款后重新提请审议。",
                                        "revise_action": "重新申报", "response": "已删去许可条款"})
    legal = task(system, instance_id, "legal")                                 # reviewed again
    complete(system, legal.assignee, legal.id, {"conclusion": "合法", "opinion": "修改后符合上位法"})
    assert workflow(system, instance_id).last_task.data["gate"]["passed"]
    assert [t.step_id for t in open_tasks(system, instance_id)] == ["review"]


def test_a_topic_withdrawn_at_revision_ends_there(make):
    system = make("bazhou")
    org = load_org("bazhou")
    topic = simple_topic(org, materials=[])                                    # 依据文件 missing
    staff = org.with_post("dept_staff", topic["department"])[0].id
    instance_id = start(system, staff, "topic_submission", topic)
    complete(system, staff, task(system, instance_id, "revise").id, {**topic, "revise_action": "撤回申报"})
    assert instance(system, instance_id).status == "completed"
    assert "withdrawn" in completed_steps(system, instance_id)


def test_in_bazhou_a_disagreement_on_key_content_is_refused_and_the_topic_can_be_withdrawn(make):
    system = make("bazhou")
    org = load_org("bazhou")
    lead, other = lead_and_other(org)
    staff = org.with_post("dept_staff", lead)[0].id
    instance_id = start(system, staff, "topic_submission", simple_topic(org, departments=[other]))
    reply = task(system, instance_id, "reply_timed")
    complete(system, holder(system, reply), reply.id, {"decision": "不同意", "opinion": "资金来源不明确"})
    coordinate = task(system, instance_id, "coordinate")
    with pytest.raises(RuleBlocked) as blocked:
        complete(system, staff, coordinate.id, {"action": "提请审议", "key_content": True, "statement": "已协调"})
    assert blocked.value.violations[0].article == "巴州常务会议规则 第十六条"
    complete(system, staff, coordinate.id, {"action": "撤回申报", "statement": "协调一致后重新申报"})
    assert instance(system, instance_id).status == "completed" and "dropped" in completed_steps(system, instance_id)


def test_meetings_planned_on_the_cadence_are_convened_by_the_worker_once(make):
    system = make("dazu")
    org = load_org("dazu")
    topic = simple_topic(org)
    instance_id = start(system, org.with_post("dept_staff", topic["department"])[0].id, "topic_submission", topic)
    approve(system, instance_id)                                            # scheduling plans the meetings
    with system.store.read() as session:
        planned = list(session.scalars(select(Meeting).order_by(Meeting.scheduled_at)))
    assert len(planned) >= 2 and all(m.instance_id is None for m in planned)
    days = [(b.scheduled_at - a.scheduled_at).days for a, b in zip(planned, planned[1:], strict=False)]
    assert set(days) == {7}                                                 # 大足 三十八: 每周 1 次
    worker.run_once(system)
    worker.run_once(system)
    with system.store.read() as session:
        convened_ids = [m.instance_id for m in session.scalars(select(Meeting).order_by(Meeting.scheduled_at))]
        processes = session.scalars(select(Instance).where(Instance.process_id == "standing_meeting")).all()
    assert None not in convened_ids and sorted(convened_ids) == sorted(p.id for p in processes)
    clerk = org.with_post("office_clerk", org.office_id)[0].id
    assert task(system, convened_ids[0], "draft_agenda").assignee in (None, clerk)


# -- the meetings API -------------------------------------------------------------------------------------------
def test_an_emergency_decision_is_registered_by_whom_the_rules_allow_and_reported_to_the_next_meeting(make):
    system = make("dazu")
    org, api = load_org("dazu"), Api(create_app(system=system))
    head, deputy = org.head().id, next(p.id for p in org.people.values() if p.post == "deputy")
    clerk = org.with_post("office_clerk", org.office_id)[0].id
    refused = api.post("/emergency-decisions", deputy, json={"matter": "调拨应急物资"})
    assert refused.status_code == 422 and refused.get_json()["details"][0]["rule"] == "T12"
    assert "第六条" in refused.get_json()["details"][0]["article"] and count(system, EmergencyDecision) == 0
    matter = "龙水湖片区山洪：紧急转移群众 300 人，调拨应急资金 50 万元"
    decided = api.post("/emergency-decisions", head, json={"matter": matter})
    assert decided.status_code == 201 and decided.get_json()["reported_on_agenda_item"] is None

    meeting = api.post("/meetings", clerk, json={"at": "2026-11-26T09:00:00+08:00"}).get_json()
    act(api, clerk, "draft_agenda", {"confirmed": True}, meeting["instance_id"])
    agenda = api.get(f"/meetings/{meeting['id']}", clerk).get_json()["agenda"]
    assert [(i["kind"], i["title"]) for i in agenda] == [("emergency_report", f"紧急处置事项报告：{matter}")]
    reported = api.get("/emergency-decisions", clerk).get_json()["items"][0]
    assert reported["reported_on_agenda_item"] == agenda[0]["id"] and reported["decided_by_name"] == "何长青"


def test_where_the_rules_set_no_emergency_powers_a_leader_registers_the_decision_and_it_is_not_reported(make):
    """chongqing: no 临机处置 article; a leader's decision is recorded, nothing is put on an agenda."""
    system = make("chongqing")
    org, api = load_org("chongqing"), Api(create_app(system=system))
    staff = next(p.id for p in org.with_post("dept_staff") if "auditor" not in p.roles)    # auditors only read
    refused = api.post("/emergency-decisions", staff, json={"matter": "抢险"})
    assert refused.status_code == 422 and refused.get_json()["details"][0]["article"] == "重庆市人民政府工作规则"
    assert api.post("/emergency-decisions", org.head().id, json={"matter": "  "}).status_code == 422
    assert count(system, EmergencyDecision) == 0
    assert api.post("/emergency-decisions", org.head().id, json={"matter": "抢险"}).status_code == 201
    clerk = org.with_post("office_clerk", org.office_id)[0].id
    meeting = api.post("/meetings", clerk, json={"at": "2026-11-26T09:00:00+08:00"}).get_json()
    act(api, clerk, "draft_agenda", {"confirmed": True}, meeting["instance_id"])
    assert api.get(f"/meetings/{meeting['id']}", clerk).get_json()["agenda"] == []


@pytest.mark.parametrize("who, body, status, field", [
    ("staff", {"at": "2026-12-03T09:00:00+08:00"}, 403, None),
    ("clerk", {"at": "2026-11-20T09:00:00+08:00"}, 422, "at"),
    ("clerk", {"at": "下周四上午"}, 422, "at"),
    ("clerk", {}, 422, "at"),
    ("clerk", {"at": "2026-12-03T09:00:00+08:00", "room": "3楼"}, 422, None)])
def test_a_meeting_arranged_wrongly_is_refused_and_leaves_nothing(bazhou, who, body, status, field):
    people, api = People("bazhou"), Api(create_app(system=bazhou))
    person = people.clerk if who == "clerk" else people.staff("zjj")
    changes = lambda: [e for e in events(bazhou) if e.type != "write_refused"]     # noqa: E731 (a 403 is recorded)
    before = (count(bazhou, Meeting), count(bazhou, Instance), len(changes()))
    response = api.post("/meetings", person, json=body)
    assert response.status_code == status and response.get_json()["message"]
    if field:
        assert any(field in d.get("field", "") for d in response.get_json()["details"])
    assert (count(bazhou, Meeting), count(bazhou, Instance), len(changes())) == before


def test_meetings_are_listed_and_an_unknown_one_is_a_clear_404(bazhou):
    people, api = People("bazhou"), Api(create_app(system=bazhou))
    api.post("/meetings", people.clerk, json={"at": "2026-12-03T09:00:00+08:00"})
    listed = api.get("/meetings?status=planned", people.staff("zjj")).get_json()["items"]
    assert [m["title"] for m in listed] == ["巴中市巴州区人民政府常务会议（2026年12月3日）"]
    missing = api.get("/meetings/999", people.clerk)
    assert missing.status_code == 404 and missing.get_json()["message"] == "会议 999 不存在"
    assert api.get("/meetings?status=whatever", people.clerk).status_code == 422


def test_a_topic_sent_back_after_scheduling_holds_one_place_and_the_meeting_still_closes(make):
    system = make("bazhou")
    org = load_org("bazhou")
    meeting_id, meeting_instance = convened(system, "2026-11-26T09:00:00+08:00")
    kept, sent_back = scheduled_topic(system, org), scheduled_topic(system, org, title="关于城区绿化提升的议题")
    hearing = task(system, sent_back, "hearing")
    with system.store.write() as session:                 # the office sends it back to the 区长, who approves again
        rewind.send_back(system, session, actor(system, holder(system, hearing)), hearing.id, "review",
                         "补充说明资金来源")
    approve(system, sent_back)
    with system.store.read() as session:
        places = session.scalars(select(AgendaItem).where(AgendaItem.topic_instance_id == sent_back)).all()
    assert sorted(p.status for p in places) == ["scheduled", "withdrawn"]
    with system.store.write() as session:                 # and 退回 again: it is at prep when the meeting ends
        prep = task(system, sent_back, "prep")
        rewind.send_back(system, session, actor(system, holder(system, prep)), prep.id, "review", "再次补充")
    to_sign_in(system, org, meeting_instance)
    clerk = org.with_post("office_clerk", org.office_id)[0].id
    complete(system, clerk, task(system, meeting_instance, "sign_in").id,
             {"present": list(org.meeting_members), "absent": []})
    reporter = org.with_post("dept_head", simple_topic(org)["department"])[0].id
    complete(system, clerk, task(system, kept, "hearing").id,
             {"outcome": "暂缓", "conclusion": "请进一步论证", "presenters_present": [reporter]})
    complete(system, clerk, task(system, meeting_instance, "hold").id, {"closed": True})
    with system.store.read() as session:
        assert session.get(Meeting, meeting_id).status == "held"
        moved = Meetings(session).item_for(sent_back)
        assert moved.meeting_id != meeting_id             # waits for the next meeting


def test_an_adjourned_meeting_passes_its_emergency_report_to_the_next(make):
    system = make("dazu")
    org = load_org("dazu")
    with system.store.write() as session:
        decision = Meetings(session).record_emergency("山洪：紧急转移群众", org.head().id, system.now(session)).id
    meeting_id, meeting_instance = convened(system, "2026-11-26T09:00:00+08:00")
    to_sign_in(system, org, meeting_instance)
    members = list(org.meeting_members)
    clerk = org.with_post("office_clerk", org.office_id)[0].id
    complete(system, clerk, task(system, meeting_instance, "sign_in").id,
             {"present": members[:2], "absent": [{"person": p, "reason": "防汛一线"} for p in members[2:]]})
    with system.store.read() as session:
        reported_on = session.get(AgendaItem, session.get(EmergencyDecision, decision).agenda_item_id)
    assert reported_on.meeting_id != meeting_id and reported_on.status == "scheduled"
    assert reported_on.kind == "emergency_report"


def test_dazu_minutes_on_funds_are_countersigned_and_amendments_go_back_to_the_office(make):
    """大足 四十四: decisions on funds are countersigned by the 分管领导 before the 区长 signs."""
    system = make("dazu")
    org = load_org("dazu")
    meeting_id, meeting_instance = convened(system, "2026-11-26T09:00:00+08:00")
    instance_id = scheduled_topic(system, org)
    lead = simple_topic(org)["department"]
    to_sign_in(system, org, meeting_instance)
    clerk = org.with_post("office_clerk", org.office_id)[0].id
    complete(system, clerk, task(system, meeting_instance, "sign_in").id,
             {"present": list(org.meeting_members), "absent": []})
    decision = {"task": "拨付资金", "lead_unit": lead, "due_on": "2026-12-31", "involves": ["资金"]}
    complete(system, clerk, task(system, instance_id, "hearing").id,
             {"outcome": "通过", "conclusion": "同意", "decisions": [decision]})
    complete(system, clerk, task(system, meeting_instance, "hold").id, {"closed": True})
    draft = task(system, meeting_instance, "draft_minutes")
    assert draft.due_at is None                                              # 大足 sets no drafting limit
    for bad, field in (({**decision, "agenda_item": 999}, "agenda_item"), ({**decision, "due_on": "2026-11-01"},
                                                                          "due_on")):
        with pytest.raises(ValidationFailed) as refused:
            complete(system, clerk, draft.id, {"decisions": [bad]})
        assert refused.value.details[0]["field"] == f"decisions[0].{field}"
    complete(system, clerk, draft.id, {"decisions": [decision]})
    countersign = task(system, meeting_instance, "countersign")
    assert countersign.assignee == org.portfolio_leader(lead).id
    complete(system, countersign.assignee, countersign.id, {"decision": "有修改意见", "opinion": "时限改为明年一月"})
    complete(system, clerk, task(system, meeting_instance, "draft_minutes").id,
             {"decisions": [{**decision, "due_on": "2027-01-31"}]})
    countersign = task(system, meeting_instance, "countersign")
    complete(system, countersign.assignee, countersign.id, {"decision": "同意"})
    sign = task(system, meeting_instance, "sign")
    assert sign.assignee == org.head().id
    complete(system, org.head().id, sign.id, {"decision": "签发"})
    with system.store.read() as session:
        items = session.scalars(select(DecisionItem).where(DecisionItem.meeting_id == meeting_id)).all()
        assert session.get(Meeting, meeting_id).status == "signed"
    assert [(i.task, i.lead_unit, i.due_on.isoformat()) for i in items] == [("拨付资金", lead, "2027-01-31")]
    assert instance(system, meeting_instance).status == "completed"


def test_meetings_on_a_weekly_cadence_keep_their_weekday_after_a_holiday(make):
    """大足: weekly, on Wednesdays (the default 周三); 10-07 falls in 国庆 and moves to 10-08."""
    system = make("dazu")
    org = load_org("dazu")
    with system.store.write() as session:
        runtime = system.runtime(session)
        made = Meetings(session).plan(runtime.profile.value("meeting_cadence"), org.local, runtime.calendar, org.name,
                                      datetime(2026, 9, 25, 9, 0, tzinfo=SHANGHAI), count=5)
        days = [m.scheduled_at.astimezone(SHANGHAI).date().isoformat() for m in made]
    assert days == ["2026-09-30", "2026-10-08", "2026-10-14", "2026-10-21", "2026-10-28"]


def test_bazhou_minutes_hold_a_passed_document_to_its_two_workday_signature_limit(make):
    """巴州常务会议规则 第二十一条 (送签 2 工作日) and 第二十二条 (报区委 3 工作日): the 办结时限 of such a
    decision may not be later, so its 督办事项 tracks the rule's limit."""
    system = make("bazhou")
    org = load_org("bazhou")
    meeting_id, meeting_instance = convened(system, "2026-11-26T09:00:00+08:00")     # a Thursday
    instance_id = scheduled_topic(system, org)
    lead = simple_topic(org)["department"]
    to_sign_in(system, org, meeting_instance)
    clerk = org.with_post("office_clerk", org.office_id)[0].id
    complete(system, clerk, task(system, meeting_instance, "sign_in").id,
             {"present": list(org.meeting_members), "absent": []})
    decision = {"task": "修改完善停车管理办法后送签", "lead_unit": lead, "due_on": "2026-12-31", "document": True}
    reporter = org.with_post("dept_head", lead)[0].id
    complete(system, clerk, task(system, instance_id, "hearing").id,
             {"outcome": "通过", "conclusion": "原则同意", "decisions": [decision], "presenters_present": [reporter]})
    complete(system, clerk, task(system, meeting_instance, "hold").id, {"closed": True})
    draft = task(system, meeting_instance, "draft_minutes")
    with pytest.raises(RuleBlocked) as refused:
        complete(system, clerk, draft.id, {"decisions": [decision]})
    [violation] = refused.value.violations
    assert violation.article == "巴州常务会议规则 第二十一条" and "2026-11-30 前" in violation.message
    complete(system, clerk, draft.id, {"decisions": [{**decision, "due_on": "2026-11-30"}]})
    assert task(system, meeting_instance, "sign").assignee == org.head().id
