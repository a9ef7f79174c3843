"""巴州 第十一条: AB角 partners both away — "由区政府办公室主任协调，报区长决定". The 区长 decides (is
the substitute who may complete), the 办公室主任 coordinates and so sees the task (acting_people),
without becoming its substitute. Profiles whose seeds are silent, or say otherwise, are unchanged."""
from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import MONDAY_9AM, load_org
from govflow import profiles
from govflow.people.access import acting_people
from govflow.people.auth import Actor
from govflow.people.substitution import coordinated_by, principals_of, record_leave, substitute_for


def _pair(org):
    deputy = next(p for p in org.people.values() if p.ab_partner)
    return deputy.id, deputy.ab_partner


def _actor(org, person_id):
    p = org.person(person_id)
    return Actor(p.id, p.name, p.post, p.department, frozenset())


def test_bazhou_both_ab_partners_away_the_office_director_coordinates_and_the_head_decides():
    org, profile = load_org("bazhou"), profiles.load("bazhou")
    deputy, partner = _pair(org)
    director = org.with_post("office_director", org.office_id)[0].id
    acting = substitute_for(org, profile, {deputy, partner}, deputy)
    assert acting.substitute == org.head().id and acting.coordinator == director
    assert "第十一条" in acting.article
    assert "由区政府办公室主任协调,报区长决定" in acting.note
    assert acting.to_dict(org)["coordinator"] == director
    # the 办公室主任 coordinates the two partners' work, but acts for nobody
    assert {a.principal for a in coordinated_by(org, profile, {deputy, partner}, director)} == {deputy, partner}
    assert principals_of(org, profile, {deputy, partner}, director) == []
    assert {a.principal for a in principals_of(org, profile, {deputy, partner}, org.head().id)} == {deputy, partner}


def test_bazhou_one_partner_away_the_office_director_sees_nothing_extra():
    org, profile = load_org("bazhou"), profiles.load("bazhou")
    deputy, partner = _pair(org)
    director = org.with_post("office_director", org.office_id)[0].id
    assert substitute_for(org, profile, {deputy}, deputy).coordinator == ""
    assert coordinated_by(org, profile, {deputy}, director) == []


def test_bazhou_the_office_directors_inbox_holds_the_absent_partners_tasks(sqlite_system):
    """Real leave rows in a real SQLite file: the 办公室主任's people include both partners."""
    org, profile = load_org("bazhou"), profiles.load("bazhou")
    deputy, partner = _pair(org)
    director = org.with_post("office_director", org.office_id)[0].id
    later = MONDAY_9AM + timedelta(days=2)
    with sqlite_system.store.write() as session:
        for person in (deputy, partner):
            record_leave(session, org, profile, person, MONDAY_9AM, later, "出差", "test")
        now = MONDAY_9AM + timedelta(hours=1)
        seen = acting_people(session, org, _actor(org, director), now)
        assert seen[0] == director and set(seen[1:]) == {deputy, partner}
        after = acting_people(session, org, _actor(org, director), later + timedelta(hours=1))
        assert after == [director]


@pytest.mark.parametrize("pid", ["ziyang", "dazu", "dongchang", "chongqing"])
def test_elsewhere_no_office_director_coordinates(pid):
    """ziyang 五十七 has the 常务副市长 act; dazu and dongchang are silent; chongqing has no AB角."""
    org, profile = load_org(pid), profiles.load(pid)
    director = org.with_post("office_director", org.office_id)[0].id
    pair = [p for p in org.people.values() if p.ab_partner]
    if not pair:        # no AB角 in the example org: with everyone away, still nobody coordinates
        assert coordinated_by(org, profile, set(org.people), director) == []
        return
    deputy, partner = pair[0].id, pair[0].ab_partner
    acting = substitute_for(org, profile, {deputy, partner}, deputy)
    assert acting is None or acting.coordinator == ""
    assert coordinated_by(org, profile, {deputy, partner}, director) == []


# -- end to end: a real dept_request waiting for the absent 分管副区长's 签发 -------------------------------------
def _request_at_sign_off(system):
    from conftest import REPO
    from helpers import complete, deploy_xml, start, task
    org = load_org("bazhou")
    clerk = next(p.id for p in org.with_post("office_clerk", org.office_id) if not p.roles)
    dept = next(d for d in org.departments if org.portfolio_leader(d) and org.portfolio_leader(d).ab_partner)
    leader = org.portfolio_leader(dept).id
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    instance_id = start(system, clerk, "dept_request",
                        {"title": "关于追加防汛经费的请示", "department": dept, "urgency": "特急"})
    complete(system, clerk, task(system, instance_id, "office_review").id, {"decision": "拟办", "opinion": "拟同意"})
    complete(system, clerk, task(system, instance_id, "office_check").id, {"decision": "同意"})
    complete(system, leader, task(system, instance_id, "leader_countersign").id, {"decision": "同意"})
    return instance_id, leader


def test_bazhou_the_office_director_sees_the_task_and_only_the_head_completes_it(system):
    import json

    from govflow.errors import Forbidden
    from govflow.work import inbox, tasks
    from helpers import actor, complete, events, task
    org = load_org("bazhou")
    instance_id, leader = _request_at_sign_off(system)
    partner = org.person(leader).ab_partner
    director = org.with_post("office_director", org.office_id)[0].id
    row = task(system, instance_id, "sign_off")
    with system.store.write() as session:
        profile = system.runtime(session).profile
        for person in (leader, partner):
            record_leave(session, org, profile, person, MONDAY_9AM - timedelta(hours=1),
                         MONDAY_9AM + timedelta(days=3), "外出学习", "test")
    with system.store.read() as session:
        now = system.now(session)
        people = acting_people(session, org, actor(system, director), now)
        rows, total = inbox.search(session, inbox.Query(view="mine"), people, now)
        assert row.id in {r.id for r in rows}
        shown = inbox.describe(next(r for r in rows if r.id == row.id), now, system.runtime(session),
                               {leader, partner})
        assert shown["acting"]["substitute"] == org.head().id and shown["acting"]["coordinator"] == director
        assert not tasks.standing(session, system.runtime(session), actor(system, director), row, now).may_act
    with pytest.raises(Forbidden):
        complete(system, director, row.id, {"decision": "同意签发", "opinion": "同意"})
    complete(system, org.head().id, row.id, {"decision": "同意签发", "opinion": "同意（代）"})
    done = events(system, instance_id, "task_completed")[-1]
    assert done.actor == org.head().id and json.loads(done.payload)["acting_for"] == leader
