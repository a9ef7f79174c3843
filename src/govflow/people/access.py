"""Who may see which instance. A task is visible exactly when its instance is.

Everyone sees the instances they handle: started, or held, claimed, completed, were delegated or
may claim a task of (a 传阅 copy is such a task) — counting the people they currently act for (a
substitute sees what the absent holder would). Beyond that:

- staff (and heads) of a department see its instances (``Instance.department``: the 承办单位 or
  主办单位 its data names); a 分管领导 those of the departments of their portfolio;
- a 涉密 instance (密级 秘密, 机密 or 绝密) is seen only by those who handle it and those on its
  分发范围 (``distribution``: people, or whole departments, the drafter names): not by the rest of
  its department, not through a portfolio, not by administrators;
- auditors see everything, 涉密 included: an audit that cannot read a document cannot check it.
  What they read is logged (``audit.readings``), and they change nothing (``api.authenticate``);
- administrators see every instance that is not 涉密: they run the system, not the documents.

An instance's 密级 only ever rises with its data (a resubmission marked 无 does not declassify a
document that was 机密: 解密 is a formal act, not a form edit); its 分发范围 is the one its data
names now.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, delete, exists, false, or_, select, true, union
from sqlalchemy.orm import Session

from .. import profiles
from ..store.models import Distribution, Instance, Task, TaskCandidate
from .auth import Actor
from .org import Organisation
from .substitution import away_at, coordinated_by, principals_of

CLASSIFIED = ("秘密", "机密", "绝密")        # 密级 that restrict a document to its handlers and 分发范围
HIDDEN_TITLE = "涉密文件"                  # what the 发文登记簿 shows others of a 涉密 document


def sees_everything(actor: Actor) -> bool:
    """Auditors (and administrators, 涉密 instances aside) read every instance."""
    return actor.has("admin") or actor.has("auditor")


def acting_people(session: Session, org: Organisation, actor: Actor, now: datetime,
                  away: set[str] | None = None) -> list[str]:
    """The actor and everyone they act for at ``now`` (substitution as the organisation's profile has
    it); ``away``: who is away at ``now``, when the caller has read it already."""
    away = away_at(session, now) if away is None else away
    profile = profiles.load(org.profile_id)
    acting = [a.principal for a in principals_of(org, profile, away, actor.id)]
    # 巴州 十一: the 办公室主任 who coordinates sees the tasks; completing them stays the 区长's (work/tasks.standing)
    seen = [a.principal for a in coordinated_by(org, profile, away, actor.id)]
    return list(dict.fromkeys([actor.id, *acting, *seen]))


def handled_by(people: list[str], departments: set[str]):
    """A condition on Instance: ``people`` handle it, or it is distributed to them or their departments."""
    took_part = exists().where(Task.instance_id == Instance.id,
                               or_(Task.assignee.in_(people), Task.completed_by.in_(people), Task.owner.in_(people),
                                   Task.id.in_(select(TaskCandidate.task_id)
                                               .where(TaskCandidate.person_id.in_(people)))))
    distributed = exists().where(Distribution.instance_id == Instance.id,
                                 or_(and_(Distribution.kind == "person", Distribution.ref.in_(people)),
                                     and_(Distribution.kind == "department", Distribution.ref.in_(departments))))
    return or_(Instance.started_by.in_(people), took_part, distributed)


def _reach(org: Organisation, people: list[str]) -> tuple[set[str], set[str]]:
    """The departments ``people`` belong to, and those their portfolios cover."""
    persons = [p for p in map(org.person, people) if p is not None]
    return ({p.department for p in persons if p.department},
            {d for p in persons for d in p.portfolio})


def visible_instances(org: Organisation, actor: Actor, people: list[str]):
    """A condition on Instance: the instances ``actor`` (acting for ``people``) may see."""
    if actor.has("auditor"):
        return true()
    departments, portfolio = _reach(org, people)
    handled = handled_by(people, departments)
    if actor.has("admin"):
        return or_(Instance.secrecy == "", handled)
    reached = Instance.department.in_(departments | portfolio) if departments | portfolio else false()
    return or_(handled, and_(Instance.secrecy == "", reached))


def listed_instances(org: Organisation, actor: Actor, people: list[str]):
    """A condition on Instance: those whose existence ``actor`` may know of — the visible ones and the
    涉密 ones of their department or portfolio (listed in the 发文登记簿 under ``HIDDEN_TITLE``)."""
    if sees_everything(actor):
        return true()
    departments, portfolio = _reach(org, people)
    reached = Instance.department.in_(departments | portfolio) if departments | portfolio else false()
    return or_(handled_by(people, departments), reached)


def visible_among_many(org: Organisation, actor: Actor, people: list[str]):
    """``visible_instances`` written for filtering many rows (a search's matches): what ``people``
    handle is read once per query as sets of instance ids, from the indexes on the task columns,
    instead of looking at each row's tasks — a person handles a few thousand instances at most, a
    common word matches tens of thousands. None for those who see every instance."""
    if actor.has("auditor"):
        return None
    departments, portfolio = _reach(org, people)
    handled = or_(Instance.started_by.in_(people), Instance.id.in_(union(
        select(Task.instance_id).where(Task.assignee.in_(people)),
        select(Task.instance_id).where(Task.completed_by.in_(people)),
        select(Task.instance_id).where(Task.owner.in_(people)),
        select(Task.instance_id).join(TaskCandidate, TaskCandidate.task_id == Task.id)
        .where(TaskCandidate.person_id.in_(people)),
        select(Distribution.instance_id).where(or_(
            and_(Distribution.kind == "person", Distribution.ref.in_(people)),
            and_(Distribution.kind == "department", Distribution.ref.in_(departments)))))))
    if actor.has("admin"):
        return or_(Instance.secrecy == "", handled)
    reached = Instance.department.in_(departments | portfolio) if departments | portfolio else false()
    return or_(and_(Instance.secrecy == "", reached), handled)


def unless_all(org: Organisation, actor: Actor, people: list[str]):
    """``visible_instances``, or None for those who see every instance (no condition to apply)."""
    return None if actor.has("auditor") else visible_instances(org, actor, people)


def may_see_instance(session: Session, org: Organisation, actor: Actor, people: list[str], instance_id: int) -> bool:
    return session.scalar(select(Instance.id).where(Instance.id == instance_id,
                                                    visible_instances(org, actor, people))) is not None


def outside_distribution(session: Session, org: Organisation, instance: Instance, people: list[str]) -> list[str]:
    """Those of ``people`` a copy of a 涉密 ``instance`` (传阅) may not go to: neither handling it nor on its
    分发范围 (in person or by department), nor auditors. A copy makes its reader one who handles the
    instance, so circulating it must not widen the circle beyond those who may already see it. Each
    is judged as themselves, not through whom they act for: a substitution ends, the copy stays."""
    if instance.secrecy not in CLASSIFIED:
        return []
    refused = []
    for person_id in people:
        person = org.person(person_id)
        if person is None or "auditor" in person.roles:
            continue                                # unknown people are the caller's own error to report
        departments = {person.department} if person.department else set()
        if session.scalar(select(Instance.id).where(Instance.id == instance.id,
                                                    handled_by([person_id], departments))) is None:
            refused.append(person_id)
    return refused


# -- what an instance's data says about who may see it ----------------------------------------------------------
def label(session: Session, org: Organisation, instance: Instance, data: dict) -> None:
    """Keep the instance's department, 密级 and 分发范围 in step with its data (after every step)."""
    department = data.get("department") or data.get("lead_unit")
    if isinstance(department, str) and department in org.departments and department != instance.department:
        instance.department = department       # only when it changed: an equal assignment still costs a flush
    if data.get("secrecy") in CLASSIFIED and _rank(data["secrecy"]) > _rank(instance.secrecy):
        instance.secrecy = data["secrecy"]
    if isinstance(data.get("distribution"), dict):
        _distribute(session, org, instance, data["distribution"])


def _rank(secrecy: str) -> int:
    return CLASSIFIED.index(secrecy) + 1 if secrecy in CLASSIFIED else 0


def _distribute(session: Session, org: Organisation, instance: Instance, named: dict) -> None:
    wanted = {("department", d) for d in named.get("departments") or () if isinstance(d, str) and d in org.departments}
    wanted |= {("person", p) for p in named.get("people") or () if isinstance(p, str) and org.person(p)}
    stored = {tuple(row) for row in session.execute(select(Distribution.kind, Distribution.ref)
                                                    .where(Distribution.instance_id == instance.id))}
    if wanted == stored:
        return
    session.execute(delete(Distribution).where(Distribution.instance_id == instance.id))
    session.add_all(Distribution(instance_id=instance.id, kind=kind, ref=ref) for kind, ref in sorted(wanted))
