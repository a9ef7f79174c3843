"""重大行政决策 (Procedure 4): the list of decisions and one decision with the records of its
steps (who did what, when, on which materials — M16 责任倒查), its topic and its meeting."""
from __future__ import annotations

import json

from flask import jsonify, request
from sqlalchemy import or_, select

from ..errors import NotFound
from ..records.decisions import Decisions
from ..records.ledger import WHOLE_GOVERNMENT
from ..store.models import MajorDecision
from . import actor, bp, gf


def _visible(who, org):
    """The office, the principal leaders, administrators and auditors see every decision; a 分管领导
    those of the departments in their portfolio; a department its own."""
    if who.has("admin") or who.has("auditor") or who.post in WHOLE_GOVERNMENT or who.department == org.office_id:
        return True
    person = org.person(who.id)
    conditions = [MajorDecision.department.in_(person.portfolio)] if person and person.portfolio else []
    if who.department:
        conditions.append(MajorDecision.department == who.department)
    return or_(*conditions) if conditions else False


def _row(decision: MajorDecision, org) -> dict:
    department = org.departments.get(decision.department)
    return {"id": decision.id, "instance_id": decision.instance_id, "title": decision.title,
            "department": decision.department,
            "department_name": department.name if department else decision.department,
            "scope_item": decision.scope_item, "scope_article": decision.scope_article, "status": decision.status,
            "topic_instance_id": decision.topic_instance_id, "created_at": decision.created_at.isoformat(),
            "updated_at": decision.updated_at.isoformat()}


@bp.get("/major-decisions")
def list_major_decisions():
    system, status = gf(), request.args.get("status", "")[:20]
    with system.store.read() as session:
        _, runtime = system.moment(session)
        stmt = select(MajorDecision).where(_visible(actor(), runtime.org)).order_by(MajorDecision.id)
        if status:
            stmt = stmt.where(MajorDecision.status == status)
        items = [_row(d, runtime.org) for d in session.scalars(stmt.limit(500))]
    return jsonify({"items": items, "total": len(items)})


@bp.get("/major-decisions/<int:decision_id>")
def show_major_decision(decision_id: int):
    system = gf()
    with system.store.read() as session:
        _, runtime = system.moment(session)
        decision = session.scalars(select(MajorDecision).where(MajorDecision.id == decision_id,
                                                               _visible(actor(), runtime.org))).first()
        if decision is None:
            raise NotFound(f"重大行政决策 {decision_id} 不存在或您无权查看")
        records = json.loads(decision.records or "{}")
        heard = (records.get("meeting") or [{}])[-1].get("agenda_item")
        followups = Decisions(session).followups(heard) if heard else []     # the 督办 items, as they stand now
        return jsonify({**_row(decision, runtime.org), "records": records, "followups": followups})
