"""Process instances: the list a user may see, and one instance with its diagram (the steps done,
the steps it stands at and the path taken, highlighted), its open tasks, timeline and opinions."""
from __future__ import annotations

from datetime import datetime

from flask import Response, abort, g, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..audit import readings
from ..errors import Forbidden, NotFound, ProcessFailed
from ..people.access import acting_people, may_see_instance, visible_instances
from ..store.models import Blob, Event, Instance, ProcessVersion, Task, TaskCandidate
from ..work import instances, progress
from ..work.system import Govflow
from . import bp, gf, login_required, page_number, timeline
from . import files as ui_files

PAGE_SIZE = 30
STATUSES = {"running": "办理中", "completed": "已办结"}
KINDS = {"task": "待办", "addsign": "加签", "read": "传阅"}


@bp.app_template_filter("instance_status")
def instance_status(status: str) -> str:
    return STATUSES.get(status, status)


@bp.get("/instances")
@login_required
def instance_list():
    system = gf()
    filters, page = _filters(), page_number(request.args.get("page"))
    with system.store.read() as db:
        people = acting_people(db, system.organisation(db), g.actor, system.now(db))
        stmt = _search(visible_instances(g.org, g.actor, people), filters)
        total = db.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = db.execute(stmt.order_by(Instance.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
        processes = {v.process_id: v.name for v in db.scalars(select(ProcessVersion).order_by(ProcessVersion.version))}
    return render_template("instances.html", rows=rows, total=total, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                           processes=processes, statuses=STATUSES, filters=filters)


def _filters() -> dict:
    """The filters in force (process, status, part of a business key): to search, to fill the form
    and to carry to the other pages."""
    found = {name: (request.args.get(name) or "").strip() for name in ("process_id", "status", "business_key")}
    if found["status"] and found["status"] not in STATUSES:
        abort(400, "状态筛选有误")
    return {name: value for name, value in found.items() if value}


def _search(visible, filters: dict):
    stmt = (select(Instance, ProcessVersion).join(ProcessVersion, ProcessVersion.id == Instance.process_version_id)
            .where(visible))
    if "process_id" in filters:
        stmt = stmt.where(Instance.process_id == filters["process_id"])
    if "status" in filters:
        stmt = stmt.where(Instance.status == filters["status"])
    if "business_key" in filters:
        stmt = stmt.where(Instance.business_key.contains(filters["business_key"], autoescape=True))
    return stmt


def _visible(db: Session, instance_id: int) -> Instance:
    """The instance, if the signed-in user may see it (the rule of the API)."""
    instance = db.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    system = gf()
    people = acting_people(db, system.organisation(db), g.actor, system.now(db))
    if not may_see_instance(db, g.org, g.actor, people, instance_id):
        raise Forbidden("您无权查看该流程实例")
    return instance


@bp.get("/instances/<int:instance_id>")
@login_required
def instance(instance_id: int):
    system = gf()
    with system.store.read() as db:
        row = _visible(db, instance_id)
        runtime, now = system.runtime(db), system.now(db)
        definition = system.definitions.get(db, row.process_version_id)
        marks, unreadable = _progress(system, db, row)
        soon_until = runtime.calendar.add_workdays(now, 1).at
        open_rows = [(t, _deadline(t.due_at, now, soon_until)) for t in _open_tasks(db, instance_id)]
        candidates = _candidates(db, [t.id for t, _ in open_rows if t.assignee is None])
        events = list(db.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.seq)))
        attached = ui_files.section(system, db, g.actor, instance_id)
    readings.record_view(system, g.actor, "instance_page", instance_id)
    words = timeline.Words(runtime.org.display_name, step_names(definition))
    return render_template("instance.html", instance=row, definition=definition, marks=marks, unreadable=unreadable,
                           open_rows=open_rows, candidates=candidates, kinds=KINDS,
                           open_ids={t.id for t, _ in open_rows}, entries=timeline.entries(events, words),
                           opinions=timeline.opinions(events, words), files=attached)


@bp.get("/instances/<int:instance_id>/diagram.bpmn")
@login_required
def instance_diagram(instance_id: int):
    """The BPMN of the version the instance runs on, for the page's viewer."""
    with gf().store.read() as db:
        xml = _bpmn(db, _visible(db, instance_id))
    return Response(xml, mimetype="application/xml", headers={"Cache-Control": "private, max-age=3600"})


def _progress(system: Govflow, db: Session, instance: Instance) -> tuple[dict, str]:
    """The diagram's highlights, or why there are none: a snapshot that fails its check is not
    loaded, and the page still shows the instance's history."""
    try:
        workflow = instances.load(system, db, instance)
    except ProcessFailed as refused:
        return {}, refused.message
    return progress.progress(workflow, progress.drawn_by(db, instance.process_version_id)).to_dict(), ""


def _bpmn(db: Session, instance: Instance) -> str:
    version = db.get(ProcessVersion, instance.process_version_id)
    return db.get(Blob, version.bpmn_hash).content


def _open_tasks(db: Session, instance_id: int) -> list[Task]:
    return list(db.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == "open")
                           .order_by(Task.due_at.is_(None), Task.due_at, Task.created_at)))


def _candidates(db: Session, task_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for task_id, person in db.execute(select(TaskCandidate.task_id, TaskCandidate.person_id)
                                      .where(TaskCandidate.task_id.in_(task_ids)).order_by(TaskCandidate.person_id)):
        found.setdefault(task_id, []).append(person)
    return found


def _deadline(due: datetime | None, now: datetime, soon_until: datetime) -> str:
    """overdue once the deadline has passed; due_soon within 1 工作日 (as the 督办台账 counts them)."""
    if due is None:
        return ""
    if due < now:
        return "overdue"
    return "due_soon" if due <= soon_until else ""


def step_names(definition) -> dict[str, str]:
    """Every element's name, service and script tasks included (events name them by id)."""
    return {spec.bpmn_id: spec.bpmn_name or spec.bpmn_id
            for process in (definition.spec, *definition.subprocess_specs.values())
            for spec in process.task_specs.values() if spec.bpmn_id}
