"""议定事项督办 as records: each 督办事项 with its 督办编号, units, time limit and status, and the
entries of what happened to it (交办, 签收, reports, 延期, 核查, 销号). The decision_followup process
writes them inside its own steps (``runtime.followups``); the 督办台账 reads them (``ledger.py``).
"""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..store.models import FollowupEntry, FollowupItem, Instance, Task
from ..time.timeutil import SHANGHAI
from .numbering import Numbering, format_number

SOURCES = ("常务会议", "领导批示", "专题会议", "人大建议", "政协提案")
REPORT_STEP = "progress_report"     # the lead unit's report in decision_followup.bpmn


class Followups:
    def __init__(self, session: Session):
        self.session = session

    def register(self, fields: dict, instance_id: int, prefix: str, now: datetime) -> FollowupItem:
        """A new item, numbered 督办编号 in its year (no gaps: the number is taken in the step)."""
        year = now.astimezone(SHANGHAI).year
        number = format_number(prefix, year, Numbering(self.session).take(prefix, year))
        item = FollowupItem(number=number, instance_id=instance_id, status="assigned", reports=0, late_reports=0,
                            extensions=0, created_at=now, original_due_on=fields["due_on"],
                            assisting_units=json.dumps(fields["assisting_units"], ensure_ascii=False),
                            **{k: fields[k] for k in ("source", "source_ref", "meeting_id", "decision_item_id", "task",
                                                      "lead_unit", "leader", "due_on", "report_every_wd")})
        self.session.add(item)
        self.session.flush()
        return item

    def for_instance(self, instance_id: int, for_update: bool = False) -> FollowupItem:
        stmt = select(FollowupItem).where(FollowupItem.instance_id == instance_id)
        item = self.session.scalars(stmt.with_for_update() if for_update else stmt).first()
        if item is None:
            raise NotFound("该流程没有对应的督办事项")
        return item

    def starter(self, instance_id: int) -> str:
        """Who set the item (started its process)."""
        return self.session.scalar(select(Instance.started_by).where(Instance.id == instance_id))

    def for_decision(self, decision_item_id: int) -> FollowupItem | None:
        return self.session.scalars(select(FollowupItem).where(FollowupItem.decision_item_id == decision_item_id)
                                    ).first()

    def reported_at(self, instance_id: int, default: datetime) -> datetime:
        """When the lead unit sent this round's report (the round closes when the last assisting
        unit has sent its part too)."""
        sent = self.session.scalar(select(func.max(Task.completed_at)).where(
            Task.instance_id == instance_id, Task.step_id == REPORT_STEP, Task.state == "completed"))
        return sent or default

    def note(self, item: FollowupItem, kind: str, at: datetime, text: dict, late: bool = False) -> None:
        self.session.add(FollowupEntry(item_id=item.id, kind=kind, at=at, late=late,
                                       text=json.dumps(text, ensure_ascii=False)))

    def entries(self, item_id: int) -> list[FollowupEntry]:
        return list(self.session.scalars(select(FollowupEntry).where(FollowupEntry.item_id == item_id)
                                         .order_by(FollowupEntry.id)))

    def close(self, item: FollowupItem, now: datetime) -> None:
        item.status, item.closed_at = "closed", now


def closed_on_time(item: FollowupItem) -> bool | None:
    """Whether the lead unit finished within the limit (as extended): the day it applied for the
    销号 that was granted — the 督查 office's checking time is not the unit's. None while open."""
    if item.closed_at is None:
        return None
    finished = item.applied_at or item.closed_at
    return finished.astimezone(SHANGHAI).date() <= item.due_on


def units(item: FollowupItem) -> list[str]:
    return json.loads(item.assisting_units)
