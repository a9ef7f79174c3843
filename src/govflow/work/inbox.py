"""The inbox (待办): one row per user task, derived from the workflow after every step, and the
queries people run on it (mine, my group's, overdue, by process, by business key, by title).

Rows are never written by hand: ``derive`` compares the READY user tasks of the workflow with the
open rows of the instance, opens rows for new tasks (resolving the lane to people) and closes rows
whose task went away (an interrupting timer, a cancelled branch).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import and_, bindparam, case, delete, func, inspect, select, true, update
from sqlalchemy.orm import Session

from ..bpmn.definitions import Definition
from ..engine.spiff import timer_due
from ..people.substitution import substitute_for
from ..store.eventlog import EventBatch
from ..store.models import Instance, Task, TaskCandidate
from ..time.timeutil import isoformat, utc

URGENCY = {"一般": 0, "加急": 1, "特急": 2, "特急重要": 3}


def derive(session: Session, instance: Instance, ready_tasks: list, definition: Definition, engine,
           now: datetime, events: EventBatch, rewound: bool = False) -> None:
    """``ready_tasks``: the workflow's READY tasks, once it has run to its next wait."""
    db = session.connection()
    stored = {row.id: row for row in db.execute(_OPEN_ROWS, {"instance": instance.id})}
    open_rows = {task_id: row for task_id, row in stored.items() if not _closed_here(session, task_id)}
    ready = {str(t.id): t for t in ready_tasks if t.task_spec.manual}
    cancelled = [task_id for task_id in open_rows if task_id not in ready]
    for task_id in cancelled:
        row = open_rows[task_id]
        events.record("task_cancelled", "system", now, {"step": row.step_id, "name": row.step_name},
                      instance.id, task_id)
    if cancelled:
        _cancel(session, cancelled, now)
    fresh = {task_id: task for task_id, task in ready.items() if task_id not in open_rows}
    if not fresh:
        return
    # A task 退回 or 撤回 reset the workflow to keeps its id: its old row opens again. (Any other
    # READY task is new: SpiffWorkflow gives every task it creates a new id.)
    known = set(db.scalars(select(_TASKS.c.id).where(_TASKS.c.id.in_(fresh)))) if rewound else set()
    rows, offered = [], []
    for task_id, task in fresh.items():
        values, people = _row_values(instance, task, definition, engine, now)
        values["note"] = why_back(task, definition, engine.runtime.org, task_id in known)
        if task_id in known:
            _reopen(session, task_id, values, people)
        else:
            rows.append({"id": task_id, "kind": "task", "parent_task_id": None, "instance_id": instance.id,
                         "process_id": instance.process_id, **values})
            offered += [{"task_id": task_id, "person_id": p} for p in people if values["assignee"] is None]
        payload = {**_created_payload(values, people), **({"reopened": True} if task_id in known else {})}
        events.record("task_created", "system", now, payload, instance.id, task_id)
    if rows:         # in Core: nothing of the new rows is read back as objects in the step
        db.execute(_INSERT_TASKS, rows)
    if offered:
        db.execute(_INSERT_CANDIDATES, offered)


_TASKS = Task.__table__
_TASK_MAPPER = inspect(Task)
_INSERT_TASKS, _INSERT_CANDIDATES = _TASKS.insert(), TaskCandidate.__table__.insert()
_OPEN_ROWS = select(_TASKS.c.id, _TASKS.c.step_id, _TASKS.c.step_name).where(
    _TASKS.c.instance_id == bindparam("instance"), _TASKS.c.state == "open", _TASKS.c.kind == "task")


def _closed_here(session: Session, task_id: str) -> bool:
    """Whether this transaction closed the row but has not written it yet (the task being completed):
    read so, rather than flushed, to keep the step to one flush."""
    row = session.identity_map.get(_TASK_MAPPER.identity_key_from_primary_key((task_id,)))
    return row is not None and row.state != "open"


def _cancel(session: Session, task_ids: list[str], now: datetime) -> None:
    """The rows of tasks that went away are cancelled, and their 加签 rows with them."""
    session.execute(update(Task).where(Task.id.in_(task_ids) | ((Task.kind == "addsign") & (Task.state == "open")
                                                                & Task.parent_task_id.in_(task_ids)))
                    .values(state="cancelled", completed_at=now).execution_options(synchronize_session="fetch"))


def _row_values(instance, task, definition, engine, now) -> tuple[dict, tuple[str, ...]]:
    """What the inbox row of a READY task holds, and the people it is offered to."""
    step = definition.step(task.task_spec.bpmn_id)
    assignment = engine.runtime.org.resolve_lane(step.lane, task.data, engine.runtime.profile)
    due_text = _due(task, step, engine)
    deadline = engine.runtime.computed_deadline(due_text) if due_text else None
    urgency = task.data.get("urgency") if task.data.get("urgency") in URGENCY else "一般"
    values = dict(
        business_key=instance.business_key, title=instance.title, step_id=step.bpmn_id, step_name=step.name,
        lane=step.lane or "", role=assignment.role, form=step.form, assignee=assignment.assignee, owner=None,
        created_at=now, due_at=utc(timer_due(due_text)) if due_text else None,
        due_estimated=bool(deadline and deadline.estimated), due_from=deadline.start if deadline else None,
        due_workdays=deadline.workdays if deadline else None, urgency=urgency, priority=URGENCY[urgency],
        state="open", completed_at=None, completed_by=None, acting_for=None, pressed_count=0,
        last_pressed_at=None, note="", escalate_to=_escalation(step, task, engine),
        escalate_after=step.escalate_after, escalated_at=None)
    return values, assignment.people


# -- why a task came back (退回, 退文, a rule check that failed) ------------------------------------------------
RETURN_VERDICTS = ("退文", "退回", "退回修改", "退回整改", "不同意")
MAX_NOTE = 2000


def why_back(task, definition: Definition, org, reopened: bool) -> str:
    """What the holder of a task that came back is told (a ``task`` row's note is only ever this):
    the reason of a 退回 that reopened it; for a step that resubmits the matter (its form holds all the
    start form's required fields), the refusal of the step that sent it and the rule checks that failed."""
    returned = task.data.get("returned")
    if reopened and isinstance(returned, dict):
        by, step = org.display_name(returned.get("by")), returned.get("from_name", "")
        return f"{by}从“{step}”退回：{returned.get('reason', '')}"[:MAX_NOTE]
    if not resubmits(definition, definition.step(task.task_spec.bpmn_id).form):
        return ""
    parts = [f"规则检查未通过：{f.get('rule', '')} {f.get('message', '')}（依据：{f.get('article', '')}）"
             for value in task.data.values() if isinstance(value, dict) and _failed(value)
             for f in [*value.get("turned_away", []), *value.get("findings", [])]
             if isinstance(f, dict) and f.get("certain") is not False]
    sender = _sent_by(task)
    if sender is not None:
        step = definition.step(sender.task_spec.bpmn_id)
        said = sender.data.get(step.variable) if step.variable else sender.data
        verdict = said.get("decision") if isinstance(said, dict) else None
        if verdict in RETURN_VERDICTS:
            text = said.get("opinion") or said.get("reason") or said.get("comment") or ""
            parts.insert(0, f"{step.name}：{verdict}" + (f"——{text}" if text else ""))
    return "；".join(parts)[:MAX_NOTE]


def resubmits(definition: Definition, form: str | None) -> bool:
    start = definition.forms.get(definition.start_form or "", {})
    own = definition.forms.get(form or "", {})
    return bool(form and start.get("required")) and set(start["required"]) <= set(own.get("properties", {}))


def _failed(value: dict) -> bool:
    return isinstance(value.get("findings"), list) and (value.get("blocking") is True or value.get("passed") is False)


def _sent_by(task, depth: int = 30):
    """The nearest completed user task above this one: the step that sent the matter here."""
    node = task.parent
    while node is not None and depth:
        if node.task_spec.manual and node.state == TaskState.COMPLETED:
            return node
        node, depth = node.parent, depth - 1
    return None


def _reopen(session: Session, task_id: str, values: dict, people: tuple[str, ...]) -> None:
    row = session.get(Task, task_id)
    session.execute(delete(TaskCandidate).where(TaskCandidate.task_id == task_id))
    for name, value in values.items():
        setattr(row, name, value)
    if values["assignee"] is None:
        session.add_all(TaskCandidate(task_id=task_id, person_id=p) for p in people)


def _escalation(step, task, engine) -> str | None:
    """Who hears of the task when it stays overdue (the lane of ``escalateTo``, for this task's data)."""
    if not step.escalate_to:
        return None
    return ",".join(engine.runtime.org.resolve_lane(step.escalate_to, task.data, engine.runtime.profile).people)


def _due(task, step, engine) -> str | None:
    """The step's deadline: the earliest of a boundary timer on it and its ``dueDate`` property."""
    dues = [d for d in (_boundary_timer_due(task), _due_property(task, step, engine)) if d]
    return min(dues, key=timer_due) if dues else None


def _due_property(task, step, engine) -> str | None:
    if not step.due:
        return None
    value = engine.evaluate(task, step.due)
    return value if isinstance(value, str) and value else None


def _created_payload(row: dict, people: tuple[str, ...]) -> dict:
    return {"step": row["step_id"], "name": row["step_name"], "lane": row["lane"], "assignee": row["assignee"],
            "candidates": sorted(people) if row["assignee"] is None else [],
            "due": isoformat(row["due_at"]) if row["due_at"] else None, "due_estimated": row["due_estimated"]}


def _boundary_timer_due(task) -> str | None:
    """The due time of a timer on the boundary of this task (or of the multi-instance or loop
    activity it belongs to): that is the step's deadline."""
    attached = task
    if attached.parent is not None and isinstance(attached.parent.task_spec, LoopTask):
        attached = attached.parent
    split = attached.parent
    if split is None or not isinstance(split.task_spec, BoundaryEventSplit):
        return None
    dues = []
    for sibling in split.children:
        spec = sibling.task_spec
        if isinstance(spec, BoundaryEvent) and isinstance(spec.event_definition, TimerEventDefinition):
            value = sibling._get_internal_data("event_value")
            if isinstance(value, str):
                dues.append(value)
            elif isinstance(value, dict) and value.get("next"):
                dues.append(value["next"])
    return min(dues, key=timer_due) if dues else None


_CANDIDATES = (select(TaskCandidate.__table__.c.person_id).where(TaskCandidate.__table__.c.task_id == bindparam("task"))
               .order_by(TaskCandidate.__table__.c.person_id))


def candidates(session: Session, task_id: str) -> list[str]:
    session.flush()
    return list(session.connection().scalars(_CANDIDATES, {"task": task_id}))


_INSTANCE_OPEN = (select(_TASKS.c.id, _TASKS.c.step_id, _TASKS.c.step_name, _TASKS.c.kind, _TASKS.c.assignee,
                         _TASKS.c.owner, _TASKS.c.due_at)
                  .where(_TASKS.c.instance_id == bindparam("instance"), _TASKS.c.state == "open")
                  .order_by(_TASKS.c.created_at, _TASKS.c.id))
_CANDIDATES_OF = (select(TaskCandidate.__table__.c.task_id, TaskCandidate.__table__.c.person_id)
                  .where(TaskCandidate.__table__.c.task_id.in_(bindparam("tasks", expanding=True)))
                  .order_by(TaskCandidate.__table__.c.person_id))


def open_of_instance(session: Session, instance_id: int, people: list[str]) -> tuple[list[dict], list[dict]]:
    """(every open task of the instance, those of them ``people`` may do now): what a start or a
    completion answers with, so that a client need not list the inbox again to find the next step."""
    session.flush()
    db = session.connection()
    rows = db.execute(_INSTANCE_OPEN, {"instance": instance_id}).all()
    offered: dict[str, list[str]] = {}
    unassigned = [r.id for r in rows if r.assignee is None]
    if unassigned:
        for task_id, person in db.execute(_CANDIDATES_OF, {"tasks": unassigned}):
            offered.setdefault(task_id, []).append(person)
    found, mine = [], []
    for r in rows:
        item = {"id": r.id, "step": r.step_id, "step_name": r.step_name, "kind": r.kind, "assignee": r.assignee,
                "owner": r.owner, "candidates": offered.get(r.id, []),
                "due_at": isoformat(r.due_at) if r.due_at else None}
        found.append(item)
        if r.assignee in people or (r.assignee is None and set(item["candidates"]) & set(people)):
            mine.append(item)
    return found, mine


def describe(row: Task, now: datetime, runtime, away: set[str]) -> dict:
    """A row as the inbox shows it: with names, its deadline, and who acts for its holder while they
    are away (P1/P2)."""
    org = runtime.org
    acting = substitute_for(org, runtime.profile, away, row.assignee) if row.assignee else None
    return {
        "id": row.id, "kind": row.kind, "instance_id": row.instance_id, "process_id": row.process_id,
        "business_key": row.business_key, "title": row.title, "step": row.step_id, "step_name": row.step_name,
        "lane": row.lane, "role": row.role, "assignee": row.assignee, "assignee_name": org.display_name(row.assignee),
        "owner": row.owner, "created_at": isoformat(row.created_at),
        "due_at": isoformat(row.due_at) if row.due_at else None, "due_estimated": row.due_estimated,
        "overdue": bool(row.due_at and row.due_at < now and row.state == "open"),
        "urgency": row.urgency, "state": row.state,
        "completed_at": isoformat(row.completed_at) if row.completed_at else None,
        "completed_by": row.completed_by, "acting_for": row.acting_for,
        "pressed_count": row.pressed_count, "note": row.note,
        "returned": row.kind == "task" and bool(row.note) and row.state == "open",
        "last_pressed_at": isoformat(row.last_pressed_at) if row.last_pressed_at else None,
        "away": bool(row.assignee and row.assignee in away),
        "acting": acting.to_dict(org) if acting else None,
    }


# -- queries ----------------------------------------------------------------------------------------------
VIEWS = ("mine", "group", "read", "done", "all")   # 待办, 组待办, 传阅, 已办, 全部


@dataclass(frozen=True)
class Query:
    view: str = "mine"
    overdue: bool = False
    process_id: str | None = None
    business_key: str | None = None
    q: str | None = None          # title search
    urgency: str | None = None
    due_from: datetime | None = None   # due at or after
    due_to: datetime | None = None     # due before
    latest_first: bool = False         # by due date, the latest first
    within: object = None              # a condition on Instance the rows' instances meet (None: any)
    limit: int = 50
    offset: int = 0

    def counted_by(self, badges: dict) -> int | None:
        """The total of this query when a badge of ``counts`` is it: an open view without filters."""
        if self.view not in ("mine", "group", "read") or self.within is not None or self.overdue or any((
                self.process_id, self.business_key, self.q, self.urgency, self.due_from, self.due_to)):
            return None
        return badges[self.view]


def search(session: Session, query: Query, people: list[str], now: datetime,
           total: int | None = None) -> tuple[list, int]:
    """Tasks for ``people`` (the user and everyone they currently act for), nearest deadline first,
    as rows of the task table (Core: no ORM objects are built for a page of them). ``total``: the
    number of rows, when the caller has counted them already (the badge of an unfiltered view)."""
    params = {"people": list(people), "limit": query.limit, "offset": query.offset}
    shape = (query.view, len(people) > 1, query.latest_first)
    if _unfiltered(query):
        page, count = _PLAIN.get(shape) or _PLAIN.setdefault(shape, _statements(query, len(people) > 1, now))
    else:
        page, count = _statements(query, len(people) > 1, now)
    db = session.connection()
    if total is None:
        total = db.execute(count, params).scalar_one()
    return db.execute(page, params).all(), total


_T, _C = Task.__table__, TaskCandidate.__table__
_PEOPLE = bindparam("people", expanding=True)
_PLAIN: dict[tuple, tuple] = {}      # the statements of the unfiltered views, built once


def _unfiltered(query: Query) -> bool:
    return query.within is None and not query.overdue and not any((
        query.process_id, query.business_key, query.q, query.urgency, query.due_from, query.due_to))


def _statements(query: Query, several: bool, now: datetime):
    """(the page, the count) of ``query``; the people, the limit and the offset are parameters."""
    if query.view == "mine":
        stmt = select(_T).where(_T.c.state == "open", _T.c.assignee.in_(_PEOPLE), _T.c.kind != "read")
    elif query.view == "group":
        stmt = _offered(several)
    elif query.view == "read":
        stmt = select(_T).where(_T.c.state == "open", _T.c.assignee.in_(_PEOPLE), _T.c.kind == "read")
    elif query.view == "done":
        stmt = select(_T).where(_T.c.state == "completed", _T.c.completed_by.in_(_PEOPLE), _T.c.kind != "read")
    else:
        stmt = select(_T).where(_T.c.state == "open")
    if query.within is not None:
        stmt = stmt.where(_T.c.instance_id.in_(select(Instance.id).where(query.within)))
    if query.overdue:
        stmt = stmt.where(_T.c.due_at < now)
    if query.due_from:
        stmt = stmt.where(_T.c.due_at >= query.due_from)
    if query.due_to:
        stmt = stmt.where(_T.c.due_at < query.due_to)
    if query.process_id:
        stmt = stmt.where(_T.c.process_id == query.process_id)
    if query.business_key:
        stmt = stmt.where(_T.c.business_key == query.business_key)
    if query.urgency:
        stmt = stmt.where(_T.c.urgency == query.urgency)
    if query.q:
        stmt = stmt.where(_T.c.title.contains(query.q, autoescape=True))
    count = select(func.count()).select_from(stmt.subquery())
    if query.view == "done":
        order = (_T.c.completed_at.desc(),)
    elif query.latest_first:
        order = (_T.c.due_at.is_(None), _T.c.due_at.desc(), _T.c.priority.desc(), _T.c.created_at)
    else:
        order = (_T.c.due_at.is_(None), _T.c.due_at, _T.c.priority.desc(), _T.c.created_at)
    return stmt.order_by(*order).limit(bindparam("limit")).offset(bindparam("offset")), count


def _offered(several: bool):
    """Unclaimed open tasks offered to the people, found from the candidate index (there are many
    unassigned tasks in all, few offered to one person). For several people (someone acting for
    others) a semi-join, not DISTINCT: PostgreSQL refuses DISTINCT with the page's ORDER BY."""
    if several:
        return select(_T).where(_T.c.id.in_(select(_C.c.task_id).where(_C.c.person_id.in_(_PEOPLE))),
                                _T.c.state == "open", _T.c.assignee.is_(None))
    return (select(_T).join(_C, _C.c.task_id == _T.c.id)
            .where(_C.c.person_id.in_(_PEOPLE), _T.c.state == "open", _T.c.assignee.is_(None)))


def counts(session: Session, people: list[str], now: datetime) -> dict:
    """The badges (mine, my group's, 传阅, overdue) in one statement: a grouped pass over the rows
    assigned to ``people`` beside one over the rows offered to them."""
    row = session.connection().execute(_COUNTS, {"people": list(people), "now": now}).one()
    return {"mine": row.mine, "group": row.group, "read": row.read, "overdue": row.mine_overdue + row.group_overdue}


def _counts_statement():
    def total(condition):
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
    not_read, overdue = _T.c.kind != "read", _T.c.due_at < bindparam("now")
    assigned = (select(total(not_read).label("mine"), total(_T.c.kind == "read").label("read"),
                       total(and_(not_read, overdue)).label("mine_overdue"))
                .where(_T.c.state == "open", _T.c.assignee.in_(_PEOPLE)).subquery())
    offered = (select(func.count(func.distinct(_T.c.id)).label("group"),
                      func.count(func.distinct(case((overdue, _T.c.id)))).label("group_overdue"))
               .select_from(_T.join(_C, _C.c.task_id == _T.c.id))
               .where(_C.c.person_id.in_(_PEOPLE), _T.c.state == "open", _T.c.assignee.is_(None)).subquery())
    return (select(assigned.c.mine, assigned.c.read, assigned.c.mine_overdue, offered.c.group, offered.c.group_overdue)
            .select_from(assigned.join(offered, true())))       # two one-row subqueries side by side


_COUNTS = _counts_statement()
