"""processes/major_decision.bpmn (重大行政决策, RULES-M M1-M16) with the people of the five example
organisations: flagged by the department under its profile's list and checked by the 办公室, run
through only the steps its profile names, reviewed by the unit the profile names (or the office
chose), then taken to the 常务会议 as a topic whose materials are the step records (T4, no box
ticked), and after the meeting reported, published and evaluated."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from conftest import REPO, Api
from govflow.app import create_app
from govflow.errors import NotFound, RuleBlocked, ValidationFailed
from govflow.store.models import Instance, MajorDecision
from helpers import complete, count, deploy_xml, holder, instance, open_tasks, start, task, workflow
from procedures import People, approve, convened, lead_and_other, schedule_of, system_for, to_sign_in

DIAGRAM = (REPO / "processes" / "major_decision.bpmn").read_bytes()
SCOPE = {"dazu": "重大规划", "chongqing": "重大规划", "bazhou": "重大规划", "ziyang": "经济和社会发展规划", "dongchang": None}
TOWNS = {"bazhou": ["hfjd"], "dazu": ["lgjd"], "dongchang": ["lzjd"], "chongqing": [], "ziyang": []}
# what each seed names (M2, M8, M9, M10): the steps asked of the department and the reviewers
ASKED = {
    "bazhou": {"office_check", "research", "participation", "experts", "risk", "legal", "market", "reply"},
    "dazu": {"office_check", "research", "participation", "experts", "risk", "legal", "market", "reply"},
    "chongqing": {"office_check", "research", "participation", "experts", "risk", "legal", "market", "reply"},
    "ziyang": {"office_check", "research", "participation", "experts", "risk", "legal", "reply"},   # 公平竞争性 in 27
    "dongchang": {"office_check", "research", "participation", "experts", "risk", "legal"},   # no 公平竞争/征求意见 (M9/M10)
}
POINTS = ["合法性", "必要性", "科学性", "可行性", "可控性"]


@pytest.fixture
def make(sqlite_url):
    made = []

    def build(profile: str):
        system = system_for(sqlite_url, profile)
        deploy_xml(system, DIAGRAM, "major_decision.bpmn")
        made.append(system)
        return system
    yield build
    for system in made:
        system.store.dispose()


def matter(pid: str, org, **changes) -> dict:
    lead, other = lead_and_other(org)
    data = {"title": "关于城区老旧小区改造三年规划的决策", "department": lead, "request": "提请审议城区老旧小区改造三年规划。",
            "public_interest": True, "market": True, "departments": [other], "lower": TOWNS[pid]}
    if SCOPE[pid]:
        data["scope_item"] = SCOPE[pid]
    else:
        data.update(scope_item="重大公共建设项目", scope_reason="涉及社会公众切身利益的重大公共建设项目（第十一条）")
    return {**data, **changes}


def step_data(pid: str, org, step: str) -> dict:
    legal_unit = org.with_duty("合法性审查")[0].id
    market_unit = org.with_duty("公平竞争审查")[0].id
    return {
        "office_check": {"decision": "确认", "opinion": "属重大决策事项", "legality_unit": legal_unit,
                         "fair_competition_unit": market_unit},
        "research": {"research": "走访12个社区，收集住户需求", "summary": "充分评估论证",
                     "assessment": [{"point": p, "finding": f"{p}论证充分"} for p in
                                    (POINTS + ["公平竞争性"] if pid == "ziyang" else POINTS)],
                     "assessed_by": [legal_unit]},
        "participation": {"consultations": [
            {"form": "座谈会", "date": "2026-11-20", "who": "社区居民代表、人大代表", "summary": "支持改造，关注加装电梯",
             "adopted": "已采纳加装电梯意见", "all_sides": True}]},
        "experts": {"experts": "王教授（某大学）、李工（设计院）", "date": "2026-11-21", "form": "论证会",
                    "opinion": "方案可行", "adopted": "全部采纳"},
        "risk": {"assessments": [{"kind": k, "by": "区委政法委", "date": "2026-11-22", "conclusion": "风险可控"}
                                 for k in ("风险评估", "社会稳定风险评估", "网络舆情风险评估")]},
        "legal": {"conclusion": "合法", "opinion": "符合上位法", "document": "审查意见书〔2026〕5号"},
        "market": {"conclusion": "符合公平竞争审查标准", "opinion": "无排除、限制竞争内容"},
        "reply": {"decision": "同意", "opinion": "同意"},
    }[step]


def prepare(system, pid: str, org, **changes) -> tuple[int, set[str]]:
    """Start a decision and do every step it asks for, up to the topic it starts."""
    data = matter(pid, org, **changes)
    staff = org.with_post("dept_staff", data["department"])[0].id
    instance_id = start(system, staff, "major_decision", data)
    asked = set()
    while (rows := [t for t in open_tasks(system, instance_id) if t.step_id != "after_meeting"]):
        for row in rows:
            asked.add(row.step_id)
            complete(system, holder(system, row), row.id, step_data(pid, org, row.step_id))
    return instance_id, asked


def decision_row(system, instance_id: int) -> MajorDecision:
    with system.store.read() as session:
        return session.scalars(select(MajorDecision).where(MajorDecision.instance_id == instance_id)).one()


def hold_meeting(system, org, topic: int, meeting_instance: int, lead: str) -> None:
    clerk = org.with_post("office_clerk", org.office_id)[0].id
    to_sign_in(system, org, meeting_instance)
    complete(system, clerk, task(system, meeting_instance, "sign_in").id,
             {"present": list(org.meeting_members), "absent": []})
    decision = {"task": "组织实施老旧小区改造", "lead_unit": lead, "due_on": "2027-06-30"}
    complete(system, clerk, task(system, topic, "hearing").id,
             {"outcome": "通过", "conclusion": "原则同意", "decisions": [decision],
              "presenters_present": [org.with_post("dept_head", lead)[0].id]})
    complete(system, clerk, task(system, meeting_instance, "hold").id, {"closed": True})
    draft = task(system, meeting_instance, "draft_minutes")
    items = workflow(system, meeting_instance).last_task.data.get("held", {}).get("proposed_decisions", [decision])
    complete(system, clerk, draft.id, {"decisions": [{k: d[k] for k in ("task", "lead_unit", "due_on") if k in d}
                                                     | ({"agenda_item": d["agenda_item"]} if "agenda_item" in d else {})
                                                     for d in items]})
    while (rows := [t for t in open_tasks(system, meeting_instance) if t.step_id in ("countersign", "sign")]):
        row = rows[0]
        complete(system, holder(system, row), row.id, {"decision": "同意" if row.step_id == "countersign" else "签发"})


@pytest.mark.parametrize("pid", ["bazhou", "dazu", "chongqing", "ziyang", "dongchang"])
def test_a_major_decision_runs_from_its_flag_to_its_evaluation_asking_only_what_the_seed_names(make, pid):
    system = make(pid)
    people, org = People(pid), People(pid).org
    meeting_id, meeting_instance = convened(system, "2026-12-17T09:00:00+08:00")
    instance_id, asked = prepare(system, pid, org)
    assert asked == ASKED[pid]                                       # M2: nothing the seed does not name
    row = decision_row(system, instance_id)
    assert row.status == "submitted" and row.topic_instance_id
    records = json.loads(row.records)
    office = records["office_check"][-1]
    named = pid in ("bazhou", "ziyang")                              # M8: only they name the reviewer
    assert (office["legality_by"] == "规则规定") == named
    assert (office["legality_by"] == "办公室指定（规则未规定审查机构）") == (not named)
    topic = row.topic_instance_id
    for reply in [t for t in open_tasks(system, topic) if t.step_id.startswith("reply")]:
        assert pid == "dongchang"                # 东昌 第二十七条: the topic's own written consultation
        complete(system, holder(system, reply), reply.id, {"decision": "同意"})
    topic_data = workflow(system, topic).last_task.data
    assert topic_data["materials"] == ["依据文件"]                     # no box ticked for any step
    assert topic_data["gate"]["passed"] and topic_data["gate"]["findings"] == []
    assert not topic_data["intake"]["legality_review"]              # reviewed once, in the decision
    approve(system, topic)
    lead = matter(pid, org)["department"]
    complete(system, people.staff(lead), task(system, topic, "prep").id, {"materials_changed": False})
    assert schedule_of(system, topic)["placed"]["id"] == meeting_id
    staff = people.staff(lead)
    with pytest.raises(ValidationFailed):                              # M12: not before the meeting decides
        complete(system, staff, task(system, instance_id, "after_meeting").id, {})
    hold_meeting(system, org, topic, meeting_instance, lead)
    complete(system, staff, task(system, instance_id, "after_meeting").id, {"to_party_committee": True})
    after = {t.step_id for t in open_tasks(system, instance_id)}
    assert after == ({"party_report"} if pid in ("bazhou", "ziyang", "dongchang") else {"publish"})   # M13
    if "party_report" in after:
        row_task = task(system, instance_id, "party_report")
        assert (row_task.due_at is not None) == (pid == "bazhou")   # 巴州 规则二十二: 会后 3 工作日
        complete(system, staff, row_task.id, {"reported_on": "2026-12-18", "summary": "已报区委"})
    complete(system, staff, task(system, instance_id, "publish").id,
             {"published_on": "2026-12-18", "channel": "政府网站", "interpretation": "由承办单位解读"})
    complete(system, staff, task(system, instance_id, "evaluate").id,
             {"tracking": "已开工8个小区", "views": "居民满意", "effect": "达到预期", "adjustment": "无"})
    assert instance(system, instance_id).status == "completed"
    records = json.loads(decision_row(system, instance_id).records)
    assert decision_row(system, instance_id).status == "evaluated"
    assert records["meeting"][-1]["outcome"] == "通过"
    [linked] = records["evaluation"][-1]["followups"]                 # M15: the 督办 item of the minutes
    assert linked["task"] == "组织实施老旧小区改造" and linked["followup"]
