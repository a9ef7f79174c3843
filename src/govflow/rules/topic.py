"""议题申报上会: preparing a topic for the 常务会议 — rules T1-T7 of RULES.md as pure functions over
the topic and the jurisdiction's profile, and the operators of processes/topic_submission.bpmn.

A topic's data is flat (``forms/topic_draft.json``): ``department`` is the lead unit (承办单位),
``categories`` what kind of matter it is, ``materials`` the papers it declares.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..engine.operators import OperatorContext, operator
from ..errors import ValidationFailed
from ..people.org import Organisation
from ..profiles import Profile
from ..time.timeutil import SHANGHAI, isoformat
from ..time.workdays import WorkdayCalendar
from . import Violation, block_if
from .consultation import consultation_window
from .major_decision import topic_materials

# Which T4 material list applies to which category (profile key → categories that call for it).
MATERIAL_LISTS = {
    "materials_major_decision": ("重大行政决策",),
    "materials_normative": ("行政规范性文件",),
    "materials_market": ("涉及市场主体",),
    "materials_draft_document": ("代拟稿",),
    "materials_public_policy": ("重要政策",),
    "materials_towns": ("涉及镇街",),
}
LEGALITY, FAIR_COMPETITION = "合法性审查意见", "公平竞争审查意见"   # opinions of 司法局 and 市场监管局
# The request itself is the topic's text; the 集体讨论 a major decision needs is the meeting itself.
NEVER_MISSING = {"请示", "集体讨论"}
# Made by the process (征求意见, the reviews it orders); a department cannot declare them itself.
PROCESS_MADE = {"征求意见采纳情况汇总表", LEGALITY, FAIR_COMPETITION}
MAJOR_DECISION = "重大行政决策"
BY_RECORDS = "（须经重大行政决策程序办理，以其记录为准）"   # a step's paper is its record, never a ticked box


@dataclass(frozen=True)
class Topic:
    title: str
    department: str
    categories: tuple[str, ...]
    departments: tuple[str, ...]
    materials: tuple[str, ...]
    within_own_authority: bool

    @classmethod
    def from_data(cls, data: dict) -> "Topic":
        return cls(data["title"], data["department"], tuple(data.get("categories", [])),
                   tuple(d for d in data.get("departments", []) if d != data["department"]),
                   tuple(data.get("materials", [])), bool(data.get("within_own_authority")))


# -- T2 not for the meeting ------------------------------------------------------------------------------------
def not_for_meeting(topic: Topic, profile: Profile) -> list[Violation]:
    """A matter the department declares within a leader's or its own authority is turned away
    where the profile's list of excluded matters names such matters (dongchang's does not)."""
    rule = profile.param("not_for_meeting")
    if not topic.within_own_authority or not rule.is_set:
        return []
    named = [kind for kind in rule.value if "权限" in kind or "职权" in kind]
    return [Violation("T2", rule.article, f"{named[0]}，不提请常务会议审议")] if named else []


# -- T4 materials ------------------------------------------------------------------------------------------------
def required_materials(topic: Topic, profile: Profile) -> list[tuple[str, str]]:
    """(material, article) pairs the topic needs, by its categories and the profile."""
    needed: dict[str, str] = {}
    lists = [("materials_always", None), *MATERIAL_LISTS.items()]
    for key, categories in lists:
        rule = profile.param(key)
        if rule.is_set and (categories is None or set(categories) & set(topic.categories)):
            for material in rule.value:
                needed.setdefault(material, rule.article)
    return list(needed.items())


def record_made(topic: Topic, profile: Profile) -> set[str]:
    """The papers of a 重大行政决策's statutory steps: made by the major_decision procedure's
    records (RULES-M M2-M11), so a department's ticked box does not count for them."""
    if MAJOR_DECISION not in topic.categories:
        return set()
    return set(profile.value("materials_major_decision") or []) - NEVER_MISSING


def missing_materials(topic: Topic, profile: Profile, produced: set[str], refused: set[str] = frozenset()
                      ) -> list[Violation]:
    """T4: every missing paper at once. ``produced`` are those the process itself made (the
    consultation summary, the review opinions, the records of a major decision's steps),
    ``refused`` the review opinions that said no."""
    by_records = record_made(topic, profile)
    have = set(topic.materials) - PROCESS_MADE - by_records | produced | NEVER_MISSING
    missing = [(m, a) for m, a in required_materials(topic, profile) if m not in have]
    never = profile.param("incomplete_never_to_meeting")
    suffix = f"（{never.article}：要件不全的不上会）" if never.is_set else ""
    return [Violation("T4", article, f"{material}{'未通过审查' if material in refused else '缺失'}"
                                     f"{BY_RECORDS if material in by_records else ''}{suffix}")
            for material, article in missing]


# -- T3 coordination ---------------------------------------------------------------------------------------------
def disagreement(objections: list[dict], coordination_data: dict, profile: Profile) -> list[Violation]:
    """After consultation: how a remaining disagreement may go to the meeting, by profile."""
    rule = profile.param("topic_coordination")
    if not objections or not rule.is_set:
        return []
    data = coordination_data or {}
    if rule.value == "block_on_key_content" and data.get("key_content", True):
        return [Violation("T3", rule.article, "有关部门对议题的重要内容、关键内容未达成一致的，一律不提请常务会议审议"
                                              "（可撤回申报，协调一致后重新申报）")]
    if rule.value == "block_on_key_content" and not (data.get("statement") or "").strip():
        return [Violation("T3", rule.article, "请说明其余分歧及协调情况")]
    if rule.value == "coordination_meeting_first" and not (data.get("coordination_meeting") or "").strip():
        return [Violation("T3", rule.article,
                          "有关部门意见不一致的，须先由分管领导召开专题会议协调，请注明专题会议纪要")]
    if rule.value == "state_disagreement_and_option" and not (
            (data.get("statement") or "").strip() and (data.get("preferred_option") or "").strip()):
        return [Violation("T3", rule.article, "意见不一致的，须在会上说明分歧情况，并提出倾向性意见")]
    return []


# -- T1 who reviews and decides ---------------------------------------------------------------------------------
def approval_chain(topic: Topic, profile: Profile, org: Organisation) -> list[str]:
    """The people who review and decide the topic, in order (T1). None where the rules name no
    one (ziyang: 按程序送审): the 市长 then sees the topic when approving the agenda."""
    posts = profile.value("topic_approval_chain") or []
    people = []
    for post in posts:
        person = org.portfolio_leader(topic.department) if post == "portfolio_leader" else \
            (org.with_post(post) or [None])[0]
        if person is not None and person.id not in people:
            people.append(person.id)
    return people


# -- T5 which meeting ---------------------------------------------------------------------------------------
def meets_deadline(approved_at: datetime, meeting_at: datetime, profile: Profile,
                   calendar: WorkdayCalendar) -> bool:
    days = profile.value("topic_submission_deadline_wd")
    if days is None:
        return approved_at < meeting_at
    last_day = calendar.workdays_before(meeting_at.astimezone(SHANGHAI).date(), int(days))
    return approved_at.astimezone(SHANGHAI).date() <= last_day


def late_rule(profile: Profile) -> tuple[bool, str]:
    """Whether the 区长 (or 主要领导) may admit a late topic, and the article that says so."""
    rule = profile.param("late_topic")
    return (rule.is_set and rule.value in ("postpone_unless_head_approves", "no_addition_without_principal_consent"),
            rule.article if rule.is_set else "")


# -- operators ---------------------------------------------------------------------------------------------------
def _topic(ctx: OperatorContext) -> Topic:
    return Topic.from_data(ctx.data)


def _known(topic: Topic, org: Organisation) -> None:
    unknown = [d for d in (topic.department, *topic.departments) if d not in org.departments]
    if unknown:
        raise ValidationFailed(f"组织机构中没有部门：{'、'.join(unknown)}",
                               [{"field": "department", "reason": d} for d in unknown])


@operator("topic.intake", "议题登记：核验承办单位与征求意见单位，确定需要的合法性审查、公平竞争审查", rule="T4")
def intake_operator(ctx: OperatorContext) -> dict:
    topic, profile = _topic(ctx), ctx.runtime.profile
    _known(topic, ctx.runtime.org)
    from_records, _ = topic_materials(ctx, topic.department)     # reviews a major decision already had
    needed = {material for material, _ in required_materials(topic, profile)} - from_records
    return {"department": topic.department, "consult": list(topic.departments),
            "consult_days": consultation_window(profile),
            "legality_review": LEGALITY in needed, "fair_competition_review": FAIR_COMPETITION in needed}


@operator("topic.coordination", "意见不一致的处理：巴州重要内容有分歧不上会；大足、重庆说明分歧并提出倾向性意见；"
                                "东昌先开专题会议协调（T3）", rule="T3")
def coordination_operator(ctx: OperatorContext, objections: list, coordination: dict | None = None) -> dict:
    block_if(disagreement(objections, coordination or {}, ctx.runtime.profile))
    return {"resolved": True}


@operator("topic.gate", "上会前审查：职权范围（T2）、必备材料（T4），一次列出全部问题", rule="T4")
def gate_operator(ctx: OperatorContext, produced: list | None = None, refused: list | None = None) -> dict:
    topic, profile = _topic(ctx), ctx.runtime.profile
    if ctx.data.get("intake", {}).get("department") not in (None, topic.department):
        raise ValidationFailed("修改时不能更换承办单位", [{"field": "department", "reason": topic.department}])
    _known(topic, ctx.runtime.org)
    turned_away = not_for_meeting(topic, profile)
    from_records, steps_missing = topic_materials(ctx, topic.department)
    found = steps_missing + missing_materials(topic, profile, set(produced or []) | from_records, set(refused or []))
    return {"turned_away": [v.to_dict() for v in turned_away], "findings": [v.to_dict() for v in found],
            "passed": not turned_away and not found,
            "approvers": approval_chain(topic, profile, ctx.runtime.org),
            "presenters": _presenters(topic, ctx.runtime.org)}


def _presenters(topic: Topic, org: Organisation) -> list[str]:
    """T6: the lead unit's head reports, its 分管副区长 adds."""
    head = org.with_post("dept_head", topic.department)
    leader = org.portfolio_leader(topic.department)
    return [p.id for p in (head[0] if head else None, leader) if p is not None]


@operator("topic.schedule", "排会：按会前申报时限选定会议，超期的顺延或报区长同意（T5）", rule="T5")
def schedule_operator(ctx: OperatorContext, exception: dict | None = None, late_for: dict | None = None) -> dict:
    """Place the topic on the nearest meeting it is in time for. A late topic is put to the 区长
    first where the rules let the 区长 admit it (``late_for``); with the answer (``exception``)
    it goes on that meeting, or on the next one it is in time for."""
    topic, runtime = _topic(ctx), ctx.runtime
    may_ask, article = late_rule(runtime.profile)
    upcoming = _upcoming(ctx)
    admitted_to = next((m for m in upcoming if late_for and m.id == late_for["id"]), None)
    if exception and exception.get("approved") and admitted_to is not None:
        admitted = f"{_head(runtime.profile)}同意超期上会：{exception.get('reason', '')}"
        item = runtime.meetings.place(admitted_to, ctx.instance_id, topic.title, topic.department, admitted[:500])
        return _placed(ctx, item, admitted_to, late=True, article=article)
    nearest = upcoming[0]
    if _in_time(ctx, nearest):
        return _placed(ctx, runtime.meetings.place(nearest, ctx.instance_id, topic.title, topic.department), nearest)
    if exception is None and may_ask:
        return {"placed": None, "late_for": _meeting(nearest), "article": article}
    later = _later_in_time(ctx, upcoming[1:])
    if later is None:
        raise ValidationFailed("没有赶得上申报时限的常务会议：请由办公室安排会议",
                               [{"field": "meeting", "reason": "无"}])
    item = runtime.meetings.place(later, ctx.instance_id, topic.title, topic.department)
    return {**_placed(ctx, item, later), "moved_from": _meeting(nearest), "article": article}



def _first_in_time(ctx: OperatorContext, meetings: list):
    return next((m for m in meetings if _in_time(ctx, m)), None)


PLAN_AHEAD = 12   # meetings planned at most to find one a late topic is in time for


def _upcoming(ctx: OperatorContext) -> list:
    """The meetings ahead — at least two, planned on the profile's cadence when fewer remain."""
    upcoming = ctx.runtime.meetings.upcoming(ctx.now)
    if len(upcoming) < 2:
        _plan(ctx, 2 - len(upcoming))
        upcoming = ctx.runtime.meetings.upcoming(ctx.now)
    if not upcoming:
        raise ValidationFailed("没有可安排的常务会议：请由办公室安排会议", [{"field": "meeting", "reason": "无"}])
    return upcoming


def _later_in_time(ctx: OperatorContext, later: list):
    """The first of ``later`` the topic is in time for, planning further meetings one by one."""
    found = _first_in_time(ctx, later)
    for _ in range(PLAN_AHEAD):
        if found is not None:
            break
        made = _plan(ctx, 1)
        if not made:
            break
        found = _first_in_time(ctx, made)
    return found


def _plan(ctx: OperatorContext, count: int) -> list:
    runtime = ctx.runtime
    return runtime.meetings.plan(runtime.profile.value("meeting_cadence"), runtime.org.local, runtime.calendar,
                                 runtime.org.name, ctx.now, count)


def _in_time(ctx: OperatorContext, meeting) -> bool:
    return meeting.status == "planned" and meets_deadline(ctx.now, meeting.scheduled_at, ctx.runtime.profile,
                                                          ctx.runtime.calendar)


def _meeting(meeting) -> dict:
    return {"id": meeting.id, "title": meeting.title, "at": isoformat(meeting.scheduled_at)}


def _placed(ctx: OperatorContext, item, meeting, late: bool = False, article: str = "") -> dict:
    return {"placed": _meeting(meeting), "agenda_item": item.id, "late": late, "article": article,
            "materials_due": isoformat(materials_due(meeting.scheduled_at, ctx.runtime.profile, ctx.runtime.calendar))}


def materials_due(meeting_at: datetime, profile: Profile, calendar: WorkdayCalendar) -> datetime:
    """When the formal 上会材料 are due: the end of the office day N 工作日 before the meeting
    (巴州 规则十三: 1), else the meeting itself."""
    days = profile.value("topic_materials_deadline_wd")
    if days is None:
        return meeting_at
    day = calendar.workdays_before(meeting_at.astimezone(SHANGHAI).date(), int(days))
    return datetime.combine(day, calendar.office_day_end, SHANGHAI)


# -- T7 approved materials are frozen -----------------------------------------------------------------------
@operator("topic.amend", "审定后修改上会材料：须经区长同意（T7）", rule="T7")
def amend_operator(ctx: OperatorContext, change: dict, consent: dict | None = None) -> dict:
    """Applies a change to the approved materials, or records that it was refused."""
    if not change.get("materials_changed"):
        return {"applied": False, "changes": ""}
    rule = ctx.runtime.profile.param("materials_frozen_after_approval")
    if not rule.is_set:
        return {"applied": True, "changes": change.get("changes", "")}
    if consent is None:
        block_if([Violation("T7", rule.article, "议题材料经区长审定后原则上不再修改，确需修改的须报经区长同意")])
    agreed = consent.get("decision") == "同意"
    answer = f"{_head(ctx.runtime.profile)}{'同意' if agreed else '不同意'}修改"
    return {"applied": agreed, "changes": change.get("changes", ""), "article": rule.article,
            "consent": f"{answer}：{consent.get('opinion', '')}"}


def _head(profile: Profile) -> str:
    return profile.titles.get("head", "区长")
