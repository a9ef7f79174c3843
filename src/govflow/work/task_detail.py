"""What a person sees of one task, for the API and the task page alike: the inbox row, its form,
the steps it may be sent back to, the instance's opinions so far, and whether they may act on it."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..errors import Forbidden, NotFound
from ..people.access import acting_people, may_see_instance
from ..people.auth import Actor
from ..people.substitution import away_at
from ..store.models import Instance, Task
from . import inbox, instances, rewind, tasks
from .system import Govflow


def visible_task(gf: Govflow, session: Session, actor: Actor, task_id: str) -> Task:
    row = session.get(Task, task_id)
    if row is None:
        raise NotFound("任务不存在")
    now, runtime = gf.moment(session)
    people = acting_people(session, runtime.org, actor, now)
    if not may_see_instance(session, runtime.org, actor, people, row.instance_id):
        raise Forbidden("您无权查看该任务")
    return row


def form_of(gf: Govflow, session: Session, row: Task) -> dict | None:
    """The JSON Schema the task's submission must fit (加签 rows have their own)."""
    if row.kind == "addsign":
        return tasks.ADDSIGN_FORM
    definition = gf.definitions.get(session, session.get(Instance, row.instance_id).process_version_id)
    return definition.forms.get(row.form or "")


def detail(gf: Govflow, session: Session, actor: Actor, task_id: str, workflow=None) -> dict:
    """``workflow``: the instance's, when the caller has loaded it already."""
    row = visible_task(gf, session, actor, task_id)
    now, runtime = gf.moment(session)
    shown = inbox.describe(row, now, runtime, away_at(session, now))
    shown["form"] = form_of(gf, session, row)
    shown["kind"], shown["note"] = row.kind, row.note
    shown["returnable_steps"] = _returnable(gf, session, row, workflow)
    shown["candidates"] = inbox.candidates(session, row.id)
    shown["history"] = tasks.history(session, row.instance_id)
    shown["may_act"] = row.state == "open" and tasks.standing(session, runtime, actor, row, now).may_act
    shown["delegated"] = row.kind == "task" and row.owner is not None
    shown["drafted"] = tasks.drafted(session, row) if shown["may_act"] else None
    return shown


def _returnable(gf: Govflow, session: Session, row: Task, workflow) -> list[dict]:
    if row.kind != "task" or row.state != "open" or row.owner is not None:    # a delegate hands back, never returns
        return []
    workflow = workflow or instances.load(gf, session, session.get(Instance, row.instance_id))
    return rewind.returnable_steps(workflow, row.id)
