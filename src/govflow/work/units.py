"""The unit a matter is started in. A matter's 承办单位 / 发文单位 (``department`` of its start data)
decides who handles it and who sees it (people/access.py), so it is the starter's own unit, or the
unit of someone the starter acts for under AB角 substitution (people/substitution.py, P1/P2); a
分管领导 starts matters of the units of their portfolio (and of the absent leader's they act for):
naming another unit would put a matter in that unit's name and inbox without it. Two starters name
any unit: govflow's own steps (``SYSTEM``: a process started by another's step, which names the unit
its record says), and the government office (办公室), whose clerks register what the units send it
(收文登记 of a unit's 请示 or 公文 received on paper) — its 收文 is its part in every unit's matters."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from ..errors import Forbidden
from ..people.auth import SYSTEM, Actor
from ..people.substitution import away_at, principals_of
from ..records.runtime import Runtime

UNIT_FIELDS = ("department",)       # 承办单位 (请示, 议题), 发文单位 (公文): the start forms' field


def _units_of(org, people: list[str]) -> set[str]:
    """The units ``people`` belong to, and those a leader among them is 分管领导 of."""
    persons = [p for p in map(org.person, people) if p is not None]
    if any(p.post == "head" for p in persons):          # 区长 (or the one acting for them, P1): 主持全面工作
        return set(org.departments)
    return {p.department for p in persons if p.department} | {d for p in persons for d in p.portfolio}


def check_start_unit(session: Session, runtime: Runtime, actor: Actor, data: dict, now: datetime) -> None:
    org = runtime.org
    for field in UNIT_FIELDS:
        unit = data.get(field)
        if actor.id == SYSTEM.id or not isinstance(unit, str) or unit not in org.departments:
            continue                        # an unknown unit is the form's to refuse
        if actor.department in (unit, org.office_id):
            continue
        acting = principals_of(org, runtime.profile, away_at(session, now), actor.id)
        if unit in _units_of(org, [actor.id, *(a.principal for a in acting)]):
            continue
        own = org.departments[actor.department].name if actor.department in org.departments else "未隶属任何单位"
        raise Forbidden(f"只能以本人所在单位、分管单位（或代为办理的 AB 角的单位）发起事项：您所在单位为{own}，"
                        f"不能以{org.departments[unit].name}的名义发起",
                        [{"field": field, "reason": f"不是本人所在单位：{org.departments[unit].name}"}])
