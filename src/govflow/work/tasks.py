"""Operations on a task in someone's inbox, each audited: claim/unclaim, complete, 转办 (hand
over), 委派 (delegate and get it back), 加签 (add a countersigner), comment, 催办 (press the
holder). Substitution applies: while a holder is away, the person the rules name acts for them,
and the task and its events say so (P1/P2, ``substitution``). Going back (退回, 撤回) is in
``rewind``, read-only copies (传阅) in ``circulation``."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..engine import forms
from ..engine.data import check_data
from ..errors import Conflict, Forbidden, NotFound, ValidationFailed
from ..people import access
from ..people.auth import Actor
from ..people.substitution import Acting, away_at, substitute_for
from ..store.models import Event, Task
from ..time.timeutil import chinese_moment, isoformat
from . import instances
from .inbox import candidates
from .instances import Step
from .system import Govflow

MAX_TEXT = 2000


@dataclass(frozen=True)
class Standing:
    """How the actor stands to a task."""
    may_act: bool
    acting: Acting | None = None

    @property
    def acting_for(self) -> str | None:
        return self.acting.principal if self.acting else None


def standing(session: Session, runtime, actor: Actor, row: Task, now) -> Standing:
    if row.assignee == actor.id:
        return Standing(True)
    holders = [row.assignee] if row.assignee else candidates(session, row.id)
    if row.assignee is None and actor.id in holders:
        return Standing(True)
    away = away_at(session, now)
    for holder in holders:
        acting = substitute_for(runtime.org, runtime.profile, away, holder)
        if acting and acting.substitute == actor.id:
            return Standing(True, acting)
    return Standing(False)


_ROW = select(Task).where(Task.id == bindparam("task"))     # every step: built once


def locked(gf: Govflow, session: Session, task_id: str) -> tuple[Step, Task]:
    first = session.scalars(_ROW, {"task": task_id}).first()
    if first is None:
        raise NotFound("任务不存在")
    step = instances.open_step(gf, session, first.instance_id)
    if gf.store.is_sqlite:       # the transaction began with BEGIN IMMEDIATE: nobody wrote since
        return step, first
    return step, session.get(Task, task_id, populate_existing=True)    # as it stands after the lock


def _open(step: Step, row: Task) -> None:
    if row.state == "completed":
        who = step.engine.runtime.org.display_name(row.completed_by)
        raise Conflict(f"该任务已于 {chinese_moment(row.completed_at)} 由{who}办理完毕，请勿重复提交")
    if row.state != "open":
        raise Conflict("该任务已撤销")


def acting_step(step: Step, actor: Actor, row: Task) -> Standing:
    _open(step, row)
    return _may_act(step, actor, row)


def _may_act(step: Step, actor: Actor, row: Task) -> Standing:
    stand = standing(step.session, step.engine.runtime, actor, row, step.now)
    if stand.may_act:
        return stand
    if _held(step.session, actor, row):
        holder = step.engine.runtime.org.display_name(row.assignee)
        raise Conflict(f"该任务已由{holder}办理（在您提交之前已被签收、转办或委派），请刷新待办")
    raise Forbidden("您不是该任务的办理人")


HANDOVERS = ("task_claimed", "task_transferred", "task_delegated")


def _held(session: Session, actor: Actor, row: Task) -> bool:
    """Whether the actor held the task until someone else took it (a claim, 转办 or 委派 that came
    first): their request lost a race — a conflict, not a lack of rights."""
    if actor.id in candidates(session, row.id):
        return True
    events = session.scalars(select(Event).where(Event.task_id == row.id, Event.type.in_(("task_created", *HANDOVERS)))
                             .where((Event.actor == actor.id) | (Event.type == "task_created")))
    return any(e.actor == actor.id or json.loads(e.payload).get("assignee") == actor.id for e in events)


def _record(step: Step, kind: str, actor: Actor, row: Task, payload: dict) -> None:
    step.events.record(kind, actor.id, step.now, {"step": row.step_id, **payload}, row.instance_id, row.id)
    step.events.append_to(step.session)


def _substitution_payload(stand: Standing) -> dict:
    if not stand.acting:
        return {}
    a = stand.acting
    return {"acting_for": a.principal, "rule": a.rule, "article": a.article}


# -- operations -------------------------------------------------------------------------------------------
def complete(gf: Govflow, session: Session, actor: Actor, task_id: str, data: dict, checked: bool = False) -> Task:
    """``checked``: the caller ran ``instances.check_completion`` before opening the transaction."""
    step, row = locked(gf, session, task_id)
    if row.kind == "read":
        raise Conflict("传阅件只需标记已阅")
    stand = acting_step(step, actor, row)
    if row.kind == "addsign":
        return _sign_added(step, row, actor, data)
    if row.owner is not None:
        raise Conflict(f"该任务由 {row.owner} 委派给 {row.assignee}，须先交回委派人（办结委派）再办理")
    added = _added_signatures(step, row)
    if row.assignee is None:     # instances.complete writes the claim with the completion
        step.events.record("task_claimed", actor.id, step.now, {"step": row.step_id, "auto": True},
                           row.instance_id, row.id)
    acting = _substitution_payload(stand)
    if acting:
        step.events.record("substitution", actor.id, step.now, acting, row.instance_id, row.id)
    instances.complete(step, row, actor, data, stand.acting_for, acting, added, checked)
    return row


# -- 加签 ----------------------------------------------------------------------------------------------------
ADDSIGN_FORM = {
    "title": "加签意见", "type": "object", "required": ["decision"], "additionalProperties": False,
    "properties": {"decision": {"type": "string", "title": "意见", "enum": ["同意", "不同意"]},
                   "opinion": {"type": "string", "title": "具体意见", "maxLength": 2000}},
}
_ADDSIGN = forms.validator(ADDSIGN_FORM)


def add_signer(gf: Govflow, session: Session, actor: Actor, task_id: str, person: str, note: str = "") -> Task:
    """加签: ``person`` must give an opinion before the task can be completed; the opinions go
    with the task's own submission (``added_signatures``)."""
    step, row = locked(gf, session, task_id)
    acting_step(step, actor, row)
    if row.kind != "task":
        raise Conflict("只能对流程任务加签")
    _check_person(step, person, row)
    if any(r.assignee == person for r in open_added(session, row)):
        raise Conflict(f"已向{step.engine.runtime.org.display_name(person)}加签")
    signer = Task(id=str(uuid.uuid4()), kind="addsign", parent_task_id=row.id, note=short_text(note),
                  instance_id=row.instance_id, process_id=row.process_id, business_key=row.business_key,
                  title=row.title, step_id=row.step_id, step_name=f"{row.step_name}（加签）", lane=row.lane,
                  role="addsign", form=None, assignee=person, owner=actor.id, created_at=step.now,
                  due_at=row.due_at, due_estimated=row.due_estimated, urgency=row.urgency, priority=row.priority,
                  state="open", pressed_count=0)
    session.add(signer)
    _record(step, "signer_added", actor, row, {"person": person, "note": signer.note, "addsign_task": signer.id})
    return signer


_TASKS = Task.__table__
_ADDED = select(_TASKS.c.id, _TASKS.c.state, _TASKS.c.assignee, _TASKS.c.completed_by, _TASKS.c.completed_at).where(
    _TASKS.c.parent_task_id == bindparam("task"), _TASKS.c.kind == "addsign", _TASKS.c.created_at >= bindparam("since"))


def _added(session: Session, row: Task) -> list:
    """This round's 加签 rows (read-only): a task reopened by 撤回 or 退回 starts with none."""
    session.flush()
    return list(session.connection().execute(_ADDED, {"task": row.id, "since": row.created_at}))


def open_added(session: Session, row: Task) -> list:
    return [r for r in _added(session, row) if r.state == "open"]


def _sign_added(step: Step, row: Task, actor: Actor, data: dict) -> Task:
    parent = step.session.get(Task, row.parent_task_id)
    if parent is None or parent.state != "open":
        raise Conflict("加签所属的任务已办结或撤销，无需再签")
    forms.validate(_ADDSIGN, data, "加签意见")
    row.state, row.completed_at, row.completed_by = "completed", step.now, actor.id
    _record(step, "addsign_completed", actor, row, {"data": data, "parent_task": row.parent_task_id})
    return row


def _added_signatures(step: Step, row: Task) -> dict:
    """The 加签 opinions, which go into the task's submission (refused while one is missing)."""
    signers = _added(step.session, row)
    waiting = [step.engine.runtime.org.display_name(r.assignee) for r in signers if r.state == "open"]
    if waiting:
        raise Conflict(f"加签人尚未签署意见：{'、'.join(waiting)}")
    if not signers:
        return {}
    opinions = {e.task_id: json.loads(e.payload)["data"] for e in step.session.scalars(
        select(Event).where(Event.type == "addsign_completed", Event.task_id.in_([r.id for r in signers])))}
    return {"added_signatures": [{"by": r.completed_by, "name": step.engine.runtime.org.display_name(r.completed_by),
                                  "at": isoformat(r.completed_at), **opinions.get(r.id, {})} for r in signers]}


def claim(gf: Govflow, session: Session, actor: Actor, task_id: str) -> Task:
    step, row = locked(gf, session, task_id)
    _open(step, row)
    if row.assignee is not None:
        raise Conflict(f"该任务已由{step.engine.runtime.org.display_name(row.assignee)}签收")
    stand = _may_act(step, actor, row)
    row.assignee = actor.id
    _record(step, "task_claimed", actor, row, _substitution_payload(stand))
    return row


def unclaim(gf: Govflow, session: Session, actor: Actor, task_id: str) -> Task:
    step, row = locked(gf, session, task_id)
    _open(step, row)
    if row.assignee is None and actor.id in candidates(session, row.id):
        raise Conflict("该任务已退回组待办")
    if row.assignee != actor.id:
        raise Forbidden("只有签收人可以退回组待办")
    if not candidates(session, row.id):
        raise Conflict("该任务直接指派给您，不能退回到组待办；如需他人办理请使用转办")
    row.assignee = None
    _record(step, "task_unclaimed", actor, row, {})
    return row


def transfer(gf: Govflow, session: Session, actor: Actor, task_id: str, to: str, reason: str = "") -> Task:
    """转办: the task becomes the other person's."""
    step, row = locked(gf, session, task_id)
    stand = acting_step(step, actor, row)
    if row.owner is not None:
        raise Conflict("委派中的任务不能转办：请先交回委派人")
    _check_person(step, to, row)
    previous = row.assignee
    row.assignee, row.owner = to, None
    _record(step, "task_transferred", actor, row,
            {"from": previous, "to": to, "reason": short_text(reason), **_substitution_payload(stand)})
    return row


def delegate(gf: Govflow, session: Session, actor: Actor, task_id: str, to: str, note: str = "") -> Task:
    """委派: the other person works on it and hands it back; the owner completes it."""
    step, row = locked(gf, session, task_id)
    stand = acting_step(step, actor, row)
    if row.owner is not None:
        raise Conflict("该任务已在委派中")
    _check_person(step, to, row)
    row.owner, row.assignee = row.assignee or actor.id, to
    _record(step, "task_delegated", actor, row, {"owner": row.owner, "to": to, "note": short_text(note),
                                                 **_substitution_payload(stand)})
    return row


def resolve(gf: Govflow, session: Session, actor: Actor, task_id: str, note: str = "",
            data: dict | None = None) -> Task:
    """The delegate hands the task back to its owner, with a note and, filled in the step's form, the
    opinion drafted for the owner (``data``): it is recorded under the delegate's name and the owner's
    form starts from it (``drafted``)."""
    step, row = locked(gf, session, task_id)
    _open(step, row)
    if row.owner is None and _last_delegation(session, row.id) == "delegation_returned":
        raise Conflict("该委派已被交回（可能是同时提交了两次），无需再次交回")
    if row.owner is None or row.assignee != actor.id:
        raise Forbidden("只有被委派人可以交回委派任务")
    payload = {"to": row.owner, "note": short_text(note)}
    if data is not None:
        checker = step.definition.validators.get(row.form or "")
        if checker is not None:
            forms.validate(checker, data)
        else:
            check_data(data, "表单数据")
        payload["data"] = data
    row.assignee, row.owner = row.owner, None
    _record(step, "delegation_returned", actor, row, payload)
    return row


def _last_delegation(session: Session, task_id: str) -> str | None:
    """The last 委派 event of a task: a hand-back that finds the task already handed back lost a
    race (409), it was not refused a right (403)."""
    return session.scalar(select(Event.type).where(Event.task_id == task_id,
                                                   Event.type.in_(("task_delegated", "delegation_returned")))
                          .order_by(Event.seq.desc()).limit(1))


def drafted(session: Session, row: Task) -> dict | None:
    """What the delegate filled in when handing the task back this round (None: nothing)."""
    if row.kind != "task" or row.owner is not None:
        return None
    last = session.scalars(select(Event).where(Event.task_id == row.id, Event.type.in_(
        ("task_created", "delegation_returned"))).order_by(Event.seq.desc()).limit(1)).first()
    return json.loads(last.payload).get("data") if last is not None and last.type == "delegation_returned" else None


def comment(gf: Govflow, session: Session, actor: Actor, task_id: str, text: str) -> Task:
    step, row = locked(gf, session, task_id)
    check_sees(step, actor, row.instance_id)
    if not text or not text.strip():
        raise ValidationFailed("意见不能为空", [{"field": "text", "reason": "不能为空"}])
    _record(step, "comment", actor, row, {"text": short_text(text)})
    return row


def press(gf: Govflow, session: Session, actor: Actor, task_id: str, note: str = "") -> Task:
    """催办: the holder sees the press (count and time) on the task in their inbox."""
    step, row = locked(gf, session, task_id)
    _open(step, row)
    check_sees(step, actor, row.instance_id)
    if not _may_press(step, actor, row):
        raise Forbidden("只有领导、办公室、督查部门或发起人可以催办")
    row.pressed_count += 1
    row.last_pressed_at = step.now
    holders = [row.assignee] if row.assignee else candidates(session, row.id)
    _record(step, "task_pressed", actor, row,
            {"holders": holders, "note": short_text(note), "count": row.pressed_count})
    return row


def check_sees(step: Step, actor: Actor, instance_id: int) -> None:
    """Acting on an instance one may not see is refused like seeing it (a 涉密 document's tasks
    are not pressed, commented on or circulated by the office or leaders off its 分发范围)."""
    people = access.acting_people(step.session, step.engine.runtime.org, actor, step.now)
    if not access.may_see_instance(step.session, step.engine.runtime.org, actor, people, instance_id):
        raise Forbidden("您无权查看该任务")


def _may_press(step: Step, actor: Actor, row: Task) -> bool:
    org = step.engine.runtime.org
    if actor.post in ("head", "executive_deputy", "deputy", "secretary_general") or actor.department == org.office_id:
        return True
    if actor.department and "督查" in org.departments[actor.department].duties:
        return True
    return step.instance.started_by == actor.id


def _check_person(step: Step, person_id: str, row: Task) -> None:
    if step.engine.runtime.org.person(person_id) is None:
        raise ValidationFailed("转交对象不存在", [{"field": "to", "reason": f"未知人员 {person_id}"}])
    if person_id == row.assignee:
        raise ValidationFailed("不能转交给当前办理人本人", [{"field": "to", "reason": "与当前办理人相同"}])


def short_text(text: str) -> str:
    text = (text or "").strip()
    if len(text) > MAX_TEXT:
        raise ValidationFailed(f"文字过长（上限 {MAX_TEXT} 字）", [{"field": "text", "reason": "过长"}])
    return text


# -- reading ----------------------------------------------------------------------------------------------
def history(session: Session, instance_id: int) -> list[dict]:
    """Completed steps, comments and presses of the instance, in order: the opinions so far."""
    kinds = ("task_completed", "comment", "task_pressed", "task_transferred", "task_delegated", "delegation_returned")
    events = session.scalars(select(Event).where(Event.instance_id == instance_id, Event.type.in_(kinds))
                             .order_by(Event.seq))
    return [{"type": e.type, "actor": e.actor, "at": e.at, "task_id": e.task_id, **json.loads(e.payload)}
            for e in events]
