"""Process instances: start, list, show, their events."""
from __future__ import annotations

import json

from flask import jsonify, request
from sqlalchemy import func, select

from ..audit import readings
from ..errors import Forbidden, NotFound, RuleBlocked
from ..people.access import acting_people, may_see_instance, visible_instances
from ..store.models import Event, Instance
from ..time.timeutil import isoformat
from ..work import circulation, inbox, instances
from . import actor, body, bp, gf, int_arg


@bp.post("/instances")
def start_instance():
    data, user, system = body("StartInstance"), actor(), gf()
    with system.store.read() as session:        # the form's checks never run under the write lock
        version = instances.check_start(system, session, data["process_id"], data.get("data", {}))
    try:
        with system.store.write() as session:
            instance = instances.start(system, session, user, data["process_id"], data.get("data", {}),
                                       data.get("business_key"), data.get("title"), version)
            shown = instances.show(system, session, instance)
            shown["open_tasks"], shown["next"] = inbox.open_of_instance(session, instance.id, [user.id])
    except RuleBlocked as blocked:
        instances.record_violation(system, user.id, blocked, context={"process_id": data["process_id"]})
        raise
    return jsonify(shown), 201


@bp.get("/instances")
def list_instances():
    user, system = actor(), gf()
    limit, offset = int_arg("limit", 50, 1, 500), int_arg("offset", 0, 0, 10_000_000)
    with system.store.read() as session:
        now, runtime = system.moment(session)
        people = acting_people(session, runtime.org, user, now)
        stmt = select(Instance).where(visible_instances(runtime.org, user, people))
        for name in ("process_id", "status", "business_key"):
            if request.args.get(name):
                stmt = stmt.where(getattr(Instance, name) == request.args[name])
        total = session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = session.scalars(stmt.order_by(Instance.id.desc()).limit(limit).offset(offset)).all()
        items = [_summary(i) for i in rows]
    return jsonify({"items": items, "total": total})


def _summary(instance: Instance) -> dict:
    return {"id": instance.id, "process_id": instance.process_id, "business_key": instance.business_key,
            "title": instance.title, "status": instance.status, "started_at": isoformat(instance.started_at),
            "started_by": instance.started_by,
            "ended_at": isoformat(instance.ended_at) if instance.ended_at else None}


def _visible(session, instance_id: int) -> Instance:
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    system, user = gf(), actor()
    now, runtime = system.moment(session)
    people = acting_people(session, runtime.org, user, now)
    if not may_see_instance(session, runtime.org, user, people, instance_id):
        raise Forbidden("您无权查看该流程实例")
    return instance


@bp.get("/instances/<int:instance_id>")
def show_instance(instance_id: int):
    system = gf()
    with system.store.read() as session:
        shown = instances.show(system, session, _visible(session, instance_id))
    readings.record_view(system, actor(), "instance", instance_id)
    return jsonify(shown)


@bp.post("/instances/<int:instance_id>/circulate")
def circulate(instance_id: int):
    data = body("Circulate")
    with gf().store.write() as session:
        copies = circulation.circulate(gf(), session, actor(), instance_id, data["to"], data.get("note", ""))
        return jsonify({"items": [{"id": c.id, "assignee": c.assignee} for c in copies]}), 201


@bp.get("/instances/<int:instance_id>/events")
def instance_events(instance_id: int):
    with gf().store.read() as session:
        _visible(session, instance_id)
        events = session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.seq))
        items = [{"seq": e.seq, "instance_seq": e.instance_seq, "at": e.at, "type": e.type, "actor": e.actor,
                  "task_id": e.task_id, "payload": json.loads(e.payload), "hash": e.hash} for e in events]
    readings.record_view(gf(), actor(), "instance_events", instance_id)
    return jsonify({"items": items})
