"""消息: what tells a person that something concerns them. Notifications are derived from a step's own
events as the step appends them (``store.eventlog.OBSERVERS``), so the rows are written in the
step's transaction — the outbox: a step that rolls back leaves no message, a step that commits
leaves every one of them for the delivery worker (``delivery``) and the in-app 消息 list.

What concerns whom: a task assigned to them or offered to their group (a 督办事项 交办 to their
unit is the 签收 task of its 主办单位), 转办/委派/加签 to them, a task sent back (退回) to them,
催办 (by a person, or by the worker once a task is overdue), 逾期提级, 传阅 to read, the agenda of a
常务会议 they attend once it is settled, and a task due within a 工作日 (``due_soon``, from the
worker). Nobody is told of what they did themselves.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..people.access import CLASSIFIED
from ..store import eventlog
from ..store.models import Instance, Notification, OrganisationVersion, Task
from ..time.timeutil import chinese_moment, parse_moment

KINDS = {"assigned": "新待办", "offered": "组待办", "followup": "督办交办", "returned": "退回",
         "transferred": "转办", "delegated": "委派", "delegation_back": "委派交回", "addsign": "加签",
         "pressed": "催办", "overdue": "逾期催办",
         "escalated": "逾期提级", "circulated": "传阅", "meeting": "会议通知", "due_soon": "即将到期"}
SECRET_TEXT = "您有一件涉密待办"
FOLLOWUP = "decision_followup"
PAGE = 50


def install() -> None:
    """Derive notifications from every batch of events appended from now on (idempotent)."""
    if derive not in eventlog.OBSERVERS:
        eventlog.OBSERVERS.append(derive)


# -- derived from a step's events --------------------------------------------------------------------------
def derive(session: Session, items: list) -> None:
    humans = {item.actor for item in items if item.actor != "system"}
    returned = {item.instance_id: json.loads(item.payload) for item in items if item.type == "task_returned"}
    wanted: list[tuple] = []      # (kind, people, item, payload)
    for item in items:
        payload = json.loads(item.payload) if item.type in _WHO else None
        if payload is None and not (item.type == "service_task" and '"meeting.freeze"' in item.payload):
            continue
        if item.type == "service_task":
            kind, people, payload = "meeting", _meeting_members(session), {}
        else:
            kind, people = _WHO[item.type](payload)
        if item.type == "task_created":
            if item.instance_id in returned:
                kind, payload = "returned", {**payload, "reason": returned[item.instance_id].get("reason", "")}
            elif payload.get("step") == "acknowledge" and _process_of(session, item.instance_id) == FOLLOWUP:
                kind = "followup"
        elif item.type == "task_pressed" and payload.get("auto"):
            kind = "overdue"
        people = [p for p in dict.fromkeys(people) if p and p not in humans]
        if people:
            wanted.append((kind, people, item, payload))
    if not wanted:
        return
    rows = []
    for kind, people, item, payload in wanted:
        facts = _facts(session, item, payload)
        title, body, link = _text(kind, item, payload, facts)
        event_key = str(uuid.uuid4())
        rows += [{"id": str(uuid.uuid4()), "event_key": event_key, "person_id": person, "kind": kind,
                  "title": title[:300], "body": body[:2000], "link": link, "secret": facts.secret,
                  "instance_id": item.instance_id, "task_id": _task_link(item, payload),
                  "created_at": parse_moment(item.at), "read_at": None, "dispatched": False} for person in people]
    session.connection().execute(_INSERT, rows)


def _people(*keys):
    def read(payload: dict) -> list:
        found = []
        for key in keys:
            value = payload.get(key)
            found += value if isinstance(value, list) else [value]
        return found
    return read


_WHO = {
    "task_created": lambda p: ("assigned" if p.get("assignee") else "offered", _people("assignee", "candidates")(p)),
    "task_transferred": lambda p: ("transferred", _people("to")(p)),
    "task_delegated": lambda p: ("delegated", _people("to")(p)),
    "delegation_returned": lambda p: ("delegation_back", _people("to")(p)),
    "signer_added": lambda p: ("addsign", _people("person")(p)),
    "task_pressed": lambda p: ("pressed", _people("holders")(p)),
    "task_escalated": lambda p: ("escalated", _people("to")(p)),
    "circulated": lambda p: ("circulated", _people("to")(p)),
}
_INSERT = Notification.__table__.insert()


def _task_link(item, payload: dict) -> str | None:
    return payload.get("addsign_task") or item.task_id


@dataclass(frozen=True)
class Facts:
    """What a message says of its matter and step."""
    title: str
    step: str
    urgency: str
    due_at: datetime | None
    secret: bool


def _facts(session: Session, item, payload: dict) -> Facts:
    """Read from the step's own objects (the instance and the task rows it locked or changed are in
    the session already), so a step pays no query for its messages; a new task's step and deadline
    are in its task_created event."""
    matter = session.get(Instance, item.instance_id) if item.instance_id else None
    task = session.get(Task, item.task_id) if item.task_id and item.type != "task_created" else None
    if item.type == "task_created":
        step, due = payload.get("name", ""), parse_moment(payload["due"]) if payload.get("due") else None
    else:
        step, due = (task.step_name, task.due_at) if task is not None else ("", None)
    title = (matter.title if matter is not None else "") or (task.title if task is not None else "")
    urgency = matter.urgency if matter is not None else (task.urgency if task is not None else "")
    return Facts(title or "（无标题）", step, urgency or "", due, bool(matter and matter.secrecy in CLASSIFIED))


def _text(kind: str, item, payload: dict, facts: Facts) -> tuple[str, str, str]:
    """The title, the body and the link of a message, in the words of the inbox."""
    step = facts.step
    due = f"，办理时限 {chinese_moment(facts.due_at)}" if facts.due_at else ""
    link = f"/tasks/{_task_link(item, payload)}" if item.task_id else (
        f"/instances/{item.instance_id}" if item.instance_id else "/messages")
    urgent = f"【{facts.urgency}】" if facts.urgency not in ("", "一般") else ""
    note = payload.get("note") or payload.get("reason") or ""
    body = {
        "assigned": f"“{step}”已交您办理{due}",
        "offered": f"“{step}”已发至您所在的组，请认领办理{due}",
        "followup": f"督办事项已交办您单位，请签收{due}",
        "returned": f"“{step}”已退回您重新办理" + (f"：{note}" if note else ""),
        "transferred": f"“{step}”已转办给您" + (f"：{note}" if note else ""),
        "delegated": f"“{step}”已委派给您办理，办完请交回",
        "delegation_back": f"委派的“{step}”已交回您",
        "addsign": f"请对“{step}”签署加签意见",
        "pressed": f"“{step}”被催办（第 {payload.get('count', 1)} 次）" + (f"：{note}" if note else ""),
        "overdue": f"“{step}”已逾期，系统催办（第 {payload.get('count', 1)} 次）",
        "escalated": f"“{step}”逾期未办，请督促办理",
        "circulated": "请阅示" + (f"：{note}" if note else ""),
        "meeting": "常务会议议程已审定，请按时出席",
        "due_soon": f"“{step}”将于一个工作日内到期{due}",
    }[kind]
    if kind == "circulated":
        link = "/inbox?view=read"
    return f"{KINDS[kind]}：{urgent}{facts.title}", body, link


def _process_of(session: Session, instance_id) -> str | None:
    matter = session.get(Instance, instance_id) if instance_id else None
    return matter.process_id if matter is not None else None


def _meeting_members(session: Session) -> list[str]:
    document = session.scalar(select(OrganisationVersion.document).order_by(OrganisationVersion.version.desc())
                              .limit(1))
    return list((json.loads(document).get("meeting") or {}).get("members", [])) if document else []


# -- due within a 工作日 (the worker) ------------------------------------------------------------------------
def due_soon(session: Session, now: datetime, calendar, batch: int = 500) -> int:
    """A message for each open task due within one 工作日 of ``now`` not yet told: once per task
    and deadline (a deadline moved by a calendar change is told again)."""
    horizon = calendar.add_workdays(now, 1).at
    rows = session.scalars(select(Task).where(Task.state == "open", Task.kind != "read", Task.due_at > now,
                                              Task.due_at <= horizon).order_by(Task.due_at).limit(batch)
                           .with_for_update(skip_locked=True)).all()     # several workers: each task once
    if not rows:
        return 0
    told = set(session.execute(select(Notification.task_id, Notification.body).where(
        Notification.kind == "due_soon", Notification.task_id.in_([r.id for r in rows]))).all())
    from .inbox import candidates  # noqa: PLC0415 - the inbox imports nothing of this module
    made = 0
    for row in rows:
        facts = Facts(row.title or "（无标题）", row.step_name, row.urgency, row.due_at,
                      session.get(Instance, row.instance_id).secrecy in CLASSIFIED)
        title, body, link = _text("due_soon", _Item(row), {}, facts)
        if (row.id, body) in told:
            continue
        holders = [row.assignee] if row.assignee else candidates(session, row.id)
        key = str(uuid.uuid4())
        session.add_all(Notification(id=str(uuid.uuid4()), event_key=key, person_id=p, kind="due_soon", title=title,
                                     body=body, link=link, secret=facts.secret, instance_id=row.instance_id,
                                     task_id=row.id, created_at=now, dispatched=False) for p in holders)
        made += len(holders)
    return made


class _Item:
    def __init__(self, row: Task):
        self.task_id, self.instance_id = row.id, row.instance_id


# -- the 消息 list -------------------------------------------------------------------------------------------
def unread(session: Session, person: str) -> int:
    return session.scalar(select(func.count()).select_from(Notification).where(
        Notification.person_id == person, Notification.read_at.is_(None))) or 0


def listing(session: Session, person: str, only_unread: bool = False, limit: int = PAGE, offset: int = 0) -> dict:
    query = select(Notification).where(Notification.person_id == person)
    if only_unread:
        query = query.where(Notification.read_at.is_(None))
    rows = session.scalars(query.order_by(Notification.created_at.desc(), Notification.id)
                           .limit(limit).offset(offset)).all()
    return {"unread": unread(session, person), "items": [to_dict(n) for n in rows]}


def to_dict(n: Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "kind_name": KINDS.get(n.kind, n.kind), "title": n.title, "body": n.body,
            "link": n.link, "secret": n.secret, "instance_id": n.instance_id, "task_id": n.task_id,
            "created_at": n.created_at.isoformat(), "read": n.read_at is not None}


def mark_read(session: Session, person: str, now: datetime, notification_id: str | None = None) -> int:
    """Mark one message (or all) read; another person's message is not found."""
    query = update(Notification).where(Notification.person_id == person, Notification.read_at.is_(None))
    if notification_id is not None:
        owner = session.scalar(select(Notification.person_id).where(Notification.id == notification_id))
        if owner != person:
            raise NotFound("消息不存在")
        query = query.where(Notification.id == notification_id)
    return session.execute(query.values(read_at=now)).rowcount
