"""Who acts for whom while someone is away (请假/外出), by the jurisdiction's rules:

- P1: the 常务副区长 acts for the 区长 (all five); where the rules say so, the two may not be away
  at the same time (bazhou 第十条, ziyang 七十六).
- P2: AB角 partners act for each other; when both are away, bazhou lets the 区长 decide after the
  区政府办公室主任 has coordinated (the 办公室主任 sees the task, only the 区长 completes it) and
  ziyang has the 常务副市长 act. Where the rules set nothing, nobody is invented: the task stays
  with its holder and says that no substitute is provided.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, select
from sqlalchemy.orm import Session

from ..errors import NotFound, ValidationFailed
from ..profiles import Profile
from ..store.models import Leave
from .org import Organisation


@dataclass(frozen=True)
class Acting:
    principal: str
    substitute: str
    rule: str
    article: str
    coordinator: str = ""     # who coordinates before the substitute decides (巴州 十一: 区政府办公室主任)
    note: str = ""            # the article's words, where they name more than the substitute

    def to_dict(self, org: Organisation) -> dict:
        found = {"principal": self.principal, "principal_name": org.display_name(self.principal),
                 "substitute": self.substitute, "substitute_name": org.display_name(self.substitute),
                 "rule": self.rule, "article": self.article}
        if self.coordinator:
            found |= {"coordinator": self.coordinator, "coordinator_name": org.display_name(self.coordinator),
                      "note": self.note}
        return found


_LEAVE = Leave.__table__
_AWAY = select(_LEAVE.c.person_id).where(and_(_LEAVE.c.starts_at <= bindparam("moment"),
                                              _LEAVE.c.ends_at > bindparam("moment"), _LEAVE.c.cancelled.is_(False)))


def away_at(session: Session, moment: datetime) -> set[str]:
    """Who is away at ``moment`` (read on every inbox page and step: a Core statement, built once)."""
    return set(session.connection().scalars(_AWAY, {"moment": moment}))


def substitute_for(org: Organisation, profile: Profile, away: set[str], person_id: str) -> Acting | None:
    """The person who acts for ``person_id`` now, or None (present, or no rule provides one)."""
    person = org.person(person_id)
    if person is None or person_id not in away:
        return None
    if person.post == "head":
        acting = profile.param("acting_head")
        deputy = org.executive_deputy()
        if acting.is_set and deputy.id not in away:
            return Acting(person_id, deputy.id, "P1", acting.article)
        return None
    if person.post in ("deputy", "executive_deputy") and person.ab_partner:
        ab = profile.param("ab_roles")
        if not ab.is_set:
            return None
        if person.ab_partner not in away:
            return Acting(person_id, person.ab_partner, "P2", ab.article)
        return _both_away(org, profile, away, person_id)
    return None


def _both_away(org: Organisation, profile: Profile, away: set[str], person_id: str) -> Acting | None:
    rule = profile.param("both_ab_away")
    if not rule.is_set:
        return None
    target = org.head() if rule.value == "head_decides" else org.executive_deputy()
    if target.id in away or target.id == person_id:
        return None
    if rule.value == "head_decides":
        # 巴州 十一: 由区政府办公室主任协调，报区长决定 — the 办公室主任 sees the task, the 区长 decides it
        director = org.with_post("office_director", org.office_id) or org.with_post("office_director")
        if director:
            return Acting(person_id, target.id, "P2", rule.article, director[0].id,
                          f"互为AB角的领导同时外出：由{org.display_name(director[0].id)}协调，报"
                          f"{org.display_name(target.id)}决定（“{rule.quote}”）")
    return Acting(person_id, target.id, "P2", rule.article)


def coordinated_by(org: Organisation, profile: Profile, away: set[str], actor_id: str) -> list[Acting]:
    """The substitutions ``actor_id`` coordinates without deciding them (巴州 十一: the 办公室主任 sees
    the tasks of AB partners both away; the 区长 completes them)."""
    found = []
    for person_id in away:
        acting = substitute_for(org, profile, away, person_id)
        if acting and acting.coordinator == actor_id and acting.substitute != actor_id:
            found.append(acting)
    return found


def principals_of(org: Organisation, profile: Profile, away: set[str], actor_id: str) -> list[Acting]:
    """Everyone ``actor_id`` currently acts for."""
    found = []
    for person_id in away:
        acting = substitute_for(org, profile, away, person_id)
        if acting and acting.substitute == actor_id:
            found.append(acting)
    return found


def record_leave(session: Session, org: Organisation, profile: Profile, person_id: str, starts_at: datetime,
                 ends_at: datetime, reason: str, recorded_by: str) -> Leave:
    if org.person(person_id) is None:
        raise ValidationFailed("人员不存在", [{"field": "person", "reason": f"未知人员 {person_id}"}])
    if ends_at <= starts_at:
        raise ValidationFailed("结束时间须晚于开始时间", [{"field": "ends_at", "reason": "须晚于开始时间"}])
    _check_not_both_away(session, org, profile, person_id, starts_at, ends_at)
    leave = Leave(person_id=person_id, starts_at=starts_at, ends_at=ends_at, reason=reason[:200],
                  recorded_by=recorded_by, cancelled=False)
    session.add(leave)
    session.flush()
    return leave


def _check_not_both_away(session, org, profile, person_id, starts_at, ends_at) -> None:
    rule = profile.param("head_and_acting_not_both_away")
    pair = {org.head().id, org.executive_deputy().id}
    if not rule.is_set or person_id not in pair:
        return
    other = (pair - {person_id}).pop()
    overlap = session.scalar(select(Leave.id).where(
        Leave.person_id == other, Leave.cancelled.is_(False), Leave.starts_at < ends_at, Leave.ends_at > starts_at))
    if overlap is not None:
        raise ValidationFailed(f"{org.display_name(other)}同期已请假，两人不得同时离岗（{rule.article}）",
                               [{"field": "person", "reason": rule.article}])


def cancel_leave(session: Session, leave_id: int) -> Leave:
    leave = session.get(Leave, leave_id)
    if leave is None:
        raise NotFound("请假记录不存在")
    leave.cancelled = True
    return leave
