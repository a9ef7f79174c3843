"""``govflow worker``: fires due timers, presses (催办) overdue tasks and convenes planned meetings.
Several workers may run against one PostgreSQL database: each takes one due instance, a batch of
overdue tasks or one meeting at a time with ``FOR UPDATE SKIP LOCKED``, so nothing happens twice."""
from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import or_, select

from ..errors import Conflict, GovflowError
from ..store import anchor_files, eventlog
from ..store.eventlog import EventBatch
from ..store.models import Instance, Task, TaskCandidate
from ..time.timeutil import SHANGHAI, isoformat
from . import instances
from .convening import convene_planned
from .system import Govflow

log = logging.getLogger(__name__)
RETRY_AFTER = timedelta(minutes=15)
PRESS_EVERY = timedelta(days=1)       # an overdue task is pressed again each day it stays overdue


def run_once(gf: Govflow, limit: int = 1000) -> int:
    """One round: convene planned meetings, fire the due timers, then press the overdue tasks.
    Returns the timers fired."""
    convene_planned(gf)
    fired = fire_due_timers(gf, limit)
    press_overdue(gf)
    take_anchor(gf)
    return fired


def take_anchor(gf: Govflow) -> Path | None:
    """An anchor into the configured directory when one is due (``GOVFLOW_ANCHOR_MINUTES``). Over a
    broken chain none is written (an anchor vouches for what is before it) and the break is logged."""
    if not gf.settings.anchor_dir:
        return None
    with gf.store.read() as session:
        try:
            return anchor_files.write_if_due(session, Path(gf.settings.anchor_dir),
                                             timedelta(minutes=gf.settings.anchor_minutes), gf.now(session))
        except Conflict as broken:
            log.error("no anchor written: %s", broken.message)
            return None


def press_overdue(gf: Govflow, batch: int = 500) -> int:
    """催办 every open task past its deadline that was not pressed in the last day — on 工作日 only,
    so a task due on Friday is not pressed, or escalated, over the weekend."""
    with gf.store.write() as session:
        now = gf.now(session)
        if not gf.calendar(session).day(now.astimezone(SHANGHAI).date()).workday:
            return 0
        rows = session.scalars(select(Task).where(
            Task.state == "open", Task.kind != "read", Task.due_at < now,
            or_(Task.last_pressed_at.is_(None), Task.last_pressed_at <= now - PRESS_EVERY))
            .order_by(Task.due_at).limit(batch).with_for_update(skip_locked=True)).all()
        groups = _candidates(session, [row.id for row in rows if row.assignee is None])
        events = EventBatch()
        for row in rows:
            row.pressed_count += 1
            row.last_pressed_at = now
            holders = [row.assignee] if row.assignee else groups.get(row.id, [])
            events.record("task_pressed", "system", now, {"step": row.step_id, "auto": True, "count": row.pressed_count,
                                                          "holders": holders, "due": isoformat(row.due_at)},
                          row.instance_id, row.id)
            if row.escalate_after and row.escalated_at is None and row.pressed_count >= row.escalate_after:
                _escalate(session, row, now, events)
        events.append_to(session)
    return len(rows)


def _escalate(session, row: Task, now, events: EventBatch) -> None:
    """Still overdue after the presses the diagram allows: those the step names (e.g. the 分管领导)
    get a read copy telling them so (提级督办)."""
    row.escalated_at = now
    people = [p for p in (row.escalate_to or "").split(",") if p]
    note = f"“{row.step_name}”逾期未办，已催办 {row.pressed_count} 次，提请督促"
    session.add_all(Task(id=str(uuid.uuid4()), kind="read", instance_id=row.instance_id, process_id=row.process_id,
                         business_key=row.business_key, title=row.title, step_id="escalation", step_name="逾期提级督办",
                         lane="", role="reader", assignee=person, owner=None, created_at=now, urgency=row.urgency,
                         priority=row.priority, state="open", pressed_count=0, parent_task_id=row.id, note=note)
                    for person in people)
    events.record("task_escalated", "system", now, {"step": row.step_id, "to": people, "count": row.pressed_count},
                  row.instance_id, row.id)


def _candidates(session, task_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for task_id, person in session.execute(select(TaskCandidate.task_id, TaskCandidate.person_id)
                                           .where(TaskCandidate.task_id.in_(task_ids))):
        found.setdefault(task_id, []).append(person)
    return found


def fire_due_timers(gf: Govflow, limit: int = 1000) -> int:
    """Fire every due timer (up to ``limit`` instances); return the number of timers fired."""
    fired = 0
    for _ in range(limit):
        instance_id = None
        try:
            with gf.store.write() as session:
                instance_id = instances.claim_due_instance(session, gf.now(session))
                if instance_id is None:
                    break
                fired += instances.fire_timers(instances.open_step(gf, session, instance_id))
        except Exception as err:  # noqa: BLE001 - one broken instance must not stop the others' timers
            if instance_id is None:
                raise
            _postpone(gf, instance_id, err)
    return fired


def _postpone(gf: Govflow, instance_id: int, err: Exception) -> None:
    """A timer whose step fails (the diagram's code, a rule) is retried later; the failure is logged."""
    reason = err.message if isinstance(err, GovflowError) else f"{type(err).__name__}: {err}"
    log.warning("timer of instance %s failed: %s", instance_id, reason, exc_info=not isinstance(err, GovflowError))
    with gf.store.write() as session:
        now = gf.now(session)
        session.get(Instance, instance_id).next_timer_at = now + RETRY_AFTER
        eventlog.append(session, "timer_failed", "system", now, {"reason": reason, "retry_after_minutes": 15},
                     instance_id)


def run_forever(gf: Govflow, interval: float, stop: threading.Event | None = None) -> None:
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            run_once(gf)
        except Exception:   # keep the worker alive; the next round retries
            log.exception("worker round failed")
        stop.wait(interval)
