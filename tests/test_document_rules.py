"""公文审批与签发 (D1-D11), one table per question, for each of the five jurisdictions: who signs
and who countersigns, the time limits, and what blocks a document, with its article."""
from __future__ import annotations

from datetime import date

import pytest

from conftest import MONDAY_9AM, load_org
from govflow import profiles
from govflow.records.documents import Document
from govflow.rules import consultation
from govflow.rules import document as rules
from govflow.time.workdays import WorkdayCalendar

ORGS = {pid: load_org(pid) for pid in profiles.PROFILE_IDS}
PROFILES = {pid: profiles.load(pid) for pid in profiles.PROFILE_IDS}
ONE_REQUEST = "关于申请城区排水管网改造资金的请示。现申请区级资金 300 万元用于改造。妥否，请批示。"


def two_departments(org):
    """Two departments of two different 副区长/副市长 (so that one document crosses portfolios)."""
    by_leader = {}
    for dept in org.departments:
        leader = org.portfolio_leader(dept)
        if leader is not None and leader.post == "deputy":
            by_leader.setdefault(leader.id, dept)
    first, second = list(by_leader.values())[:2]
    return first, second


def document(pid, **changes) -> Document:
    org = ORGS[pid]
    own, _ = two_departments(org)
    head = org.with_post("dept_head", own)[0].id
    fields = dict(doc_type="请示", title="关于申请排水改造资金的请示", department=own, urgency="一般", secrecy="无",
                  category="government_business", issuer="政府", body=ONE_REQUEST,
                  signoff={"signer": head, "meeting": "局务会议纪要〔2026〕3号"})
    fields.update(changes)
    return Document(**fields)


def leaders(pid):
    org = ORGS[pid]
    own, other = two_departments(org)
    return org.portfolio_leader(own).id, org.portfolio_leader(other).id


def route(pid, doc):
    return rules.routing(doc, PROFILES[pid], ORGS[pid])


def findings(pid, doc):
    return rules.review(doc, PROFILES[pid], ORGS[pid], WorkdayCalendar(), date(2026, 11, 23))


# -- who signs (D6) -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("pid", profiles.PROFILE_IDS)
def test_a_request_in_one_portfolio_is_signed_by_its_leader(pid):
    lead, _ = leaders(pid)
    routing = route(pid, document(pid))
    assert (routing.signer, routing.reviewers) == (lead, ())
    assert findings(pid, document(pid)) == []


@pytest.mark.parametrize("pid, signer, reviewers, article", [
    ("dazu", "head", "both", "第四十八条"),           # 分管副区长会签后，由区长或常务副区长签发
    ("chongqing", "head", "both", "第五十一条"),
    ("bazhou", "lead", "other", "第五十一条"),        # 其他副区长共同审核，由主办单位分管副区长签发
    ("ziyang", "lead", "other", ""),                  # not set by the rules: local practice, no article
    ("dongchang", "head", "both", "第二十八条"),      # 报区长确定牵头负责领导
])
def test_a_request_across_two_portfolios(pid, signer, reviewers, article):
    lead, other = leaders(pid)
    _, second = two_departments(ORGS[pid])
    routing = route(pid, document(pid, departments=(second,)))
    expected_signer = ORGS[pid].head().id if signer == "head" else lead
    expected_reviewers = (lead, other) if reviewers == "both" else (other,)
    assert (routing.signer, routing.reviewers) == (expected_signer, expected_reviewers)
    assert article in routing.article and (article or "本地设置" in routing.rule)


@pytest.mark.parametrize("pid", profiles.PROFILE_IDS)
def test_personnel_appointments_and_reports_to_the_higher_government_are_signed_by_the_head(pid):
    head = ORGS[pid].head().id
    for category in ("personnel_appointment", "to_higher_government"):
        routing = route(pid, document(pid, category=category, doc_type="报告" if category != "personnel_appointment"
                                      else "决定", body="报告本区防汛工作情况。"))
        assert routing.signer == head and "head_signs" not in routing.rule
        assert routing.article == PROFILES[pid].param("head_signs").article


@pytest.mark.parametrize("pid, post", [("dazu", "office_director"), ("chongqing", "deputy_secretary_general"),
                                       ("bazhou", "office_director"), ("ziyang", "secretary_general"),
                                       ("dongchang", "office_director")])
def test_an_office_routine_notice_is_signed_by_the_office_head_the_rules_name(pid, post):
    org = ORGS[pid]
    routing = route(pid, document(pid, doc_type="通知", category="office_routine", issuer="政府办公室",
                                  department=org.office_id, body="定于下周一召开安全生产会议。"))
    assert org.person(routing.signer).post == post
    assert routing.article == PROFILES[pid].param("office_routine_signer").article


# -- what blocks a document (D2 D4 D8 D9 D10) ----------------------------------------------------------------
@pytest.mark.parametrize("pid, expected", [
    ("dazu", [("D10", "第十六条")]),
    ("chongqing", [("D10", "第十九条")]),
    ("bazhou", [("D10", "第二十二条"), ("D10", "第二十四条")]),     # and it must state its validity period
    ("ziyang", [("D10", "第二十二条")]),                           # ziyang: validity only; no legality rule
    ("dongchang", [("D10", "第二十七条")]),
])
def test_a_normative_document_without_legality_review(pid, expected):
    doc = document(pid, doc_type="通知", category="normative_document", title="关于加强城区停车管理的通知",
                   body="各单位应规范停车管理。")
    found = findings(pid, doc)
    assert [v.rule for v in found] == [rule for rule, _ in expected]
    assert all(article in v.article for v, (_, article) in zip(found, expected, strict=True))
    assert all("合法性审查" in v.message or "有效期" in v.message for v in found)


def test_a_normative_document_may_not_create_penalties():
    doc = document("dazu", doc_type="通知", category="normative_document", attachments=("合法性审查意见",),
                   body="违反本规定的，处 500 元罚款，并可查封其设备。")
    [violation] = findings("dazu", doc)
    assert violation.rule == "D10" and "罚款" in violation.message and "查封" in violation.message


@pytest.mark.parametrize("pid", profiles.PROFILE_IDS)
def test_a_report_carrying_a_request(pid):
    doc = document(pid, doc_type="报告", category="to_higher_government", body="报告防汛工作。请审批所需经费。")
    found = [v for v in findings(pid, doc) if v.rule == "D2"]
    assert bool(found) == (pid in ("bazhou", "dongchang"))                   # bazhou 47, dongchang 27
    assert all("请审批" in v.message and "第四十七条" in v.article or "第二十七条" in v.article for v in found)


@pytest.mark.parametrize("pid", profiles.PROFILE_IDS)
def test_a_request_with_two_matters(pid):
    doc = document(pid, body="请求拨付排水改造资金 300 万元。同时恳请增加编制 5 名。妥否，请批示。")
    found = [v for v in findings(pid, doc) if v.rule == "D2"]
    assert bool(found) == (pid in ("bazhou", "dongchang")) and all("2 处" in v.message for v in found)


@pytest.mark.parametrize("pid", profiles.PROFILE_IDS)
def test_a_document_copying_80_percent_of_its_higher_document(pid):
    higher = ("为深入贯彻落实党中央国务院关于城市排水防涝工作的决策部署，切实提高城市排水防涝能力，"
              "保障人民群众生命财产安全，") * 3
    doc = document(pid, doc_type="通知", body=higher + "本区结合实际，请各单位认真落实。", higher_document=higher)
    assert rules.overlap(doc.body, doc.higher_document) > 0.8
    found = [v for v in findings(pid, doc) if v.rule == "D9"]
    assert bool(found) == (pid == "bazhou")                                   # 巴州 第五十二条: 70%
    assert all("第五十二条" in v.article and "连续 8 字" in v.message for v in found)


@pytest.mark.parametrize("pid, article", [
    ("dazu", None), ("chongqing", None),           # 大足 四十九 / 重庆 五十二: no word on republishing
    ("bazhou", "第五十二条"), ("ziyang", "第五十条"), ("dongchang", "第三十条"),
])
def test_republishing_a_published_higher_document_is_refused(pid, article):
    doc = document(pid, doc_type="通知", title="关于转发《重庆市城市排水管理办法》的通知", republishes=True)
    found = [v for v in findings(pid, doc) if v.rule == "D9"]
    assert [article in v.article and "不再翻印、转发" in v.message for v in found] == ([True] if article else [])
    assert [v for v in findings(pid, document(pid, doc_type="通知")) if v.rule == "D9"] == []


def test_the_sending_units_own_signoff_is_checked_where_the_rules_require_it():
    doc = document("bazhou", signoff={})
    assert {(v.rule, "第五十条" in v.article) for v in findings("bazhou", doc)} == {("D4", True)}
    assert findings("dazu", document("dazu", signoff={})) == []             # dazu sets no such rule


@pytest.mark.parametrize("pid", profiles.PROFILE_IDS)
def test_an_urgent_document_without_a_reason(pid):
    found = [v for v in findings(pid, document(pid, urgency="特急")) if v.rule == "D8"]
    assert bool(found) == (pid == "dongchang") and all("第二十八条" in v.article for v in found)


def test_instructions_to_lower_governments_need_the_governments_consent():
    doc = document("dazu", doc_type="通知", category="instruction_to_lower", body="请各镇街做好防汛工作。")
    assert [v.rule for v in findings("dazu", doc)] == ["D11"]
    assert findings("dazu", document("dazu", doc_type="通知", category="instruction_to_lower",
                                     body="经区政府同意，请各镇街做好防汛工作。")) == []


def test_direct_submission_to_a_leader_needs_an_exception_the_rules_allow():
    doc = document("bazhou", addressed_to_leader=ORGS["bazhou"].head().id, direct_reason="比较着急")
    assert [v.rule for v in findings("bazhou", doc)] == ["D1"]
    allowed = PROFILES["bazhou"].value("single_channel_exceptions")[0]
    assert findings("bazhou", document("bazhou", addressed_to_leader=ORGS["bazhou"].head().id,
                                       direct_reason=allowed)) == []


# -- time limits (D8) ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("urgency, days, due", [
    ("一般", 14, date(2026, 12, 11)), ("加急", 7, date(2026, 12, 2)), ("特急", 5, date(2026, 11, 30)),
    ("特急重要", 3, date(2026, 11, 26)),
])
def test_dongchang_time_limits_by_urgency_count_working_days(urgency, days, due):
    doc = document("dongchang", urgency=urgency, urgency_reason="汛期")
    assert rules.time_limit(doc, PROFILES["dongchang"]) == days
    assert WorkdayCalendar().add_workdays(MONDAY_9AM, days).at.date() == due
    assert rules.sign_workdays(doc, PROFILES["dongchang"]) == (1 if urgency == "特急重要" else None)


@pytest.mark.parametrize("pid", ["dazu", "chongqing", "bazhou", "ziyang"])
def test_where_the_rules_give_no_number_no_deadline_is_invented(pid):
    assert rules.time_limit(document(pid, urgency="特急"), PROFILES[pid]) is None


# -- the signature (D7) ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("pid, doc_type, meaning", [
    ("ziyang", "请示", "同意"), ("ziyang", "报告", "阅知"),      # 资阳 四十八: 报告圈阅表示已阅知
    ("bazhou", "请示", "同意"), ("bazhou", "报告", "同意"),      # 巴州 第五十一条: 圈阅视为同意
])
def test_a_circle_means_what_the_rules_say(pid, doc_type, meaning):
    assert rules.signature(document(pid, doc_type=doc_type), "圈阅", "", PROFILES[pid]) == (meaning, [])


@pytest.mark.parametrize("pid", ["dazu", "chongqing", "dongchang"])
def test_where_the_rules_give_a_circle_no_meaning_an_opinion_is_written(pid):
    meaning, found = rules.signature(document(pid), "圈阅", "", PROFILES[pid])
    assert meaning == "" and [v.rule for v in found] == ["D7"]


# -- consultation (D3) -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("pid, days", [("dazu", None), ("chongqing", None), ("bazhou", 3), ("ziyang", None),
                                       ("dongchang", 7)])
def test_a_consultation_left_unanswered_counts_as_no_objection_only_where_the_rules_say(pid, days):
    assert consultation.consultation_window(PROFILES[pid]) == days
    silent = {"decision": "无不同意见", "silent": True, "department": "x"}
    result = consultation.consultation([silent, {"decision": "不同意", "department": "y"}], PROFILES[pid])
    assert result["silent"] == ["x"] and len(result["objections"]) == 1
    assert bool(result["silence_rule"]) == (days is not None)


@pytest.mark.parametrize("pid", profiles.PROFILE_IDS)
def test_a_disagreement_states_each_side_a_solution_and_the_heads_countersign(pid):
    org = ORGS[pid]
    own, other = two_departments(org)
    found = rules.disagreement({"positions": [], "solution": " ", "countersigned_by": []}, [own, other], PROFILES[pid],
                               org)
    countersign = PROFILES[pid].param("countersign_departments")
    assert len(found) == (3 if countersign.is_set else 0)           # 资阳 四十六 has no 会签
    assert all(v.rule == "D3" and v.article == countersign.article for v in found)
    heads = [org.with_post("dept_head", d)[0].id for d in (own, other)]
    complete = {"positions": [{"department": own, "reason": "甲"}], "solution": "乙", "countersigned_by": heads}
    assert rules.disagreement(complete, [own, other], PROFILES[pid], org) == []
    staff = [org.with_post("dept_staff", own)[0].id, heads[1]]
    missing = rules.disagreement({**complete, "countersigned_by": staff}, [own, other], PROFILES[pid], org)
    assert bool(missing) == countersign.is_set and all(org.departments[own].name in v.message for v in missing)


def test_the_signoff_must_be_the_head_in_bazhou_and_may_be_a_deputy_in_dongchang():
    for pid, deputy_allowed in (("bazhou", False), ("dongchang", True)):
        own, _ = two_departments(ORGS[pid])
        deputy = ORGS[pid].with_post("dept_deputy", own)[0].id
        doc = document(pid, signoff={"signer": deputy, "meeting": "局务会议纪要"})
        assert bool([v for v in findings(pid, doc) if v.rule == "D4"]) != deputy_allowed


def test_the_heads_categories_hold_for_documents_in_the_offices_name_too():
    routing = route("dazu", document("dazu", category="normative_document", issuer="政府办公室", doc_type="通知",
                                     attachments=("合法性审查意见",), body="规范停车管理。"))
    assert routing.signer == ORGS["dazu"].head().id


def test_an_urgent_document_with_a_reason_needs_no_lead_time():
    doc = document("dongchang", urgency="特急", urgency_reason="汛期抢险", needed_by=date(2026, 11, 26))
    assert [v for v in findings("dongchang", doc) if v.rule == "D8"] == []
    late = document("dongchang", urgency="加急", needed_by=date(2026, 11, 26))
    assert [v.rule for v in findings("dongchang", late)] == ["D8"]                  # 紧急: 7 工作日


def test_text_heuristics_are_findings_to_confirm_missing_papers_are_certain():
    normative = document("bazhou", doc_type="通知", category="normative_document", body="处 500 元罚款。")
    certain = {v.message[:8]: v.certain for v in findings("bazhou", normative)}
    assert any(c for c in certain.values()) and any(not c for c in certain.values())


@pytest.mark.parametrize("pid, blocks", [("dazu", True), ("chongqing", False), ("bazhou", False), ("ziyang", False),
                                         ("dongchang", False)])
def test_consent_without_words_is_enough_unless_the_rules_ask_for_a_written_opinion(pid, blocks):
    meaning, found = rules.signature(document(pid), "同意", "", PROFILES[pid])
    assert bool(found) == blocks and (meaning == "同意") != blocks                 # 大足 四十七: 明确意见


@pytest.mark.parametrize("pid, allowed", [
    ("dazu", False), ("chongqing", False), ("bazhou", False), ("dongchang", False),
    ("ziyang", True),                  # 资阳 四十七: 由市政府秘书长、副秘书长批示后直接转交有关部门办理
])
def test_only_ziyang_forwards_a_document_to_the_department_concerned(pid, allowed):
    org, doc = ORGS[pid], document(pid)
    _, other = two_departments(org)
    found = rules.forwarding(doc, other, PROFILES[pid], org)
    assert (found == []) == allowed and all(v.rule == "D5" for v in found)
    if allowed:        # not to the sending unit itself, nor to the office
        to_itself = rules.forwarding(doc, doc.department, PROFILES[pid], org)
        assert [v.article for v in to_itself] == ["资阳市人民政府工作规则 第四十七条"]
        assert rules.forwarding(doc, org.office_id, PROFILES[pid], org)
