"""传阅/抄送: read-only copies of a process in readers' inboxes, each marked 已阅 when read."""
from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..people import access
from ..people.auth import Actor
from ..store.models import Task
from . import inbox, instances
from .system import Govflow
from .tasks import check_sees, short_text, standing

MAX_READERS = 100


def circulate(gf: Govflow, session: Session, actor: Actor, instance_id: int, people: list[str],
              note: str = "") -> list[Task]:
    """Send read-only copies of the instance to ``people``; those who already have one unread get
    no second copy."""
    step = instances.open_step(gf, session, instance_id)
    org = step.engine.runtime.org
    check_sees(step, actor, instance_id)
    if not _may_circulate(step, actor):
        raise Forbidden("只有当前办理人、办公室或发起人可以传阅")
    unknown = [p for p in people if org.person(p) is None]
    if unknown or not people or len(people) > MAX_READERS:
        raise ValidationFailed("传阅对象须为组织机构中的人员（1 至 100 人）",
                               [{"field": "to", "reason": "、".join(unknown) or "人数不符"}])
    outside = access.outside_distribution(session, org, step.instance, list(dict.fromkeys(people)))
    if outside:
        names = "、".join(org.display_name(p) for p in outside)
        raise Forbidden(f"该文件密级为{step.instance.secrecy}，只能传阅给经办人员和分发范围内的人员："
                        f"{names}不在其分发范围内，未传阅（如确需知悉，请由起草人在分发范围中列入）")
    unread = set(session.scalars(select(Task.assignee).where(Task.instance_id == instance_id, Task.kind == "read",
                                                             Task.state == "open")))
    instance, copies, note = step.instance, [], short_text(note)
    urgency = instance.urgency or "一般"     # a 特急 document's copies are 特急 too
    for person in dict.fromkeys(people):
        if person in unread:
            continue
        copies.append(Task(id=str(uuid.uuid4()), kind="read", instance_id=instance_id, process_id=instance.process_id,
                           business_key=instance.business_key, title=instance.title, step_id="circulation",
                           step_name="传阅", lane="", role="reader", assignee=person, owner=actor.id,
                           created_at=step.now, urgency=urgency, priority=inbox.URGENCY.get(urgency, 0), state="open",
                           pressed_count=0, note=note))
    session.add_all(copies)
    step.events.record("circulated", actor.id, step.now, {"to": [c.assignee for c in copies], "note": note},
                       instance_id)
    step.events.append_to(session)
    return copies


def _may_circulate(step: instances.Step, actor: Actor) -> bool:
    org = step.engine.runtime.org
    if actor.department == org.office_id or step.instance.started_by == actor.id:
        return True
    open_tasks = step.session.scalars(select(Task).where(Task.instance_id == step.instance.id, Task.state == "open",
                                                         Task.kind == "task"))
    return any(standing(step.session, step.engine.runtime, actor, row, step.now).may_act for row in open_tasks)


def mark_read(gf: Govflow, session: Session, actor: Actor, task_id: str, note: str = "") -> Task:
    row = session.get(Task, task_id)
    if row is None or row.kind != "read":
        raise NotFound("传阅件不存在")
    step = instances.open_step(gf, session, row.instance_id)
    row = session.get(Task, task_id, populate_existing=True)
    if row.assignee != actor.id:
        raise Forbidden("这不是您的传阅件")
    if row.state != "open":
        raise Conflict("已阅")
    row.state, row.completed_at, row.completed_by = "completed", step.now, actor.id
    step.events.record("read", actor.id, step.now, {"note": short_text(note)}, row.instance_id, row.id)
    step.events.append_to(session)
    return row


