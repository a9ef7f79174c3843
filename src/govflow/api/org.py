"""The organisation and leave (请假/外出), which drives substitution."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from ..errors import Forbidden, ValidationFailed
from ..people.substitution import away_at, cancel_leave, record_leave, substitute_for
from ..rules import block_if
from ..rules.leave import needs_approval, notice_problems
from ..store import eventlog
from ..store.models import Leave
from ..time.timeutil import isoformat, parse_moment
from . import actor, body, bool_arg, bp, gf


@bp.get("/org")
def organisation():
    with gf().store.read() as session:
        org = gf().organisation(session)
        document = org.to_dict()
        profile = gf().runtime(session).profile
    document["profile"] = {"id": profile.id, "name": profile.name, "titles": profile.titles}
    return jsonify(document)


def _may_record_leave(org, person: str) -> bool:
    user = actor()
    return user.has("admin") or user.id == person or user.department == org.office_id


@bp.get("/leave")
def list_leave():
    system = gf()
    with system.store.read() as session:
        now = system.now(session)
        stmt = select(Leave).where(Leave.cancelled.is_(False)).order_by(Leave.starts_at.desc())
        if bool_arg("active"):
            stmt = stmt.where(Leave.starts_at <= now, Leave.ends_at > now)
        runtime, away = system.runtime(session), away_at(session, now)
        items = []
        for leave in session.scalars(stmt.limit(500)):
            acting = substitute_for(runtime.org, runtime.profile, away, leave.person_id)
            items.append({**_leave(leave, runtime.org), "active": leave.person_id in away and
                          leave.starts_at <= now < leave.ends_at,
                          "substitute": acting.to_dict(runtime.org) if acting else None})
    return jsonify({"items": items})


def _leave(leave: Leave, org) -> dict:
    """A leave as the caller may see it: its reason only to the person, its approvers and auditors."""
    user, approvers = actor(), [p for p in (leave.approved_by or "").split(",") if p]
    sees_reason = user.id == leave.person_id or user.id in approvers or user.has("auditor")
    return {"id": leave.id, "person": leave.person_id, "person_name": org.display_name(leave.person_id),
            "starts_at": isoformat(leave.starts_at), "ends_at": isoformat(leave.ends_at),
            "reason": leave.reason if sees_reason else None, "recorded_by": leave.recorded_by,
            "approved_by": approvers, "instance": leave.instance_id}


@bp.post("/leave")
def add_leave():
    data, system = body("LeaveRequest"), gf()
    try:
        starts, ends = parse_moment(data["starts_at"]), parse_moment(data["ends_at"])
    except ValueError:
        raise ValidationFailed("时间格式应为 ISO-8601，如 2026-11-23T09:00:00+08:00",
                               [{"field": "starts_at", "reason": "格式不正确"}]) from None
    with system.store.write() as session:
        runtime = system.runtime(session)
        if not _may_record_leave(runtime.org, data["person"]):
            raise Forbidden("只有本人、办公室或管理员可以登记请假")
        # P3: a leave the rules give an approver goes through the 请销假 procedure; none is asked too late
        block_if([*needs_approval(data["person"], runtime.profile, runtime.org),
                  *notice_problems(data["person"], starts, system.now(session), runtime.profile, runtime.org)])
        leave = record_leave(session, runtime.org, runtime.profile, data["person"], starts, ends,
                             data.get("reason", ""), actor().id)
        eventlog.append(session, "leave_recorded", actor().id, system.now(session),
                     {"leave": leave.id, "person": leave.person_id, "starts_at": data["starts_at"],
                      "ends_at": data["ends_at"]})
        result = _leave(leave, runtime.org)
    return jsonify(result), 201


@bp.delete("/leave/<int:leave_id>")
def remove_leave(leave_id: int):
    system = gf()
    with system.store.write() as session:
        leave = session.get(Leave, leave_id)
        if leave is not None and not _may_record_leave(system.organisation(session), leave.person_id):
            raise Forbidden("只有本人、办公室或管理员可以撤销请假")
        leave = cancel_leave(session, leave_id)
        eventlog.append(session, "leave_cancelled", actor().id, system.now(session),
                     {"leave": leave.id, "person": leave.person_id})
    return "", 204
