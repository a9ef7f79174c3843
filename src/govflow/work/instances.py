"""Running instances. Every step — start, complete a user task, fire timers — happens inside the
caller's write transaction: the snapshot, the inbox rows, the timer column and the events change
together or not at all. The instance row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite
writers are already serialised), and ``lock_version`` guards against any write that slipped past.
"""
from __future__ import annotations

import copy
import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ..bpmn.definitions import Definition
from ..engine import compaction, forms, operators, sandbox, spiff
from ..engine.data import check_data
from ..engine.scripting import GovScriptEngine
from ..errors import Conflict, GovflowError, NotFound, ProcessFailed, ValidationFailed
from ..people import access
from ..people.auth import SYSTEM, Actor
from ..records.runtime import Runtime
from ..store import eventlog
from ..store.database import write_row
from ..store.eventlog import EventBatch
from ..store.models import Instance, Task
from ..store.workflow_cache import WorkflowCache
from ..time.timeutil import isoformat, utc
from . import inbox, search, units
from .system import Govflow


@dataclass
class Step:
    """One step of one instance, inside one transaction."""
    gf: Govflow
    session: Session
    instance: Instance
    definition: Definition
    engine: GovScriptEngine
    now: datetime
    events: EventBatch
    due: tuple = ()      # timers already due when the workflow was loaded: whatever runs fires them
    rewound: bool = False    # 退回/撤回 reset the workflow: a READY task may be one that had a row before

    def restore(self):
        workflow = restore(self.instance, self.definition, self.engine, self.gf.workflows)
        next_timer = self.instance.next_timer_at         # the earliest timer, as the last step stored it
        self.due = tuple(due_timers(workflow, self.now)) if next_timer and next_timer <= self.now else ()
        return workflow

    def write(self, workflow) -> None:
        """Fire the timers that are due, run the engine to its next wait, and store everything
        derived from the result."""
        with engine_errors():
            workflow.refresh_timers()
            for _ in range(MAX_ENGINE_ROUNDS):
                workflow.do_engine_steps()   # it refreshes timers only at its end: go round again
                ready = workflow.get_tasks(state=TaskState.READY)
                if all(task.task_spec.manual for task in ready):
                    break
        for event in self.due:
            self.events.record("timer_fired", "system", self.now, {"timer": event.name, "due": event.value},
                               self.instance.id)
        for call in self.engine.record.service_calls:
            self.events.record("service_task", "system", self.now, call, self.instance.id)
        data = current_data(workflow)
        self._label(data)
        digest = search.index(self.session, self.instance, data, self.engine.runtime.org)
        with engine_errors():
            inbox.derive(self.session, self.instance, ready, self.definition, self.engine, self.now, self.events,
                         self.rewound)
        if workflow.is_completed() and self.instance.status == "running":
            self.instance.status, self.instance.ended_at = "completed", self.now
            self.events.record("instance_ended", "system", self.now, {"data": data}, self.instance.id)
        if self.engine.record.workdays:
            self.events.record("workdays_computed", "system", self.now, {"calls": self.engine.record.workdays},
                               self.instance.id)
        self.save(workflow, **({"search_digest": digest} if digest else {}))
        self._start_requested()

    def _start_requested(self) -> None:
        """Start the processes this step's operators asked for, after its own events."""
        runtime = self.engine.runtime
        while runtime.starts:
            request = runtime.starts.pop(0)
            try:
                self.gf.definitions.latest(self.session, request.process_id)
            except NotFound:
                if not request.if_deployed:
                    raise
                eventlog.append(self.session, "start_skipped", "system", self.now,
                             {"process_id": request.process_id, "title": request.title, "data": request.data,
                              "reason": "流程尚未部署，须部署后手工立项"}, self.instance.id)
                continue
            started = start(self.gf, self.session, SYSTEM, request.process_id, request.data, request.business_key,
                            request.title)
            if request.on_started:
                request.on_started(started.id)

    def save(self, workflow, **columns) -> None:
        """Store the snapshot, the next timer (and ``columns`` of the instance) and the step's events."""
        compaction.compact(workflow, operators.irreversible)
        snapshot = spiff.dump(workflow)
        digest = snapshot_digest(snapshot)
        write_row(self.session, self.instance, snapshot=snapshot, snapshot_hash=digest,
                  next_timer_at=_next_timer(workflow), **columns)
        kept = self.gf.workflows
        self.session.info.setdefault("after_commit", []).append(
            lambda instance_id=self.instance.id: kept.keep(instance_id, digest, snapshot, workflow))
        self.events.append_to(self.session)

    def _label(self, data: dict) -> None:
        """The instance's title and business key (议题编号, 发文字号…) follow its data; its open
        tasks carry them for the inbox. So do who may see it: its department, 密级 and 分发范围."""
        access.label(self.session, self.engine.runtime.org, self.instance, data)
        if data.get("urgency") in inbox.URGENCY and data["urgency"] != self.instance.urgency:
            self.instance.urgency = data["urgency"]
        title = _text(data.get("title")) or self.instance.title
        key = _text(data.get("business_key")) or _registered(data) or self.instance.business_key
        if (title, key) != (self.instance.title, self.instance.business_key):
            self.instance.title, self.instance.business_key = title, key
            self.session.execute(update(Task).where(Task.instance_id == self.instance.id, Task.state == "open")
                                 .values(title=title, business_key=key))


def _registered(data: dict) -> str | None:
    """The 发文字号 a 公文 was given at 登记编号 (document.register), which is its business key from then on."""
    registration = data.get("registration")
    return _text(registration.get("number")) if isinstance(registration, dict) else None


MAX_ENGINE_ROUNDS = 100


def due_timers(workflow, now: datetime) -> list:
    return [e for e in workflow.waiting_events() if e.event_type in spiff.TIMER_EVENT_TYPES
            and isinstance(e.value, str) and spiff.timer_due(e.value) <= now]


def restore(instance: Instance, definition: Definition, engine: GovScriptEngine,
            cache: WorkflowCache | None = None):
    """The instance's workflow, after checking that its snapshot is the one the last step wrote:
    a snapshot whose text changed (a JSONB round trip reorders keys and SpiffWorkflow then restores
    task data as {} without a word, trap 6; or an edit behind govflow's back) is refused. A step
    continues the workflow this process kept from writing that very snapshot, when it has it."""
    workflow = cache.take(instance.id, instance.snapshot_hash, instance.snapshot) if cache is not None else None
    if workflow is not None:
        workflow.script_engine = engine
        return workflow
    if snapshot_digest(instance.snapshot) != instance.snapshot_hash:
        raise ProcessFailed(f"流程实例 {instance.id} 的快照与最后一次写入时的校验值不符，已拒绝加载（可能被改动）")
    return spiff.restore(instance.snapshot, definition.spec, definition.subprocess_specs, engine)


def snapshot_digest(snapshot: str) -> str:
    return hashlib.sha256(snapshot.encode("utf-8")).hexdigest()


@contextmanager
def engine_errors():
    """A failure of the diagram's own code (a condition on missing data, a script over its limits,
    a broken operator) refuses the step with the element and the reason; nothing is stored."""
    try:
        yield
    except SpiffWorkflowException as err:
        task = getattr(err, "task", None)
        element = task.task_spec.bpmn_id if task else ""
        where = f"“{task.task_spec.bpmn_name or element}”（{element}）" if task else ""
        reason = _explain(getattr(err, "exception", None) or err.__cause__ or err)
        raise ProcessFailed(f"流程执行出错{where}：{reason}",
                            [{"element": element, "reason": reason, "error": str(err)}]) from err


def _explain(cause: BaseException) -> str:
    """The cause of an engine failure in words a designer acts on (the raw text stays in details)."""
    if isinstance(cause, NameError):
        return f"表达式引用了流程数据中没有的“{getattr(cause, 'name', '') or cause}”"
    if isinstance(cause, KeyError):
        return f"流程数据中没有“{cause.args[0] if cause.args else cause}”"
    if isinstance(cause, (sandbox.ScriptFailed, GovflowError)):
        return str(cause)
    return f"{type(cause).__name__}：{cause}"


def _text(value) -> str | None:
    return value[:300] if isinstance(value, str) and value.strip() else None


def current_data(workflow) -> dict:
    """The instance's data as it stands: that of the last task that ran."""
    task = workflow.last_task or workflow.task_tree
    return task.data


def _next_timer(workflow) -> datetime | None:
    dues = [spiff.timer_due(e.value) for e in workflow.waiting_events()
            if e.event_type in spiff.TIMER_EVENT_TYPES and isinstance(e.value, str)]
    return utc(min(dues)) if dues else None


# -- start ------------------------------------------------------------------------------------------------
def check_start(gf: Govflow, session: Session, process_id: str, data) -> int:
    """The start data checked against the latest version's start form, in a read transaction before
    the write one opens (a form's patterns and size checks never run under the write lock); returns
    the version checked, which ``start`` then need not check again."""
    definition = gf.definitions.latest(session, process_id)
    _check_start_data(definition, data)
    return definition.version_id


def _check_start_data(definition: Definition, data) -> None:
    if definition.start_form:
        forms.validate(definition.validators[definition.start_form], data, "启动")
    elif not isinstance(data, dict):
        raise ValidationFailed("启动数据须为对象", [{"field": "data", "reason": "须为 JSON 对象"}])
    else:
        check_data(data, "启动数据")


def start(gf: Govflow, session: Session, actor: Actor, process_id: str, data: dict,
          business_key: str | None = None, title: str | None = None, checked_version: int | None = None) -> Instance:
    definition = gf.definitions.latest(session, process_id)
    if definition.version_id != checked_version:      # a version deployed since the check: check again
        _check_start_data(definition, data)
    now, runtime = gf.moment(session)
    data = copy.deepcopy(data)
    data.update({k: v for k, v in (("title", title), ("business_key", business_key)) if v})
    units.check_start_unit(session, runtime, actor, data, now)
    instance = Instance(process_version_id=definition.version_id, process_id=process_id,
                        business_key=_text(data.get("business_key")),
                        title=_text(data.get("title")) or definition.name, status="running",
                        started_at=now, started_by=actor.id, snapshot="", snapshot_hash="")
    session.add(instance)
    session.flush()
    step = _step(gf, session, instance, definition, now, runtime)
    step.events.record("instance_started", actor.id, now,
                       {"process_id": process_id, "version": definition.version, "data": data,
                        "business_key": instance.business_key, "title": instance.title}, instance.id)
    step.write(spiff.new_workflow(definition.spec, definition.subprocess_specs, step.engine, data))
    return instance


def _step(gf: Govflow, session: Session, instance: Instance, definition: Definition, now: datetime,
          runtime: Runtime) -> Step:
    engine = GovScriptEngine(runtime, now, instance.id, instance.process_id, gf.scripts)
    return Step(gf, session, instance, definition, engine, now, EventBatch())


_LOCK = (select(Instance).where(Instance.id == bindparam("instance")).with_for_update()
         .execution_options(populate_existing=True))     # every step: built once


def lock(session: Session, instance_id: int) -> Instance:
    instance = session.scalars(_LOCK, {"instance": instance_id}).first()
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    return instance


def open_step(gf: Govflow, session: Session, instance_id: int) -> Step:
    instance = lock(session, instance_id)
    definition = gf.definitions.get(session, instance.process_version_id)
    return _step(gf, session, instance, definition, *gf.moment(session))


# -- complete a user task -----------------------------------------------------------------------------------
def check_completion(gf: Govflow, session: Session, task_id: str, data) -> None:
    """The submitted data checked against the task's form, in a read transaction before the write one
    opens; ``complete(checked=True)`` then does not check it again (a task's form never changes)."""
    row = session.connection().execute(_FORM_OF, {"task": task_id}).first()
    if row is None or row.kind != "task":
        return                      # the step says why (not found, 传阅件, 加签 with its own form)
    definition = gf.definitions.get(session, row.process_version_id)
    _check_form(definition, definition.step(row.step_id).form, data)


# What the form check reads: the task's step and its instance's version, not the instance's snapshot.
_FORM_OF = (select(Task.__table__.c.kind, Task.__table__.c.step_id, Instance.__table__.c.process_version_id)
            .join(Instance.__table__, Instance.__table__.c.id == Task.__table__.c.instance_id)
            .where(Task.__table__.c.id == bindparam("task")))


def _check_form(definition: Definition, form: str | None, data) -> None:
    if form:
        forms.validate(definition.validators[form], data)
    else:
        check_data(data, "表单数据")


def complete(step: Step, row: Task, actor: Actor, data: dict, acting_for: str | None,
             extra: dict | None = None, added: dict | None = None, checked: bool = False) -> None:
    """Complete ``row``'s task with the submitted form ``data`` (the row is locked and checked by
    the caller: see ``tasks.complete``); ``added`` (the 加签 opinions) joins it once it is valid."""
    workflow = step.restore()
    task = workflow.get_task_from_id(UUID(row.id))
    if task is None or task.state != TaskState.READY:
        raise Conflict("该任务已不在待办状态（可能已被他人办理或已撤销）")
    form_step = step.definition.step(task.task_spec.bpmn_id)
    if not checked:
        _check_form(step.definition, form_step.form, data)
    submitted = {**copy.deepcopy(data), **(added or {})}
    if form_step.variable:
        task.data[form_step.variable] = submitted
    else:
        # Replace top-level keys, never DeepMerge: it dedupes lists and keeps stale items (trap 5).
        task.data.update(submitted)
    with engine_errors():
        task.run()
    write_row(step.session, row, state="completed", completed_at=step.now, completed_by=actor.id,
              acting_for=acting_for, assignee=row.assignee or actor.id)     # claimed on completion if offered
    payload = {"step": row.step_id, "name": row.step_name, "data": submitted, **(extra or {})}
    step.events.record("task_completed", actor.id, step.now, payload, step.instance.id, row.id)
    step.write(workflow)


# -- timers --------------------------------------------------------------------------------------------------
def fire_timers(step: Step) -> int:
    """Fire the instance's due timers; return how many fired (0 if another worker got there first)."""
    due = step.instance.next_timer_at
    if step.instance.status != "running" or due is None or due > step.now:
        return 0
    workflow = step.restore()
    step.write(workflow)
    return len(step.due)


def claim_due_instance(session: Session, now: datetime) -> int | None:
    """One due instance, locked for this transaction; SKIP LOCKED lets several workers share the
    work on PostgreSQL without firing a timer twice."""
    return session.scalars(select(Instance.id).where(Instance.status == "running", Instance.next_timer_at <= now)
                           .order_by(Instance.next_timer_at).limit(1).with_for_update(skip_locked=True)).first()


def load(gf: Govflow, session: Session, instance: Instance):
    """The instance's workflow, to read (nothing of what is done to it is stored)."""
    definition = gf.definitions.get(session, instance.process_version_id)
    now, runtime = gf.moment(session)
    engine = GovScriptEngine(runtime, now, instance.id, instance.process_id, gf.scripts)
    return restore(instance, definition, engine)


def show(gf: Govflow, session: Session, instance: Instance) -> dict:
    definition = gf.definitions.get(session, instance.process_version_id)
    workflow = load(gf, session, instance)
    return {
        "id": instance.id, "process_id": instance.process_id, "version": definition.version,
        "process_name": definition.name, "business_key": instance.business_key, "title": instance.title,
        "status": instance.status, "started_at": isoformat(instance.started_at), "started_by": instance.started_by,
        "ended_at": isoformat(instance.ended_at) if instance.ended_at else None,
        "next_timer_at": isoformat(instance.next_timer_at) if instance.next_timer_at else None,
        "data": copy.deepcopy(current_data(workflow)),
        "completed_steps": sorted({t.task_spec.bpmn_id for t in workflow.get_tasks(state=TaskState.COMPLETED)
                                   if t.task_spec.bpmn_id} | compaction.trail_of(workflow).done),
        "current_steps": sorted({t.task_spec.bpmn_id for t in workflow.get_tasks(
            state=TaskState.READY | TaskState.WAITING | TaskState.STARTED) if t.task_spec.bpmn_id}),
    }


def record_violation(gf: Govflow, actor_id: str, blocked, instance_id: int | None = None,
                     task_id: str | None = None, context: dict | None = None) -> None:
    """A blocked step stores nothing — except the fact that a rule blocked it, and why."""
    with gf.store.write() as session:
        eventlog.append(session, "rule_violation", actor_id, gf.now(session),
                     {"violations": [v.to_dict() for v in blocked.violations], **(context or {})},
                     instance_id, task_id)


def recompute_estimated_deadlines(gf: Govflow) -> int:
    """After a year's schedule is loaded: every open task whose 工作日 deadline was computed from an
    estimate gets it computed again — in its inbox row and in its workflow's timer, so that the
    timer fires at the real deadline. One transaction per instance. Returns how many moved."""
    with gf.store.read() as session:
        instance_ids = sorted(set(session.scalars(select(Task.instance_id).where(_estimated()))))
    moved = 0
    for instance_id in instance_ids:
        with gf.store.write() as session:
            step = open_step(gf, session, instance_id)
            rows = session.scalars(select(Task).where(_estimated(), Task.instance_id == instance_id)).all()
            moved += _recompute(step, rows)
    return moved


def _estimated():
    return (Task.state == "open") & Task.due_estimated.is_(True) & Task.due_workdays.is_not(None)


def _recompute(step: Step, rows: list[Task]) -> int:
    calendar, workflow, moved = step.gf.calendar(step.session), step.restore(), 0
    for row in rows:
        due = calendar.add_workdays(row.due_from, row.due_workdays)
        if due.at != row.due_at:
            move_deadline(workflow, row.due_at, due.at)
            step.events.record("deadline_recomputed", "system", step.now,
                               {"step": row.step_id, "from": isoformat(row.due_at), "to": isoformat(due.at)},
                               row.instance_id, row.id)
            moved += 1
        row.due_at, row.due_estimated = utc(due.at), due.estimated
    step.save(workflow)
    return moved


def move_deadline(workflow, old: datetime, new: datetime) -> None:
    """Move a recomputed deadline wherever the waiting workflow holds it: the timers due at it, and
    the data of its open tasks (a 督办 round's ``report_due``, which the report is judged late by)."""
    for task in workflow.get_tasks(state=TaskState.WAITING):
        value = task._get_internal_data("event_value")
        if isinstance(value, str) and spiff.timer_due(value) == old:
            task._set_internal_data(event_value=isoformat(new))
    old_text, new_text = isoformat(old), isoformat(new)
    for task in workflow.get_tasks(state=TaskState.READY | TaskState.WAITING):
        for key, value in list(task.data.items()):
            # a new value, never an edit in place: nested data is shared with finished tasks (trap 4)
            moved = _replaced(value, old_text, new_text)
            if moved is not value:
                task.data[key] = moved


def _replaced(value, old: str, new: str):
    """``value`` with every string equal to ``old`` replaced by ``new``; the same object if none is."""
    if value == old and isinstance(value, str):
        return new
    if isinstance(value, dict):
        items = {k: _replaced(v, old, new) for k, v in value.items()}
        return items if any(items[k] is not value[k] for k in value) else value
    if isinstance(value, list):
        items = [_replaced(v, old, new) for v in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value
