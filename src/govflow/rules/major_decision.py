"""重大行政决策 (Procedure 4): rules M1-M16 of RULES-M.md as pure functions over the decision's data,
the records of its steps and the jurisdiction's profile, and the operators of
processes/major_decision.bpmn.

No seed gives a number (days, counts, periods) for a step of this procedure alone: nothing here
sets a comment period, a review time, a number of experts or an evaluation date. A step the
profile does not name is not asked for (M2).
"""
from __future__ import annotations

from datetime import date

from ..engine.operators import OperatorContext, operator
from ..errors import ValidationFailed
from ..people.org import Organisation
from ..profiles import Profile
from ..records.decisions import latest
from ..records.runtime import StartRequest
from ..time.timeutil import isoformat
from . import Violation, block_if

# M2: what each named step is called in each seed, and the step of the diagram that does it
STEP_NAMES = {"participation": ("公众参与", "听取各方面意见"), "experts": ("专家论证", "科学论证"),
              "risk": ("风险评估",), "legality": ("合法性审查",), "fair_competition": ("公平竞争审查",)}
STEP_TITLES = {"research": "调查研究和论证评估", "participation": "公众参与",
               "hearing": "听取各方面意见（听证会等形式）",
               "experts": "专家论证", "risk": "风险评估", "legality": "合法性审查", "fair_competition": "公平竞争审查",
               "consultation": "征求意见"}
# M1: items the seeds put on the meeting list that follow the legislative route (chongqing 17-18, ziyang 23)
LEGISLATION = ("地方性法规草案", "政府规章")
RECORD_FIELDS = ("form", "date", "who", "summary", "adopted")   # M4: each consultation as recorded
# T4: the topic materials each step's record stands for (profile materials_* vocabulary)
MATERIALS = {"participation": "公众参与", "experts": "专家论证", "risk": "风险评估报告",
             "legality": "合法性审查意见", "fair_competition": "公平竞争审查意见"}
NEGATIVE = {"legality": ("不合法",), "fair_competition": ("不符合",)}


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""


# -- M1 the flag -----------------------------------------------------------------------------------------------
def scope_problems(data: dict, profile: Profile) -> list[Violation]:
    """The flag is the department's: it names the list item of its profile (and why); nothing is
    inferred from the title. Where the seed has no list (dongchang) the reason is required."""
    rule, item, reason = profile.param("major_scope"), _text(data.get("scope_item")), _text(data.get("scope_reason"))
    if rule.is_set:
        if item not in rule.value:
            return [Violation("M1", rule.article, f"请选择本级规则所列的重大决策事项（{'、'.join(rule.value)}），"
                                                  f"“{item or '未填写'}”不在清单内")]
        if item in LEGISLATION:
            return [Violation("M1", rule.article, f"{item}按立法程序办理（由法制机构审查或组织起草），"
                                                  "不自动适用重大行政决策程序")]
        return []
    if not item or not reason:
        return [Violation("M1", profile.citation,
                          "规则未列重大决策事项清单：请写明所属事项及认定为重大决策的理由，由办公室核定")]
    return []


def scope_article(profile: Profile) -> str:
    rule = profile.param("major_scope")
    return rule.article if rule.is_set else f"{profile.citation}（规则未列清单，由办公室核定）"


# -- M2 which steps ---------------------------------------------------------------------------------------------
def named_steps(profile: Profile) -> dict[str, str]:
    """step -> the name the profile's list gives it; steps it does not name are absent."""
    listed = profile.param("major_steps").value or []
    return {step: next(n for n in names if n in listed) for step, names in STEP_NAMES.items()
            if any(n in listed for n in names)}


def plan(data: dict, profile: Profile, org: Organisation) -> dict:
    """The steps this decision goes through, each with its article (M2-M10)."""
    steps_rule = profile.param("major_steps")
    named = named_steps(profile)
    triggered = bool(data.get("public_interest")) and profile.param("major_hearing_trigger").is_set
    fair = profile.param("major_fair_competition")
    fair_needed = "fair_competition" in named or (fair.is_set and fair.value == "market_trigger"
                                                  and bool(data.get("market")))
    consult = profile.param("major_consultation")
    consulted = list(dict.fromkeys([*data.get("departments", []), *data.get("lower", [])])) if consult.is_set else []
    research = profile.param("major_assessment").article
    steps = [{"step": "research", "name": STEP_TITLES["research"], "article": research}]
    for step in ("participation", "experts", "risk", "legality"):
        if step in named:
            steps.append({"step": step, "name": named[step], "article": steps_rule.article})
    if triggered and "participation" not in named:
        steps.append({"step": "participation", "name": STEP_TITLES["hearing"],
                      "article": profile.param("major_hearing_trigger").article})
    if fair_needed:
        steps.append({"step": "fair_competition", "name": STEP_TITLES["fair_competition"], "article": fair.article})
    if consulted:
        steps.append({"step": "consultation", "name": STEP_TITLES["consultation"], "article": consult.article})
    has = {s["step"] for s in steps}
    legality_unit, legality_named = reviewer(profile.param("major_legality_reviewer"), org)
    fair_unit, fair_named = reviewer(fair if fair_needed and fair.value == "every_decision" else None, org,
                                     duty="公平竞争审查")
    return {"steps": steps, "participation": "participation" in has, "hearing": triggered,
            "experts": "experts" in has, "risk": "risk" in has, "legality": "legality" in has,
            "fair_competition": "fair_competition" in has, "consult": consulted,
            "lower": [d for d in data.get("lower", []) if d in consulted],
            "legality_unit": legality_unit if "legality" in has else None, "legality_named": legality_named,
            "fair_competition_unit": fair_unit if fair_needed else None, "fair_competition_named": fair_named,
            "risk_required": risk_required(profile, triggered), "points": assessment_points(profile)}


def reviewer(rule, org: Organisation, duty: str = "合法性审查") -> tuple[str | None, bool]:
    """M8/M9: the unit the profile names (the department with that duty), or None: the office chooses."""
    if rule is None or not rule.is_set:
        return None, False
    units = org.with_duty(rule.value if rule.key == "major_legality_reviewer" else duty)
    return (units[0].id, True) if units else (None, False)


def chosen_reviewers(planned: dict, check: dict, org: Organisation, profile: Profile,
                     drafter: str | None = None) -> dict:
    """After the 办公室's check: the reviewing units, the office's choice where the seed names none
    (never the drafting unit itself)."""
    found, problems = {}, []
    for step in ("legality", "fair_competition"):
        unit = planned.get(f"{step}_unit")
        if not planned.get(step) or unit:
            found[f"{step}_unit"], found[f"{step}_by"] = unit, "规则规定" if unit else ""
            continue
        chosen = check.get(f"{step}_unit")
        if not isinstance(chosen, str) or chosen not in org.departments or chosen == drafter:
            reason = f"规则未规定{STEP_TITLES[step]}机构，请办公室指定审查单位"
            problems.append({"field": f"{step}_unit", "reason": reason})
            continue
        found[f"{step}_unit"], found[f"{step}_by"] = chosen, "办公室指定（规则未规定审查机构）"
    if problems:
        raise ValidationFailed(problems[0]["reason"], problems)
    return found


# -- M3 调查研究 and the assessment --------------------------------------------------------------------------
def assessment_points(profile: Profile) -> list[str]:
    return list((profile.value("major_assessment") or {}).get("points", []))


def research_problems(record: dict, profile: Profile, org: Organisation) -> list[Violation]:
    rule = profile.param("major_assessment")
    problems = []
    if not _text(record.get("research")):
        problems.append(Violation("M3", rule.article, "须写明调查研究情况（必须经过深入调查研究）"))
    done = {_text(p.get("point")) for p in record.get("assessment", [])
            if isinstance(p, dict) and _text(p.get("finding"))}
    missing = [p for p in assessment_points(profile) if p not in done]
    if missing:
        problems.append(Violation("M3", rule.article, f"论证评估缺少：{'、'.join(missing)}（“{rule.quote}”）"))
    if not assessment_points(profile) and not _text(record.get("summary")):
        problems.append(Violation("M3", rule.article, "须写明评估论证情况"))
    by = (rule.value or {}).get("by")
    if by:
        units = {d.id for d in org.with_duty(by)}
        if units and not units & set(record.get("assessed_by", [])):
            names = "、".join(org.departments[u].name for u in units)
            problems.append(Violation("M3", rule.article, f"论证评估须经{names}等进行（“{rule.quote}”）"))
    return problems


# -- M4 公众参与, M5 听取各方面意见 ------------------------------------------------------------------------------
def participation_problems(record: dict, profile: Profile, triggered: bool) -> list[Violation]:
    """Each consultation recorded whole (form, date, who, summary, which views were adopted); where
    M5's trigger holds, one of them hears all sides — a 听证会 or another form, never only a 听证会."""
    rule, hearing = profile.param("major_participation"), profile.param("major_hearing_trigger")
    consultations = [c for c in record.get("consultations", []) if isinstance(c, dict)]
    if not consultations:
        return [Violation("M4", rule.article, f"须记录听取意见的情况（“{rule.quote}”）")]
    problems = []
    for n, c in enumerate(consultations, 1):
        blank = [f for f in RECORD_FIELDS if not _text(c.get(f))]
        if blank:
            problems.append(Violation("M4", rule.article,
                                      f"第{n}条意见记录不完整：须写明形式、日期、对象、意见摘要和采纳情况"))
        elif not _is_date(c["date"]):
            problems.append(Violation("M4", rule.article, f"第{n}条意见记录的日期应为 YYYY-MM-DD"))
    if triggered and not any(c.get("all_sides") for c in consultations):
        problems.append(Violation("M5", hearing.article, f"{hearing.value}的，须采取听证会等多种形式听取各方面意见"
                                                         f"（“{hearing.quote}”）"))
    return problems


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


# -- M6 专家论证 -------------------------------------------------------------------------------------------------
def expert_problems(record: dict, profile: Profile) -> list[Violation]:
    """Who, when, in what form and what they said; the seeds set no number of experts."""
    name = named_steps(profile).get("experts", "专家论证")
    blank = [f for f in ("experts", "date", "form", "opinion") if not _text(record.get(f))]
    if blank or not _is_date(_text(record.get("date")) or "x"):
        return [Violation("M6", profile.param("major_steps").article,
                          f"{name}记录不完整：须写明专家、日期、形式和论证意见")]
    return []


# -- M7 风险评估 ---------------------------------------------------------------------------------------------
def risk_required(profile: Profile, triggered: bool) -> list[str]:
    extra = profile.param("major_risk_assessments")
    return ["风险评估", *(extra.value if triggered and extra.is_set else [])]


def risk_problems(record: dict, profile: Profile, triggered: bool) -> list[Violation]:
    done = {_text(a.get("kind")) for a in record.get("assessments", [])
            if isinstance(a, dict) and _text(a.get("conclusion")) and _text(a.get("by"))}
    if "社会稳定风险评估" in done or "网络舆情风险评估" in done:
        done.add("风险评估")
    extra = profile.param("major_risk_assessments")
    problems = []
    for kind in risk_required(profile, triggered):
        if kind not in done:
            article = extra.article if kind != "风险评估" else profile.param("major_steps").article
            problems.append(Violation("M7", article, f"未开展{kind}（须写明评估单位和结论）"))
    return problems


# -- M8/M9 reviews, M10 征求意见 ------------------------------------------------------------------------------
def review_returns(planned: dict, legality: dict | None, fair_competition: dict | None, opinions: list,
                   profile: Profile) -> list[Violation]:
    """A negative opinion sends the matter back, with its reasons."""
    back = []
    for step, opinion in (("legality", legality), ("fair_competition", fair_competition)):
        if planned.get(step) and isinstance(opinion, dict) and opinion.get("conclusion") in NEGATIVE[step]:
            rule = profile.param("major_steps" if step == "legality" else "major_fair_competition")
            back.append(Violation("M8" if step == "legality" else "M9", rule.article,
                                  f"{STEP_TITLES[step]}未通过：{_text(opinion.get('opinion'))}"))
    consult = profile.param("major_consultation")
    for o in opinions or []:
        if isinstance(o, dict) and o.get("decision") == "不同意":
            back.append(Violation("M10", consult.article, f"{o.get('department')}不同意：{_text(o.get('opinion'))}"))
    return back


# -- M11 all steps done: what the topic may cite ------------------------------------------------------------
def step_findings(records: dict, planned: dict, profile: Profile) -> list[Violation]:
    """Every planned step without a passing record, named with its article. bazhou 规则17 and
    dongchang 24 keep such a topic off the agenda; elsewhere the step is still 法定/必经 (M2)."""
    gate = profile.param("incomplete_never_to_meeting")
    suffix = f"（{gate.article}：“{gate.quote}”）" if gate.is_set else ""
    found = []
    for step in planned.get("steps", []):
        rec = latest(records, step["step"])
        if rec is None or not rec.get("passed"):
            found.append(Violation("M11" if gate.is_set else "M2", step["article"],
                                   f"重大行政决策未完成“{step['name']}”程序{suffix}"))
    return found


def materials_from_records(records: dict, planned: dict) -> list[str]:
    """The T4 materials the passing records stand for (the topic cites them, nobody ticks them)."""
    made = [MATERIALS[s["step"]] for s in planned.get("steps", [])
            if s["step"] in MATERIALS and (latest(records, s["step"]) or {}).get("passed")]
    if (latest(records, "consultation") or {}).get("passed"):
        made.append("征求意见采纳情况汇总表")
        if (latest(records, "consultation") or {}).get("lower"):
            made.append("镇街意见")
    return made


# -- M13 report to the Party committee; M14 publication; M15 evaluation and adjustment; M16 ---------------
def party_report(profile: Profile, meeting_says: bool) -> dict | None:
    rule = profile.param("major_party_report")
    if not rule.is_set or (rule.value["when"] == "meeting_says" and not meeting_says):
        return None
    return {"to": rule.value["to"], "article": rule.article, "within_wd": profile.value("party_committee_report_wd")
            if rule.value["when"] == "meeting_says" else None}


def publication_problems(record: dict, profile: Profile) -> list[Violation]:
    rule = profile.param("major_publication")
    if not rule.is_set:
        return []
    problems = []
    published = _text(record.get("channel")) and _is_date(_text(record.get("published_on")) or "x")
    if rule.value.get("publish") and not published and not _text(record.get("secret_reason")):
        problems.append(Violation("M14", rule.article, "会议决定的事项除依法需要保密的外应及时公布："
                                                       "请填写公布日期和渠道，或写明依法保密的理由"))
    if rule.value.get("interpret") and not _text(record.get("interpretation")):
        problems.append(Violation("M14", rule.article, "请填写政策解读（谁起草、谁解读）"))
    return problems


def evaluation_problems(record: dict, profile: Profile) -> list[Violation]:
    rule = profile.param("major_evaluation")
    blank = [f for f in ("tracking", "views", "effect") if not _text(record.get(f))]
    if blank:
        return [Violation("M15", rule.article, f"{rule.value}须写明实施情况、利益相关方和社会公众意见、执行效果")]
    return []


def adjustment_route(profile: Profile, kind: str) -> dict:
    """F7: a major adjustment goes back to the 常务会议 where the seed says so (bazhou 规则24);
    elsewhere the seed names no venue and a person decides."""
    if kind != "重大调整":
        return {"to_meeting": False, "article": "", "note": ""}
    rule = profile.param("followup_major_change_to_meeting")
    if rule.is_set and rule.value:
        return {"to_meeting": True, "article": rule.article, "note": rule.quote}
    return {"to_meeting": False, "article": "", "note": "规则未规定重大调整的决定机关，由承办单位报请决定"}


def accountability(profile: Profile) -> str:
    """M16: the article under which the step records serve 责任倒查 (ziyang: none, general 问责 only)."""
    rule = profile.param("major_accountability")
    return rule.article if rule.is_set else ""


# -- operators ---------------------------------------------------------------------------------------------------
def _decision(ctx: OperatorContext):
    return ctx.runtime.decisions.for_instance(ctx.instance_id)


def _known(data: dict, org: Organisation) -> None:
    department = data.get("department")
    if not isinstance(department, str) or department not in org.departments:
        raise ValidationFailed("组织机构中没有该承办单位", [{"field": "department", "reason": str(department)[:40]}])
    unknown = [d for d in [*data.get("departments", []), *data.get("lower", [])]
               if not isinstance(d, str) or d not in org.departments or d == department]
    if unknown:
        raise ValidationFailed("征求意见单位无效（不在组织机构中，或为承办单位本身）",
                               [{"field": "departments", "reason": str(d)[:40]} for d in unknown])


@operator("major.intake", "重大决策登记：核验所属事项（M1），按本级规则确定须履行的程序（M2-M10）", rule="M1")
def intake_operator(ctx: OperatorContext) -> dict:
    runtime, data = ctx.runtime, ctx.data
    _known(data, runtime.org)
    block_if(scope_problems(data, runtime.profile))
    planned = plan(data, runtime.profile, runtime.org)
    decision = runtime.decisions.register(ctx.instance_id, data["title"], data["department"],
                                          _text(data.get("scope_item")) or _text(data.get("scope_reason")),
                                          scope_article(runtime.profile), ctx.now)
    runtime.decisions.record(decision, "plan", {**planned, "passed": True}, ctx.now)
    return {**planned, "decision": decision.id, "scope_article": decision.scope_article,
            "accountability": accountability(runtime.profile)}


@operator("major.confirm", "办公室核定：确认属于重大决策；规则未规定审查机构的由办公室指定（M1、M8、M9）", rule="M1")
def confirm_operator(ctx: OperatorContext, planned: dict, check: dict) -> dict:
    runtime = ctx.runtime
    decision = _decision(ctx)
    if check.get("decision") != "确认":
        runtime.decisions.record(decision, "office_check", {**check, "passed": False}, ctx.now)
        runtime.decisions.status(decision, "closed", ctx.now)
        return {"confirmed": False}
    found = chosen_reviewers(planned, check, runtime.org, runtime.profile, ctx.data.get("department"))
    runtime.decisions.record(decision, "office_check", {**check, **found, "passed": True}, ctx.now)
    return {"confirmed": True, **found}


def _recorded(ctx: OperatorContext, step: str, record: dict, problems: list[Violation]) -> dict:
    block_if(problems)
    ctx.runtime.decisions.record(_decision(ctx), step, {**record, "passed": True}, ctx.now)
    return {"passed": True}


@operator("major.research", "调查研究和论证评估（M3）", rule="M3")
def research_operator(ctx: OperatorContext, record: dict) -> dict:
    return _recorded(ctx, "research", record, research_problems(record, ctx.runtime.profile, ctx.runtime.org))


@operator("major.participation", "公众参与：每次听取意见的形式、日期、对象、意见和采纳情况（M4）；听证会等形式（M5）",
          rule="M4")
def participation_operator(ctx: OperatorContext, record: dict, triggered: bool = False) -> dict:
    return _recorded(ctx, "participation", record, participation_problems(record, ctx.runtime.profile, bool(triggered)))


@operator("major.experts", "专家论证（M6）", rule="M6")
def experts_operator(ctx: OperatorContext, record: dict) -> dict:
    return _recorded(ctx, "experts", record, expert_problems(record, ctx.runtime.profile))


@operator("major.risk", "风险评估、社会稳定风险评估、网络舆情风险评估（M7）", rule="M7")
def risk_operator(ctx: OperatorContext, record: dict, triggered: bool = False) -> dict:
    return _recorded(ctx, "risk", record, risk_problems(record, ctx.runtime.profile, bool(triggered)))


@operator("major.reviews", "审查与征求意见汇总：否定意见退回承办单位并说明理由（M8、M9、M10）", rule="M8")
def reviews_operator(ctx: OperatorContext, planned: dict, legality: dict | None = None,
                     fair_competition: dict | None = None, opinions: list | None = None,
                     reviewers: dict | None = None) -> dict:
    runtime, reviewers = ctx.runtime, reviewers or {}
    decision = _decision(ctx)
    back = review_returns(planned, legality, fair_competition, opinions or [], runtime.profile)
    for step, opinion in (("legality", legality), ("fair_competition", fair_competition)):
        if planned.get(step) and isinstance(opinion, dict):
            runtime.decisions.record(decision, step, {
                **opinion, "unit": reviewers.get(f"{step}_unit"), "by": reviewers.get(f"{step}_by"),
                "passed": opinion.get("conclusion") not in NEGATIVE[step]}, ctx.now)
    if planned.get("consult"):
        runtime.decisions.record(decision, "consultation", {
            "replies": list(opinions or []), "lower": bool(planned.get("lower")),
            "passed": not any(v.rule == "M10" for v in back)}, ctx.now)
    return {"passed": not back, "returned": [v.to_dict() for v in back]}


@operator("major.submit", "程序履行完毕：以各环节记录为材料申报议题，提请常务会议集体讨论决定（M11、M12）", rule="M11",
          undoable=False)
def submit_operator(ctx: OperatorContext, planned: dict) -> dict:
    runtime, data = ctx.runtime, ctx.data
    decision = _decision(ctx)
    records = runtime.decisions.records(decision)
    block_if(step_findings(records, planned, runtime.profile))
    categories = ["重大行政决策"]
    if planned.get("fair_competition"):
        categories.append("涉及市场主体")
    if (latest(records, "consultation") or {}).get("lower"):
        categories.append("涉及镇街")
    # 东昌: no decision-specific consultation; the topic's own (第二十四条、第二十七条) consults them
    departments = [] if runtime.profile.param("major_consultation").is_set else list(data.get("departments", []))
    topic = {"title": data["title"], "department": data["department"], "request": data["request"],
             "categories": categories, "departments": departments, "materials": ["依据文件"],
             "major_decision": decision.id}
    runtime.decisions.status(decision, "submitted", ctx.now)

    def started(topic_instance_id: int) -> None:
        decision.topic_instance_id = topic_instance_id
    runtime.request_start(StartRequest("topic_submission", topic, title=data["title"], on_started=started))
    return {"submitted": True, "materials": materials_from_records(records, planned), "at": isoformat(ctx.now)}


@operator("major.decided", "常务会议集体讨论决定的结果（M12），读取会议记录；报区委（市委）（M13）", rule="M12")
def decided_operator(ctx: OperatorContext, after: dict) -> dict:
    runtime = ctx.runtime
    decision = _decision(ctx)
    if decision.topic_instance_id is None:
        raise ValidationFailed("议题尚未申报，不能登记会议决定", [{"field": "topic", "reason": "未申报"}])
    item = runtime.decisions.heard(decision.topic_instance_id)
    if item is None or item.outcome in (None, "", "未上会"):
        raise ValidationFailed("常务会议尚未对该议题作出决定", [{"field": "outcome", "reason": "未审议"}])
    passed = item.outcome in ("通过", "原则通过")
    report = party_report(runtime.profile, bool(after.get("to_party_committee"))) if passed else None
    if report and report["within_wd"]:
        meeting_day = runtime.meetings.get(item.meeting_id).scheduled_at
        report["due"] = isoformat(runtime.calendar.add_workdays(meeting_day, int(report["within_wd"])).at)
    record = {"outcome": item.outcome, "conclusion": item.conclusion or "", "meeting_id": item.meeting_id,
              "agenda_item": item.id, "passed": passed}
    runtime.decisions.record(decision, "meeting", record, ctx.now)
    runtime.decisions.status(decision, "decided" if passed else "closed", ctx.now)
    return {**record, "party_report": report,
            "publication": runtime.profile.value("major_publication")}


@operator("major.party_report", "向区委（市委）请示报告（M13）", rule="M13")
def party_report_operator(ctx: OperatorContext, record: dict) -> dict:
    rule = ctx.runtime.profile.param("major_party_report")
    reported = _text(record.get("reported_on")) and _is_date(record["reported_on"]) and _text(record.get("summary"))
    to = rule.value["to"] if rule.is_set else "区委"
    problems = [] if reported else [Violation("M13", rule.article, f"请填写报{to}的日期和情况")]
    return _recorded(ctx, "party_report", record, problems)


@operator("major.publish", "决策公布与政策解读（M14）", rule="M14")
def publish_operator(ctx: OperatorContext, record: dict) -> dict:
    return _recorded(ctx, "publication", record, publication_problems(record, ctx.runtime.profile))


@operator("major.evaluate", "跟踪评估、后评估与调整（M15）；重大调整报常务会议（巴州 F7）；留存记录供责任倒查（M16）",
          rule="M15", undoable=False)
def evaluate_operator(ctx: OperatorContext, record: dict) -> dict:
    runtime, data = ctx.runtime, ctx.data
    block_if(evaluation_problems(record, runtime.profile))
    decision = _decision(ctx)
    records = runtime.decisions.records(decision)
    meeting = latest(records, "meeting") or {}
    followups = runtime.decisions.followups(meeting["agenda_item"]) if meeting.get("agenda_item") else []
    route = adjustment_route(runtime.profile, record.get("adjustment", "无"))
    if route["to_meeting"]:
        if not _text(record.get("adjustment_content")):
            block_if([Violation("F7", route["article"], "重大调整须写明调整内容，报常务会议决定")])
        runtime.request_start(StartRequest(
            "topic_submission", {"title": f"关于调整{data['title']}的议题"[:200], "department": data["department"],
                                 "request": record["adjustment_content"], "categories": [], "departments": [],
                                 "materials": ["依据文件"]},
            title=f"调整：{data['title']}"[:200], if_deployed=True))
    runtime.decisions.record(decision, "evaluation", {**record, "route": route, "followups": followups,
                                                      "passed": True}, ctx.now)
    runtime.decisions.status(decision, "evaluated", ctx.now)
    return {"passed": True, "route": route, "followups": followups, "accountability": accountability(runtime.profile)}


# -- the topic's side (T4 reads the records) --------------------------------------------------------------
def topic_materials(ctx: OperatorContext, department: str) -> tuple[set[str], list[Violation]]:
    """What the major decision a topic cites has produced, and the steps still missing (M11). The
    citation is checked against the store: the decision must be this department's, submitted and
    taken by no other topic."""
    decision_id = ctx.data.get("major_decision")
    if decision_id is None:
        return set(), []
    decision = ctx.runtime.decisions.get(decision_id)
    if decision.department != department:
        raise ValidationFailed("所引重大行政决策不属于本承办单位",
                               [{"field": "major_decision", "reason": str(decision_id)}])
    if decision.topic_instance_id not in (None, ctx.instance_id):
        raise ValidationFailed("该重大行政决策已由其他议题申报",
                               [{"field": "major_decision", "reason": str(decision_id)}])
    if decision.status != "submitted" and decision.topic_instance_id is None:
        raise ValidationFailed("该重大行政决策的程序尚未履行完毕，不能申报议题",
                               [{"field": "major_decision", "reason": decision.status}])
    decision.topic_instance_id = ctx.instance_id
    records = ctx.runtime.decisions.records(decision)
    planned = latest(records, "plan") or {}
    return set(materials_from_records(records, planned)), step_findings(records, planned, ctx.runtime.profile)
