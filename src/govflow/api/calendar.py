"""The 工作日 calendar, the demo/test clock, and the audit chain check."""
from __future__ import annotations

from datetime import date, timedelta

from flask import jsonify, request

from .. import admin, audit
from ..errors import ValidationFailed
from ..timeutil import isoformat, parse_moment
from . import body, bp, gf, int_arg, require


@bp.get("/calendar/<int:year>")
def calendar_year(year: int):
    if not 2000 <= year <= 2100:
        raise ValidationFailed("年份须在 2000 到 2100 之间", [{"field": "year", "reason": str(year)}])
    with gf().store.read() as session:
        calendar = gf().calendar(session)
    days = [{"date": d.day.isoformat(), "workday": d.workday, "source": d.source, "note": d.note}
            for d in calendar.year(year)]
    return jsonify({"year": year, "covered": calendar.covers(year), "days": days,
                    "note": "" if calendar.covers(year) else f"{year} 年放假安排尚未录入，按周一至周五估算"})


@bp.put("/calendar/days/<day>")
def set_day(day: str):
    user, data = require("admin"), body("CalendarDay")
    moment = _date(day, "day")
    with gf().store.write() as session:
        admin.set_calendar_day(gf(), session, moment, data["workday"], data.get("note", ""), user.id)
    return jsonify({"date": moment.isoformat(), "workday": data["workday"]})


@bp.put("/calendar/years/<int:year>")
def set_year(year: int):
    user, data = require("admin"), body("CalendarYear")
    holidays = [_date(d, "holidays") for d in data["holidays"]]
    workdays = [_date(d, "workdays") for d in data["workdays"]]
    with gf().store.write() as session:
        admin.load_calendar_year(gf(), session, year, holidays, workdays, data["source"], user.id)
    return jsonify({"year": year, "covered": True})


@bp.get("/calendar/deadline")
def deadline():
    days = int_arg("workdays", 0, 0, 3660)
    with gf().store.read() as session:
        start = _moment(request.args["start"], "start") if request.args.get("start") else gf().now(session)
        due = gf().calendar(session).add_workdays(start, days)
    return jsonify(due.to_dict())


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"日期格式应为 YYYY-MM-DD：{text}", [{"field": field, "reason": text}]) from None


def _moment(text: str, field: str):
    try:
        return parse_moment(text)
    except ValueError:
        raise ValidationFailed("时间格式应为 ISO-8601，如 2026-11-23T09:00:00+08:00",
                               [{"field": field, "reason": text}]) from None


@bp.get("/clock")
def clock():
    system = gf()
    with system.store.read() as session:
        return jsonify({"now": isoformat(system.now(session)), "adjustable": system.clock.adjustable,
                        "mode": system.settings.mode})


@bp.put("/clock")
def set_clock():
    user, data = require("admin"), body("SetClock")
    at = _moment(data["now"], "now")
    with gf().store.write() as session:
        now = admin.set_clock(gf(), session, at, data.get("frozen", True), user.id)
    return jsonify({"now": isoformat(now)})


@bp.post("/clock/advance")
def advance_clock():
    user, data = require("admin"), body("AdvanceClock")
    delta = timedelta(days=data.get("days", 0), hours=data.get("hours", 0), minutes=data.get("minutes", 0))
    with gf().store.write() as session:
        now = admin.advance_clock(gf(), session, delta, user.id)
    return jsonify({"now": isoformat(now)})


@bp.get("/audit/verify")
def verify_chain():
    require("auditor", "admin")
    instance_id = int_arg("instance_id", 0, 0, 2**31) or None
    with gf().store.read() as session:
        result = audit.verify(session, instance_id)
    return jsonify(result.to_dict())


