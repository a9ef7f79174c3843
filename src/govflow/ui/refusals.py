"""The auditor's page of refused writes (越权操作记录)."""
from __future__ import annotations

from flask import g, render_template, request

from ..audit import readings, refusals
from . import bp, gf, login_required, page_number, require_role

PER_PAGE = 100


@bp.get("/audit/refusals")
@login_required
def audit_refusals():
    require_role("auditor", "admin")
    page, person = page_number(request.args.get("page")), (request.args.get("actor") or "")[:40] or None
    system = gf()
    readings.record_view(system, g.actor, "refused_writes")
    with system.store.read() as db:
        rows = refusals.listing(db, actor=person, limit=PER_PAGE + 1, offset=(page - 1) * PER_PAGE)
    return render_template("refusals.html", rows=rows[:PER_PAGE], more=len(rows) > PER_PAGE, page=page,
                           actor=person or "", kinds_per_day=refusals.KINDS_PER_DAY)
