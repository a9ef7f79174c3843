"""The auditor's page: the whole event chain verified on each visit (the first bad event named),
one instance's part of it on request, and an anchor to download and keep outside govflow."""
from __future__ import annotations

import json

from flask import Response, abort, g, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..audit import readings
from ..store import eventlog
from ..store.models import ChainHead, Event, Instance
from ..time.timeutil import isoformat
from . import bp, gf, login_required, require_role

AUDITORS = ("auditor", "admin")


@bp.get("/audit")
@login_required
def audit_page():
    require_role(*AUDITORS)
    instance_id = _instance_arg()
    system = gf()
    readings.record_view(system, g.actor, "audit_page", instance_id)
    with system.store.read() as db:
        chain = _outcome(db, eventlog.verify(db))
        head = db.get(ChainHead, 1)
        one = _one_instance(db, instance_id) if instance_id else None
    return render_template("audit.html", chain=chain, head=head, one=one, instance_id=instance_id)


@bp.get("/audit/anchor.json")
@login_required
def audit_anchor_download():
    require_role(*AUDITORS)
    system = gf()
    readings.record_view(system, g.actor, "anchor")      # first, so that the anchor covers the reading
    with system.store.read() as db:
        anchor = eventlog.anchor(db, system.now(db))
    name = f"govflow-anchor-{anchor['head']['seq']}-{anchor['at'][:10]}.json"
    return Response(json.dumps(anchor, ensure_ascii=False, indent=1, sort_keys=True), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _instance_arg() -> int | None:
    raw = (request.args.get("instance_id") or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 1 <= int(raw) < 2**31:
        abort(400, "流程实例编号应为正整数")
    return int(raw)


def _one_instance(db: Session, instance_id: int) -> dict:
    instance = db.get(Instance, instance_id)
    if instance is None:
        return {"missing": True}
    return {"missing": False, "instance": instance, **_outcome(db, eventlog.verify(db, instance_id))}


def _outcome(db: Session, result: eventlog.Verification) -> dict:
    """The verification as the page shows it: each finding with the event now at its seq (a deleted
    event has none)."""
    shown = result.findings[:20]
    at_seq = {e.seq: e for e in db.scalars(select(Event).where(Event.seq.in_([f.seq for f in shown])))}
    findings = [{"seq": f.seq, "instance_id": f.instance_id, "reason": f.reason, "event": at_seq.get(f.seq)}
                for f in shown]
    return {"result": result, "findings": findings, "more": len(result.findings) - len(shown),
            "checked_at": isoformat(gf().now(db))}
