"""Who may see what. Administrators and auditors see everything; everyone else sees the instances
they started or took part in — held, claimed, completed or may claim a task of — counting the
people they currently act for (a substitute sees what the absent holder would). A task is visible
exactly when its instance is."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from .auth import Actor
from .models import Instance, Task, TaskCandidate
from .runtime import Runtime
from .substitution import away_at, principals_of


def sees_everything(actor: Actor) -> bool:
    return actor.has("admin") or actor.has("auditor")


def acting_people(session: Session, runtime: Runtime, actor: Actor, now: datetime) -> list[str]:
    """The actor and everyone they act for at ``now``."""
    away = away_at(session, now)
    return [actor.id, *(a.principal for a in principals_of(runtime.org, runtime.profile, away, actor.id))]


def visible_instances(actor: Actor, people: list[str]):
    """A condition on Instance: the instances ``actor`` (acting for ``people``) may see."""
    if sees_everything(actor):
        return True
    took_part = exists().where(Task.instance_id == Instance.id,
                               or_(Task.assignee.in_(people), Task.completed_by.in_(people), Task.owner.in_(people),
                                   Task.id.in_(select(TaskCandidate.task_id)
                                               .where(TaskCandidate.person_id.in_(people)))))
    return or_(Instance.started_by.in_(people), took_part)


def may_see_instance(session: Session, actor: Actor, people: list[str], instance_id: int) -> bool:
    return session.scalar(select(Instance.id).where(Instance.id == instance_id,
                                                    visible_instances(actor, people))) is not None
