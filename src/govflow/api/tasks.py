"""The inbox and the operations on a task."""
from __future__ import annotations

from flask import jsonify, request

from .. import circulation, inbox, instances, rewind, tasks
from ..access import acting_people, may_see_instance, sees_everything
from ..errors import Forbidden, NotFound, RuleBlocked, ValidationFailed
from ..instances import record_violation
from ..models import Instance, Task
from ..substitution import away_at, substitute_for
from ..timeutil import isoformat
from . import actor, body, bool_arg, bp, gf, int_arg


@bp.get("/tasks")
def list_tasks():
    user, system = actor(), gf()
    view = request.args.get("view", "mine")
    if view not in inbox.VIEWS:
        raise ValidationFailed(f"view 须为 {'、'.join(inbox.VIEWS)} 之一", [{"field": "view", "reason": view}])
    if view == "all" and not sees_everything(user):
        raise Forbidden("只有管理员和审计人员可以查看全部待办")
    query = inbox.Query(view=view, overdue=bool_arg("overdue"), process_id=request.args.get("process_id") or None,
                        business_key=request.args.get("business_key") or None, q=request.args.get("q") or None,
                        urgency=request.args.get("urgency") or None, limit=int_arg("limit", 50, 1, 500),
                        offset=int_arg("offset", 0, 0, 10_000_000))
    with system.store.read() as session:
        runtime, now = system.runtime(session), system.now(session)
        away = away_at(session, now)
        people = acting_people(session, runtime, user, now)
        rows, total = inbox.search(session, query, people, now)
        items = [_row(r, now, runtime, away) for r in rows]
        counts = inbox.counts(session, people, now)
    return jsonify({"items": items, "total": total, "counts": counts})


def _row(row: Task, now, runtime, away: set[str]) -> dict:
    org = runtime.org
    acting = substitute_for(org, runtime.profile, away, row.assignee) if row.assignee else None
    return {
        "id": row.id, "instance_id": row.instance_id, "process_id": row.process_id,
        "business_key": row.business_key, "title": row.title, "step": row.step_id, "step_name": row.step_name,
        "lane": row.lane, "role": row.role, "assignee": row.assignee, "assignee_name": org.display_name(row.assignee),
        "owner": row.owner, "created_at": isoformat(row.created_at),
        "due_at": isoformat(row.due_at) if row.due_at else None, "due_estimated": row.due_estimated,
        "overdue": bool(row.due_at and row.due_at < now and row.state == "open"),
        "urgency": row.urgency, "state": row.state,
        "completed_at": isoformat(row.completed_at) if row.completed_at else None,
        "completed_by": row.completed_by, "acting_for": row.acting_for,
        "pressed_count": row.pressed_count,
        "last_pressed_at": isoformat(row.last_pressed_at) if row.last_pressed_at else None,
        "away": bool(row.assignee and row.assignee in away),
        "acting": acting.to_dict(org) if acting else None,
    }


@bp.get("/tasks/<task_id>")
def show_task(task_id: str):
    user, system = actor(), gf()
    with system.store.read() as session:
        row = session.get(Task, task_id)
        if row is None:
            raise NotFound("任务不存在")
        now, runtime = system.now(session), system.runtime(session)
        if not may_see_instance(session, user, acting_people(session, runtime, user, now), row.instance_id):
            raise Forbidden("您无权查看该任务")
        detail = _row(row, now, runtime, away_at(session, now))
        definition = system.definitions.get(session, session.get(Instance, row.instance_id).process_version_id)
        detail["form"] = tasks.ADDSIGN_FORM if row.kind == "addsign" else definition.forms.get(row.form or "")
        detail["kind"], detail["note"] = row.kind, row.note
        detail["returnable_steps"] = _returnable(system, session, row)
        detail["candidates"] = inbox.candidates(session, row.id)
        detail["history"] = tasks.history(session, row.instance_id)
        detail["may_act"] = row.state == "open" and tasks.standing(session, runtime, user, row, now).may_act
    return jsonify(detail)


def _returnable(system, session, row: Task) -> list[dict]:
    if row.kind != "task" or row.state != "open":
        return []
    workflow = instances.load(system, session, session.get(Instance, row.instance_id))
    return rewind.returnable_steps(workflow, row.id)


def _done(row: Task):
    return jsonify({"id": row.id, "state": row.state, "assignee": row.assignee, "owner": row.owner})


@bp.post("/tasks/<task_id>/complete")
def complete_task(task_id: str):
    data, user, system = body("CompleteTask"), actor(), gf()
    try:
        with system.store.write() as session:
            row = tasks.complete(system, session, user, task_id, data["data"])
            result = _done(row)
    except RuleBlocked as blocked:
        record_violation(system, user.id, blocked, _instance_of(task_id), task_id)
        raise
    return result


def _instance_of(task_id: str) -> int | None:
    with gf().store.read() as session:
        row = session.get(Task, task_id)
        return row.instance_id if row else None


@bp.post("/tasks/<task_id>/claim")
def claim_task(task_id: str):
    with gf().store.write() as session:
        return _done(tasks.claim(gf(), session, actor(), task_id))


@bp.post("/tasks/<task_id>/unclaim")
def unclaim_task(task_id: str):
    with gf().store.write() as session:
        return _done(tasks.unclaim(gf(), session, actor(), task_id))


@bp.post("/tasks/<task_id>/transfer")
def transfer_task(task_id: str):
    data = body("HandOver")
    with gf().store.write() as session:
        return _done(tasks.transfer(gf(), session, actor(), task_id, data["to"], data.get("reason", "")))


@bp.post("/tasks/<task_id>/delegate")
def delegate_task(task_id: str):
    data = body("HandOver")
    with gf().store.write() as session:
        return _done(tasks.delegate(gf(), session, actor(), task_id, data["to"], data.get("note", "")))


@bp.post("/tasks/<task_id>/resolve")
def resolve_task(task_id: str):
    data = body("Note")
    with gf().store.write() as session:
        return _done(tasks.resolve(gf(), session, actor(), task_id, data.get("note", "")))


@bp.post("/tasks/<task_id>/comments")
def comment_task(task_id: str):
    data = body("Comment")
    with gf().store.write() as session:
        return _done(tasks.comment(gf(), session, actor(), task_id, data["text"])), 201


@bp.post("/tasks/<task_id>/return")
def send_back_task(task_id: str):
    data = body("SendBack")
    with gf().store.write() as session:
        return _done(rewind.send_back(gf(), session, actor(), task_id, data["to"], data["reason"]))


@bp.post("/tasks/<task_id>/withdraw")
def withdraw_task(task_id: str):
    data = body("Note")
    with gf().store.write() as session:
        return _done(rewind.withdraw(gf(), session, actor(), task_id, data.get("note", "")))


@bp.post("/tasks/<task_id>/addsign")
def add_signer(task_id: str):
    data = body("AddSigner")
    with gf().store.write() as session:
        return _done(tasks.add_signer(gf(), session, actor(), task_id, data["to"], data.get("note", ""))), 201


@bp.post("/tasks/<task_id>/read")
def mark_read(task_id: str):
    data = body("Note")
    with gf().store.write() as session:
        return _done(circulation.mark_read(gf(), session, actor(), task_id, data.get("note", "")))


@bp.post("/tasks/<task_id>/press")
def press_task(task_id: str):
    data = body("Note")
    with gf().store.write() as session:
        row = tasks.press(gf(), session, actor(), task_id, data.get("note", ""))
        return jsonify({"id": row.id, "pressed_count": row.pressed_count})
