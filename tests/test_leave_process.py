"""processes/leave.bpmn (请销假, P3) with the people of the example organisations: a department
head's leave asked ahead, approved by whom the rules name, and only then acted on by substitution;
asked too late or recorded without its approver, it is refused with the article; its reason is
seen by the person, the approvers and auditors only."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from conftest import REPO, Api, build_system, load_org
from govflow.app import create_app
from govflow.errors import RuleBlocked
from govflow.people.substitution import away_at
from govflow.store.models import Instance, Leave
from govflow.time.timeutil import parse_moment
from helpers import complete, count, deploy_xml, instance, start, task

DIAGRAM = (REPO / "processes" / "leave.bpmn").read_bytes()


@pytest.fixture
def make(database_url):
    made = []

    def build(profile: str):
        system = build_system(database_url, profile)
        deploy_xml(system, DIAGRAM, "leave.bpmn")
        made.append(system)
        return system
    yield build
    for system in made:
        system.store.dispose()


def dept_head(org) -> str:
    return next(p.id for p in org.with_post("dept_head") if (leader := org.portfolio_leader(p.department))
                and leader.post == "deputy")


def leaves(system) -> list[Leave]:
    with system.store.read() as session:
        return list(session.scalars(select(Leave)))


def test_bazhou_two_days_away_are_approved_by_the_leader_in_charge_then_the_head(make):
    # 巴州 第八十三条: 2日及以上的由分管领导审核后报区长审批
    system, org = make("bazhou"), load_org("bazhou")
    person = dept_head(org)
    leader = org.portfolio_leader(org.person(person).department).id
    instance_id = start(system, person, "leave", {"person": person, "starts_at": "2026-11-25T08:00:00+08:00",
                                                   "ends_at": "2026-11-26T18:00:00+08:00", "reason": "赴省厅汇报"})
    first = task(system, instance_id, "approve")
    assert first.assignee == leader and leaves(system) == []                  # not away until approved
    complete(system, leader, first.id, {"decision": "同意", "opinion": "同意，报区长"})
    second = task(system, instance_id, "approve")
    assert second.assignee == org.head().id
    complete(system, org.head().id, second.id, {"decision": "同意"})
    [leave] = leaves(system)
    assert leave.instance_id == instance_id and leave.approved_by == f"{leader},{org.head().id}"
    with system.store.read() as session:
        assert person in away_at(session, parse_moment("2026-11-25T10:00:00+08:00"))
    assert instance(system, instance_id).status == "completed"

    api = Api(create_app(system=system))                                       # who sees the reason
    auditor = next(p.id for p in org.people.values() if "auditor" in p.roles)
    other = org.with_post("dept_head")[-1].id
    for viewer, sees in ((person, True), (leader, True), (org.head().id, True), (auditor, True), (other, False)):
        [shown] = api.get("/leave", viewer).get_json()["items"]
        assert (shown["reason"] == "赴省厅汇报") == sees, viewer


def test_bazhou_a_refused_leave_is_not_recorded(make):
    system, org = make("bazhou"), load_org("bazhou")
    person = dept_head(org)
    leader = org.portfolio_leader(org.person(person).department).id
    instance_id = start(system, person, "leave", {"person": person, "starts_at": "2026-11-25T08:00:00+08:00",
                                                   "ends_at": "2026-11-25T18:00:00+08:00"})
    complete(system, leader, task(system, instance_id, "approve").id, {"decision": "不同意", "opinion": "近期有检查"})
    assert leaves(system) == [] and instance(system, instance_id).status == "completed"


def test_dazu_a_leave_asked_less_than_three_days_ahead_is_refused_and_nothing_is_stored(make):
    # 大足 五十二: 离足外出1天以上，应提前3天按照有关规定办理请假手续; no approver named: recorded when asked
    system, org = make("dazu"), load_org("dazu")
    person = dept_head(org)
    before = count(system, Instance)
    with pytest.raises(RuleBlocked) as refused:
        start(system, person, "leave", {"person": person, "starts_at": "2026-11-25T08:00:00+08:00",
                                        "ends_at": "2026-11-25T18:00:00+08:00"})
    [violation] = refused.value.violations
    assert violation.article == "重庆市大足区人民政府工作规则 第五十二条" and "提前 3 天" in violation.message
    assert count(system, Instance) == before and leaves(system) == []
    instance_id = start(system, person, "leave", {"person": person, "starts_at": "2026-11-26T08:00:00+08:00",
                                                  "ends_at": "2026-11-26T18:00:00+08:00"})
    assert instance(system, instance_id).status == "completed" and len(leaves(system)) == 1


def test_a_department_heads_leave_recorded_directly_is_refused_where_an_approver_is_named(make):
    system, org = make("ziyang"), load_org("ziyang")
    person = dept_head(org)
    api = Api(create_app(system=system))
    refused = api.post("/leave", person, json={"person": person, "starts_at": "2026-11-30T08:00:00+08:00",
                                               "ends_at": "2026-11-30T18:00:00+08:00"})
    body = refused.get_json()
    assert refused.status_code == 422 and body["details"][0]["rule"] == "P3"
    assert body["details"][0]["article"] == "资阳市人民政府工作规则 第七十六条" and leaves(system) == []
    deputy = org.with_post("deputy")[0].id           # a 副市长's absence is no department head's leave
    start_at = parse_moment("2026-11-30T08:00:00+08:00")
    assert api.post("/leave", deputy, json={"person": deputy, "starts_at": start_at.isoformat(),
                                            "ends_at": (start_at + timedelta(hours=8)).isoformat()}).status_code == 201
