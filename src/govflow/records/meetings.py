"""The 常务会议 as records: meetings (numbered 第N次 within a year when they open), their agendas,
attendance, the outcome of each topic, the decision items of the signed minutes, and decisions
taken outside a meeting that the next one hears.

The topic and meeting processes reach this through ``runtime.meetings`` inside their own steps,
so a placement, an attendance sheet or a set of decision items commits with the step that made it.
The rules (which meeting a topic may go to, whether a meeting may open) are in ``rules.meeting``.
"""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound, ValidationFailed
from ..store.models import AgendaItem, Attendance, DecisionItem, EmergencyDecision, Instance, Meeting, Task
from ..time.timeutil import SHANGHAI, chinese_date
from .numbering import Numbering

CADENCE_DAYS = {"weekly": 7, "every_10_days": 10, "biweekly": 14, "1_to_2_per_month": 14}
OPEN_FOR_TOPICS = ("planned", "frozen")    # frozen (东昌): only a late topic the 区长 admits
MEETING_SEQUENCE = "常务会议"              # the 第N次 sequence, kept with the 发文字号 sequences


class Meetings:
    def __init__(self, session: Session):
        self.session = session

    # -- meetings ---------------------------------------------------------------------------------------------
    def create(self, at: datetime, government: str, actor: str, now: datetime) -> Meeting:
        """A meeting arranged by hand; one at a given time."""
        meeting = self._insert(at, government, actor, now)
        if meeting is None:
            raise Conflict(f"{chinese_date(at)}{at.astimezone(SHANGHAI):%H:%M} 已安排常务会议")
        return meeting

    def _insert(self, at: datetime, government: str, actor: str, now: datetime) -> Meeting | None:
        """Insert unless a meeting is already at ``at`` (two topics planning at once make one)."""
        insert = pg_insert if self.session.bind.dialect.name == "postgresql" else sqlite_insert
        values = dict(year=at.astimezone(SHANGHAI).year, title=f"{government}常务会议（{chinese_date(at)}）",
                      scheduled_at=at, status="planned", members=0, present=0, created_at=now, created_by=actor)
        meeting_id = self.session.scalar(insert(Meeting).values(**values)
                                         .on_conflict_do_nothing(index_elements=["scheduled_at"])
                                         .returning(Meeting.id))
        return None if meeting_id is None else self.session.get(Meeting, meeting_id)

    def number(self, meeting: Meeting, government: str) -> None:
        """第N次: meetings are counted as they are held, not as they were planned."""
        meeting.number = Numbering(self.session).take(MEETING_SEQUENCE, meeting.year)
        meeting.title = f"{government}{meeting.year}年第{meeting.number}次常务会议"

    def get(self, meeting_id: int, for_update: bool = False) -> Meeting:
        stmt = select(Meeting).where(Meeting.id == meeting_id)
        meeting = self.session.scalars(stmt.with_for_update() if for_update else stmt).first()
        if meeting is None:
            raise NotFound(f"会议 {meeting_id} 不存在")
        return meeting

    def upcoming(self, now: datetime, statuses: tuple[str, ...] = OPEN_FOR_TOPICS) -> list[Meeting]:
        return list(self.session.scalars(select(Meeting).where(Meeting.status.in_(statuses),
                                                               Meeting.scheduled_at > now)
                                         .order_by(Meeting.scheduled_at)))

    def next_after(self, meeting: Meeting) -> Meeting | None:
        """The next meeting still taking topics in the ordinary way (not one whose agenda is frozen)."""
        return next(iter(self.upcoming(meeting.scheduled_at, ("planned",))), None)

    def plan(self, cadence: dict | None, local: dict, calendar, government: str, now: datetime,
             count: int = 1) -> list[Meeting]:
        """``count`` more meetings on the profile's cadence after the last one ahead, on the local
        weekday and hour; a meeting that falls on a holiday moves to the next 工作日."""
        if not cadence:
            return []
        step = CADENCE_DAYS[cadence["kind"]]
        weekday = int(local.get("meeting_weekday", 3))
        hour, minute = (int(x) for x in local.get("meeting_time", "09:00").split(":"))
        planned = self.upcoming(now)
        day = planned[-1].scheduled_at.astimezone(SHANGHAI).date() if planned else now.astimezone(SHANGHAI).date()
        made = []
        for _ in range(count):
            day = _on_cadence(day, step, weekday) if planned or made else _next_weekday(day + timedelta(days=1),
                                                                                          weekday)
            while not calendar.day(day).workday:
                day += timedelta(days=1)
            meeting = self._insert(datetime.combine(day, time(hour, minute), SHANGHAI), government, "system", now)
            if meeting is not None:
                made.append(meeting)
        return made

    # -- agenda -----------------------------------------------------------------------------------------------
    def agenda(self, meeting_id: int) -> list[AgendaItem]:
        return list(self.session.scalars(select(AgendaItem).where(AgendaItem.meeting_id == meeting_id)
                                         .order_by(AgendaItem.position)))

    def place(self, meeting: Meeting, topic_instance_id: int, title: str, department: str,
              late_exception: str = "") -> AgendaItem:
        """The topic's one place on an agenda: a place it held before (scheduled again after a
        退回) is withdrawn."""
        self._lock_open(meeting)
        self.session.execute(update(AgendaItem).where(AgendaItem.topic_instance_id == topic_instance_id,
                                                      AgendaItem.status == "scheduled").values(status="withdrawn"))
        return self._add(meeting, kind="topic", topic_instance_id=topic_instance_id, title=title[:300],
                         department=department, late_exception=late_exception)

    def _lock_open(self, meeting: Meeting) -> None:
        current = self.get(meeting.id, for_update=True)
        if current.status not in OPEN_FOR_TOPICS:
            raise Conflict(f"{current.title}已召开或已流会，不能再列入议题")

    def _add(self, meeting: Meeting, **fields) -> AgendaItem:
        position = (self.session.scalar(select(func.max(AgendaItem.position))
                                        .where(AgendaItem.meeting_id == meeting.id)) or 0) + 1
        item = AgendaItem(meeting_id=meeting.id, position=position, status="scheduled", conclusion="", recused="[]",
                          decisions="[]", **{"late_exception": "", **fields})
        self.session.add(item)
        self.session.flush()
        return item

    def item_for(self, topic_instance_id: int) -> AgendaItem:
        """The topic's current place on an agenda."""
        item = self.session.scalars(select(AgendaItem).where(AgendaItem.topic_instance_id == topic_instance_id,
                                                             AgendaItem.status == "scheduled")).first()
        if item is None:
            raise Conflict("该议题尚未列入会议议程")
        return item

    def report_emergencies(self, meeting: Meeting) -> list[AgendaItem]:
        """T12: decisions taken outside a meeting go on the next agenda, to be reported."""
        pending = self.session.scalars(select(EmergencyDecision).where(EmergencyDecision.agenda_item_id.is_(None))
                                       .order_by(EmergencyDecision.id))
        items = []
        for decision in pending:
            item = self._add(meeting, kind="emergency_report", title=f"紧急处置事项报告：{decision.matter[:200]}")
            decision.agenda_item_id = item.id
            items.append(item)
        return items

    def move(self, item: AgendaItem, to: Meeting, due: dict[str, datetime] | None = None) -> AgendaItem:
        """Move an item to a later meeting; a topic's open tasks (``due``: step → new due date)
        follow the new meeting's date."""
        item.status = "moved"
        moved = self._add(to, kind=item.kind, topic_instance_id=item.topic_instance_id, title=item.title,
                          department=item.department)
        if item.kind == "emergency_report":
            self.session.execute(update(EmergencyDecision).where(EmergencyDecision.agenda_item_id == item.id)
                                 .values(agenda_item_id=moved.id))
        for step, at in (due or {}).items():
            self.session.execute(update(Task).where(Task.instance_id == item.topic_instance_id, Task.state == "open",
                                                    Task.step_id == step).values(due_at=at))
        return moved

    def waiting_for_hearing(self, item: AgendaItem) -> bool:
        """Whether the topic's 会议审议 task is open (else it was sent back, or it ended)."""
        return self.session.scalar(select(func.count()).select_from(Task).where(
            Task.instance_id == item.topic_instance_id, Task.state == "open", Task.step_id == "hearing")) > 0

    def topic_running(self, item: AgendaItem) -> bool:
        return self.session.scalar(select(Instance.status).where(Instance.id == item.topic_instance_id)) == "running"

    def record_emergency(self, matter: str, person: str, now: datetime) -> EmergencyDecision:
        decision = EmergencyDecision(matter=matter, decided_by=person, decided_at=now)
        self.session.add(decision)
        self.session.flush()
        return decision

    # -- the meeting ------------------------------------------------------------------------------------------
    def attendance(self, meeting: Meeting, present: list[str], absent: dict[str, str]) -> None:
        for person in present:
            self.session.merge(Attendance(meeting_id=meeting.id, person_id=person, present=True, leave_reason=""))
        for person, reason in absent.items():
            self.session.merge(Attendance(meeting_id=meeting.id, person_id=person, present=False,
                                          leave_reason=reason[:200]))
        meeting.present = len(present)

    def present(self, meeting_id: int) -> set[str]:
        return set(self.session.scalars(select(Attendance.person_id).where(Attendance.meeting_id == meeting_id,
                                                                           Attendance.present.is_(True))))

    def decide(self, item: AgendaItem, outcome: str, conclusion: str, recused: list[dict],
               decisions: list[dict]) -> None:
        item.status, item.outcome, item.conclusion = "decided", outcome, conclusion
        item.recused = json.dumps(recused, ensure_ascii=False)
        item.decisions = json.dumps(decisions, ensure_ascii=False)

    def sign_minutes(self, meeting: Meeting, decisions: list[dict], now: datetime) -> list[DecisionItem]:
        if self.session.scalar(select(func.count()).select_from(DecisionItem)
                               .where(DecisionItem.meeting_id == meeting.id)):
            raise Conflict("该次会议纪要已签发")
        items = [DecisionItem(meeting_id=meeting.id, agenda_item_id=d.get("agenda_item"), sequence=number,
                              task=d["task"], lead_unit=d["lead_unit"],
                              assisting_units=json.dumps(d.get("assisting_units", []), ensure_ascii=False),
                              due_on=date.fromisoformat(d["due_on"]), created_at=now)
                 for number, d in enumerate(decisions, start=1)]
        self.session.add_all(items)
        self.session.flush()
        meeting.status = "signed"
        return items


def _next_weekday(day: date, weekday: int) -> date:
    """The first ``weekday`` (1 = 周一 … 7 = 周日) on or after ``day``."""
    return day + timedelta(days=(weekday - 1 - day.weekday()) % 7)


def _on_cadence(last: date, step: int, weekday: int) -> date:
    """The meeting after ``last``. Weekly cadences keep their weekday, so a meeting moved by a
    holiday does not move all the later ones."""
    day = last + timedelta(days=step)
    return day - timedelta(days=(day.weekday() - (weekday - 1)) % 7) if step % 7 == 0 else day


def check_decisions(decisions: list[dict], departments: dict, not_before: date,
                    agenda_items: set[int] | None = None) -> list[dict]:
    """Each decision of the minutes lists its task, lead unit, assisting units and a time limit
    after the meeting; ``agenda_items``: the topics it may belong to."""
    problems = []
    for number, decision in enumerate(decisions, start=1):
        where, problem = f"decisions[{number - 1}]", _decision_problem
        if not (decision.get("task") or "").strip():
            problems.append(problem(where, "task", f"第 {number} 项决定未写明任务"))
        units = [decision.get("lead_unit"), *decision.get("assisting_units", [])]
        problems += [problem(where, "lead_unit", f"第 {number} 项决定的单位“{u}”不存在")
                     for u in units if u not in departments]
        if decision.get("lead_unit") in decision.get("assisting_units", []):
            problems.append(problem(where, "assisting_units", f"第 {number} 项决定的主办单位不能同时是协办单位"))
        try:
            if date.fromisoformat(decision.get("due_on") or "") < not_before:
                problems.append(problem(where, "due_on", f"第 {number} 项决定的办结时限早于会议日期"))
        except ValueError:
            problems.append(problem(where, "due_on", f"第 {number} 项决定未写明办结时限"))
        if agenda_items is not None and decision.get("agenda_item") not in (None, *agenda_items):
            problems.append(problem(where, "agenda_item", f"第 {number} 项决定所属议题不在本次会议议程中"))
    if problems:
        raise ValidationFailed("会议纪要的决定事项不完整：" + "；".join(p["reason"] for p in problems[:5]), problems)
    return decisions


def _decision_problem(where: str, field: str, reason: str) -> dict:
    return {"field": f"{where}.{field}", "reason": reason}
