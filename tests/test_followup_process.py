"""processes/decision_followup.bpmn: every decision of signed minutes becomes a 督办事项; items are
reported on, pressed and escalated when late, extended, checked and closed (销号) or sent back,
changed only through a new topic for the 常务会议; the 督办台账 and its quarterly summary."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta

import openpyxl
import pytest
from sqlalchemy import select

from conftest import Api
from govflow.app import create_app
from govflow.errors import Conflict, RuleBlocked, ValidationFailed
from govflow.records.meetings import check_decisions
from govflow.store.models import FollowupItem, Instance, Task
from govflow.time.timeutil import SHANGHAI, isoformat
from govflow.work import admin, rewind, worker
from helpers import actor, complete, count, events, holder, instance, open_tasks, task, workflow
from procedures import (
    People,
    act,
    by_hand,
    convened,
    lead_and_other,
    scheduled_topic,
    set_clock,
    simple_topic,
    to_sign_in,
)


def item_of(system, instance_id: int) -> FollowupItem:
    with system.store.read() as session:
        return session.scalars(select(FollowupItem).where(FollowupItem.instance_id == instance_id)).one()


def advance(system, **delta) -> None:
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(**delta), "test")
    worker.run_once(system)


def contribute_all(system, instance_id: int) -> None:
    for row in [t for t in open_tasks(system, instance_id) if t.step_id == "contribute"]:
        complete(system, holder(system, row), row.id, {"progress": "已配合完成本单位部分"})


def report(system, people: People, lead: str, instance_id: int, **data) -> None:
    contribute_all(system, instance_id)
    complete(system, people.staff(lead), task(system, instance_id, "progress_report").id,
             {"progress": "已完成摸排", "action": "继续办理", **data})


# -- F1: signed minutes start the items -----------------------------------------------------------------------
def test_signing_minutes_with_three_decisions_starts_three_items_through_the_api(make):
    system = make("bazhou")
    people, api = People("bazhou"), Api(create_app(system=system))
    org = people.org
    meeting_id, meeting_instance = convened(system, "2026-11-26T09:00:00+08:00")
    topic = scheduled_topic(system, org)
    lead, other = lead_and_other(org)
    to_sign_in(system, org, meeting_instance)
    complete(system, people.clerk, task(system, meeting_instance, "sign_in").id,
             {"present": people.members, "absent": []})
    decisions = [{"task": "编制学校建设资金分年度安排方案", "lead_unit": lead, "assisting_units": ["czj"],
                  "due_on": "2026-12-31"},
                 {"task": "启动首批两所学校建设", "lead_unit": lead, "assisting_units": ["zjj", other],
                  "due_on": "2027-03-31"},
                 {"task": "落实建设资金", "lead_unit": "czj", "assisting_units": [], "due_on": "2027-01-15"}]
    complete(system, people.clerk, task(system, topic, "hearing").id,
             {"outcome": "通过", "conclusion": "同意", "presenters_present": [people.dept_head(lead)],
              "decisions": decisions})
    complete(system, people.clerk, task(system, meeting_instance, "hold").id, {"closed": True})
    complete(system, people.clerk, task(system, meeting_instance, "draft_minutes").id, {"decisions": decisions})
    act(api, people.head, "sign", {"decision": "签发"}, meeting_instance)                # 区长签发 through the API

    ledger = api.get(f"/followups?meeting={meeting_id}", people.clerk).get_json()
    assert ledger["total"] == 3
    assert [(i["number"], i["task"], i["lead_unit"], i["assisting_units"], i["due_on"], i["source"])
            for i in sorted(ledger["items"], key=lambda i: i["number"])] == [
        ("巴州督办〔2026〕1号", decisions[0]["task"], lead, ["czj"], "2026-12-31", "常务会议"),
        ("巴州督办〔2026〕2号", decisions[1]["task"], lead, ["zjj", other], "2027-03-31", "常务会议"),
        ("巴州督办〔2026〕3号", decisions[2]["task"], "czj", [], "2027-01-15", "常务会议")]
    for item in ledger["items"]:
        assert item["leader"] == org.portfolio_leader(item["lead_unit"]).id and item["status"] == "on_time"
        ack = task(system, item["instance_id"], "acknowledge")                        # the lead unit signs for it
        assert ack.assignee == people.staff(item["lead_unit"]) and ack.business_key == item["number"]


# -- F4 F5: late reports pressed, pressed again, escalated --------------------------------------------------------
def test_a_late_report_is_pressed_pressed_again_and_escalated_to_the_leader_in_charge(make):
    system = make("bazhou")
    people = People("bazhou")
    lead, _ = lead_and_other(people.org)
    instance_id = by_hand(system, people, lead, [], "2027-03-31", report_every_wd=5)
    report_task = task(system, instance_id, "progress_report")
    assert isoformat(report_task.due_at) == "2026-11-30T17:30:00+08:00"                       # 5 工作日 on
    leader = people.org.portfolio_leader(lead).id
    set_clock(system, datetime(2026, 12, 1, 9, 0, tzinfo=SHANGHAI))
    pressed = []
    for _ in range(3):
        worker.run_once(system)
        with system.store.read() as session:
            pressed.append(session.get(Task, report_task.id).pressed_count)
        advance(system, days=1)
    assert pressed == [1, 2, 3]
    escalations = events(system, instance_id, "task_escalated")
    assert len(escalations) == 1 and json.loads(escalations[0].payload)["to"] == [leader]
    with system.store.read() as session:
        copies = session.scalars(select(Task).where(Task.instance_id == instance_id, Task.kind == "read")).all()
    assert [(c.assignee, c.step_name) for c in copies] == [(leader, "逾期提级督办")]
    assert "已催办 3 次" in copies[0].note
    report(system, people, lead, instance_id)                                               # reported late
    item = item_of(system, instance_id)
    assert (item.reports, item.late_reports) == (1, 1)


# -- F7: extension ------------------------------------------------------------------------------------------------
def test_an_extension_granted_by_the_leader_in_charge_moves_the_time_limit(make):
    system = make("bazhou")
    people = People("bazhou")
    lead, _ = lead_and_other(people.org)
    instance_id = by_hand(system, people, lead, ["czj"], "2026-12-31")
    with pytest.raises(ValidationFailed) as refused:              # an extension needs its date and reason
        report(system, people, lead, instance_id, action="申请延期")
    assert {d["field"] for d in refused.value.details} == {"new_due_on", "reason"}
    complete(system, people.staff(lead), task(system, instance_id, "progress_report").id,
             {"progress": "主体完成", "action": "申请延期", "new_due_on": "2027-02-28", "reason": "冬季停工"})
    extension = task(system, instance_id, "extension")
    assert extension.assignee == people.org.portfolio_leader(lead).id
    complete(system, extension.assignee, extension.id, {"decision": "同意", "opinion": "同意延期至2月底"})
    item = item_of(system, instance_id)
    assert (item.due_on.isoformat(), item.original_due_on.isoformat(), item.extensions) == (
        "2027-02-28", "2026-12-31", 1)
    assert task(system, instance_id, "contribute")                 # the next round of reports


# -- F6: 核查 before 销号 -----------------------------------------------------------------------------------------
def test_a_completion_rejected_at_verification_is_rectified_and_then_closed(make):
    system = make("bazhou")
    people = People("bazhou")
    lead, _ = lead_and_other(people.org)
    instance_id = by_hand(system, people, lead, [], "2026-12-31")
    report(system, people, lead, instance_id, action="申请销号", evidence="整治点位照片 12 张")
    verify = task(system, instance_id, "verify")
    assert people.org.person(holder(system, verify)).department == people.org.with_duty("督查")[0].id
    with pytest.raises(RuleBlocked) as blocked:
        complete(system, holder(system, verify), verify.id, {"result": "退回整改"})
    assert blocked.value.violations[0].article == "巴州区人民政府工作规则 第六十二条"
    complete(system, holder(system, verify), verify.id, {"result": "退回整改", "opinion": "东门片区仍有占道"})
    assert item_of(system, instance_id).status == "in_progress"
    report(system, people, lead, instance_id, action="申请销号", evidence="东门片区已整治")
    verify = task(system, instance_id, "verify")
    complete(system, holder(system, verify), verify.id, {"result": "通过", "opinion": "经实地复核，已整治到位"})
    item = item_of(system, instance_id)
    assert item.status == "closed" and item.closed_at is not None
    assert instance(system, instance_id).status == "completed"
    kinds = [e["kind"] for e in Api(create_app(system=system)).get(
        f"/followups/{item.id}", people.duty("督查")).get_json()["entries"]]
    assert kinds == ["交办", "签收", "报告", "退回整改", "报告", "销号"]


# -- F7: a major change goes to the 常务会议 -------------------------------------------------------------------
def test_a_major_change_opens_a_new_topic_linked_to_the_item(make):
    system = make("bazhou")
    people = People("bazhou")
    lead, _ = lead_and_other(people.org)
    instance_id = by_hand(system, people, lead, [], "2027-06-30")
    report(system, people, lead, instance_id, action="重大调整", reason="选址须调整")
    topic = simple_topic(people.org, title="关于调整城区学校建设选址的议题", department=lead)
    complete(system, people.staff(lead), task(system, instance_id, "propose").id, topic)
    item = item_of(system, instance_id)
    assert item.topic_instance_id is not None
    opened = instance(system, item.topic_instance_id)
    assert (opened.process_id, opened.status, opened.title) == ("topic_submission", "running", topic["title"])
    assert workflow(system, opened.id).last_task.data["followup_number"] == item.number
    assert [t.step_id for t in open_tasks(system, opened.id)] == ["review"]         # on its way to the 区长
    round_ = workflow(system, instance_id).last_task.data["round"]
    assert round_["article"] == "巴州常务会议规则 第二十四条"
    assert task(system, instance_id, "progress_report")              # the item is still reported on


# -- F8: disagreement between lead and assisting units ----------------------------------------------------------
def test_in_dongchang_a_disagreement_goes_to_the_leader_with_the_process_and_a_proposal(make):
    system = make("dongchang")
    people = People("dongchang")
    lead, other = lead_and_other(people.org)
    instance_id = by_hand(system, people, lead, [other], "2027-03-31")
    contribute_all(system, instance_id)
    report_task = task(system, instance_id, "progress_report")
    with pytest.raises(RuleBlocked) as blocked:
        complete(system, people.staff(lead), report_task.id, {"progress": "推进中", "action": "提请协调分歧"})
    assert blocked.value.violations[0].rule == "F8" and "第三十三条" in blocked.value.violations[0].article
    complete(system, people.staff(lead), report_task.id,
             {"progress": "推进中", "action": "提请协调分歧", "disagreement": "经两次协调，对经费分担有分歧",
              "proposal": "建议按 6:4 分担"})
    settle = task(system, instance_id, "settle")
    assert settle.assignee == people.org.portfolio_leader(lead).id
    complete(system, settle.assignee, settle.id, {"decision": "同意按 6:4 分担"})
    assert task(system, instance_id, "contribute")                   # next round


# -- bad items ------------------------------------------------------------------------------------------------------
def test_only_the_office_the_supervision_units_or_a_leader_set_an_item_by_hand(bazhou):
    people, api = People("bazhou"), Api(create_app(system=bazhou))
    lead, _ = lead_and_other(people.org)
    data = {"source": "领导批示", "task": "整治", "lead_unit": lead, "assisting_units": [], "due_on": "2026-12-31"}
    refused = api.post("/instances", people.staff(lead), json={"process_id": "decision_followup", "data": data})
    assert refused.status_code == 403 and refused.get_json()["message"] == "督办事项由办公室、督查部门或政府领导立项"
    assert count(bazhou, FollowupItem) == 0
    by_head = api.post("/instances", people.head, json={"process_id": "decision_followup", "data": data})
    assert by_head.status_code == 201


@pytest.mark.parametrize("change, field", [({"lead_unit": "nowhere"}, "lead_unit"),
                                           ({"assisting_units": ["nowhere"]}, "assisting_units"),
                                           ({"due_on": "2026-01-01"}, "due_on"), ({"source": "传闻"}, "source")])
def test_an_item_set_wrongly_by_hand_is_refused_and_leaves_nothing(bazhou, change, field):
    people, api = People("bazhou"), Api(create_app(system=bazhou))
    lead, _ = lead_and_other(people.org)
    data = {"source": "领导批示", "task": "整治", "lead_unit": lead, "assisting_units": [], "due_on": "2026-12-31",
            **change}
    before = (count(bazhou, Instance), count(bazhou, FollowupItem), len(events(bazhou)))
    response = api.post("/instances", people.duty("督查"), json={"process_id": "decision_followup", "data": data})
    assert response.status_code == 422 and response.get_json()["message"]
    assert any(field in d.get("field", "") for d in response.get_json()["details"])
    assert (count(bazhou, Instance), count(bazhou, FollowupItem), len(events(bazhou))) == before


# -- the ledger and the quarterly summary -----------------------------------------------------------------------
def close_on(system, people: People, lead: str, instance_id: int, day: datetime) -> None:
    set_clock(system, day)
    report(system, people, lead, instance_id, action="申请销号", evidence="已办结")
    verify = task(system, instance_id, "verify")
    complete(system, holder(system, verify), verify.id, {"result": "通过"})


def test_the_quarterly_summary_lists_every_item_once_with_statuses_and_on_time_rates(make):
    """2026年第四季度, seen on 2027-01-05: unit X closed one on time, one late, one overdue;
    unit Y closed one on time and has one not yet due; one closed in Q3 is not listed."""
    system = make("bazhou")
    people, api = People("bazhou"), Api(create_app(system=system))
    x, y = lead_and_other(people.org)
    set_clock(system, datetime(2026, 9, 1, 9, 0, tzinfo=SHANGHAI))
    earlier = by_hand(system, people, y, [], "2026-09-30")
    close_on(system, people, y, earlier, datetime(2026, 9, 20, 10, 0, tzinfo=SHANGHAI))    # Q3: not listed
    set_clock(system, datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI))
    on_time, late, overdue = (by_hand(system, people, x, [], due) for due in ("2026-12-10", "2026-12-04",
                                                                            "2026-12-15"))
    y_closed, y_open = by_hand(system, people, y, [x], "2026-12-20"), by_hand(system, people, y, [], "2027-02-26")
    close_on(system, people, x, on_time, datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI))
    close_on(system, people, y, y_closed, datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI))
    close_on(system, people, x, late, datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI))
    set_clock(system, datetime(2027, 1, 5, 9, 0, tzinfo=SHANGHAI))

    shown = api.get("/followups/summary?quarter=2026Q4", people.head).get_json()
    numbers = {item_of(system, i).number: name for i, name in ((on_time, "on_time"), (late, "late"),
                                                                (overdue, "overdue"), (y_closed, "y_closed"),
                                                                (y_open, "y_open"))}
    statuses = {numbers[i["number"]]: (i["status"], i["closed_on_time"]) for i in shown["items"]}
    assert len(shown["items"]) == 5 and statuses == {
        "on_time": ("closed", True), "late": ("closed", False), "overdue": ("overdue", None),
        "y_closed": ("closed", True), "y_open": ("on_time", None)}
    units = {u["unit"]: (u["items"], u["closed"], u["closed_on_time"], u["overdue"], u["on_time_rate"])
             for u in shown["units"]}
    assert units == {x: (3, 2, 1, 1, 0.3333), y: (2, 1, 1, 0, 1.0)}
    assert (shown["total"]["items"], shown["total"]["on_time_rate"]) == (5, 0.5)
    assert shown["report_to"]["article"].startswith("巴州常务会议规则 第二十三条")

    book = openpyxl.load_workbook(io.BytesIO(api.get("/followups/summary?quarter=2026Q4&format=xlsx",
                                                     people.head).data))
    header, *rows = list(book["按单位"].iter_rows(values_only=True))
    assert header[0] == "主办单位" and rows[-1][0] == "合计"
    sheet = {r[0]: dict(zip(header, r, strict=True)) for r in rows}
    for unit in shown["units"]:
        cells = sheet[unit["unit_name"]]
        assert (cells["事项数"], cells["已销号"], cells["按期销号"], cells["逾期"]) == (
            unit["items"], unit["closed"], unit["closed_on_time"], unit["overdue"])
        assert cells["按期办结率"] == pytest.approx(unit["on_time_rate"])
    assert book["督办事项"].max_row == 6                                                   # header + 5 items
    text = api.get("/followups/summary?quarter=2026Q4&format=csv", people.head).data.decode("utf-8-sig")
    assert [r[0] for r in csv.reader(io.StringIO(text))][1:] == [u["unit_name"] for u in shown["units"]] + ["合计"]


def test_the_ledger_shows_a_unit_its_own_items_and_filters_by_status(make):
    system = make("bazhou")
    people, api = People("bazhou"), Api(create_app(system=system))
    x, y = lead_and_other(people.org)
    by_hand(system, people, x, [], "2026-11-26")                      # due in 3 工作日: 即将到期
    by_hand(system, people, y, [x], "2027-06-30")
    outsider = next(d for d in people.org.departments if d not in (x, y) and not people.org.departments[d].duties
                    and d != people.org.office_id)
    assert api.get("/followups", people.staff(outsider)).get_json()["total"] == 0
    assert api.get("/followups", people.staff(x)).get_json()["total"] == 2              # leads one, assists one
    assert api.get("/followups", people.staff(y)).get_json()["total"] == 1
    soon = api.get("/followups?status=due_soon", people.clerk).get_json()["items"]
    assert [(i["lead_unit"], i["status_name"]) for i in soon] == [(x, "即将到期")]
    assert api.get("/followups?status=late", people.clerk).status_code == 422
    assert api.get("/followups/summary?quarter=2026-4", people.clerk).status_code == 422


# -- what the review of this procedure found ---------------------------------------------------------------------
def test_an_item_the_office_leads_goes_to_the_head_where_no_leader_has_the_office_in_portfolio(make):
    """重庆: no 副市长 has the 办公厅 in portfolio — the 市长 answers for its items (F3)."""
    system = make("chongqing")
    people = People("chongqing")
    office = people.org.office_id
    instance_id = by_hand(system, people, office, [], "2027-03-31")
    report(system, people, office, instance_id, action="申请延期", new_due_on="2027-06-30", reason="待上级批复")
    assert task(system, instance_id, "extension").assignee == people.head
    with system.store.read() as session:
        row = session.scalars(select(Task).where(Task.instance_id == instance_id, Task.step_id == "extension")).one()
    assert item_of(system, instance_id).leader == people.head and row.assignee == people.head


def test_a_late_assisting_unit_does_not_make_the_lead_units_report_late(make):
    system = make("bazhou")
    people = People("bazhou")
    lead, _ = lead_and_other(people.org)
    instance_id = by_hand(system, people, lead, ["czj"], "2027-03-31", report_every_wd=5)
    complete(system, people.staff(lead), task(system, instance_id, "progress_report").id,
             {"progress": "按期报告", "action": "继续办理"})                                  # on time, 11-23
    set_clock(system, datetime(2026, 12, 2, 9, 0, tzinfo=SHANGHAI))
    for _ in range(3):
        advance(system, days=1)                                            # 12-03, 12-04 press; 12-05 is Saturday
    contribution = task(system, instance_id, "contribute")
    with system.store.read() as session:
        assert session.get(Task, contribution.id).pressed_count == 2
    advance(system, days=2)                                                # Monday 12-07: third press escalates
    assert len(events(system, instance_id, "task_escalated")) == 1
    complete(system, holder(system, contribution), contribution.id, {"progress": "补报"})
    item = item_of(system, instance_id)
    assert (item.reports, item.late_reports) == (1, 0)


def test_items_from_the_meeting_are_set_by_the_system_and_a_decision_is_followed_once(make):
    system = make("bazhou")
    people, api = People("bazhou"), Api(create_app(system=system))
    lead, _ = lead_and_other(people.org)
    forged = {"source": "常务会议", "task": "整治", "lead_unit": lead, "assisting_units": [], "due_on": "2020-01-01"}
    response = api.post("/instances", people.staff(lead), json={"process_id": "decision_followup", "data": forged})
    assert response.status_code == 403
    entered = {**forged, "due_on": "2026-12-31", "meeting": 99, "decision_item": 77}
    response = api.post("/instances", people.clerk, json={"process_id": "decision_followup", "data": entered})
    assert response.status_code == 422
    assert {d["field"]: d["reason"] for d in response.get_json()["details"]} == {
        "meeting": "会议 99 不存在", "decision_item": "议定事项 77 不存在"}
    assert count(system, FollowupItem) == 0


def test_no_return_or_withdrawal_goes_back_past_what_the_ledger_recorded(make):
    system = make("bazhou")
    people = People("bazhou")
    lead, _ = lead_and_other(people.org)
    instance_id = by_hand(system, people, lead, [], "2026-12-31")
    report(system, people, lead, instance_id, action="申请延期", new_due_on="2027-01-31", reason="材料未齐")
    extension = task(system, instance_id, "extension")
    with system.store.write() as session, pytest.raises(Conflict) as refused:
        rewind.send_back(system, session, actor(system, extension.assignee), extension.id, "progress_report", "重报")
    assert refused.value.message == "“报告登记”已登记，不能退回或撤回到此前的步骤"
    report_row = [t for t in done_tasks(system, instance_id) if t.step_id == "progress_report"][0]
    with system.store.write() as session, pytest.raises(Conflict):
        rewind.withdraw(system, session, actor(system, people.staff(lead)), report_row.id)
    assert item_of(system, instance_id).reports == 1


def done_tasks(system, instance_id: int) -> list[Task]:
    with system.store.read() as session:
        return list(session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == "completed")))


def test_an_item_applied_for_in_time_is_on_time_whenever_the_office_checks_it(make):
    system = make("bazhou")
    people, api = People("bazhou"), Api(create_app(system=system))
    lead, _ = lead_and_other(people.org)
    instance_id = by_hand(system, people, lead, [], "2026-11-27")
    set_clock(system, datetime(2026, 11, 27, 16, 0, tzinfo=SHANGHAI))
    report(system, people, lead, instance_id, action="申请销号", evidence="已办结")
    set_clock(system, datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI))                # checked 3 工作日 later
    assert [i["status_name"] for i in api.get("/followups", people.clerk).get_json()["items"]] == ["待核查销号"]
    verify = task(system, instance_id, "verify")
    complete(system, holder(system, verify), verify.id, {"result": "通过"})
    shown = api.get("/followups", people.clerk).get_json()["items"][0]
    assert (shown["status"], shown["closed_on"], shown["closed_on_time"]) == ("closed", "2026-12-02", True)


def test_a_past_quarter_is_not_rewritten_by_a_later_extension(make):
    system = make("bazhou")
    people, api = People("bazhou"), Api(create_app(system=system))
    lead, _ = lead_and_other(people.org)
    instance_id = by_hand(system, people, lead, [], "2026-12-15")
    set_clock(system, datetime(2027, 1, 5, 9, 0, tzinfo=SHANGHAI))
    before = api.get("/followups/summary?quarter=2026Q4", people.head).get_json()
    report(system, people, lead, instance_id, action="申请延期", new_due_on="2027-03-31", reason="资金未到位")
    extension = task(system, instance_id, "extension")
    complete(system, extension.assignee, extension.id, {"decision": "同意"})
    after = api.get("/followups/summary?quarter=2026Q4", people.head).get_json()
    assert [(i["status"], i["due_on"]) for i in after["items"]] == [(i["status"], i["due_on"]) for i in before["items"]]
    assert after["items"][0]["status"] == "overdue" and after["total"]["on_time_rate"] == 0.0
    assert api.get("/followups", people.head).get_json()["items"][0]["status"] == "on_time"    # now: extended


def test_spreadsheets_carry_text_never_formulas(make):
    system = make("bazhou")
    people, api = People("bazhou"), Api(create_app(system=system))
    lead, _ = lead_and_other(people.org)
    by_hand(system, people, lead, [], "2026-12-31", task='=HYPERLINK("http://evil.example","点击")')
    book = openpyxl.load_workbook(io.BytesIO(api.get("/followups?format=xlsx", people.clerk).data))
    cell = book.active.cell(row=2, column=3)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    text = api.get("/followups?format=csv", people.clerk).data.decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text)))[1][2].startswith("'=HYPERLINK")


@pytest.mark.parametrize("path", ["/followups/summary?quarter=0000Q1", "/followups/summary?quarter=²026Q1",
                                  "/followups?meeting=99999999999999999999", "/followups?due_from=明天"])
def test_odd_ledger_queries_are_answered_in_words(bazhou, path):
    response = Api(create_app(system=bazhou)).get(path, People("bazhou").clerk)
    assert response.status_code == 422 and response.get_json()["message"]


def test_an_assisting_units_objection_is_answered_in_the_lead_units_report(make):
    system = make("bazhou")
    people = People("bazhou")
    lead, _ = lead_and_other(people.org)
    instance_id = by_hand(system, people, lead, ["czj"], "2027-03-31")
    contribution = task(system, instance_id, "contribute")
    complete(system, holder(system, contribution), contribution.id,
             {"progress": "已测算", "disagreement": "资金应由区级承担"})
    report_task = task(system, instance_id, "progress_report")
    with pytest.raises(ValidationFailed) as refused:
        complete(system, people.staff(lead), report_task.id, {"progress": "推进中", "action": "继续办理"})
    assert refused.value.details[0]["field"] == "problems"
    assert refused.value.details[0]["reason"].startswith("协办单位提出了不同意见")
    complete(system, people.staff(lead), report_task.id,
             {"progress": "推进中", "problems": "已与财政局商定由区级承担", "action": "继续办理"})
    assert item_of(system, instance_id).reports == 1


def test_minutes_naming_a_lead_unit_as_its_own_assistant_are_refused_with_the_decision():
    with pytest.raises(ValidationFailed) as refused:
        check_decisions([{"task": "a", "lead_unit": "czj", "due_on": "2027-01-01"},
                         {"task": "b", "lead_unit": "czj", "assisting_units": ["czj"], "due_on": "2027-01-01"}],
                        {"czj": None}, date(2026, 12, 1))
    assert refused.value.details == [{"field": "decisions[1].assisting_units",
                                      "reason": "第 2 项决定的主办单位不能同时是协办单位"}]
