"""Auditors: the record of refused writes (who tried to change what outside their role, when, why)."""
from __future__ import annotations

from flask import jsonify, request

from ..audit import readings, refusals
from . import bp, gf, int_arg, require


@bp.get("/audit/refusals")
def refused_writes():
    user, system = require("auditor", "admin"), gf()
    limit, offset = int_arg("limit", 100, 1, 500), int_arg("offset", 0, 0, 1_000_000)
    person = (request.args.get("actor") or "")[:40] or None
    with system.store.read() as session:
        items = [refusals.to_dict(r) for r in refusals.listing(session, actor=person, limit=limit, offset=offset)]
    readings.record_view(system, user, "refused_writes")
    return jsonify({"items": items, "kinds_per_day": refusals.KINDS_PER_DAY})
