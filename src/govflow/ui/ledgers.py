"""The ledgers: the 督办台账 with its quarterly summary, the 常务会议 with their agendas and minutes,
and the 发文登记簿."""
from __future__ import annotations

import json
from datetime import date

from flask import abort, g, render_template, request
from sqlalchemy import func, select

from ..people.access import acting_people, listed_instances, visible_instances
from ..records import ledger
from ..records import register as register_book
from ..records.meetings import Meetings
from ..store.models import AgendaItem, Attendance, DecisionItem, Event, FollowupItem, Instance, Meeting
from ..time.timeutil import SHANGHAI
from . import bp, gf, login_required
from .meeting_steps import AGENDA_STATUSES, MEETING_STATUSES


@bp.get("/ledger")
@login_required
def ledger_page():
    system = gf()
    try:
        filters = _filters()
    except (ValueError, KeyError):
        abort(400, "筛选条件有误")
    with system.store.read() as db:
        runtime, now = system.runtime(db), system.now(db)
        entries = ledger.items(db, g.actor, runtime.org, filters, runtime.calendar, now)
    fmt = request.args.get("format")
    if fmt in ledger.MEDIA_TYPES:
        return ledger.download(ledger.export_items(entries, fmt), f"督办台账.{fmt}", fmt)
    units = sorted(runtime.org.departments.values(), key=lambda d: d.id)
    leaders = [p for p in runtime.org.people.values() if p.portfolio]
    return render_template("ledger.html", entries=entries, filters=filters, units=units, leaders=leaders,
                           statuses=ledger.STATUSES, today=now.astimezone(SHANGHAI).date())


@bp.get("/ledger/summary")
@login_required
def summary_page():
    system = gf()
    with system.store.read() as db:
        runtime, now = system.runtime(db), system.now(db)
        local = now.astimezone(SHANGHAI)
        year, quarter = _quarter(request.args.get("quarter"), local.date())
        data = ledger.summary(db, g.actor, runtime.org, year, quarter, runtime.calendar, now)
        recipients = runtime.profile.param("followup_quarterly_summary")
        titles = {**runtime.profile.titles, "portfolio_leader": f"分管{runtime.profile.titles.get('deputy', '副职')}"}
    fmt = request.args.get("format")
    title = ledger.period_title(runtime.org.name, year, quarter)
    if fmt in ledger.MEDIA_TYPES:
        return ledger.download(ledger.export_summary(data, fmt), f"{title}.{fmt}", fmt)
    report_to = "、".join(titles.get(p, p) for p in recipients.value) if recipients.is_set else None
    return render_template("summary.html", data=data, title=title, statuses=ledger.STATUSES, year=year,
                           quarter=quarter, report_to=report_to, article=recipients.article)


# -- the 常务会议: every signed-in user sees the meetings, their agendas and decisions (as the API shows
# them); the minutes' text is the meeting process's data, shown to those who may see that instance.
MINUTES_STEPS = ("draft_minutes", "sign")      # processes/standing_meeting.bpmn: 起草会议纪要, 签发纪要


@bp.get("/meetings")
@login_required
def meetings():
    status = request.args.get("status") or None
    if status and status not in MEETING_STATUSES:
        abort(400, "会议状态筛选有误")
    with gf().store.read() as db:
        stmt = select(Meeting).order_by(Meeting.scheduled_at.desc()).limit(200)
        rows = list(db.scalars(stmt.where(Meeting.status == status) if status else stmt))
        agenda = dict(db.execute(select(AgendaItem.meeting_id, func.count()).where(AgendaItem.status != "moved")
                                 .group_by(AgendaItem.meeting_id)).all())
    return render_template("meetings.html", meetings=rows, agenda=agenda, statuses=MEETING_STATUSES, status=status)


@bp.get("/meetings/<int:meeting_id>")
@login_required
def meeting(meeting_id: int):
    system = gf()
    with system.store.read() as db:
        runtime, now = system.runtime(db), system.now(db)
        found = Meetings(db).get(meeting_id)
        agenda = Meetings(db).agenda(meeting_id)
        visible = visible_instances(runtime.org, g.actor, acting_people(db, runtime.org, g.actor, now))
        linked = [i for i in [found.instance_id, *(a.topic_instance_id for a in agenda)] if i is not None]
        seen = set(db.scalars(select(Instance.id).where(Instance.id.in_(linked), visible)))
        decisions = _decisions(db, meeting_id, runtime.org, {a.id: a.title for a in agenda})
        minutes = _minutes(db, found.instance_id) if found.instance_id in seen else {}
        sheet = list(db.scalars(select(Attendance).where(Attendance.meeting_id == meeting_id)))
    name = runtime.org.display_name
    attendance = {"present": [name(a.person_id) for a in sheet if a.present],
                  "absent": [(name(a.person_id), a.leave_reason) for a in sheet if not a.present]}
    recused = {a.id: [(name(r.get("person", "")), r.get("reason", "")) for r in json.loads(a.recused or "[]")]
               for a in agenda}
    return render_template("meeting.html", meeting=found, agenda=agenda, seen=seen, decisions=decisions,
                           minutes=minutes, attendance=attendance, recused=recused,
                           units={d.id: d.name for d in runtime.org.departments.values()},
                           statuses=MEETING_STATUSES, agenda_statuses=AGENDA_STATUSES)


def _decisions(db, meeting_id: int, org, topics: dict[int, str]) -> list[dict]:
    """The 议定事项 of the signed minutes, each with its topic and its 督办编号."""
    rows = list(db.scalars(select(DecisionItem).where(DecisionItem.meeting_id == meeting_id)
                           .order_by(DecisionItem.sequence)))
    numbers = dict(db.execute(select(FollowupItem.decision_item_id, FollowupItem.number)
                              .where(FollowupItem.decision_item_id.in_([d.id for d in rows]))).all())
    unit = {d.id: d.name for d in org.departments.values()}.get
    return [{"sequence": d.sequence, "task": d.task, "lead": unit(d.lead_unit, d.lead_unit), "due_on": d.due_on,
             "assisting": [unit(u, u) for u in json.loads(d.assisting_units)], "followup": numbers.get(d.id),
             "topic": topics.get(d.agenda_item_id, "")} for d in rows]


def _minutes(db, instance_id: int) -> dict:
    """The minutes as last drafted (正文) and their signing (who, when, 批示), from the meeting's events."""
    found = {}
    events = db.scalars(select(Event).where(Event.instance_id == instance_id, Event.type == "task_completed")
                        .order_by(Event.seq))
    for event in events:
        payload = json.loads(event.payload)
        if payload.get("step") in MINUTES_STEPS:
            found[payload["step"]] = {"by": event.actor, "at": event.at, **(payload.get("data") or {})}
    return found


# -- 发文登记簿: the numbered documents of the instances the user may know of -------------------------------------
@bp.get("/register")
@login_required
def register():
    system = gf()
    with system.store.read() as db:
        now, org = system.now(db), g.org
        people = acting_people(db, system.organisation(db), g.actor, now)
        listed = listed_instances(org, g.actor, people)
        years = register_book.years(db, listed)
        year = _year(request.args.get("year"), now.astimezone(SHANGHAI).year)
        entries = register_book.entries(db, system.definitions, listed, visible_instances(org, g.actor, people), year)
    return render_template("register.html", entries=entries, year=year, years=sorted({year, *years}, reverse=True))


def _year(raw: str | None, default: int) -> int:
    if not raw:
        return default
    if not (raw.isdigit() and 2000 <= int(raw) <= 2099):
        abort(400, "年份须为 2000 至 2099 之间的四位数")
    return int(raw)


def _filters() -> ledger.Filters:
    args = request.args
    status = args.get("status") or None
    if status and status not in ledger.STATUSES:
        raise ValueError(status)
    meeting = int(args["meeting"]) if args.get("meeting") else None
    if meeting is not None and not 1 <= meeting <= 10**9:
        raise ValueError(meeting)
    return ledger.Filters(meeting=meeting,
                          unit=args.get("unit") or None, leader=args.get("leader") or None, status=status,
                          due_from=_day("due_from"), due_to=_day("due_to"))


def _day(name: str) -> date | None:
    return date.fromisoformat(request.args[name]) if request.args.get(name) else None


def _quarter(raw: str | None, today: date) -> tuple[int, int]:
    if not raw:
        return today.year, (today.month - 1) // 3 + 1
    return ledger.parse_quarter(raw) or abort(400, "季度须写作 2026Q4 的形式（2000 至 2099 年）")
