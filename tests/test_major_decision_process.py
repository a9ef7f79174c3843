"""processes/major_decision.bpmn (重大行政决策, RULES-M M1-M16) with the people of the five example
organisations: flagged by the department under its profile's list and checked by the 办公室, run
through only the steps its profile names, reviewed by the unit the profile names (or the office
chose), then taken to the 常务会议 as a topic whose materials are the step records (T4, no box
ticked), and after the meeting reported, published and evaluated."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from conftest import REPO, Api
from govflow.app import create_app
from govflow.audit import replay
from govflow.audit.exports import export
from govflow.errors import NotFound, RuleBlocked, ValidationFailed
from govflow.store.models import Instance, MajorDecision
from helpers import complete, count, deploy_xml, holder, instance, open_tasks, start, task, workflow
from procedures import People, approve, convened, lead_and_other, schedule_of, system_for, to_sign_in

DIAGRAM = (REPO / "processes" / "major_decision.bpmn").read_bytes()
SCOPE = {"dazu": "重大规划", "chongqing": "重大规划", "bazhou": "重大规划", "ziyang": "经济和社会发展规划",
         "dongchang": None}
TOWNS = {"bazhou": ["hfjd"], "dazu": ["lgjd"], "dongchang": ["lzjd"], "chongqing": [], "ziyang": []}
# what each seed names (M2, M8, M9, M10): the steps asked of the department and the reviewers
ASKED = {
    "bazhou": {"office_check", "research", "participation", "experts", "risk", "legal", "market", "reply"},
    "dazu": {"office_check", "research", "participation", "experts", "risk", "legal", "market", "reply"},
    "chongqing": {"office_check", "research", "participation", "experts", "risk", "legal", "market", "reply"},
    "ziyang": {"office_check", "research", "participation", "experts", "risk", "legal", "reply"},   # 公平竞争性 in 27
    # 东昌: no 公平竞争审查 or 征求意见 for decisions (M9, M10)
    "dongchang": {"office_check", "research", "participation", "experts", "risk", "legal"},
}
POINTS = ["合法性", "必要性", "科学性", "可行性", "可控性"]


def builder(url: str):
    made = []

    def build(profile: str):
        system = system_for(url, profile)
        deploy_xml(system, DIAGRAM, "major_decision.bpmn")
        made.append(system)
        return system
    return build, made


@pytest.fixture
def make(sqlite_url):
    build, made = builder(sqlite_url)
    yield build
    for system in made:
        system.store.dispose()


@pytest.fixture
def make_on_each_database(database_url):
    """The end-to-end run on SQLite and on PostgreSQL."""
    build, made = builder(database_url)
    yield build
    for system in made:
        system.store.dispose()


def matter(pid: str, org, **changes) -> dict:
    lead, other = lead_and_other(org)
    data = {"title": "关于城区老旧小区改造三年规划的决策", "department": lead,
            "request": "提请审议城区老旧小区改造三年规划。",
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
            {"form": "座谈会", "date": "2026-11-20", "who": "社区居民代表、人大代表",
             "summary": "支持改造，关注加装电梯",
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
def test_a_major_decision_runs_from_its_flag_to_its_evaluation_asking_only_what_the_seed_names(
        make_on_each_database, pid):
    system = make_on_each_database(pid)
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
    replies = {r["department"] for r in (records.get("consultation") or [{"replies": []}])[-1]["replies"]}
    assert replies == ({lead_and_other(org)[1], *TOWNS[pid]} if pid != "dongchang" else set())   # M10
    assert records["legality"][-1]["passed"] and records["legality"][-1]["unit"] == org.with_duty("合法性审查")[0].id
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
    auditor = next(p.id for p in org.people.values() if "auditor" in p.roles)
    shown = Api(create_app(system=system)).get(f"/major-decisions/{decision_row(system, instance_id).id}", auditor)
    assert [f["followup"] for f in shown.get_json()["followups"]] == [linked["followup"]]   # the 督办台账 link


def test_the_ocel_export_links_the_decision_to_its_topic_meeting_and_items(make):
    system, pid = make("bazhou"), "bazhou"
    people, org = People(pid), People(pid).org
    meeting_id, meeting_instance = convened(system, "2026-12-17T09:00:00+08:00")
    instance_id, _ = prepare(system, pid, org)
    topic, lead = decision_row(system, instance_id).topic_instance_id, matter(pid, org)["department"]
    approve(system, topic)
    complete(system, people.staff(lead), task(system, topic, "prep").id, {"materials_changed": False})
    hold_meeting(system, org, topic, meeting_instance, lead)
    staff = people.staff(lead)
    complete(system, staff, task(system, instance_id, "after_meeting").id, {"to_party_committee": False})
    complete(system, staff, task(system, instance_id, "publish").id,     # 规则二十二: not sent to the 区委
             {"secret_reason": "", "published_on": "2026-12-18", "channel": "区政府网站", "interpretation": "已解读"})
    complete(system, staff, task(system, instance_id, "evaluate").id,
             {"tracking": "推进中", "views": "无异议", "effect": "良好", "adjustment": "无"})
    with system.store.read() as session:
        log = json.loads("".join(export(session, "ocel", system.organisation(session))))
    [major] = [o for o in log["objects"] if o["type"] == "重大行政决策"]
    related = {r["qualifier"]: r["objectId"] for r in major["relationships"]}
    assert related["议题"] == f"topic:{topic}" and related["集体讨论决定"] == f"meeting:{meeting_id}"
    assert related["议定事项"].startswith("decision:") and related["承办单位"] == f"department:{lead}"


@pytest.mark.parametrize("changes, field", [
    ({"department": "nowhere"}, "department"),
    ({"scope_item": "城区停车"}, None),                               # not on 巴州 第二十七条's list: M1
    ({"scope_item": None}, None),
    ({"departments": ["nowhere"]}, "departments"),
    ({"lower": ["<script>"]}, "departments"),
    ({"public_interest": "是"}, None),
    ({"title": "长" * 201}, None),
    ({"typename": "x"}, None),
    ({"departments": ["zjj"] * 2}, None),
])
def test_a_hostile_start_is_refused_and_leaves_nothing(make, changes, field):
    system, org = make("bazhou"), People("bazhou").org
    data = {k: v for k, v in {**matter("bazhou", org), **changes}.items() if v is not None}
    if "departments" in changes and changes["departments"] == ["zjj"] * 2:
        data["departments"] = [data["department"]]                    # the lead unit consulting itself
    before = count(system, Instance)
    with pytest.raises((ValidationFailed, RuleBlocked)) as refused:
        start(system, org.with_post("dept_staff", matter("bazhou", org)["department"])[0].id, "major_decision", data)
    if field:
        assert refused.value.details[0]["field"] == field
    if isinstance(refused.value, RuleBlocked):
        assert refused.value.violations[0].rule == "M1" and "第二十七条" in refused.value.violations[0].article
    assert count(system, Instance) == before and count(system, MajorDecision) == 0


def test_through_the_api_a_hostile_start_is_a_422_and_an_outsider_cannot_act(make):
    system, org = make("bazhou"), People("bazhou").org
    api = Api(create_app(system=system))
    data = matter("bazhou", org)
    staff = org.with_post("dept_staff", data["department"])[0].id
    refused = api.post("/instances", staff, json={"process_id": "major_decision", "data": {**data, "scope_item": "x"}})
    assert refused.status_code == 422 and refused.get_json()["details"][0]["rule"] == "M1"
    started = api.post("/instances", staff, json={"process_id": "major_decision", "data": data})
    assert started.status_code == 201, started.get_json()
    check = task(system, started.get_json()["id"], "office_check")
    outsider = api.post(f"/tasks/{check.id}/complete", staff, json={"data": {"decision": "确认"}})
    assert outsider.status_code in (403, 404)                          # the office checks the flag, not the department
    bad = api.post(f"/tasks/{check.id}/complete", holder(system, check), json={"data": {"decision": "确认", "x": 1}})
    assert bad.status_code == 422

    [listed] = api.get("/major-decisions", staff).get_json()["items"]          # the department sees its own
    assert listed["scope_item"] == "重大规划"
    assert listed["scope_article"].startswith("巴州区人民政府工作规则 第二十七条")
    other = org.with_post("dept_staff", lead_and_other(org)[1])[0].id
    assert api.get("/major-decisions", other).get_json()["items"] == []
    assert api.get(f"/major-decisions/{listed['id']}", other).status_code == 404
    auditor = next(p.id for p in org.people.values() if "auditor" in p.roles)
    shown = api.get(f"/major-decisions/{listed['id']}", auditor).get_json()
    assert [s["step"] for s in shown["records"]["plan"][-1]["steps"]] == [
        "research", "participation", "experts", "risk", "legality", "fair_competition", "consultation"]
    assert api.get("/major-decisions/99999999999", auditor).status_code == 404


def test_the_office_may_refuse_the_flag_and_the_matter_ends_there(make):
    system, org = make("dazu"), People("dazu").org
    data = matter("dazu", org)
    instance_id = start(system, org.with_post("dept_staff", data["department"])[0].id, "major_decision", data)
    check = task(system, instance_id, "office_check")
    with pytest.raises(ValidationFailed) as refused:                  # 大足 names no reviewer: the office must choose
        complete(system, holder(system, check), check.id, {"decision": "确认"})
    assert refused.value.details[0]["field"] == "legality_unit"
    complete(system, holder(system, check), check.id, {"decision": "不予确认", "opinion": "属部门职权范围"})
    assert instance(system, instance_id).status == "completed" and decision_row(system, instance_id).status == "closed"


def test_an_unlawful_finding_sends_the_matter_back_with_its_reasons_and_it_is_reviewed_again(make):
    system, org = make("bazhou"), People("bazhou").org
    data = matter("bazhou", org, departments=[], lower=[])
    staff = org.with_post("dept_staff", data["department"])[0].id
    instance_id = start(system, staff, "major_decision", data)
    for step in ("office_check", "research", "participation", "experts", "risk"):
        row = task(system, instance_id, step)
        complete(system, holder(system, row), row.id, step_data("bazhou", org, step))
    legal = task(system, instance_id, "legal")
    assert holder(system, legal) == People("bazhou").duty("合法性审查")   # 区司法局 (规则十六)
    complete(system, holder(system, legal), legal.id, {"conclusion": "不合法", "opinion": "收费条款无上位法依据"})
    market = task(system, instance_id, "market")
    complete(system, holder(system, market), market.id, step_data("bazhou", org, "market"))
    rework = task(system, instance_id, "rework")
    assert rework.assignee == staff or holder(system, rework) == staff
    returned = workflow(system, instance_id).last_task.data["reviewed"]["returned"]
    assert returned[0]["rule"] == "M8" and "收费条款无上位法依据" in returned[0]["message"]
    complete(system, staff, rework.id, {"action": "修改后重新送审", "changes": "删去收费条款"})
    for step in ("legal", "market"):
        row = task(system, instance_id, step)
        complete(system, holder(system, row), row.id, step_data("bazhou", org, step))
    row = decision_row(system, instance_id)
    records = json.loads(row.records)
    assert [r["conclusion"] for r in records["legality"]] == ["不合法", "合法"]    # M16: both rounds kept
    assert row.status == "submitted" and row.topic_instance_id


def test_a_step_record_short_of_what_the_seed_asks_is_refused_with_its_article(make):
    system, org = make("bazhou"), People("bazhou").org
    data = matter("bazhou", org)
    instance_id = start(system, org.with_post("dept_staff", data["department"])[0].id, "major_decision", data)
    for step in ("office_check", "research"):
        row = task(system, instance_id, step)
        complete(system, holder(system, row), row.id, step_data("bazhou", org, step))
    row = task(system, instance_id, "participation")
    narrow = {"consultations": [{**step_data("bazhou", org, "participation")["consultations"][0], "all_sides": False}]}
    with pytest.raises(RuleBlocked) as refused:
        complete(system, holder(system, row), row.id, narrow)
    [violation] = refused.value.violations
    assert violation.rule == "M5" and violation.article == "巴州区人民政府工作规则 第二十八条"
    assert task(system, instance_id, "participation").id == row.id                 # still open, nothing recorded
    assert "participation" not in json.loads(decision_row(system, instance_id).records)
    complete(system, holder(system, row), row.id, step_data("bazhou", org, "participation"))
    row = task(system, instance_id, "experts")
    complete(system, holder(system, row), row.id, step_data("bazhou", org, "experts"))
    row = task(system, instance_id, "risk")
    only_general = {"assessments": [{"kind": "风险评估", "by": "区政法委", "conclusion": "可控"}]}
    with pytest.raises(RuleBlocked) as refused:
        complete(system, holder(system, row), row.id, only_general)
    assert [v.message.split("（")[0] for v in refused.value.violations] == [
        "未开展社会稳定风险评估", "未开展网络舆情风险评估"]


@pytest.mark.parametrize("pid, blocks", [("bazhou", "巴州常务会议规则 第十七条"), ("dongchang", "第二十四条"),
                                         ("dazu", None)])
def test_a_topic_that_only_ticks_the_steps_of_a_major_decision_does_not_pass(make, pid, blocks):
    system, org = make(pid), People(pid).org
    lead, _ = lead_and_other(org)
    staff = org.with_post("dept_staff", lead)[0].id
    topic = {"title": "关于老旧小区改造规划的议题", "department": lead, "request": "提请审议。",
             "categories": ["重大行政决策"], "departments": [],
             "materials": ["依据文件", "公众参与", "专家论证", "风险评估报告"]}
    instance_id = start(system, staff, "topic_submission", topic)
    for step in [t for t in open_tasks(system, instance_id) if t.step_id in ("legal", "market")]:
        complete(system, holder(system, step), step.id, {"conclusion": "合法" if step.step_id == "legal" else
                                                         "符合公平竞争审查标准", "opinion": "无意见"})
    gate = workflow(system, instance_id).last_task.data["gate"]
    assert not gate["passed"] and [t.step_id for t in open_tasks(system, instance_id)] == ["revise"]
    messages = [f["message"] for f in gate["findings"]]
    assert any(m.startswith("风险评估报告缺失（须经重大行政决策程序办理") for m in messages)
    assert all((blocks in m) if blocks else ("不上会" not in m) for m in messages)


def test_a_topic_may_not_cite_a_decision_that_is_not_its_own_or_not_ready(make):
    system, org = make("bazhou"), People("bazhou").org
    data = matter("bazhou", org)
    lead, other = lead_and_other(org)
    started = start(system, org.with_post("dept_staff", lead)[0].id, "major_decision", data)
    decision_id = decision_row(system, started).id
    topic = {"title": "关于老旧小区改造规划的议题", "request": "提请审议。", "categories": ["重大行政决策"],
             "departments": [], "materials": ["依据文件"]}
    for department, cited, error in ((lead, decision_id, ValidationFailed), (other, decision_id, ValidationFailed),
                                     (lead, 999999, NotFound)):
        before = count(system, Instance)
        with pytest.raises(error):                  # still preparing; another department's; no such decision
            start(system, org.with_post("dept_staff", department)[0].id, "topic_submission",
                  {**topic, "department": department, "major_decision": cited})
        assert count(system, Instance) == before
    assert decision_row(system, started).topic_instance_id is None


@pytest.mark.parametrize("pid, reopens", [("bazhou", True), ("ziyang", False)])
def test_in_bazhou_a_major_adjustment_goes_back_to_the_meeting_elsewhere_it_is_recorded(make, pid, reopens):
    system = make(pid)
    people, org = People(pid), People(pid).org
    meeting_id, meeting_instance = convened(system, "2026-12-17T09:00:00+08:00")
    instance_id, _ = prepare(system, pid, org)
    topic, lead = decision_row(system, instance_id).topic_instance_id, matter(pid, org)["department"]
    approve(system, topic)
    staff = people.staff(lead)
    complete(system, staff, task(system, topic, "prep").id, {"materials_changed": False})
    hold_meeting(system, org, topic, meeting_instance, lead)
    complete(system, staff, task(system, instance_id, "after_meeting").id, {})
    for step, body in (("party_report", {"reported_on": "2026-12-18", "summary": "已报"}),
                       ("publish", {"published_on": "2026-12-18", "channel": "网站", "interpretation": "解读"})):
        if [t for t in open_tasks(system, instance_id) if t.step_id == step]:
            complete(system, staff, task(system, instance_id, step).id, body)
    topics = count(system, Instance)
    complete(system, staff, task(system, instance_id, "evaluate").id,
             {"tracking": "实施中", "views": "部分居民反对", "effect": "需调整", "adjustment": "重大调整",
              "adjustment_content": "改造范围由12个小区调整为20个"})
    assert (count(system, Instance) == topics + 1) == reopens
    route = json.loads(decision_row(system, instance_id).records)["evaluation"][-1]["route"]
    assert route["to_meeting"] == reopens and (route["article"] == "巴州常务会议规则 第二十四条") == reopens


def test_the_pages_show_the_steps_forms_and_a_refused_record_names_its_article(make):
    system, org = make("bazhou"), People("bazhou").org
    data = matter("bazhou", org)
    staff = org.with_post("dept_staff", data["department"])[0].id
    instance_id = start(system, staff, "major_decision", data)
    for step in ("office_check", "research"):
        row = task(system, instance_id, step)
        complete(system, holder(system, row), row.id, step_data("bazhou", org, step))
    client = create_app(system=system).test_client()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(True)).group(1)
    assert client.post("/login", data={"csrf": csrf, "username": staff, "password": "demo"}).status_code == 302
    row = task(system, instance_id, "participation")
    page = client.get(f"/tasks/{row.id}")
    assert page.status_code == 200 and "听取意见记录" in page.get_data(True)
    fields = {"csrf": csrf, "f.consultations.0.form": "座谈会", "f.consultations.0.date": "2026-11-20",
              "f.consultations.0.who": "居民代表", "f.consultations.0.summary": "支持",
              "f.consultations.0.adopted": "采纳"}
    refused = client.post(f"/tasks/{row.id}", data=fields)
    assert refused.status_code == 422 and "巴州区人民政府工作规则 第二十八条" in refused.get_data(True)   # M5
    done = client.post(f"/tasks/{row.id}", data={**fields, "f.consultations.0.all_sides": "1"})
    assert done.status_code in (200, 302, 303)
    assert task(system, instance_id, "experts")
    assert client.get(f"/instances/{instance_id}").status_code == 200
    assert client.get("/designer").status_code in (200, 403)
    with system.store.read() as session:
        assert replay.reexecute(system, session, session.get(Instance, instance_id)).ok   # the audit's replay
