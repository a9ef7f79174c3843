"""请销假 (P3): a department head's absence is asked ahead and approved by whom the rules name,
and only the approved leave makes a substitute act (P1/P2 read the ``leave`` rows) — the checks,
and the operators of processes/leave.bpmn.

- notice: dazu 五十二 (离足外出1天以上，应提前3天), chongqing 五十五 (應提前3天向市政府請假);
- approvers: bazhou 第八十三条 (1日以内 分管领导; 2日及以上 分管领导审核后报区长), ziyang 七十六
  (向市长和分管副市长请假). Where the rules name no approver the leave is recorded when asked.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from ..engine.operators import OperatorContext, operator
from ..errors import ValidationFailed
from ..people.org import Organisation
from ..people.substitution import record_leave
from ..profiles import Profile
from ..time.timeutil import SHANGHAI, isoformat, parse_moment
from . import Violation, block_if

SUBJECT_POSTS = ("dept_head",)      # the articles speak of 各部门主要负责人


def days_away(starts_at: datetime, ends_at: datetime) -> int:
    """Calendar days the absence touches (a morning's trip is 1 日)."""
    first, last = starts_at.astimezone(SHANGHAI).date(), (ends_at - timedelta(microseconds=1)).astimezone(SHANGHAI)
    return (last.date() - first).days + 1


def notice_problems(person_id: str, starts_at: datetime, asked_at: datetime, profile: Profile,
                    org: Organisation) -> list[Violation]:
    rule, person = profile.param("leave_notice_days"), org.person(person_id)
    if not rule.is_set or person is None or person.post not in SUBJECT_POSTS:
        return []
    days = int(rule.value)
    latest = starts_at.astimezone(SHANGHAI).date() - timedelta(days=days)
    if asked_at.astimezone(SHANGHAI).date() <= latest:
        return []
    begins = starts_at.astimezone(SHANGHAI).date().isoformat()
    return [Violation("P3", rule.article, f"部门主要负责人外出须提前 {days} 天请假：{begins} 开始的外出"
                                          f"最迟应于 {latest.isoformat()} 提出（“{rule.quote}”）")]


def approvers(person_id: str, starts_at: datetime, ends_at: datetime, profile: Profile,
              org: Organisation) -> list[str]:
    """Who approves, in order; [] where the rules name nobody for this person."""
    rule, person = profile.param("dept_head_leave_approval"), org.person(person_id)
    if not rule.is_set or person is None or person.post not in SUBJECT_POSTS:
        return []
    value = rule.value
    chain = value.get("always") or (value["up_to_1_day"] if days_away(starts_at, ends_at) <= 1 else value["longer"])
    found = []
    for post in chain:
        who = org.portfolio_leader(person.department) if post == "portfolio_leader" else org.head()
        if who is None:
            name = org.departments[person.department].name
            raise ValidationFailed(f"{name}没有分管领导，无法确定请假审批人（{rule.article}）",
                                   [{"field": "person", "reason": rule.article}])
        if who.id not in found:
            found.append(who.id)
    return found


def needs_approval(person_id: str, profile: Profile, org: Organisation) -> list[Violation]:
    """A leave the rules give an approver may not be recorded without one (the 请销假 procedure)."""
    rule, person = profile.param("dept_head_leave_approval"), org.person(person_id)
    if not rule.is_set or person is None or person.post not in SUBJECT_POSTS:
        return []
    return [Violation("P3", rule.article, "部门主要负责人请假须经审批，不能直接登记：请通过“请销假”流程提出")]


def _moments(data: dict) -> tuple[datetime, datetime]:
    try:
        starts, ends = parse_moment(data["starts_at"]), parse_moment(data["ends_at"])
    except (KeyError, TypeError, ValueError):
        raise ValidationFailed("请假时间格式应为 ISO-8601，如 2026-11-23T09:00:00+08:00",
                               [{"field": "starts_at", "reason": "格式不正确"}]) from None
    if ends <= starts:
        raise ValidationFailed("结束时间须晚于开始时间", [{"field": "ends_at", "reason": "须晚于开始时间"}])
    return starts, ends


@operator("leave.check", "请假：提前天数与审批人（P3）", rule="P3")
def check_operator(ctx: OperatorContext) -> dict:
    """Refuses a leave asked too late (the start is rolled back: nothing is stored)."""
    runtime, person = ctx.runtime, ctx.data.get("person")
    if runtime.org.person(person) is None:
        raise ValidationFailed("人员不存在", [{"field": "person", "reason": f"未知人员 {person!r}"}])
    starts, ends = _moments(ctx.data)
    block_if(notice_problems(person, starts, ctx.now, runtime.profile, runtime.org))
    rule = runtime.profile.param("dept_head_leave_approval")
    chain = approvers(person, starts, ends, runtime.profile, runtime.org)
    return {"approvers": chain, "days": days_away(starts, ends), "article": rule.article if chain else ""}


@operator("leave.record", "请假生效：审批同意后登记，代行职责按此计（P1、P2、P3）", rule="P3", undoable=False)
def record_operator(ctx: OperatorContext, approvals: list | None = None) -> dict:
    runtime, approvals = ctx.runtime, list(approvals or [])
    refused = [a for a in approvals if a.get("decision") != "同意"]
    if refused:
        return {"approved": False, "refused_by": refused[0].get("by")}
    starts, ends = _moments(ctx.data)
    leave = record_leave(runtime.session, runtime.org, runtime.profile, ctx.data["person"], starts, ends,
                         ctx.data.get("reason", ""), ctx.data.get("person"))
    leave.instance_id, leave.approved_by = ctx.instance_id, ",".join(a["by"] for a in approvals)
    return {"approved": True, "leave_id": leave.id, "recorded_at": isoformat(ctx.now)}
