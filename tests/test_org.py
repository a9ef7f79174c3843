"""The organisation file, lanes resolved to people, and who acts for whom (P1/P2) per jurisdiction."""
from __future__ import annotations

from datetime import timedelta

import pytest

from conftest import MONDAY_9AM, REPO, load_org
from govflow import profiles
from govflow.errors import ValidationFailed
from govflow.people.org import Organisation
from govflow.people.substitution import record_leave, substitute_for


@pytest.mark.parametrize("profile_id", profiles.PROFILE_IDS)
def test_each_jurisdiction_ships_an_example_organisation(profile_id):
    org = load_org(profile_id)
    assert org.profile_id == profile_id
    assert org.head() and org.executive_deputy() and org.with_duty("合法性审查") and org.with_duty("公平竞争审查")
    for dept in org.departments:
        if dept != org.office_id:
            assert org.portfolio_leader(dept) is not None, dept


def _document(**changes):
    import tomllib
    document = tomllib.loads((REPO / "orgs" / "bazhou.toml").read_text(encoding="utf-8"))
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if key:
            document[section][int(key) if key.isdigit() else key] = value
        else:
            document[section] = value
    return document


@pytest.mark.parametrize("changes, field", [
    ({"government__profile": "beijing"}, "government.profile"),
    ({"government__office": "nowhere"}, "government.office"),
    ({"meeting__members": ["ghost"]}, "meeting.members"),
])
def test_a_wrong_organisation_file_is_refused_field_by_field(changes, field):
    with pytest.raises(ValidationFailed) as refused:
        Organisation.from_document(_document(**changes))
    assert any(d["field"] == field for d in refused.value.details)


def test_broken_people_are_each_reported():
    document = _document()
    people = document["people"]
    people[0]["post"] = "emperor"
    people[1]["department"] = "nowhere"
    people.append(dict(people[2]))                     # a duplicate id
    with pytest.raises(ValidationFailed) as refused:
        Organisation.from_document(document)
    fields = {d["field"] for d in refused.value.details}
    assert "people[0].post" in fields and "people" in fields


def test_ab_partners_must_name_each_other():
    document = _document()
    deputy = next(p for p in document["people"] if p.get("ab_partner"))
    deputy["ab_partner"] = next(p["id"] for p in document["people"] if p["post"] == "dept_staff")
    with pytest.raises(ValidationFailed, match="AB角"):
        Organisation.from_document(document)


def test_lanes_resolve_through_the_organisation_and_the_data():
    org = load_org("bazhou")
    assert org.resolve_lane("区长", {}).people == (org.head().id,)
    leader = org.resolve_lane("分管副区长", {"department": "sfj"})
    assert leader.assignee == org.portfolio_leader("sfj").id
    clerks = org.resolve_lane("办公室", {})
    assert clerks.assignee is None and len(clerks.people) >= 2
    head = org.resolve_lane("会签单位", {"consulted_department": "czj"})
    assert org.person(head.assignee).post == "dept_head" and org.person(head.assignee).department == "czj"
    legal = org.resolve_lane("合法性审查", {})
    assert {org.person(p).department for p in legal.people} == {"sfj"}


@pytest.mark.parametrize("data", [{}, {"department": "nowhere"}, {"department": 3}])
def test_a_relative_lane_without_a_department_refuses_the_step(data):
    with pytest.raises(ValidationFailed, match="department"):
        load_org("bazhou").resolve_lane("承办单位", data)


def test_an_unknown_lane_is_refused():
    with pytest.raises(ValidationFailed, match="泳道"):
        load_org("bazhou").resolve_lane("财务处", {})


# -- substitution ---------------------------------------------------------------------------------------------
def _pair(org):
    deputy = next(p for p in org.people.values() if p.post == "deputy" and p.ab_partner)
    return deputy.id, deputy.ab_partner


@pytest.mark.parametrize("profile_id", profiles.PROFILE_IDS)
def test_p1_the_executive_deputy_acts_for_the_head(profile_id):
    org, profile = load_org(profile_id), profiles.load(profile_id)
    acting = substitute_for(org, profile, {org.head().id}, org.head().id)
    assert acting.substitute == org.executive_deputy().id and acting.rule == "P1"
    assert acting.article == profile.param("acting_head").article


@pytest.mark.parametrize("profile_id, both_away", [
    ("bazhou", "head"),                 # 第十一条: 办公室主任协调，区长决定
    ("ziyang", "executive_deputy"),     # 五十七: 常务副市长代行
    ("dazu", None),                     # not set: nobody is invented
    ("dongchang", None),
])
def test_p2_ab_partners_and_when_both_are_away(profile_id, both_away):
    org, profile = load_org(profile_id), profiles.load(profile_id)
    deputy, partner = _pair(org)
    one = substitute_for(org, profile, {deputy}, deputy)
    assert one.substitute == partner and one.rule == "P2"
    both = substitute_for(org, profile, {deputy, partner}, deputy)
    if both_away is None:
        assert both is None
    else:
        expected = org.head().id if both_away == "head" else org.executive_deputy().id
        assert both.substitute == expected and both.article == profile.param("both_ab_away").article


def test_p2_where_the_rules_have_no_ab_roles_nobody_substitutes():
    org, profile = load_org("chongqing"), profiles.load("chongqing")
    deputy, _ = _pair(org)
    assert not profile.param("ab_roles").is_set
    assert substitute_for(org, profile, {deputy}, deputy) is None


def test_someone_present_needs_no_substitute():
    org, profile = load_org("bazhou"), profiles.load("bazhou")
    assert substitute_for(org, profile, set(), org.head().id) is None


def test_head_and_executive_deputy_may_not_be_away_together_where_the_rules_say_so(sqlite_system):
    org, profile = load_org("bazhou"), profiles.load("bazhou")
    later = MONDAY_9AM + timedelta(days=2)
    with sqlite_system.store.write() as session:
        record_leave(session, org, profile, org.head().id, MONDAY_9AM, later, "出差", "test")
        with pytest.raises(ValidationFailed, match="第十条"):
            record_leave(session, org, profile, org.executive_deputy().id, MONDAY_9AM + timedelta(days=1),
                         later + timedelta(days=1), "出差", "test")


def test_duplicate_department_ids_are_refused():
    document = _document()
    document["departments"].append(dict(document["departments"][-1]))
    with pytest.raises(ValidationFailed) as refused:
        Organisation.from_document(document)
    assert any(d["field"] == "departments" and "重复" in d["reason"] for d in refused.value.details)
