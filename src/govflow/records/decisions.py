"""重大行政决策 as records (Procedure 4, RULES-M.md): each decision a department flagged as major,
the record of every statutory step it went through (调查研究, 公众参与, 专家论证, 风险评估, the reviews,
征求意见, then 决策公布, 后评估…), and the topic that took it to the 常务会议.

The major_decision process writes them inside its own steps (``runtime.decisions``); the topic
process reads them when it checks its materials (T4), so a material is there because a step was
done, never because a box was ticked. Records are appended, never rewritten (M16 责任倒查)."""
from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import NotFound
from ..store.models import AgendaItem, DecisionItem, FollowupItem, MajorDecision
from ..time.timeutil import isoformat


class Decisions:
    def __init__(self, session: Session):
        self.session = session

    def register(self, instance_id: int, title: str, department: str, scope_item: str, scope_article: str,
                 now: datetime) -> MajorDecision:
        decision = MajorDecision(instance_id=instance_id, title=title[:200], department=department,
                                 scope_item=scope_item[:200], scope_article=scope_article[:200], status="preparing",
                                 records="{}", created_at=now, updated_at=now)
        self.session.add(decision)
        self.session.flush()
        return decision

    def get(self, decision_id, for_update: bool = False) -> MajorDecision:
        if not isinstance(decision_id, int) or isinstance(decision_id, bool):
            raise NotFound(f"重大行政决策 {decision_id!r} 不存在")
        stmt = select(MajorDecision).where(MajorDecision.id == decision_id)
        decision = self.session.scalars(stmt.with_for_update() if for_update else stmt).first()
        if decision is None:
            raise NotFound(f"重大行政决策 {decision_id} 不存在")
        return decision

    def for_instance(self, instance_id: int) -> MajorDecision:
        decision = self.session.scalars(select(MajorDecision).where(MajorDecision.instance_id == instance_id)).first()
        if decision is None:
            raise NotFound(f"流程 {instance_id} 没有重大行政决策记录")
        return decision

    def for_topic(self, topic_instance_id: int) -> MajorDecision | None:
        return self.session.scalars(select(MajorDecision)
                                    .where(MajorDecision.topic_instance_id == topic_instance_id)).first()

    def listed(self, department: str | None = None) -> list[MajorDecision]:
        stmt = select(MajorDecision).order_by(MajorDecision.id)
        if department:
            stmt = stmt.where(MajorDecision.department == department)
        return list(self.session.scalars(stmt))

    @staticmethod
    def records(decision: MajorDecision) -> dict:
        return json.loads(decision.records or "{}")

    def record(self, decision: MajorDecision, step: str, record: dict, now: datetime) -> None:
        """Append the record of ``step``; a step done again (after 退回) keeps its earlier rounds."""
        records = self.records(decision)
        rounds = records.setdefault(step, [])
        rounds.append({**record, "recorded_at": isoformat(now)})
        decision.records = json.dumps(records, ensure_ascii=False, sort_keys=True)
        decision.updated_at = now

    def status(self, decision: MajorDecision, status: str, now: datetime) -> None:
        decision.status, decision.updated_at = status, now

    # -- what the 常务会议 made of it (M12) and the 督办 items of its minutes (M15) ------------------------
    def heard(self, topic_instance_id: int) -> AgendaItem | None:
        """The agenda item on which the meeting decided the topic, if it has."""
        return self.session.scalars(select(AgendaItem).where(AgendaItem.topic_instance_id == topic_instance_id,
                                                             AgendaItem.status == "decided")
                                    .order_by(AgendaItem.id.desc())).first()

    def followups(self, agenda_item_id: int) -> list[dict]:
        """The decisions the signed minutes made of the item, each with its 督办 item (once opened)."""
        rows = self.session.execute(select(DecisionItem, FollowupItem)
                                    .outerjoin(FollowupItem, FollowupItem.decision_item_id == DecisionItem.id)
                                    .where(DecisionItem.agenda_item_id == agenda_item_id)
                                    .order_by(DecisionItem.sequence)).all()
        return [{"decision_item": d.id, "task": d.task, "lead_unit": d.lead_unit,
                 "followup": f.number if f else None, "followup_instance": f.instance_id if f else None,
                 "status": f.status if f else None} for d, f in rows]


def latest(records: dict, step: str) -> dict | None:
    """The last round of a step's record, or None when the step was not done."""
    rounds = records.get(step) or []
    return rounds[-1] if rounds else None
