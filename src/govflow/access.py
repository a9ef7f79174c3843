"""Who may see what. Administrators and auditors see everything; others see the instances they
started or took part in (held, claimed, completed or may claim a task of)."""
from __future__ import annotations

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from .auth import Actor
from .models import Instance, Task, TaskCandidate


def sees_everything(actor: Actor) -> bool:
    return actor.has("admin") or actor.has("auditor")


def visible_instances(actor: Actor):
    """A condition on Instance for the instances ``actor`` may see."""
    if sees_everything(actor):
        return True
    took_part = exists().where(Task.instance_id == Instance.id,
                               or_(Task.assignee == actor.id, Task.completed_by == actor.id, Task.owner == actor.id,
                                   Task.id.in_(select(TaskCandidate.task_id)
                                               .where(TaskCandidate.person_id == actor.id))))
    return or_(Instance.started_by == actor.id, took_part)


def may_see_instance(session: Session, actor: Actor, instance_id: int) -> bool:
    return session.scalar(select(Instance.id).where(Instance.id == instance_id, visible_instances(actor))) is not None
