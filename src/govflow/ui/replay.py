"""The replay page: an instance as it stood at one event of its history — the diagram highlighted
at that event, the data, the open tasks and who held them, the rule checks so far — with the
timeline to step through. Auditors and admins only; each view is logged."""
from __future__ import annotations

from flask import g, render_template, request
from sqlalchemy import select

from ..audit import readings, replay
from ..errors import Forbidden, NotFound
from ..people.access import may_see_instance
from ..store.models import Event, Instance
from . import bp, gf, login_required, require_role, rule_checks, timeline
from .audit import AUDITORS
from .instances import step_names


@bp.get("/instances/<int:instance_id>/replay")
@login_required
def instance_replay(instance_id: int):
    require_role(*AUDITORS)
    system, asked = gf(), request.args.get("seq", "")
    with system.store.read() as db:
        instance = db.get(Instance, instance_id)
        if instance is None:
            raise NotFound(f"流程实例 {instance_id} 不存在")
        if not may_see_instance(db, g.org, g.actor, [g.actor.id], instance_id):
            raise Forbidden("您无权查看该流程实例")
        first = db.scalar(select(Event.seq).where(Event.instance_id == instance_id).order_by(Event.seq).limit(1))
        seq = first if asked == "first" else int(asked) if asked.isdigit() else None
        state = replay.state_at(system, db, instance, seq)
        definition = system.definitions.get(db, instance.process_version_id)
        events = list(db.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.instance_seq)))
        runtime = system.runtime(db)
    readings.record_view(system, g.actor, "replay", instance_id)
    seqs, at = state["seqs"], state["seq"]
    where = seqs.index(at) if at in seqs else 0
    return render_template("replay.html", instance=instance, definition=definition, state=state,
                           entries=timeline.entries(events, timeline.Words(runtime.org.display_name,
                                                                           step_names(definition))),
                           checks=[rule_checks.readable(c, runtime.org) for c in state["rule_checks"]],
                           position=where + 1, first=seqs[0] if seqs and where > 0 else None,
                           last=seqs[-1] if seqs and where + 1 < len(seqs) else None,
                           previous=seqs[where - 1] if where > 0 else None,
                           following=seqs[where + 1] if where + 1 < len(seqs) else None,
                           person=runtime.org.display_name)
