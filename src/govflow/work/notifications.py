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
            elif payload.get("step") == "acknowledge" and _process_of(session, item.instance_id) == "decision_followup":
                kind = "followup"
        elif item.type == "task_pressed" and payload.get("auto"):
            kind = "overdue"
        people = [p for p in dict.fromkeys(people) if p and p not in humans]
        if people:
            wanted.append((kind, people, item, payload))
    if not wanted:
        return
    tasks = _tasks(session, {item.task_id for _, _, item, _ in wanted if item.task_id})
    matters = _instances(session, {item.instance_id for _, _, item, _ in wanted if item.instance_id})
    rows = []
    for kind, people, item, payload in wanted:
        task, matter = tasks.get(item.task_id), matters.get(item.instance_id)
        title, body, link = _text(kind, item, payload, task, matter)
        secret = bool(matter and matter.secrecy in CLASSIFIED)
        event_key = str(uuid.uuid4())
        rows += [{"id": str(uuid.uuid4()), "event_key": event_key, "person_id": person, "kind": kind,
                  "title": title[:300], "body": body[:2000], "link": link, "secret": secret,
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


def _text(kind: str, item, payload: dict, task, matter) -> tuple[str, str, str]:
    """The title, the body and the link of a message, in the words of the inbox."""
    name = (task.title if task is not None else "") or (matter.title if matter is not None else "") or "（无标题）"
    step = task.step_name if task is not None else ""
    due = f"，办理时限 {chinese_moment(task.due_at)}" if task is not None and task.due_at else ""
    link = f"/tasks/{_task_link(item, payload)}" if item.task_id else (
        f"/instances/{item.instance_id}" if item.instance_id else "/messages")
    urgent = f"【{task.urgency}】" if task is not None and task.urgency not in ("", "一般") else ""
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
    return f"{KINDS[kind]}：{urgent}{name}", body, link


def _tasks(session: Session, ids: set) -> dict:
    if not ids:
        return {}
    t = Task.__table__
    rows = session.connection().execute(select(t.c.id, t.c.title, t.c.step_name, t.c.urgency, t.c.due_at)
                                        .where(t.c.id.in_(ids)))
    return {row.id: row for row in rows}


def _instances(session: Session, ids: set) -> dict:
    if not ids:
        return {}
    i = Instance.__table__
    rows = session.connection().execute(select(i.c.id, i.c.title, i.c.secrecy, i.c.process_id).where(i.c.id.in_(ids)))
    return {row.id: row for row in rows}


def _process_of(session: Session, instance_id) -> str | None:
    row = _instances(session, {instance_id}).get(instance_id)
    return row.process_id if row is not None else None


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
    matters = _instances(session, {r.instance_id for r in rows})
    made = 0
    for row in rows:
        _, body, link = _text("due_soon", _Item(row), {}, row, matters.get(row.instance_id))
        if (row.id, body) in told:
            continue
        holders = [row.assignee] if row.assignee else candidates(session, row.id)
        key = str(uuid.uuid4())
        secret = matters[row.instance_id].secrecy in CLASSIFIED
        title = _text("due_soon", _Item(row), {}, row, None)[0]
        session.add_all(Notification(id=str(uuid.uuid4()), event_key=key, person_id=p, kind="due_soon", title=title,
                                     body=body, link=link, secret=secret, instance_id=row.instance_id,
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
