"""The 常务会议: meetings with their agendas, attendance and decisions; meetings arranged by the
office; decisions taken at once outside a meeting (临机处置, T12), reported to the next one."""
from __future__ import annotations

import json

from flask import jsonify, request
from sqlalchemy import select

from ..errors import Forbidden, RuleBlocked, ValidationFailed
from ..records.meetings import Meetings
from ..rules.meeting import emergency_actor
from ..store import eventlog
from ..store.models import AgendaItem, Attendance, DecisionItem, EmergencyDecision, Meeting
from ..time.timeutil import isoformat, parse_moment
from ..work.convening import convene
from . import actor, body, bp, gf, int_arg

STATUSES = ("planned", "frozen", "opened", "adjourned", "held", "signed")


@bp.get("/meetings")
def list_meetings():
    status = request.args.get("status")
    if status and status not in STATUSES:
        raise ValidationFailed(f"会议状态须为 {'、'.join(STATUSES)} 之一", [{"field": "status", "reason": status}])
    limit = int_arg("limit", 50, 1, 500)
    with gf().store.read() as session:
        stmt = select(Meeting).order_by(Meeting.scheduled_at.desc()).limit(limit)
        if status:
            stmt = stmt.where(Meeting.status == status)
        items = [_summary(m) for m in session.scalars(stmt)]
    return jsonify({"items": items})


@bp.get("/meetings/<int:meeting_id>")
def show_meeting(meeting_id: int):
    system = gf()
    with system.store.read() as session:
        org, meeting = system.organisation(session), Meetings(session).get(meeting_id)
        return jsonify({**_summary(meeting), "agenda": [_item(i, org) for i in Meetings(session).agenda(meeting_id)],
                        "attendance": _attendance(session, meeting_id, org),
                        "decisions": _decisions(session, meeting_id, org)})


@bp.post("/meetings")
def arrange_meeting():
    """The office arranges a meeting by hand (根据工作需要，可随时召开) and its process starts."""
    data, system, user = body("ArrangeMeeting"), gf(), actor()
    try:
        at = parse_moment(data["at"])
    except ValueError:
        raise ValidationFailed("会议时间格式应为 ISO-8601，如 2026-11-26T09:00:00+08:00",
                               [{"field": "at", "reason": "格式不正确"}]) from None
    with system.store.write() as session:
        org, now = system.organisation(session), system.now(session)
        if not (user.has("admin") or user.department == org.office_id or user.post == "head"):
            raise Forbidden("只有办公室、主要领导或管理员可以安排常务会议")
        if at <= now:
            raise ValidationFailed("会议时间须晚于当前时间", [{"field": "at", "reason": isoformat(at)}])
        meeting = Meetings(session).create(at, org.name, user.id, now)
        convene(system, session, meeting, user)
        result = _summary(meeting)
    return jsonify(result), 201


@bp.get("/emergency-decisions")
def list_emergencies():
    system = gf()
    with system.store.read() as session:
        org = system.organisation(session)
        rows = session.scalars(select(EmergencyDecision).order_by(EmergencyDecision.id.desc()).limit(200))
        return jsonify({"items": [_emergency(e, org) for e in rows]})


@bp.post("/emergency-decisions")
def record_emergency():
    """T12: the person who acted registers the decision; the next meeting's agenda reports it."""
    data, system, user = body("EmergencyDecision"), gf(), actor()
    if not data["matter"].strip():
        raise ValidationFailed("请填写临机处置事项及处置情况", [{"field": "matter", "reason": "不能为空"}])
    with system.store.write() as session:
        now, runtime = system.moment(session)
        blocked = emergency_actor(user.id, runtime.profile, runtime.org)
        if blocked:
            raise RuleBlocked(blocked)
        decision = runtime.meetings.record_emergency(data["matter"], user.id, now)
        eventlog.append(session, "emergency_decision_recorded", user.id, now,
                     {"decision": decision.id, "matter": decision.matter})
        result = _emergency(decision, runtime.org)
    return jsonify(result), 201


def _summary(meeting: Meeting) -> dict:
    return {"id": meeting.id, "title": meeting.title, "number": meeting.number, "year": meeting.year,
            "scheduled_at": isoformat(meeting.scheduled_at), "status": meeting.status,
            "instance_id": meeting.instance_id, "members": meeting.members, "present": meeting.present}


def _item(item: AgendaItem, org) -> dict:
    department = org.departments.get(item.department or "")
    return {"id": item.id, "kind": item.kind, "position": item.position, "title": item.title,
            "department": item.department, "department_name": department.name if department else None,
            "topic_instance_id": item.topic_instance_id, "status": item.status, "outcome": item.outcome,
            "conclusion": item.conclusion, "late_exception": item.late_exception,
            "recused": [{**r, "name": org.display_name(r["person"])} for r in json.loads(item.recused)]}


def _attendance(session, meeting_id: int, org) -> list[dict]:
    rows = session.scalars(select(Attendance).where(Attendance.meeting_id == meeting_id))
    return [{"person": a.person_id, "name": org.display_name(a.person_id), "present": a.present,
             "leave_reason": a.leave_reason} for a in rows]


def _decisions(session, meeting_id: int, org) -> list[dict]:
    rows = session.scalars(select(DecisionItem).where(DecisionItem.meeting_id == meeting_id)
                           .order_by(DecisionItem.sequence))
    return [{"id": d.id, "sequence": d.sequence, "task": d.task, "lead_unit": d.lead_unit,
             "lead_unit_name": _unit(org, d.lead_unit), "assisting_units": json.loads(d.assisting_units),
             "assisting_unit_names": [_unit(org, u) for u in json.loads(d.assisting_units)],
             "due_on": d.due_on.isoformat(), "agenda_item": d.agenda_item_id} for d in rows]


def _unit(org, department: str) -> str:
    return org.departments[department].name if department in org.departments else department


def _emergency(decision: EmergencyDecision, org) -> dict:
    return {"id": decision.id, "matter": decision.matter, "decided_by": decision.decided_by,
            "decided_by_name": org.display_name(decision.decided_by), "decided_at": isoformat(decision.decided_at),
            "reported_on_agenda_item": decision.agenda_item_id}
