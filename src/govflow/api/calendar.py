"""The 工作日 calendar: a year's days, administrators' overrides, deadlines."""
from __future__ import annotations

from datetime import date

from flask import jsonify, request

from ..errors import ValidationFailed
from ..time.timeutil import parse_moment
from ..work import admin, instances
from . import body, bp, gf, int_arg, require


@bp.get("/calendar/<int:year>")
def calendar_year(year: int):
    if not admin.MIN_YEAR <= year <= admin.MAX_YEAR:
        raise ValidationFailed(f"年份须在 {admin.MIN_YEAR} 到 {admin.MAX_YEAR} 之间",
                               [{"field": "year", "reason": str(year)}])
    with gf().store.read() as session:
        calendar = gf().calendar(session)
    days = [{"date": d.day.isoformat(), "workday": d.workday, "source": d.source, "note": d.note}
            for d in calendar.year(year)]
    return jsonify({"year": year, "covered": calendar.covers(year), "days": days,
                    "note": "" if calendar.covers(year) else f"{year} 年放假安排尚未录入，按周一至周五估算"})


@bp.put("/calendar/days/<day>")
def set_day(day: str):
    user, data = require("admin"), body("CalendarDay")
    moment = parse_date(day, "day")
    with gf().store.write() as session:
        admin.set_calendar_day(gf(), session, moment, data["workday"], data.get("note", ""), user.id)
    return jsonify({"date": moment.isoformat(), "workday": data["workday"]})


@bp.put("/calendar/years/<int:year>")
def set_year(year: int):
    user, data = require("admin"), body("CalendarYear")
    holidays = [parse_date(d, "holidays") for d in data["holidays"]]
    workdays = [parse_date(d, "workdays") for d in data["workdays"]]
    with gf().store.write() as session:
        admin.load_calendar_year(gf(), session, year, holidays, workdays, data["source"], user.id)
    moved = instances.recompute_estimated_deadlines(gf())
    return jsonify({"year": year, "covered": True, "deadlines_recomputed": moved})


@bp.get("/calendar/deadline")
def deadline():
    days = int_arg("workdays", 0, 0, 3660)
    with gf().store.read() as session:
        start = parse_time(request.args["start"], "start") if request.args.get("start") else gf().now(session)
        due = gf().calendar(session).add_workdays(start, days)
    return jsonify(due.to_dict())


def parse_date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(f"日期格式应为 YYYY-MM-DD：{text}", [{"field": field, "reason": text}]) from None


def parse_time(text: str, field: str):
    try:
        return parse_moment(text)
    except ValueError:
        raise ValidationFailed("时间格式应为 ISO-8601，如 2026-11-23T09:00:00+08:00",
                               [{"field": field, "reason": text}]) from None
