"""The 常务会议 itself: who presents (T6), quorum and leave (T8), recusal (T9), the decision (T10),
the minutes (T11) and emergencies decided outside a meeting (T12) — pure functions over the
profile, and the operators of processes/standing_meeting.bpmn and of the topic's 会议审议 step."""
from __future__ import annotations

import json
from datetime import date, datetime

from ..engine.operators import OperatorContext, operator
from ..errors import ValidationFailed
from ..people.org import POSTS as POST_NAMES
from ..people.org import Organisation
from ..profiles import Profile
from ..records.meetings import check_decisions
from ..records.runtime import StartRequest
from ..time.timeutil import SHANGHAI, chinese_date, isoformat
from ..time.workdays import WorkdayCalendar
from . import Violation, block_if
from .topic import materials_due

FOLLOWUP_PROCESS = "decision_followup"
OUTCOMES = ("通过", "原则通过", "暂缓", "不通过")
NOT_TAKEN = "未上会"


def members(org: Organisation) -> list[str]:
    return list(org.meeting_members)


# -- T8 quorum and leave ---------------------------------------------------------------------------------------
def attendance_problems(present: list[str], absent: dict[str, str], org: Organisation,
                        profile: Profile) -> list[dict]:
    """Everyone on the sheet is a member, every member is on it, every absence has asked leave."""
    listed = set(present) | set(absent)
    problems = [{"field": "present", "reason": f"{org.display_name(p)}不是常务会议组成人员"}
                for p in sorted(listed - set(members(org)))]
    problems += [{"field": "absent", "reason": f"{org.display_name(p)}不能既到会又请假"}
                 for p in sorted(set(present) & set(absent))]
    if not present:
        problems.append({"field": "present", "reason": "没有组成人员到会"})
    problems += [{"field": "absent", "reason": f"未登记{org.display_name(p)}是否出席"}
                 for p in members(org) if p not in listed]
    leave = profile.param("absence_leave_from")
    to = profile.titles.get("head", "区长") if leave.value == "head" else "会议主持人"
    problems += [{"field": "absent", "reason": f"{org.display_name(p)}缺席须事先向{to}请假并说明理由"}
                 for p, reason in absent.items() if not (reason or "").strip()]
    return problems


def not_yet(scheduled_at: datetime, now: datetime, title: str) -> list[dict]:
    """A meeting is signed in on its day, not before: what it hears and the 纪要 it signs date from it."""
    day, today = scheduled_at.astimezone(SHANGHAI).date(), now.astimezone(SHANGHAI).date()
    if today >= day:
        return []
    return [{"field": "meeting", "reason": f"{title}定于{chinese_date(scheduled_at)}"
                                          f"{scheduled_at.astimezone(SHANGHAI):%H:%M}召开，会议当天方可签到"
                                          f"（今天是{chinese_date(now)}）"}]


def quorum(present: int, total: int, profile: Profile) -> list[Violation]:
    rule = profile.param("quorum")
    if rule.is_set and rule.value == "more_than_half" and present * 2 <= total:
        return [Violation("T8", rule.article,
                          f"常务会议须半数以上组成人员到会方可召开（组成人员 {total} 人，到会 {present} 人）")]
    return []


# -- T6 T9 T10 one topic's decision ------------------------------------------------------------------------------
def presenters(presenters_present: list[str], outcome: str, urgent: dict, profile: Profile) -> list[Violation]:
    rule = profile.param("presenters_rule")
    if not rule.is_set or outcome == NOT_TAKEN or presenters_present:
        return []
    if rule.value.get("both_absent") == "not_taken_unless_head_approves" and urgent.get("reason") and \
            urgent.get("head_approved"):
        return []
    deputy, head = f"分管{profile.titles.get('deputy', '副职')}", profile.titles.get("head", "主要领导")
    return [Violation("T6", rule.article, f"承办单位主要负责人和{deputy}均不能到会的，该议题原则上不上会"
                                          f"（{deputy}说明紧急理由并经{head}同意的除外）")]


def recusals(recused: list[dict], present: set[str], org: Organisation, profile: Profile) -> list[Violation]:
    """Who recused on this topic: members at the meeting, each with the reason (利害关系)."""
    rule = profile.param("recusal")
    article = rule.article if rule.is_set else profile.citation
    absent = [r["person"] for r in recused if r.get("person") not in present]
    if absent:
        names = "、".join(org.display_name(p) for p in absent)
        return [Violation("T9", article, f"回避人员须为到会的常务会议组成人员：{names}")]
    return [Violation("T9", rule.article,
                      f"{org.display_name(r['person'])}回避须说明理由（本人或利害关系人涉及该事项）")
            for r in recused if rule.is_set and not (r.get("reason") or "").strip()]


def conclusion(outcome: str, text: str, profile: Profile) -> list[Violation]:
    rule = profile.param("head_speaks_last")
    if rule.is_set and outcome in OUTCOMES and not text.strip():
        head = profile.titles.get("head", "区长")
        return [Violation("T10", rule.article, f"{head}最后发表意见并作会议结论：请记录结论")]
    return []


# -- T11 minutes ---------------------------------------------------------------------------------------------------
def countersigners(decisions: list[dict], profile: Profile, org: Organisation) -> list[str]:
    """分管领导 who countersign the minutes: those of decisions on funds, assets, resources or
    personnel, where the rules say so (大足 四十四)."""
    rule = profile.param("minutes_countersign")
    if not rule.is_set:
        return []
    leaders = [org.portfolio_leader(d["lead_unit"]) for d in decisions if set(d.get("involves", [])) & set(rule.value)]
    return list(dict.fromkeys(p.id for p in leaders if p is not None))


# -- T12 emergencies ----------------------------------------------------------------------------------------------
def emergency_actor(person_id: str, profile: Profile, org: Organisation) -> list[Violation]:
    """Whether this person may decide at once outside a meeting (临机处置). The 区长/市长 may
    wherever the rules provide for it (RULES.md T12); where they do not, a decision is only
    registered, by a leader of the government."""
    rule, person = profile.param("emergency_actors"), org.person(person_id)
    allowed = ["head", *rule.value] if rule.is_set else ["head", "deputy", "office_director"]
    if person is not None and any(_holds(person, post) for post in allowed):
        return []
    titles = {**POST_NAMES, **profile.titles, "portfolio_leader": f"分管{profile.titles.get('deputy', '副职')}"}
    who = "、".join(titles.get(post, post) for post in dict.fromkeys(allowed))
    return [Violation("T12", rule.article if rule.is_set else profile.citation, f"紧急情况下临机处置的是{who}")]


def _holds(person, post: str) -> bool:
    if post == "portfolio_leader":    # 分管副市长: a deputy with a portfolio
        return person.post in ("deputy", "executive_deputy") and bool(person.portfolio)
    if post == "deputy":              # 副区长 includes the 常务副区长
        return person.post in ("deputy", "executive_deputy")
    return person.post == post


# -- operators: the topic's 会议审议 step ----------------------------------------------------------------------
@operator("meeting.outcome", "议题审议结果：会议须已召开（T8）；汇报人到会（T6）；回避（T9）；区长结论（T10）",
          rule="T10")
def outcome_operator(ctx: OperatorContext, result: dict, presenters_expected: list) -> dict:
    runtime, meetings = ctx.runtime, ctx.runtime.meetings
    item = meetings.item_for(ctx.instance_id)
    meeting = meetings.get(item.meeting_id, for_update=True)
    outcome = result["outcome"]
    if outcome != NOT_TAKEN and meeting.status != "opened":
        quorum_rule = runtime.profile.param("quorum")
        article = quorum_rule.article if quorum_rule.is_set else runtime.profile.citation
        block_if([Violation("T8", article, f"{meeting.title}尚未召开，不能记录审议结果")])
    present = [p for p in result.get("presenters_present", []) if p in presenters_expected]
    block_if([*presenters(present, outcome, result.get("urgent") or {}, runtime.profile),
              *recusals(result.get("recused", []), meetings.present(meeting.id), runtime.org, runtime.profile),
              *conclusion(outcome, result.get("conclusion", ""), runtime.profile)])
    if outcome == NOT_TAKEN:
        later = _next_meeting(ctx, meeting)
        moved = meetings.move(item, later)
        return {"outcome": NOT_TAKEN, "moved_to": {"id": later.id, "title": later.title,
                                                   "at": isoformat(later.scheduled_at)}, "agenda_item": moved.id}
    decisions = check_decisions(result.get("decisions", []), runtime.org.departments, _day(meeting)) \
        if outcome in OUTCOMES[:2] else []
    meetings.decide(item, outcome, result.get("conclusion", ""), result.get("recused", []), decisions)
    return {"outcome": outcome, "meeting": {"id": meeting.id, "title": meeting.title}, "agenda_item": item.id}


def _next_meeting(ctx: OperatorContext, meeting):
    """The meeting a topic not taken moves to: the next one, planned on the cadence if needed."""
    runtime, meetings = ctx.runtime, ctx.runtime.meetings
    later = meetings.next_after(meeting) or next(iter(runtime.meetings.plan(
        runtime.profile.value("meeting_cadence"), runtime.org.local, runtime.calendar, runtime.org.name,
        meeting.scheduled_at)), None)
    if later is None:
        raise ValidationFailed("没有下一次常务会议可顺延：请由办公室安排会议", [{"field": "meeting", "reason": "无"}])
    return later


# -- T11 deadlines after the meeting ---------------------------------------------------------------------------
def after_meeting(decision: dict, held_at: datetime, profile: Profile, calendar: WorkdayCalendar) -> list[dict]:
    """The limits the rules set, in 工作日 after the meeting, for a decision the minutes mark as a
    document passed by the meeting (``document``; ``major_revision`` when it must be reworked) or
    as a matter the 区委 must decide (``party_committee``): 巴州常务会议规则 第二十一条 送签,
    第二十二条 报区委, 东昌 二十二 印发."""
    found = []
    sign, issue = profile.param("signature_after_meeting_wd"), profile.param("issue_after_meeting_wd")
    report = profile.param("party_committee_report_wd")
    if decision.get("document") and sign.is_set:
        found.append(("送签", int(sign.value["major_revision" if decision.get("major_revision") else "normal"]),
                      sign.article))
    if decision.get("document") and issue.is_set:
        found.append(("印发", int(issue.value), issue.article))
    if decision.get("party_committee") and report.is_set:
        found.append(("报区委", int(report.value), report.article))
    return [{"step": step, "workdays": days, "due_on": calendar.add_workdays(held_at, days).at.date().isoformat(),
             "article": article} for step, days, article in found]


def after_meeting_limits(decisions: list[dict], held_at: datetime, profile: Profile,
                         calendar: WorkdayCalendar) -> list[Violation]:
    """A decision's 办结时限 may not be later than a limit the rules set after the meeting: the
    督办事项 made from it then tracks that limit (overdue red, 催办)."""
    found = []
    for number, decision in enumerate(decisions, start=1):
        for limit in after_meeting(decision, held_at, profile, calendar):
            if (decision.get("due_on") or "") > limit["due_on"]:
                found.append(Violation("T11", limit["article"],
                                       f"第 {number} 项决定须于会后 {limit['workdays']} 个工作日内{limit['step']}"
                                       f"（{limit['due_on']} 前），办结时限 {decision['due_on']} 晚于此"))
    return found


def _day(meeting) -> date:
    return meeting.scheduled_at.astimezone(SHANGHAI).date()


# -- operators: the meeting process ----------------------------------------------------------------------------
def _meeting(ctx: OperatorContext, for_update: bool = False):
    return ctx.runtime.meetings.get(int(ctx.data["meeting_id"]), for_update)


def _agenda(ctx: OperatorContext, meeting) -> list[dict]:
    org = ctx.runtime.org
    return [{"id": i.id, "kind": i.kind, "title": i.title, "department": org.departments[i.department].name
             if i.department in org.departments else "", "status": i.status, "late_exception": i.late_exception,
             "outcome": i.outcome} for i in ctx.runtime.meetings.agenda(meeting.id) if i.status != "moved"]


@operator("meeting.agenda", "拟定议程：列入已排会的议题和需报告的紧急处置事项（T12）", rule="T12")
def agenda_operator(ctx: OperatorContext) -> dict:
    meeting = _meeting(ctx, for_update=True)
    if ctx.runtime.profile.value("emergency_report_next_meeting"):
        ctx.runtime.meetings.report_emergencies(meeting)
    return {"title": meeting.title, "at": isoformat(meeting.scheduled_at), "items": _agenda(ctx, meeting)}


@operator("meeting.freeze", "区长审定议程：按规则审定后不再增加议题（东昌）", rule="T5")
def freeze_operator(ctx: OperatorContext) -> dict:
    meeting = _meeting(ctx, for_update=True)
    rule = ctx.runtime.profile.param("agenda_frozen_on_approval")
    if rule.is_set and rule.value:
        meeting.status = "frozen"
    return {"frozen": meeting.status == "frozen", "article": rule.article, "items": _agenda(ctx, meeting)}


@operator("meeting.open", "会议签到：组成人员全部登记、缺席请假，半数以上到会方可召开（T8）", rule="T8")
def open_operator(ctx: OperatorContext, attendance: dict) -> dict:
    runtime = ctx.runtime
    meeting = _meeting(ctx, for_update=True)
    early = not_yet(meeting.scheduled_at, ctx.now, meeting.title)
    if early:
        raise ValidationFailed(early[0]["reason"], early)
    absent = {a["person"]: a.get("reason", "") for a in attendance.get("absent", [])}
    problems = attendance_problems(attendance.get("present", []), absent, runtime.org, runtime.profile)
    if problems:
        raise ValidationFailed("签到表有误：" + "；".join(p["reason"] for p in problems[:5]), problems)
    runtime.meetings.attendance(meeting, attendance["present"], absent)
    meeting.members = len(members(runtime.org))
    short = quorum(len(attendance["present"]), meeting.members, runtime.profile)
    meeting.status = "opened" if not short else "adjourned"
    if not short:
        runtime.meetings.number(meeting, runtime.org.name)
    return {"opened": not short, "title": meeting.title, "present": meeting.present, "members": meeting.members,
            "reason": short[0].to_dict() if short else None}


@operator("meeting.adjourn", "流会：议程上的议题和紧急处置事项报告顺延至下次会议（T8）", rule="T8")
def adjourn_operator(ctx: OperatorContext) -> dict:
    meeting = _meeting(ctx, for_update=True)
    items = [i for i in ctx.runtime.meetings.agenda(meeting.id) if i.status == "scheduled"]
    later = _next_meeting(ctx, meeting) if items else None
    for item in items:
        ctx.runtime.meetings.move(item, later, _retimed(ctx, later))
    return {"moved": [i.title for i in items], "to": later.title if later else None}


def _retimed(ctx: OperatorContext, meeting) -> dict:
    """New due dates of a moved topic's open tasks: materials before, the hearing at the meeting."""
    return {"prep": materials_due(meeting.scheduled_at, ctx.runtime.profile, ctx.runtime.calendar),
            "hearing": meeting.scheduled_at}


@operator("meeting.close", "会议结束：议程上的议题均已审议，紧急处置事项已报告；纪要起草时限自会议之日起算（T11）",
          rule="T10")
def close_operator(ctx: OperatorContext) -> dict:
    """Topics waiting for their result must have it; a topic sent back before the meeting moves
    to the next one (or leaves the agenda if it was withdrawn)."""
    meetings = ctx.runtime.meetings
    meeting = _meeting(ctx, for_update=True)
    items = meetings.agenda(meeting.id)
    undecided = [i for i in items if i.kind == "topic" and i.status == "scheduled"]
    waiting = [i.title for i in undecided if meetings.waiting_for_hearing(i)]
    if waiting:
        raise ValidationFailed(f"尚有议题未记录审议结果：{'、'.join(waiting)}",
                               [{"field": "agenda", "reason": t} for t in waiting])
    for item in undecided:
        if meetings.topic_running(item):
            later = _next_meeting(ctx, meeting)
            meetings.move(item, later, _retimed(ctx, later))
        else:
            item.status = "withdrawn"
    for item in items:
        if item.kind == "emergency_report" and item.status == "scheduled":
            item.status = "reported"
    meeting.status = "held"
    decided = [i for i in items if i.status == "decided"]
    return {"outcomes": [{"title": i.title, "outcome": i.outcome} for i in decided],
            "proposed_decisions": [{**d, "agenda_item": i.id, "topic": i.title} for i in decided
                                   for d in json.loads(i.decisions)],
            "minutes_due": _minutes_due(ctx, meeting)}


def _minutes_due(ctx: OperatorContext, meeting) -> str | None:
    days = ctx.runtime.profile.value("minutes_draft_wd")
    if days is None:
        return None
    return isoformat(ctx.runtime.calendar.add_workdays(meeting.scheduled_at, int(days)).at)


@operator("minutes.check", "会议纪要：逐项列明任务、主办协办单位和时限；涉及资金、资产、资源、人事的"
                          "由分管领导会签（T11）",
          rule="T11")
def minutes_check_operator(ctx: OperatorContext, minutes: dict) -> dict:
    runtime = ctx.runtime
    meeting = _meeting(ctx)
    agenda = {i.id for i in runtime.meetings.agenda(meeting.id) if i.status == "decided"}
    decisions = check_decisions(minutes.get("decisions", []), runtime.org.departments, _day(meeting), agenda)
    block_if(after_meeting_limits(decisions, meeting.scheduled_at, runtime.profile, runtime.calendar))
    signer = runtime.profile.value("minutes_signer") or "head"
    return {"decisions": decisions, "countersigners": countersigners(decisions, runtime.profile, runtime.org),
            "signer": runtime.org.with_post(signer)[0].id}


@operator("minutes.sign", "签发纪要：议定事项逐项登记并立项督办（T11、F1）", rule="T11")
def minutes_sign_operator(ctx: OperatorContext, decisions: list) -> dict:
    meeting = _meeting(ctx, for_update=True)
    items = ctx.runtime.meetings.sign_minutes(meeting, decisions, ctx.now)
    for item in items:     # F1: every decision becomes a 督办事项, in the same transaction
        ctx.runtime.request_start(StartRequest(FOLLOWUP_PROCESS, {
            "source": "常务会议", "source_ref": meeting.title, "meeting": meeting.id, "decision_item": item.id,
            "task": item.task, "lead_unit": item.lead_unit, "assisting_units": json.loads(item.assisting_units),
            "due_on": item.due_on.isoformat()}, title=f"督办：{item.task[:80]}", if_deployed=True))
    return {"decision_items": [i.id for i in items], "count": len(items), "signed_at": isoformat(ctx.now)}
