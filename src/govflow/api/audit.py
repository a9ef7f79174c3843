"""Auditors: the check of the event chain, anchors of it to keep outside govflow, and the log exported
to process-mining tools (XES, OCEL 2.0)."""
from __future__ import annotations

from flask import Response, jsonify, request, stream_with_context

from ..audit import exports, readings, replay
from ..errors import Forbidden, NotFound
from ..people.access import may_see_instance, unless_all
from ..store import eventlog
from ..store.models import MAX_ID, Instance
from . import bp, gf, int_arg, require


@bp.get("/audit/verify")
def verify_chain():
    user = require("auditor", "admin")
    instance_id = int_arg("instance_id", 0, 0, MAX_ID) or None
    with gf().store.read() as session:
        result = eventlog.verify(session, instance_id)
    readings.record_view(gf(), user, "chain_verification", instance_id)
    return jsonify(result.to_dict())


@bp.get("/audit/anchor")
def chain_anchor():
    """The chain head now, for an outside party to keep; the auditor's reading is logged first,
    so the anchor covers it."""
    user, system = require("auditor", "admin"), gf()
    readings.record_view(system, user, "anchor")
    with system.store.read() as session:
        return jsonify(eventlog.anchor(session, system.now(session)))


@bp.get("/audit/export")
def export_log():
    """XES or OCEL 2.0, streamed: the read session stays open while the download runs."""
    user, system = require("auditor", "admin"), gf()
    fmt = exports.check_format(request.args.get("format", ""))
    process_id = request.args.get("process_id") or None
    readings.record_view(system, user, f"export_{fmt}")

    def chunks():
        with system.store.read() as session:
            org = system.organisation(session)
            for chunk in exports.export(session, fmt, org, process_id, unless_all(org, user, [user.id])):
                yield chunk.encode("utf-8")
    media_type, extension = exports.FORMATS[fmt]
    name = f"govflow-{process_id or 'all'}.{extension}"
    return Response(stream_with_context(chunks()), mimetype=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/instances/<int:instance_id>/replay")
def replay_instance(instance_id: int):
    """The instance as it stood at event ``seq`` (the last when omitted), re-run from its history."""
    user, system = require("auditor", "admin"), gf()
    seq = int_arg("seq", 0, 0, MAX_ID) or None
    with system.store.read() as session:
        state = replay.state_at(system, session, _instance(session, instance_id, user), seq)
    readings.record_view(system, user, "replay", instance_id)
    return jsonify(state)


@bp.get("/audit/reexecute")
def reexecute():
    """Re-run one instance's history (or every instance's) and report each difference from what is stored."""
    user, system = require("auditor", "admin"), gf()
    instance_id = int_arg("instance_id", 0, 0, MAX_ID) or None
    with system.store.read() as session:
        if instance_id is not None:
            _instance(session, instance_id, user)
        elif not user.has("auditor"):
            raise Forbidden("涉密文件只有审计人员可以整体复核：请按实例复核")
        results = replay.reexecute_all(system, session, instance_id)
    readings.record_view(system, user, "reexecution", instance_id)
    return jsonify({"ok": all(r.ok for r in results), "results": [r.to_dict() for r in results]})


def _instance(session, instance_id: int, user) -> Instance:
    """The instance, if it exists and ``user`` may see it (an administrator not a 涉密 one off its 分发范围)."""
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    if not may_see_instance(session, gf().organisation(session), user, [user.id], instance_id):
        raise Forbidden("您无权查看该流程实例")
    return instance
