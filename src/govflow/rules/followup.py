"""议定事项督办 (F1-F8): a decided matter tracked to 销号 — the rules as functions over the item
and the jurisdiction's profile, and the operators of processes/decision_followup.bpmn.

Each step that leads into a new reporting round returns ``report_due`` (the deadline of the next
限期报告) and ``leader`` (the item's 分管领导 as the portfolios stand now); the diagram keeps them
in ``round``. What the operators record stays: no 退回 or 撤回 goes back past them."""
from __future__ import annotations

from datetime import date, datetime

from ..engine.operators import OperatorContext, operator
from ..errors import Conflict, Forbidden, ValidationFailed
from ..people.org import LEADER_POSTS, Organisation
from ..profiles import Profile
from ..records.followups import SOURCES, closed_on_time, units
from ..records.runtime import StartRequest
from ..store.models import DecisionItem, FollowupItem, Instance, Meeting
from ..time.timeutil import SHANGHAI, isoformat
from ..time.workdays import WorkdayCalendar
from . import Violation, block_if

TOPIC_PROCESS = "topic_submission"
SYSTEM = "system"      # who starts the items of signed minutes


def article(profile: Profile, key: str) -> str:
    rule = profile.param(key)
    return rule.article if rule.is_set else ""


# -- F1 F2 F3 the item ------------------------------------------------------------------------------------------
def item_problems(data: dict, org: Organisation, today: date, by_hand: bool) -> list[dict]:
    """What makes an item unworkable: unknown units, no time limit, a limit already past when the
    item is set by hand (a decision of signed minutes keeps the limit the minutes gave it)."""
    problems = []
    lead, assisting = data.get("lead_unit"), data.get("assisting_units", [])
    if lead not in org.departments:
        problems.append({"field": "lead_unit", "reason": f"主办单位“{lead}”不在组织机构中"})
    problems += [{"field": "assisting_units", "reason": f"协办单位“{u}”不在组织机构中"}
                 for u in assisting if u not in org.departments]
    if lead in assisting:
        problems.append({"field": "assisting_units", "reason": "主办单位不能同时是协办单位"})
    if data.get("source") not in SOURCES:
        problems.append({"field": "source", "reason": f"来源须为{'、'.join(SOURCES)}之一"})
    try:
        if by_hand and date.fromisoformat(data.get("due_on") or "") < today:
            problems.append({"field": "due_on", "reason": "办结时限早于今天"})
    except ValueError:
        problems.append({"field": "due_on", "reason": "办结时限须为日期，如 2026-12-31"})
    return problems


def may_set_by_hand(person_id: str, org: Organisation) -> None:
    """Items from 批示, 专题会议, 建议提案 (or a meeting's decision entered afterwards) are set by
    the office, the 督查 units or a leader of the government."""
    person = org.person(person_id)
    supervising = {org.office_id, *(d.id for d in org.departments.values() if {"督查", "目标绩效"} & set(d.duties))}
    if person is None or not (person.department in supervising or person.post in LEADER_POSTS):
        raise Forbidden("督办事项由办公室、督查部门或政府领导立项")


def leader_of(org: Organisation, department: str) -> str:
    """F3: the 分管领导 organises the work; the 区长 where no one has the department in portfolio
    (an office led by the 秘书长, say)."""
    leader = org.portfolio_leader(department)
    return (leader or org.head()).id


def next_report_due(item: FollowupItem, now: datetime, calendar: WorkdayCalendar) -> datetime:
    """The next 限期报告: N 工作日 on, but no later than the end of the item's time limit while that
    is still ahead."""
    due = calendar.add_workdays(now, item.report_every_wd).at
    end = datetime.combine(item.due_on, calendar.office_day_end, SHANGHAI)
    return min(due, end) if end > now else due


# -- F4 F6 F8 what a report asks for ------------------------------------------------------------------------------
def report_problems(report: dict, contributions: list, item: FollowupItem,
                    profile: Profile) -> tuple[list[dict], list[Violation]]:
    """Form problems (a field the chosen action needs) and rule violations, separately."""
    action, problems, violations = report.get("action"), [], []
    if action == "申请销号" and not (report.get("evidence") or "").strip():
        problems.append({"field": "evidence", "reason": "申请销号须附完成情况佐证材料"})
    if action == "申请延期":
        try:
            if date.fromisoformat(report.get("new_due_on") or "") <= item.due_on:
                problems.append({"field": "new_due_on",
                                 "reason": f"延期后的时限须晚于现时限 {item.due_on.isoformat()}"})
        except ValueError:
            problems.append({"field": "new_due_on", "reason": "请填写申请延期至的日期"})
        if not (report.get("reason") or "").strip():
            problems.append({"field": "reason", "reason": "申请延期须说明理由"})
    if action == "重大调整" and not (report.get("reason") or "").strip():
        problems.append({"field": "reason", "reason": "重大调整须说明理由"})
    rule = profile.param("followup_disagreement")
    if action == "提请协调分歧" and any(not (report.get(f) or "").strip() for f in ("disagreement", "proposal")):
        if rule.is_set:
            violations.append(Violation("F8", rule.article,
                                        "牵头部门应说明协调过程，列明分歧所在，提出倾向性意见和理据，报请分管领导审定"))
        else:
            problems.append({"field": "disagreement", "reason": "提请协调须写明分歧和倾向性意见"})
    objecting = [c["department"] for c in contributions if (c.get("disagreement") or "").strip()]
    if objecting and action != "提请协调分歧" and not (report.get("problems") or "").strip():
        problems.append({"field": "problems",
                         "reason": "协办单位提出了不同意见：请在“存在问题”中说明处理情况，或提请分管领导协调"})
    return problems, violations


# -- operators -----------------------------------------------------------------------------------------------------
def _item(ctx: OperatorContext) -> FollowupItem:
    return ctx.runtime.followups.for_instance(ctx.instance_id, for_update=True)


def _round(ctx: OperatorContext, item: FollowupItem, **more) -> dict:
    item.leader = leader_of(ctx.runtime.org, item.lead_unit)       # portfolios change; the item follows
    due = next_report_due(item, ctx.now, ctx.runtime.calendar) if item.status != "closed" else None
    return {"report_due": isoformat(due) if due else None, "status": item.status, "leader": item.leader,
            "due_on": item.due_on.isoformat(), **more}


def _source_problems(ctx: OperatorContext) -> list[dict]:
    """A meeting or decision named by an item set by hand must exist, and a decision is followed once."""
    session, data, problems = ctx.runtime.followups.session, ctx.data, []
    if data.get("meeting") is not None and session.get(Meeting, data["meeting"]) is None:
        problems.append({"field": "meeting", "reason": f"会议 {data['meeting']} 不存在"})
    decision = data.get("decision_item")
    if decision is not None:
        if session.get(DecisionItem, decision) is None:
            problems.append({"field": "decision_item", "reason": f"议定事项 {decision} 不存在"})
        elif ctx.runtime.followups.for_decision(decision) is not None:
            problems.append({"field": "decision_item", "reason": f"议定事项 {decision} 已立项督办"})
    return problems


@operator("followup.register", "交办：登记督办事项，编督办编号，明确主办、协办单位、分管领导和限期报告（F1、F2、F3）",
          rule="F2", undoable=False)
def register_operator(ctx: OperatorContext) -> dict:
    data, runtime = ctx.data, ctx.runtime
    by_hand = runtime.followups.session.get(Instance, ctx.instance_id).started_by != SYSTEM
    if by_hand:
        may_set_by_hand(runtime.followups.starter(ctx.instance_id), runtime.org)
    problems = item_problems(data, runtime.org, ctx.now.astimezone(SHANGHAI).date(), by_hand) + \
        _source_problems(ctx)
    if problems:
        raise ValidationFailed("督办事项有误：" + "；".join(p["reason"] for p in problems), problems)
    fields = {"source": data["source"], "source_ref": data.get("source_ref", ""), "meeting_id": data.get("meeting"),
              "decision_item_id": data.get("decision_item"), "task": data["task"], "lead_unit": data["lead_unit"],
              "assisting_units": list(data.get("assisting_units", [])), "due_on": date.fromisoformat(data["due_on"]),
              "leader": leader_of(runtime.org, data["lead_unit"]),
              "report_every_wd": data.get("report_every_wd") or runtime.org.local_workdays("followup_report_every_wd")}
    item = runtime.followups.register(fields, ctx.instance_id, runtime.org.followup_prefix, ctx.now)
    assigners = article(runtime.profile, "followup_assigners")
    runtime.followups.note(item, "交办", ctx.now, {"number": item.number, "article": assigners})
    return _round(ctx, item, number=item.number, department=item.lead_unit, assisting=units(item), article=assigners)


@operator("followup.acknowledge", "签收：主办单位明确责任人，开始办理（F3）", rule="F3", undoable=False)
def acknowledge_operator(ctx: OperatorContext, ack: dict) -> dict:
    item = _item(ctx)
    item.status, item.acknowledged_at = "in_progress", ctx.now
    ctx.runtime.followups.note(item, "签收", ctx.now, ack)
    return _round(ctx, item)


@operator("followup.report", "限期报告：进展、问题和下步打算，逾期的记为迟报（F4）；申请事项分送办理",
          rule="F4", undoable=False)
def report_operator(ctx: OperatorContext, report: dict, contributions: list, report_due: str | None) -> dict:
    item = _item(ctx)
    problems, violations = report_problems(report, contributions, item, ctx.runtime.profile)
    block_if(violations)
    if problems:
        raise ValidationFailed("报告填写不完整：" + "；".join(p["reason"] for p in problems), problems)
    late = bool(report_due) and ctx.runtime.followups.reported_at(ctx.instance_id, ctx.now) > \
        datetime.fromisoformat(report_due)
    item.reports += 1
    item.late_reports += late
    if report["action"] == "申请销号":
        item.status, item.applied_at = "applying", ctx.now
    ctx.runtime.followups.note(item, "报告", ctx.now, {**report, "contributions": contributions}, late)
    return _round(ctx, item, action=report["action"], late=late)


@operator("followup.verify", "核查复核：办结的销号，未办结的退回整改并写明理由（F6）", rule="F6", undoable=False)
def verify_operator(ctx: OperatorContext, check: dict) -> dict:
    item, rule = _item(ctx), ctx.runtime.profile.param("followup_closure_check")
    if check["result"] == "退回整改":
        if not (check.get("opinion") or "").strip():
            reason = "退回整改须写明未达到要求之处和整改要求"
            if rule.is_set:
                block_if([Violation("F6", rule.article, reason)])
            raise ValidationFailed(reason, [{"field": "opinion", "reason": "不能为空"}])
        item.status, item.applied_at = "in_progress", None
        ctx.runtime.followups.note(item, "退回整改", ctx.now, check)
        return _round(ctx, item, closed=False)
    ctx.runtime.followups.close(item, ctx.now)
    ctx.runtime.followups.note(item, "销号", ctx.now, check)
    return _round(ctx, item, closed=True, on_time=closed_on_time(item))


@operator("followup.extend", "延期：由事项分管领导决定是否延长办结时限", undoable=False)
def extend_operator(ctx: OperatorContext, request: dict, decision: dict) -> dict:
    item = _item(ctx)
    granted, before = decision["decision"] == "同意", item.due_on
    if granted:
        new_due = date.fromisoformat(decision.get("due_on") or request["new_due_on"])
        if new_due <= item.due_on:
            raise ValidationFailed(f"延期后的时限须晚于现时限 {item.due_on.isoformat()}",
                                   [{"field": "due_on", "reason": new_due.isoformat()}])
        item.due_on, item.extensions = new_due, item.extensions + 1
    ctx.runtime.followups.note(item, "延期" if granted else "不同意延期", ctx.now,
                               {**decision, "from": before.isoformat(), "to": item.due_on.isoformat(),
                                "requested": request.get("new_due_on"), "reason": request.get("reason")})
    return _round(ctx, item, granted=granted)


@operator("followup.open_topic", "重大调整：不在督办中决定，作为新议题提请常务会议审议（F7）", rule="F7",
          undoable=False)
def open_topic_operator(ctx: OperatorContext, topic: dict) -> dict:
    item, runtime = _item(ctx), ctx.runtime
    if item.topic_instance_id and runtime.followups.session.get(Instance, item.topic_instance_id).status == "running":
        raise Conflict("该事项已提请常务会议的议题尚在办理中，不能重复提请")
    data = {**topic, "department": item.lead_unit, "followup_number": item.number}

    def link(instance_id: int) -> None:
        item.topic_instance_id = instance_id
    runtime.request_start(StartRequest(TOPIC_PROCESS, data, title=topic["title"], on_started=link))
    runtime.followups.note(item, "提请常务会议", ctx.now, {"title": topic["title"]})
    return _round(ctx, item, topic=topic["title"], article=article(runtime.profile, "followup_major_change_to_meeting"))


@operator("followup.settle", "分歧协调：牵头部门说明分歧、提出意见，分管领导审定（F8）", rule="F8", undoable=False)
def settle_operator(ctx: OperatorContext, settlement: dict) -> dict:
    item = _item(ctx)
    ctx.runtime.followups.note(item, "协调", ctx.now, settlement)
    return _round(ctx, item, article=article(ctx.runtime.profile, "followup_disagreement"))
