"""The clock: read by everyone, set by an administrator in test and demo mode only."""
from __future__ import annotations

from datetime import timedelta

from flask import jsonify

from ..time.timeutil import isoformat
from ..work import admin
from . import body, bp, gf, require
from .calendar import parse_time


@bp.get("/clock")
def clock():
    system = gf()
    with system.store.read() as session:
        return jsonify({"now": isoformat(system.now(session)), "adjustable": system.clock.adjustable,
                        "mode": system.settings.mode})


@bp.put("/clock")
def set_clock():
    user, data = require("admin"), body("SetClock")
    at = parse_time(data["now"], "now")
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
