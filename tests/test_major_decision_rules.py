"""重大行政决策 (RULES-M M1-M16), one table per question for each of the five jurisdictions: which
steps a decision goes through, who reviews it, what a step's record must say, what blocks the
topic and with which article, and what follows the meeting. ``None``: the seed is silent and
nothing is asked."""
from __future__ import annotations

import pytest

from conftest import load_org
from govflow import profiles
from govflow.errors import ValidationFailed
from govflow.rules import major_decision as rules
from govflow.rules import topic as topic_rules

PIDS = profiles.PROFILE_IDS
ORGS = {pid: load_org(pid) for pid in PIDS}
PROFILES = {pid: profiles.load(pid) for pid in PIDS}
MATTER = {"title": "关于老旧小区改造规划的决策", "department": "x", "public_interest": True, "market": True,
          "departments": ["a"], "lower": ["b"]}


def plan(pid: str, **changes) -> dict:
    return rules.plan({**MATTER, **changes}, PROFILES[pid], ORGS[pid])


def steps(pid: str, **changes) -> dict[str, str]:
    return {s["step"]: s["article"] for s in plan(pid, **changes)["steps"]}


# -- M1 the flag ------------------------------------------------------------------------------------------
SCOPE = {"dazu": ("重大规划", "第十九条"), "chongqing": ("重大规划", "第二十二条"),
         "bazhou": ("重大投资计划", "第二十七条"),
         "ziyang": ("财政预算", "第二十六条"), "dongchang": (None, None)}


@pytest.mark.parametrize("pid, item, article", [(p, i, a) for p, (i, a) in SCOPE.items()])
def test_a_decision_is_flagged_under_its_profiles_list_never_by_its_title(pid, item, article):
    profile = PROFILES[pid]
    titled = {"title": "关于重大规划的决策"}                               # a keyword in the title flags nothing
    [problem] = rules.scope_problems(titled, profile)
    assert problem.rule == "M1"
    if item is None:                                  # 东昌: no list — a reason, checked by the office
        assert "理由" in problem.message
        flagged = {"scope_item": "重大公共建设项目", "scope_reason": "涉及公众切身利益"}
        assert rules.scope_problems(flagged, profile) == []
        assert "规则未列清单" in rules.scope_article(profile)
    else:
        assert article in problem.article
        assert rules.scope_problems({"scope_item": item}, profile) == []


@pytest.mark.parametrize("pid, item", [("chongqing", "政府规章"), ("ziyang", "政府规章"),
                                       ("chongqing", "地方性法规草案")])
def test_legislation_on_the_meeting_list_follows_its_own_route(pid, item):
    [problem] = rules.scope_problems({"scope_item": item}, PROFILES[pid])
    assert "立法程序" in problem.message


# -- M2 the steps each seed names -------------------------------------------------------------------------
NAMED = {
    "dazu": ({"research", "participation", "experts", "risk", "legality", "fair_competition", "consultation"},
             "重庆市大足区人民政府工作规则 第十八条"),
    "chongqing": ({"research", "participation", "experts", "risk", "legality", "fair_competition", "consultation"},
                  "重庆市人民政府工作规则 第二十一条"),
    "bazhou": ({"research", "participation", "experts", "risk", "legality", "fair_competition", "consultation"},
               "巴州区人民政府工作规则 第二十六条"),
    "ziyang": ({"research", "participation", "experts", "risk", "legality", "consultation"},
               "资阳市人民政府工作规则 第二十五条"),
    "dongchang": ({"research", "participation", "experts", "risk", "legality"},
                  "通化市东昌区人民政府工作规则 第十一条"),
}


@pytest.mark.parametrize("pid, named, article", [(p, n, a) for p, (n, a) in NAMED.items()])
def test_a_decision_goes_through_the_steps_its_seed_names_and_no_other(pid, named, article):
    found = steps(pid)
    assert set(found) == named
    assert article in found["legality"]
    quiet = steps(pid, market=False, departments=[], lower=[])
    # 公平竞争审查: every decision in bazhou (26); dazu/chongqing only on a market matter (20/23)
    assert ("fair_competition" in quiet) == (pid == "bazhou")
    assert "consultation" not in quiet


@pytest.mark.parametrize("pid, reviewer, chooses", [
    ("bazhou", "sfj", False), ("ziyang", None, False), ("dazu", None, True), ("chongqing", None, True),
    ("dongchang", None, True)])
def test_the_legality_reviewer_is_the_one_the_seed_names_or_the_office_chooses(pid, reviewer, chooses):
    planned = plan(pid)
    unit = ORGS[pid].with_duty("合法性审查")[0].id
    assert planned["legality_unit"] == (None if chooses else unit) and planned["legality_named"] == (not chooses)
    if reviewer:
        assert planned["legality_unit"] == reviewer                     # 巴州常务会议规则 第十六条: 区司法局
    with pytest.raises(ValidationFailed) if chooses else _nothing():
        rules.chosen_reviewers(planned, {"decision": "确认"}, ORGS[pid], PROFILES[pid])
    found = rules.chosen_reviewers(planned, {"legality_unit": unit, "fair_competition_unit": unit}, ORGS[pid],
                                   PROFILES[pid])
    assert found["legality_by"] == ("办公室指定（规则未规定审查机构）" if chooses else "规则规定")
    if chooses:                                          # the drafting unit does not review itself
        with pytest.raises(ValidationFailed):
            rules.chosen_reviewers(planned, {"legality_unit": unit, "fair_competition_unit": unit}, ORGS[pid],
                                   PROFILES[pid], drafter=unit)


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# -- M3 the assessment points ------------------------------------------------------------------------------
@pytest.mark.parametrize("pid, points", [
    ("dazu", 5), ("chongqing", 5), ("bazhou", 5), ("ziyang", 6), ("dongchang", 0)])
def test_the_assessment_covers_the_points_of_the_seed(pid, points):
    profile, org = PROFILES[pid], ORGS[pid]
    assert len(rules.assessment_points(profile)) == points
    legal = org.with_duty("合法性审查")[0].id
    full = {"research": "调研", "summary": "充分评估论证", "assessed_by": [legal],
            "assessment": [{"point": p, "finding": "充分"} for p in rules.assessment_points(profile)]}
    assert rules.research_problems(full, profile, org) == []
    found = rules.research_problems({**full, "assessment": full["assessment"][1:], "assessed_by": []}, profile, org)
    assert {v.rule for v in found} == (set() if points == 0 else {"M3"})
    assert any("法制机构" in v.message or "合法性审查" in v.message or org.departments[legal].name in v.message
               for v in found) == (pid == "ziyang")                     # 资阳 二十七: 经市政府法制机构等


# -- M4/M5 consultations and the hearing trigger --------------------------------------------------------------
RECORD = {"form": "座谈会", "date": "2026-11-20", "who": "居民代表", "summary": "支持", "adopted": "已采纳"}


@pytest.mark.parametrize("pid", PIDS)
def test_each_consultation_is_recorded_whole_and_the_trigger_asks_all_sides_in_any_form(pid):
    profile = PROFILES[pid]
    assert [v.rule for v in rules.participation_problems({}, profile, False)] == ["M4"]
    assert rules.participation_problems({"consultations": [RECORD]}, profile, False) == []
    partial = {**RECORD, "adopted": ""}
    assert [v.rule for v in rules.participation_problems({"consultations": [partial]}, profile, False)] == ["M4"]
    [hearing] = rules.participation_problems({"consultations": [RECORD]}, profile, True)
    assert hearing.rule == "M5" and hearing.article == profile.param("major_hearing_trigger").article
    any_form = {**RECORD, "form": "书面征求意见", "all_sides": True}     # never only a 听证会
    assert rules.participation_problems({"consultations": [any_form]}, profile, True) == []


def test_experts_are_recorded_without_any_number_of_them():
    profile = PROFILES["bazhou"]
    assert rules.expert_problems({"experts": "王某", "date": "2026-11-21", "form": "论证会", "opinion": "可行"},
                                 profile) == []
    assert [v.rule for v in rules.expert_problems({"experts": "王某"}, profile)] == ["M6"]


# -- M7 risk assessments -----------------------------------------------------------------------------------
RISKS = {"dazu": ["风险评估", "社会稳定风险评估"], "chongqing": ["风险评估", "社会稳定风险评估"],
         "bazhou": ["风险评估", "社会稳定风险评估", "网络舆情风险评估"], "ziyang": ["风险评估", "社会稳定风险评估"],
         "dongchang": ["风险评估"]}


@pytest.mark.parametrize("pid, kinds", RISKS.items())
def test_the_trigger_requires_the_risk_assessments_the_seed_names(pid, kinds):
    profile = PROFILES[pid]
    assert rules.risk_required(profile, True) == kinds and rules.risk_required(profile, False) == ["风险评估"]
    done = {"assessments": [{"kind": "风险评估", "by": "区政法委", "conclusion": "可控"}]}
    found = rules.risk_problems(done, profile, True)
    assert [v.message.split("（")[0] for v in found] == [f"未开展{k}" for k in kinds[1:]]


# -- M8-M10 negative opinions send the matter back ------------------------------------------------------------
def test_a_negative_review_or_objection_sends_the_matter_back_with_its_reasons():
    profile = PROFILES["bazhou"]
    planned = plan("bazhou")
    back = rules.review_returns(planned, {"conclusion": "不合法", "opinion": "超越权限"},
                                {"conclusion": "不符合", "opinion": "限定本地企业"},
                                [{"department": "czj", "decision": "不同意", "opinion": "资金未落实"}], profile)
    assert [v.rule for v in back] == ["M8", "M9", "M10"] and "超越权限" in back[0].message
    assert rules.review_returns(planned, {"conclusion": "合法"}, {"conclusion": "符合公平竞争审查标准"},
                                [{"decision": "同意"}], profile) == []


# -- M11 the gate, and T4 reading the records ------------------------------------------------------------
GATE = {"bazhou": ("M11", "巴州常务会议规则 第十七条"), "dongchang": ("M11", "通化市东昌区人民政府工作规则 第二十四条"),
        "dazu": ("M2", None), "chongqing": ("M2", None), "ziyang": ("M2", None)}


@pytest.mark.parametrize("pid, rule, gate", [(p, r, g) for p, (r, g) in GATE.items()])
def test_a_missing_step_is_named_with_its_article_and_blocks_where_the_seed_has_a_gate(pid, rule, gate):
    planned = plan(pid)
    records = {"plan": [planned], "research": [{"passed": True}]}
    found = rules.step_findings(records, planned, PROFILES[pid])
    assert {v.rule for v in found} == {rule}
    assert any("专家论证" in v.message or "科学论证" in v.message for v in found)
    assert all((gate in v.message) if gate else ("上会" not in v.message) for v in found)
    done = {s["step"]: [{"passed": True, "lower": True}] for s in planned["steps"]}
    assert rules.step_findings(done, planned, PROFILES[pid]) == []
    made = set(rules.materials_from_records(done, planned))
    major = set(PROFILES[pid].value("materials_major_decision")) - {"集体讨论"}
    assert major <= made                                                # every step paper comes from a record


@pytest.mark.parametrize("pid", PIDS)
def test_a_ticked_box_does_not_stand_for_a_major_decisions_step(pid):
    profile = PROFILES[pid]
    ticked = topic_rules.Topic("关于老旧小区改造规划的议题", "x", ("重大行政决策",), (),
                               ("依据文件", "公众参与", "专家论证", "风险评估报告"), False)
    found = topic_rules.missing_materials(ticked, profile, {"征求意见采纳情况汇总表"})
    missing = {v.message.split("（")[0] for v in found}
    wanted = set(profile.value("materials_major_decision")) - {"集体讨论"}
    assert {m.removesuffix("缺失") for m in missing} >= wanted
    plain = topic_rules.Topic("关于停车管理的议题", "x", (), (), ("依据文件", "公众参与"), False)
    assert not any("公众参与" in v.message for v in topic_rules.missing_materials(plain, profile, set()))


# -- M13-M16 after the meeting -------------------------------------------------------------------------------
PARTY = {"bazhou": ("区委", 3), "ziyang": ("市委", None), "dongchang": ("区委", None), "dazu": None, "chongqing": None}


@pytest.mark.parametrize("pid, expected", PARTY.items())
def test_the_decision_is_reported_to_the_party_committee_where_the_seed_says(pid, expected):
    found = rules.party_report(PROFILES[pid], True)
    assert (found and (found["to"], found["within_wd"])) == (expected or None)
    if pid == "bazhou":                                  # 规则二十二: only what the meeting sends to the 区委
        assert rules.party_report(PROFILES[pid], False) is None


@pytest.mark.parametrize("pid, publish", [("dazu", True), ("chongqing", True), ("bazhou", True), ("ziyang", True),
                                          ("dongchang", False)])
def test_publication_and_interpretation_as_each_seed_says(pid, publish):
    profile = PROFILES[pid]
    found = rules.publication_problems({}, profile)
    assert [("公布" in v.message) for v in found] == ([True, False] if publish else [False])
    assert rules.publication_problems({"secret_reason": "涉密", "interpretation": "已解读"}, profile) == []


@pytest.mark.parametrize("pid", PIDS)
def test_evaluation_is_recorded_and_only_bazhou_sends_a_major_adjustment_to_the_meeting(pid):
    profile = PROFILES[pid]
    [missing] = rules.evaluation_problems({}, profile)
    assert missing.rule == "M15" and missing.article == profile.param("major_evaluation").article
    route = rules.adjustment_route(profile, "重大调整")
    assert route["to_meeting"] == (pid == "bazhou")                     # 巴州常务会议规则 第二十四条 (F7)
    assert rules.adjustment_route(profile, "一般调整")["to_meeting"] is False
    assert bool(rules.accountability(profile)) == (pid != "ziyang")      # M16: ziyang has only general 问责
