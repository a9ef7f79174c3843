"""The demo's day of work in flight: matters at several steps, one overdue, one sent back, a
meeting with its agenda and 督办 items, made by running the procedures as their people would —
each step through the same services the pages call, from a week ago up to now — so that every
page has something on it at first visit and the history, the events and the chain are real."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..people.auth import actor_for
from ..people.org import Organisation
from ..store.models import Task
from ..time.timeutil import SHANGHAI
from . import admin, inbox, instances, rewind, tasks, worker
from .system import Govflow

ACTOR = "demo"


class _Day:
    """The people of the example organisation, and their steps as services."""

    def __init__(self, gf: Govflow, org: Organisation):
        self.gf, self.org = gf, org
        led = {d: org.portfolio_leader(d) for d in org.departments}
        plain = [d for d, p in led.items() if p and p.post == "deputy" and not org.departments[d].duties]
        self.own, self.other = plain[0], next(d for d in plain[1:] if led[d].id != led[plain[0]].id)
        self.clerk = org.with_post("office_clerk", org.office_id)[0].id
        self.sender = org.with_post("dept_staff", self.own)[0].id
        self.own_head = org.with_post("dept_head", self.own)[0].id
        self.lead = led[self.own].id
        supervision = org.with_duty("督查")[0].id
        self.supervisor = next(p.id for p in org.people.values()
                               if p.department == supervision and p.post in ("dept_staff", "office_clerk"))

    def start(self, person: str, process_id: str, data: dict) -> int:
        with self.gf.store.write() as session:
            return instances.start(self.gf, session, self._actor(session, person), process_id, data).id

    def complete(self, person: str, instance_id: int, step: str, data: dict) -> None:
        with self.gf.store.write() as session:
            tasks.complete(self.gf, session, self._actor(session, person), self._task(session, instance_id, step),
                           data)

    def send_back(self, person: str, instance_id: int, step: str, to_step: str, reason: str) -> None:
        with self.gf.store.write() as session:
            rewind.send_back(self.gf, session, self._actor(session, person), self._task(session, instance_id, step),
                             to_step, reason)

    def open_steps(self, instance_id: int) -> list[Task]:
        with self.gf.store.read() as session:
            return list(session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == "open")))

    def _actor(self, session: Session, person: str):
        return actor_for(self.gf.organisation(session), person)

    def _task(self, session: Session, instance_id: int, step: str) -> str:
        return session.scalars(select(Task.id).where(Task.instance_id == instance_id, Task.step_id == step,
                                                     Task.state == "open").limit(1)).one()

    def document(self, title: str, **changes) -> dict:
        return {"doc_type": "请示", "title": title, "department": self.own, "urgency": "一般", "secrecy": "无",
                "category": "government_business", "issuer": "政府", "departments": [self.other],
                "body": f"{title.removeprefix('关于').removesuffix('的请示')}，妥否，请批示。",
                "signoff": {"signer": self.own_head, "meeting": "局务会议纪要〔2026〕3号"}, **changes}

    def advance(self, days: int = 0, hours: int = 0) -> None:
        with self.gf.store.write() as session:
            admin.advance_clock(self.gf, session, timedelta(days=days, hours=hours), ACTOR)
        worker.run_once(self.gf)


def seed(gf: Govflow, now: datetime) -> list[str]:
    """Run a week of work up to ``now`` (the clock then runs on from it); say what is in flight."""
    with gf.store.write() as session:
        org = gf.organisation(session)
        admin.set_clock(gf, session, _week_before(now), True, ACTOR)
    day = _Day(gf, org)

    # 督办: one item set a week ago whose first report is now overdue, one just set, to be 签收
    overdue = day.start(day.supervisor, "decision_followup", {
        "source": "领导批示", "source_ref": "区长批示件〔2026〕12号", "task": "整治城区主干道占道经营",
        "lead_unit": day.own, "assisting_units": [day.other], "due_on": _date(_week_before(now) + timedelta(days=3))})
    day.complete(day.sender, overdue, "acknowledge", {"responsible": "分管副局长负责，综合科经办",
                                                      "plan": "一周内摸排，两周内集中整治"})

    # 公文: at 办公室审核; past it and sent back by the 分管领导 with a reason; at the leaders' 会签
    at_review = day.start(day.sender, "document_approval", day.document("关于申请城区排水管网改造资金的请示"))
    day.complete(day.clerk, at_review, "receipt", {"received": True})
    returned = day.start(day.sender, "document_approval",
                         day.document("关于增设社区养老服务站点的请示", departments=[]))
    day.complete(day.clerk, returned, "receipt", {"received": True})
    day.complete(day.clerk, returned, "office_review", {"decision": "拟办", "opinion": "拟请分管领导审核后报签发"})
    day.advance(days=1)
    held = next(t for t in day.open_steps(returned) if t.step_id in ("leader_review", "signing"))
    day.send_back(held.assignee or day.lead, returned, held.step_id, "office_review",
                  "请补充站点选址和运营经费来源后再报")
    in_review = day.start(day.sender, "document_approval", day.document("关于老旧小区加装电梯补助资金的请示"))
    day.complete(day.clerk, in_review, "receipt", {"received": True})
    day.complete(day.clerk, in_review, "office_review", {"decision": "拟办", "opinion": "拟请有关领导会签"})

    with gf.store.write() as session:
        admin.set_clock(gf, session, now, False, ACTOR)       # from here on the clock runs
    worker.run_once(gf)                                       # what fell due in the week: 催办

    # 议题: approved today and placed on the next 常务会议, whose agenda the office is drafting; 督办: a
    # new item to 签收
    topic = day.start(day.sender, "topic_submission", {
        "title": "关于2027年城区学校建设资金安排的议题", "department": day.own, "request": "提请安排建设资金。",
        "categories": ["重大投资资金"], "departments": [], "materials": ["依据文件"]})
    while reviews := [t for t in day.open_steps(topic) if t.step_id == "review"]:
        day.complete(reviews[0].assignee, topic, "review", {"decision": "同意", "opinion": "同意提请常务会议审议"})
    late = [t for t in day.open_steps(topic) if t.step_id == "late"]
    if late:                        # submitted after the next meeting's deadline: the head lets it on
        day.complete(late[0].assignee, topic, "late", {"approved": True, "reason": "事关开学前开工，同意提交本次会议"})
    day.complete(day.sender, topic, "prep", {"materials_changed": False})

    day.start(day.supervisor, "decision_followup", {
        "source": "专题会议", "source_ref": "城区交通专题会议纪要〔2026〕5号", "task": "完成中心城区停车位改造方案",
        "lead_unit": day.other, "assisting_units": [], "due_on": _date(now + timedelta(days=20))})

    worker.run_once(gf)                                       # the meeting the topic is placed on is convened
    return in_flight(gf)


def in_flight(gf: Govflow) -> list[str]:
    """Each open task with its matter and who holds it: where to log in to find work."""
    with gf.store.read() as session:
        org, now = gf.organisation(session), gf.now(session)
        rows = session.scalars(select(Task).where(Task.state == "open").order_by(Task.instance_id, Task.created_at))
        lines = []
        for row in rows:
            holders = [row.assignee] if row.assignee else inbox.candidates(session, row.id)
            shown = "、".join(f"{org.display_name(p)} {p}" for p in holders[:3]) + ("等" if len(holders) > 3 else "")
            late = "，已逾期" if row.due_at and _aware(row.due_at) < now else ""
            lines.append(f"{row.title or row.process_id}：{row.step_name}（{shown}{late}）")
    return lines


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)     # SQLite hands back naive UTC


def _week_before(now: datetime) -> datetime:
    """09:00 on the Monday of the week before: a working day whatever today is."""
    local = now.astimezone(SHANGHAI) - timedelta(days=7)
    return (local - timedelta(days=local.weekday())).replace(hour=9, minute=0, second=0, microsecond=0)


def _date(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).date().isoformat()
