"""Service-level shortcuts for tests: deploy, start, find and complete tasks as a named person."""
from __future__ import annotations

from sqlalchemy import func, select

from govflow.bpmn.deploy import deploy
from govflow.people.auth import actor_for
from govflow.store.models import Event, Instance, Task
from govflow.work import instances, tasks
from govflow.work.inbox import candidates


def deploy_xml(system, xml: bytes, filename: str = "test.bpmn", forms: dict | None = None) -> dict:
    return deploy(system, xml, filename, "designer", forms)


def actor(system, person: str):
    with system.store.read() as session:
        return actor_for(system.organisation(session), person)


def start(system, person: str, process_id: str, data: dict) -> int:
    with system.store.write() as session:
        return instances.start(system, session, actor(system, person), process_id, data).id


def open_tasks(system, instance_id: int) -> list[Task]:
    with system.store.read() as session:
        return list(session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == "open")
                                    .order_by(Task.created_at, Task.step_id)))


def task(system, instance_id: int, step: str) -> Task:
    found = [t for t in open_tasks(system, instance_id) if t.step_id == step]
    assert len(found) == 1, f"expected one open {step}, found {[t.step_id for t in open_tasks(system, instance_id)]}"
    return found[0]


def complete(system, person: str, task_id: str, data: dict) -> Task:
    with system.store.write() as session:
        return tasks.complete(system, session, actor(system, person), task_id, data)


def holder(system, row: Task) -> str:
    """Someone who may act on the task: its assignee or its first candidate."""
    if row.assignee:
        return row.assignee
    with system.store.read() as session:
        return candidates(session, row.id)[0]


def instance(system, instance_id: int) -> Instance:
    with system.store.read() as session:
        return session.get(Instance, instance_id)


def count(system, model) -> int:
    with system.store.read() as session:
        return session.scalar(select(func.count()).select_from(model))


def events(system, instance_id: int | None = None, type_: str | None = None) -> list[Event]:
    with system.store.read() as session:
        stmt = select(Event).order_by(Event.seq)
        if instance_id is not None:
            stmt = stmt.where(Event.instance_id == instance_id)
        if type_:
            stmt = stmt.where(Event.type == type_)
        return list(session.scalars(stmt))


def workflow(system, instance_id: int):
    """The instance's workflow as the engine would restore it."""
    with system.store.read() as session:
        return instances.load(system, session, session.get(Instance, instance_id))
