"""议题申报上会 (T1-T12), one table per question, for each of the five jurisdictions: what blocks a
topic and with which article, which meeting it may go to, when a meeting may open, who recuses,
who countersigns the minutes, who may decide at once in an emergency. ``None`` in a table: the
jurisdiction's rules do not say, so nothing is checked."""
from __future__ import annotations

from datetime import datetime

import pytest

from conftest import load_org
from govflow import profiles
from govflow.rules import consultation
from govflow.rules import meeting as meeting_rules
from govflow.rules import topic as rules
from govflow.time.timeutil import SHANGHAI
from govflow.time.workdays import WorkdayCalendar

PIDS = profiles.PROFILE_IDS
ORGS = {pid: load_org(pid) for pid in PIDS}
PROFILES = {pid: profiles.load(pid) for pid in PIDS}
DECLARED = ["依据文件", "公众参与", "专家论证", "风险评估报告", "上位文件", "政策解读", "镇街意见"]


def lead_department(pid: str) -> str:
    """A department led by an ordinary 副区长/副市长 (not the office, not a reviewing department)."""
    org = ORGS[pid]
    return next(d for d in org.departments if (leader := org.portfolio_leader(d)) and leader.post == "deputy"
                and not org.departments[d].duties)


def topic(pid: str, **changes) -> rules.Topic:
    fields = dict(title="关于城区停车管理办法的议题", department=lead_department(pid), categories=(), departments=(),
                  materials=tuple(DECLARED), within_own_authority=False)
    fields.update(changes)
    return rules.Topic(**fields)


def finding(pid: str, material: str, produced: set[str], refused: set[str] = frozenset(), **changes):
    found = rules.missing_materials(topic(pid, **changes), PROFILES[pid], produced, refused)
    return next((v for v in found if material in v.message), None)


def check(violations: list, article: str | None, rule: str) -> None:
    """Blocked with ``article`` quoted, or — where the rules are silent — not blocked."""
    if article is None:
        assert violations == []
    else:
        assert [v.rule for v in violations] == [rule] and article in violations[0].article, violations


# -- T4 materials ---------------------------------------------------------------------------------------------
LEGALITY = {"bazhou": "巴州区人民政府工作规则 第二十二条", "chongqing": "重庆市人民政府工作规则 第十九条",
            "dazu": "重庆市大足区人民政府工作规则 第十六条", "dongchang": "通化市东昌区人民政府工作规则 第二十七条",
            "ziyang": None}


@pytest.mark.parametrize("pid, article", LEGALITY.items())
def test_a_normative_document_without_legality_review_is_blocked(pid, article):
    normative = dict(categories=("行政规范性文件",))
    missing = finding(pid, "合法性审查意见", {"征求意见采纳情况汇总表"}, **normative)
    check([missing] if missing else [], article, "T4")
    needed = {m for m, _ in rules.required_materials(topic(pid, **normative), PROFILES[pid])}
    assert (rules.LEGALITY in needed) == (article is not None)             # and 司法局 gets the review task
    assert finding(pid, "合法性审查意见", {"征求意见采纳情况汇总表", "合法性审查意见"}, **normative) is None
    refused = finding(pid, "合法性审查意见", {"征求意见采纳情况汇总表"}, {"合法性审查意见"}, **normative)
    assert (refused is not None and "未通过审查" in refused.message) == (article is not None)


FAIR_COMPETITION = {"bazhou": "巴州区人民政府工作规则 第二十八条", "chongqing": "重庆市人民政府工作规则 第二十三条",
                    "dazu": "重庆市大足区人民政府工作规则 第二十条",
                    "dongchang": "通化市东昌区人民政府工作规则 第二十七条", "ziyang": None}


@pytest.mark.parametrize("pid, article", FAIR_COMPETITION.items())
def test_a_market_topic_without_fair_competition_review_is_blocked(pid, article):
    market = dict(categories=("涉及市场主体",))
    missing = finding(pid, "公平竞争审查意见", {"征求意见采纳情况汇总表"}, **market)
    check([missing] if missing else [], article, "T4")
    assert finding(pid, "公平竞争审查意见", {"征求意见采纳情况汇总表", "公平竞争审查意见"}, **market) is None


def test_bazhou_lists_every_missing_paper_at_once_and_says_it_never_goes_to_the_meeting():
    found = rules.missing_materials(topic("bazhou", categories=("重大行政决策",), materials=()), PROFILES["bazhou"],
                                    {"征求意见采纳情况汇总表"})
    assert [v.message.split("（")[0] for v in found] == [
        "依据文件缺失", "公众参与缺失", "专家论证缺失", "风险评估报告缺失", "合法性审查意见缺失",
        "公平竞争审查意见缺失"]
    assert all("巴州常务会议规则 第十七条：要件不全的不上会" in v.message for v in found)


# -- T2 not for the meeting -------------------------------------------------------------------------------------
OWN_AUTHORITY = {"bazhou": "巴州常务会议规则 第四条", "chongqing": "重庆市人民政府工作规则 第四十四条",
                 "dazu": "重庆市大足区人民政府工作规则 第四十条", "dongchang": None, "ziyang": None}


@pytest.mark.parametrize("pid, article", OWN_AUTHORITY.items())
def test_a_matter_within_a_leaders_own_authority_is_turned_away(pid, article):
    check(rules.not_for_meeting(topic(pid, within_own_authority=True), PROFILES[pid]), article, "T2")
    assert rules.not_for_meeting(topic(pid), PROFILES[pid]) == []


# -- T3 disagreement ---------------------------------------------------------------------------------------------
OBJECTION = [{"department": "czj", "decision": "不同意", "opinion": "资金来源不明确"}]
STATED = {"statement": "财政局认为资金来源不明", "preferred_option": "分两年安排"}
DISAGREEMENT = {   # what is blocked with nothing said, and what lets the topic go on
    "bazhou": ("巴州常务会议规则 第十六条", {"key_content": False, "statement": "仅文字表述有分歧，已采纳"}),
    "chongqing": ("重庆市人民政府工作规则 第四十五条", STATED),
    "dazu": ("重庆市大足区人民政府工作规则 第四十二条", STATED),
    "dongchang": ("通化市东昌区人民政府工作规则 第二十四条", {"coordination_meeting": "专题会议纪要〔2026〕7号"}),
    "ziyang": (None, {}),
}


@pytest.mark.parametrize("pid, article, enough", [(p, a, e) for p, (a, e) in DISAGREEMENT.items()])
def test_a_remaining_disagreement_is_handled_as_each_jurisdiction_says(pid, article, enough):
    check(rules.disagreement(OBJECTION, {}, PROFILES[pid]), article, "T3")
    assert rules.disagreement(OBJECTION, enough, PROFILES[pid]) == []
    assert rules.disagreement([], {}, PROFILES[pid]) == []


def test_in_bazhou_a_key_disagreement_never_goes_to_the_meeting_and_a_minor_one_is_stated():
    profile = PROFILES["bazhou"]
    key = rules.disagreement(OBJECTION, {"key_content": True, "statement": "已协调两次"}, profile)
    assert "一律不提请常务会议审议" in key[0].message
    assert rules.disagreement(OBJECTION, {"key_content": False}, profile)[0].message == "请说明其余分歧及协调情况"


# -- T1 who approves -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("pid", PIDS)
def test_the_topic_is_approved_by_the_people_the_rules_name_in_order(pid):
    org, department = ORGS[pid], lead_department(pid)
    expected = {"bazhou": [org.with_post("office_director")[0].id, org.executive_deputy().id, org.head().id],
                "ziyang": []}.get(pid, [org.portfolio_leader(department).id, org.head().id])
    assert rules.approval_chain(topic(pid), PROFILES[pid], org) == expected


# -- T5 which meeting ----------------------------------------------------------------------------------------------
MEETING = datetime(2026, 12, 3, 9, 0, tzinfo=SHANGHAI)                                  # 周四
IN_TIME = {  # approved on 周三 12-02 (1 工作日 before), 周二 12-01 (2), 周四 11-19 (10)
    "bazhou": (False, True, True), "chongqing": (True, True, True), "dazu": (True, True, True),
    "dongchang": (True, True, True), "ziyang": (False, False, True)}


@pytest.mark.parametrize("pid, expected", IN_TIME.items())
def test_a_topic_is_in_time_for_a_meeting_by_the_jurisdictions_deadline_in_workdays(pid, expected):
    approved = [datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI), datetime(2026, 12, 1, 16, 0, tzinfo=SHANGHAI),
                datetime(2026, 11, 19, 16, 0, tzinfo=SHANGHAI)]
    calendar = WorkdayCalendar()
    assert tuple(rules.meets_deadline(a, MEETING, PROFILES[pid], calendar) for a in approved) == expected


def test_the_deadline_counts_from_the_meetings_day_in_beijing_time():
    early = datetime(2026, 12, 3, 7, 30, tzinfo=SHANGHAI)                     # still 12-02 in UTC
    approved = datetime(2026, 12, 1, 16, 0, tzinfo=SHANGHAI)
    assert rules.meets_deadline(approved, early, PROFILES["bazhou"], WorkdayCalendar())


def test_materials_are_due_at_the_end_of_the_office_day_before_the_meeting():
    due = rules.materials_due(MEETING, PROFILES["bazhou"], WorkdayCalendar())
    assert due == datetime(2026, 12, 2, 17, 30, tzinfo=SHANGHAI)              # 巴州 规则十三: 会前 1 工作日
    assert rules.materials_due(MEETING, PROFILES["dazu"], WorkdayCalendar()) == MEETING


LATE = {"bazhou": (True, "巴州常务会议规则 第十三条"), "ziyang": (True, "资阳市人民政府工作规则 第三十八条"),
        "dongchang": (False, "通化市东昌区人民政府工作规则 第二十二条"), "dazu": (False, ""), "chongqing": (False, "")}


@pytest.mark.parametrize("pid, expected", LATE.items())
def test_who_may_admit_a_late_topic(pid, expected):
    assert rules.late_rule(PROFILES[pid]) == expected


# -- consultation window ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("pid, days", {"bazhou": 3, "dongchang": 7, "chongqing": None, "dazu": None,
                                       "ziyang": None}.items())
def test_silence_counts_as_no_objection_only_after_the_window_the_rules_set(pid, days):
    assert consultation.consultation_window(PROFILES[pid]) == days


# -- T8 quorum ---------------------------------------------------------------------------------------------------
QUORUM = {"bazhou": "巴州区人民政府工作规则 第四十一条", "dazu": "重庆市大足区人民政府工作规则 第四十三条",
          "ziyang": "资阳市人民政府工作规则 第三十八条", "chongqing": None, "dongchang": None}


@pytest.mark.parametrize("pid, article", QUORUM.items())
def test_a_nine_member_meeting_with_four_present_is_refused(pid, article):
    refused = meeting_rules.quorum(4, 9, PROFILES[pid])
    check(refused, article, "T8")
    if refused:
        assert "组成人员 9 人，到会 4 人" in refused[0].message
    assert meeting_rules.quorum(5, 9, PROFILES[pid]) == []


@pytest.mark.parametrize("pid", PIDS)
def test_every_member_is_on_the_sign_in_sheet_and_every_absence_asked_leave(pid):
    org, profile = ORGS[pid], PROFILES[pid]
    members = list(org.meeting_members)
    assert meeting_rules.attendance_problems(members[1:], {members[0]: "赴省开会"}, org, profile) == []
    problems = meeting_rules.attendance_problems(members[2:] + ["nobody"], {members[0]: " "}, org, profile)
    assert sorted(p["field"] for p in problems) == ["absent", "absent", "present"]
    to = profile.titles["head"] if profile.value("absence_leave_from") == "head" else "会议主持人"
    assert any(f"缺席须事先向{to}请假" in p["reason"] for p in problems)
    both = meeting_rules.attendance_problems(members, {members[0]: "赴省开会"}, org, profile)
    assert [p["reason"] for p in both] == [f"{org.display_name(members[0])}不能既到会又请假"]
    nobody = meeting_rules.attendance_problems([], {m: "外出" for m in members}, org, profile)
    assert [p["reason"] for p in nobody] == ["没有组成人员到会"]


# -- T6 T9 T10 one topic at the meeting --------------------------------------------------------------------------
def test_a_topic_whose_presenters_are_both_absent_is_not_taken_in_bazhou_unless_the_head_approves():
    profile = PROFILES["bazhou"]
    check(meeting_rules.presenters([], "通过", {}, profile), "巴州常务会议规则 第九条", "T6")
    assert meeting_rules.presenters([], "通过", {"reason": "汛期前须开工", "head_approved": True}, profile) == []
    assert meeting_rules.presenters(["someone"], "通过", {}, profile) == []
    assert meeting_rules.presenters([], "通过", {}, PROFILES["dazu"]) == []


RECUSAL = {"bazhou": "巴州常务会议规则 第十条", "chongqing": None, "dazu": None, "dongchang": None, "ziyang": None}


@pytest.mark.parametrize("pid, article", RECUSAL.items())
def test_a_member_recuses_with_a_reason_and_only_a_present_member_can(pid, article):
    org, profile = ORGS[pid], PROFILES[pid]
    member, present = org.meeting_members[2], set(org.meeting_members)
    assert meeting_rules.recusals([{"person": member, "reason": "近亲属在相关企业任职"}], present, org, profile) == []
    check(meeting_rules.recusals([{"person": member, "reason": ""}], present, org, profile), article, "T9")
    absent = meeting_rules.recusals([{"person": member, "reason": "利害关系"}], present - {member}, org, profile)
    assert [v.rule for v in absent] == ["T9"] and org.display_name(member) in absent[0].message


def test_the_head_concludes_each_topic_in_bazhou():
    check(meeting_rules.conclusion("通过", "", PROFILES["bazhou"]), "巴州常务会议规则 第十条", "T10")
    assert meeting_rules.conclusion("通过", "原则同意", PROFILES["bazhou"]) == []
    assert meeting_rules.conclusion("通过", "", PROFILES["dazu"]) == []


# -- T11 minutes -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pid", PIDS)
def test_minutes_on_funds_are_countersigned_by_the_leader_in_charge_only_in_dazu(pid):
    org, department = ORGS[pid], lead_department(pid)
    decisions = [{"task": "安排资金", "lead_unit": department, "involves": ["资金"]},
                 {"task": "印发通知", "lead_unit": department, "involves": []}]
    expected = [org.portfolio_leader(department).id] if pid == "dazu" else []
    assert meeting_rules.countersigners(decisions, PROFILES[pid], org) == expected
    assert meeting_rules.countersigners(decisions[1:], PROFILES[pid], org) == []


# -- T11 deadlines after the meeting: 送签, 印发, 报区委 ------------------------------------------------------------
HELD = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)        # a Monday with no holiday in the next two weeks


@pytest.mark.parametrize("pid, decision, expected", [
    # 巴州常务会议规则 第二十一条: 会后2个工作日内送签；须作重大修改的 5 个工作日
    ("bazhou", {"document": True}, [("送签", "2026-11-25", "巴州常务会议规则 第二十一条")]),
    ("bazhou", {"document": True, "major_revision": True}, [("送签", "2026-11-30", "巴州常务会议规则 第二十一条")]),
    # 巴州常务会议规则 第二十二条: 需报区委审定的事项，会后3个工作日内报区委
    ("bazhou", {"party_committee": True}, [("报区委", "2026-11-26", "巴州常务会议规则 第二十二条")]),
    # 东昌 二十二: 讨论通过决定印发的文件，会议结束后7个工作日内印发
    ("dongchang", {"document": True}, [("印发", "2026-12-02", "通化市东昌区人民政府工作规则 第二十二条")]),
    ("dongchang", {"party_committee": True}, []),
    *[(pid, {"document": True, "party_committee": True}, []) for pid in ("dazu", "chongqing", "ziyang")],
])
def test_the_limits_after_the_meeting(pid, decision, expected):
    found = meeting_rules.after_meeting(decision, HELD, PROFILES[pid], WorkdayCalendar())
    assert [(f["step"], f["due_on"], f["article"]) for f in found] == expected


@pytest.mark.parametrize("pid", PIDS)
def test_a_decision_due_after_its_limit_is_refused(pid):
    late = {"task": "印发停车管理办法", "lead_unit": lead_department(pid), "due_on": "2026-12-31", "document": True,
            "party_committee": True}
    found = meeting_rules.after_meeting_limits([late], HELD, PROFILES[pid], WorkdayCalendar())
    expected = {"bazhou": ["第二十一条", "第二十二条"], "dongchang": ["第二十二条"]}.get(pid, [])
    assert [v.rule for v in found] == ["T11"] * len(expected)
    assert all(article in v.article and "第 1 项决定须于会后" in v.message
               for v, article in zip(found, expected, strict=True))
    in_time = {**late, "due_on": "2026-11-25"}
    assert meeting_rules.after_meeting_limits([in_time], HELD, PROFILES[pid], WorkdayCalendar()) == []


# -- T12 emergencies --------------------------------------------------------------------------------------------
EMERGENCY = {   # (post, may decide at once?) → the article quoted when refused
    "bazhou": ({"head": True, "deputy": True, "office_director": True, "dept_head": False},
               "巴州常务会议规则 第十一条"),
    "dazu": ({"head": True, "deputy": False}, "重庆市大足区人民政府工作规则 第六条"),
    "ziyang": ({"deputy": True, "head": True, "dept_head": False}, "资阳市人民政府工作规则 第二十六条"),
    # no article: a leader registers what was decided, nobody else
    "chongqing": ({"head": True, "deputy": True, "dept_head": False}, "重庆市人民政府工作规则"),
    "dongchang": ({"head": True, "office_director": True, "dept_staff": False}, "通化市东昌区人民政府工作规则"),
}


@pytest.mark.parametrize("pid, posts, article", [(p, posts, a) for p, (posts, a) in EMERGENCY.items()])
def test_who_may_decide_at_once_in_an_emergency(pid, posts, article):
    org = ORGS[pid]
    for post, allowed in posts.items():
        person = next(p for p in org.people.values() if p.post == post and (post != "deputy" or p.portfolio))
        refused = meeting_rules.emergency_actor(person.id, PROFILES[pid], org)
        assert (refused == []) == allowed, (post, refused)
        if refused:
            assert refused[0].rule == "T12" and article in refused[0].article
