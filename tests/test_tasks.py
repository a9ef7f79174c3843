"""The inbox and the operations on a task: queries, claim, 转办, 委派, comment, 催办, substitution
while a holder is away, timers that cancel a task, and two people completing one task at once."""
from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from bpmn_builder import boundary_timer, chain, diagram, end, flow, start, user
from conftest import MONDAY_9AM, REPO, load_org
from govflow.errors import Conflict, Forbidden, ValidationFailed
from govflow.people.substitution import record_leave
from govflow.work import admin, inbox, instances, tasks, worker
from helpers import actor, complete, deploy_xml, events, holder, open_tasks, task
from helpers import start as start_instance

ORG = load_org("bazhou")
CLERKS = [p.id for p in ORG.with_post("office_clerk", ORG.office_id) if not p.roles]
# a department whose 分管副区长 has an AB角 partner
DEPT = next(d for d in ORG.departments if ORG.portfolio_leader(d) and ORG.portfolio_leader(d).ab_partner)
LEADER = ORG.portfolio_leader(DEPT).id


@pytest.fixture
def request_at_sign_off(system):
    """A dept_request instance waiting for 签发 by the 分管副区长 of DEPT."""
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    instance_id = start_instance(system, CLERKS[0], "dept_request",
                                 {"title": "关于追加防汛经费的请示", "department": DEPT, "urgency": "特急"})
    complete(system, CLERKS[0], task(system, instance_id, "office_review").id,
             {"decision": "拟办", "opinion": "拟同意"})
    complete(system, CLERKS[0], task(system, instance_id, "office_check").id, {"decision": "同意"})
    complete(system, LEADER, task(system, instance_id, "leader_countersign").id, {"decision": "同意"})
    return instance_id


def search(system, person, **query):
    with system.store.read() as session:
        rows, total = inbox.search(session, inbox.Query(**query), [person], system.now(session))
        return rows, total


def op(system, name, person, *args):
    with system.store.write() as session:
        return getattr(tasks, name)(system, session, actor(system, person), *args)


def test_a_group_task_is_in_every_clerks_group_inbox(system):
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    instance_id = start_instance(system, CLERKS[0], "dept_request",
                                 {"title": "关于开展安全检查的请示", "department": "sfj", "urgency": "一般"})
    for clerk in CLERKS:
        rows, total = search(system, clerk, view="group")
        assert total == 1 and rows[0].instance_id == instance_id and rows[0].assignee is None
    assert search(system, LEADER, view="group")[1] == 0
    created = events(system, instance_id, "task_created")[0]
    assert set(json.loads(created.payload)["candidates"]) >= set(CLERKS)


def test_sign_off_has_a_working_day_deadline_and_urgency(system, request_at_sign_off):
    row = task(system, request_at_sign_off, "sign_off")
    assert row.assignee == LEADER and row.urgency == "特急" and row.priority == 2
    assert row.due_at.astimezone(MONDAY_9AM.tzinfo).isoformat() == "2026-11-26T17:30:00+08:00"
    assert search(system, LEADER, view="mine", urgency="特急")[1] == 1


def test_queries_by_process_business_key_title_and_overdue(system, request_at_sign_off):
    assert search(system, LEADER, view="mine", process_id="dept_request")[1] == 1
    assert search(system, LEADER, view="mine", process_id="other")[1] == 0
    assert search(system, LEADER, view="mine", q="防汛")[1] == 1
    assert search(system, LEADER, view="mine", q="100%_")[1] == 0
    assert search(system, LEADER, view="mine", overdue=True)[1] == 0
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(days=4), "test")
    assert search(system, LEADER, view="mine", overdue=True)[1] == 1
    with system.store.read() as session:
        assert inbox.counts(session, [LEADER], system.now(session)) == {"mine": 1, "group": 0, "read": 0, "overdue": 1}
    assert search(system, CLERKS[0], view="done")[1] == 2


def test_claim_then_a_second_claim_conflicts_and_unclaim_returns_it(system):
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    instance_id = start_instance(system, CLERKS[0], "dept_request",
                                 {"title": "请示", "department": DEPT, "urgency": "一般"})
    row = task(system, instance_id, "office_review")
    op(system, "claim", CLERKS[0], row.id)
    with pytest.raises(Conflict, match="签收"):
        op(system, "claim", CLERKS[1], row.id)
    assert search(system, CLERKS[1], view="group")[1] == 0
    op(system, "unclaim", CLERKS[0], row.id)
    assert search(system, CLERKS[1], view="group")[1] == 1
    assert [e.type for e in events(system, instance_id)][-2:] == ["task_claimed", "task_unclaimed"]


def test_transfer_hands_the_task_over(system, request_at_sign_off):
    row = task(system, request_at_sign_off, "sign_off")
    other = next(p.id for p in ORG.with_post("deputy") if p.id != LEADER)
    op(system, "transfer", LEADER, row.id, other, "本人出差，请代为签发")
    assert task(system, request_at_sign_off, "sign_off").assignee == other
    with pytest.raises(Conflict, match="已由.*办理"):        # whoever handed it over is told it moved on
        complete(system, LEADER, row.id, {"decision": "同意签发", "opinion": "同意"})
    complete(system, other, row.id, {"decision": "同意签发", "opinion": "同意"})


def test_delegate_works_it_and_hands_it_back_to_the_owner(system, request_at_sign_off):
    row = task(system, request_at_sign_off, "sign_off")
    op(system, "delegate", LEADER, row.id, CLERKS[0], "请先核对数字")
    with pytest.raises(Conflict, match="委派"):
        complete(system, CLERKS[0], row.id, {"decision": "同意签发", "opinion": "同意"})
    with pytest.raises(Forbidden):
        op(system, "resolve", LEADER, row.id, "")
    op(system, "resolve", CLERKS[0], row.id, "数字无误")
    back = task(system, request_at_sign_off, "sign_off")
    assert back.assignee == LEADER and back.owner is None
    complete(system, LEADER, row.id, {"decision": "同意签发", "opinion": "同意"})
    kinds = [e.type for e in events(system, request_at_sign_off)]
    assert kinds.index("task_delegated") < kinds.index("delegation_returned") < kinds.index("instance_ended")


def test_comment_and_press_are_recorded_and_pressing_is_for_those_entitled(system, request_at_sign_off):
    row = task(system, request_at_sign_off, "sign_off")
    op(system, "comment", LEADER, row.id, "请补充资金测算")
    op(system, "press", CLERKS[0], row.id, "请尽快签发")
    pressed = task(system, request_at_sign_off, "sign_off")
    assert pressed.pressed_count == 1 and pressed.last_pressed_at is not None
    outsider = next(p.id for p in ORG.with_post("dept_staff") if p.department == "fgj")
    with pytest.raises(Forbidden):
        op(system, "press", outsider, row.id, "")
    with pytest.raises(ValidationFailed):
        op(system, "comment", LEADER, row.id, "   ")
    with system.store.read() as session:
        kinds = [entry["type"] for entry in tasks.history(session, request_at_sign_off)]
    assert kinds[-2:] == ["comment", "task_pressed"]


def test_the_ab_partner_acts_while_the_leader_is_away(system, request_at_sign_off):
    partner = ORG.person(LEADER).ab_partner
    row = task(system, request_at_sign_off, "sign_off")
    with system.store.write() as session:
        record_leave(session, ORG, system.runtime(session).profile, LEADER, MONDAY_9AM - timedelta(hours=1),
                     MONDAY_9AM + timedelta(days=3), "外出学习", "test")
    with system.store.read() as session:
        stand = tasks.standing(session, system.runtime(session), actor(system, partner), row, system.now(session))
    assert stand.may_act and stand.acting.rule == "P2" and "第十一条" in stand.acting.article
    complete(system, partner, row.id, {"decision": "同意签发", "opinion": "同意（代）"})
    done = events(system, request_at_sign_off, "task_completed")[-1]
    payload = json.loads(done.payload)
    assert done.actor == partner and payload["acting_for"] == LEADER and payload["rule"] == "P2"
    assert events(system, request_at_sign_off, "substitution")


def test_nobody_else_may_complete_a_task(system, request_at_sign_off):
    row = task(system, request_at_sign_off, "sign_off")
    with pytest.raises(Forbidden):
        complete(system, CLERKS[0], row.id, {"decision": "同意签发", "opinion": "同意"})


def expiring(process_id: str, deadline: str) -> bytes:
    """A reply with an interrupting deadline; when it passes, the office chases."""
    return diagram(process_id, start(), user("reply", form="press_record.json"),
                   boundary_timer("expired", "reply", deadline, cancel=True), user("chase", form="press_record.json"),
                   end(), end("end2"), chain("start", "reply", "end"), flow("f_exp", "expired", "chase"),
                   flow("f_chase", "chase", "end2"),
                   lanes={"办公室": ["start", "reply", "expired", "chase", "end", "end2"]})


def test_an_interrupting_timer_cancels_the_task_it_sits_on(system):
    deploy_xml(system, expiring("expiring", "workdays(1)"))
    instance_id = start_instance(system, CLERKS[0], "expiring", {})
    first = task(system, instance_id, "reply")
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(days=2), "test")
    assert worker.run_once(system) == 1
    assert [t.step_id for t in open_tasks(system, instance_id)] == ["chase"]
    assert any(json.loads(e.payload)["step"] == "reply" for e in events(system, instance_id, "task_cancelled"))
    with pytest.raises(Conflict):
        complete(system, CLERKS[0], first.id, {"note": "晚了"})


def test_two_people_completing_one_task_at_once_one_wins(system):
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    instance_id = start_instance(system, CLERKS[0], "dept_request",
                                 {"title": "请示", "department": DEPT, "urgency": "一般"})
    row = task(system, instance_id, "office_review")
    barrier, outcomes = threading.Barrier(2), []

    def attempt(person):
        barrier.wait()
        try:
            complete(system, person, row.id, {"decision": "拟办", "opinion": f"{person} 拟同意"})
            outcomes.append("ok")
        except Conflict as conflict:
            outcomes.append(conflict.message)

    threads = [threading.Thread(target=attempt, args=(clerk,)) for clerk in CLERKS[:2]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes, key=len)[0] == "ok" and "办理完毕" in sorted(outcomes, key=len)[1]
    assert len(events(system, instance_id, "task_completed")) == 1
    assert {t.step_id for t in open_tasks(system, instance_id)} == {"office_check", "leader_countersign"}
    assert holder(system, task(system, instance_id, "leader_countersign")) == LEADER


def test_an_estimated_deadline_is_recomputed_when_the_years_schedule_is_loaded(system):
    from datetime import date, datetime

    from govflow.time.timeutil import SHANGHAI
    deploy_xml(system, expiring("year_end", "workdays(5)"))
    with system.store.write() as session:
        admin.set_clock(system, session, datetime(2026, 12, 29, 9, 0, tzinfo=SHANGHAI), True, "test")
    instance_id = start_instance(system, CLERKS[0], "year_end", {})
    row = task(system, instance_id, "reply")
    assert row.due_estimated and row.due_at.astimezone(SHANGHAI).date() == date(2027, 1, 5)   # 元旦 counted
    with system.store.write() as session:
        admin.load_calendar_year(system, session, 2027, [date(2027, 1, 1)], [], "国办发明电〔2026〕N号", "test")
    assert instances.recompute_estimated_deadlines(system) == 1
    row = task(system, instance_id, "reply")
    assert not row.due_estimated and row.due_at.astimezone(SHANGHAI).date() == date(2027, 1, 6)
    assert events(system, instance_id, "deadline_recomputed")
    with system.store.write() as session:
        admin.set_clock(system, session, datetime(2027, 1, 5, 18, 0, tzinfo=SHANGHAI), True, "test")
    assert worker.run_once(system) == 0                          # the old deadline passed: nothing fires
    with system.store.write() as session:
        admin.set_clock(system, session, datetime(2027, 1, 6, 18, 0, tzinfo=SHANGHAI), True, "test")
    assert worker.run_once(system) == 1
    assert [t.step_id for t in open_tasks(system, instance_id)] == ["chase"]


def test_a_timer_whose_step_fails_is_postponed_and_recorded(system):
    xml = diagram("failing_timer", start(), user("wait", form="press_record.json"),
                  boundary_timer("late", "wait", "workdays(1)", cancel=True),
                  '<bpmn:scriptTask id="broken"><bpmn:script>x = missing + 1</bpmn:script></bpmn:scriptTask>',
                  end(), end("end2"), chain("start", "wait", "end"), flow("f_late", "late", "broken"),
                  flow("f_broken", "broken", "end2"), lanes={"办公室": ["start", "wait", "late", "end", "end2"]})
    deploy_xml(system, xml)
    instance_id = start_instance(system, CLERKS[0], "failing_timer", {})
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(days=3), "test")
    assert worker.run_once(system) == 0
    failed = events(system, instance_id, "timer_failed")
    assert failed and "broken" in json.loads(failed[0].payload)["reason"]
    assert [t.step_id for t in open_tasks(system, instance_id)] == ["wait"]       # nothing of the step stored
    assert worker.run_once(system) == 0 and len(events(system, instance_id, "timer_failed")) == 1   # retried later


def test_a_delegated_task_cannot_be_handed_on_by_the_delegate(system, request_at_sign_off):
    row = task(system, request_at_sign_off, "sign_off")
    op(system, "delegate", LEADER, row.id, CLERKS[0], "请先核对")
    with pytest.raises(Conflict, match="委派"):
        op(system, "transfer", CLERKS[0], row.id, CLERKS[1], "")
    assert task(system, request_at_sign_off, "sign_off").owner == LEADER


def test_an_added_signers_row_closes_when_its_task_is_cancelled(system):
    deploy_xml(system, expiring("expiring_sign", "workdays(1)"))
    instance_id = start_instance(system, CLERKS[0], "expiring_sign", {})
    reply = task(system, instance_id, "reply")
    op(system, "claim", CLERKS[0], reply.id)
    added = op(system, "add_signer", CLERKS[0], reply.id, LEADER, "请把关")
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(days=2), "test")
    worker.run_once(system)
    with system.store.read() as session:
        assert session.get(type(added), added.id).state == "cancelled"
    with pytest.raises(Conflict, match="撤销"):
        complete(system, LEADER, added.id, {"decision": "同意"})
