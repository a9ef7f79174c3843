"""The inbox and the operations on a task."""
from __future__ import annotations

from flask import jsonify, request

from ..errors import Forbidden, RuleBlocked, ValidationFailed
from ..people.access import acting_people, sees_everything, unless_all
from ..people.substitution import away_at
from ..store.models import Instance, Task
from ..work import circulation, inbox, rewind, task_detail, tasks
from ..work.instances import check_completion, record_violation
from . import actor, body, bool_arg, bp, gf, int_arg


@bp.get("/tasks")
def list_tasks():
    user, system = actor(), gf()
    view = request.args.get("view", "mine")
    if view not in inbox.VIEWS:
        raise ValidationFailed(f"view 须为 {'、'.join(inbox.VIEWS)} 之一", [{"field": "view", "reason": view}])
    if view == "all" and not sees_everything(user):
        raise Forbidden("只有管理员和审计人员可以查看全部待办")
    limit, offset = int_arg("limit", 50, 1, 500), int_arg("offset", 0, 0, 10_000_000)
    with system.store.read() as session:
        now, runtime = system.moment(session)
        away = away_at(session, now)
        people = acting_people(session, runtime.org, user, now, away)
        query = inbox.Query(view=view, overdue=bool_arg("overdue"), process_id=request.args.get("process_id") or None,
                            business_key=request.args.get("business_key") or None, q=request.args.get("q") or None,
                            urgency=request.args.get("urgency") or None, limit=limit, offset=offset,
                            within=unless_all(runtime.org, user, people) if view == "all" else None)
        counts = inbox.counts(session, people, now)
        rows, total = inbox.search(session, query, people, now, query.counted_by(counts))
        items = [inbox.describe(r, now, runtime, away) for r in rows]
    return jsonify({"items": items, "total": total, "counts": counts})


@bp.get("/tasks/<task_id>")
def show_task(task_id: str):
    system = gf()
    with system.store.read() as session:
        return jsonify(task_detail.detail(system, session, actor(), task_id))


def _done(row: Task, after: dict | None = None):
    return jsonify({"id": row.id, "state": row.state, "assignee": row.assignee, "owner": row.owner, **(after or {})})


def _after(session, instance_id: int, person: str) -> dict:
    """What the step left, read in its own transaction: the instance's state and open tasks, and
    those of them the actor may do next (a client need not list the inbox to go on)."""
    instance = session.get(Instance, instance_id)
    found, mine = inbox.open_of_instance(session, instance_id, [person])
    return {"instance": {"id": instance.id, "status": instance.status, "open_tasks": found}, "next": mine}


@bp.post("/tasks/<task_id>/complete")
def complete_task(task_id: str):
    data, user, system = body("CompleteTask"), actor(), gf()
    with system.store.read() as session:        # the form's checks never run under the write lock
        check_completion(system, session, task_id, data["data"])
    try:
        with system.store.write() as session:
            row = tasks.complete(system, session, user, task_id, data["data"], checked=True)
            result = _done(row, _after(session, row.instance_id, user.id))
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
    data = body("Resolve")
    with gf().store.write() as session:
        return _done(tasks.resolve(gf(), session, actor(), task_id, data.get("note", ""), data.get("data")))


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
