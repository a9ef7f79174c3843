"""Administration: loading the organisation, the 工作日 calendar's overrides and published years,
the demo/test clock. Each change is recorded in the event log."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..errors import ValidationFailed
from ..people import auth
from ..people.org import Organisation
from ..store import eventlog
from ..store.models import Account, CalendarDay, CalendarYear, OrganisationVersion, Revision
from .system import Govflow

MIN_YEAR, MAX_YEAR = 2000, 2100      # the years the calendar pages and the API answer for


def load_organisation(gf: Govflow, session: Session, org: Organisation, actor: str) -> int:
    """Make ``org`` the organisation in force; create accounts for its people (with the demo
    password where the file has one) and deactivate the accounts of people no longer in it."""
    now = gf.now(session)
    latest = session.scalar(select(OrganisationVersion.version).order_by(OrganisationVersion.version.desc()).limit(1))
    version = (latest or 0) + 1
    session.add(OrganisationVersion(version=version, document=json.dumps(org.to_dict(), ensure_ascii=False),
                                    loaded_at=now, loaded_by=actor))
    # One scrypt hash per distinct password of the file: demo files give everyone the same one,
    # and hashing it 45 times would only repeat ~70 ms of work per person.
    hashes: dict[str, str] = {}
    for person in org.people.values():
        account = session.get(Account, person.id)
        if person.password:
            if person.password not in hashes:
                hashes[person.password] = auth.hash_password(person.password)
            auth.store_hash(session, person.id, hashes[person.password])
        elif account is not None:
            account.active = True
    session.execute(update(Account).where(Account.person_id.not_in(list(org.people))).values(active=False))
    eventlog.append(session, "organisation_loaded", actor, now,
                 {"version": version, "name": org.name, "profile": org.profile_id, "people": len(org.people),
                  "departments": len(org.departments)})
    return version


def set_calendar_day(gf: Govflow, session: Session, day: date, workday: bool, note: str, actor: str) -> None:
    row = session.get(CalendarDay, day) or CalendarDay(day=day)
    row.workday, row.note = workday, note[:100]
    session.add(row)
    _calendar_changed(session)
    eventlog.append(session, "calendar_changed", actor, gf.now(session),
                 {"day": day.isoformat(), "workday": workday, "note": note})


def load_calendar_year(gf: Govflow, session: Session, year: int, holidays: list[date], workdays: list[date],
                       source: str, actor: str) -> None:
    """Enter a year's official schedule (放假安排): its holidays and 调休 make-up working days. The
    year's other days follow the week. Once committed, ``instances.recompute_estimated_deadlines``
    moves the deadlines that were estimated."""
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValidationFailed(f"年份须在 {MIN_YEAR} 到 {MAX_YEAR} 之间", [{"field": "year", "reason": str(year)}])
    if not holidays:
        # Every published schedule has 元旦 and 春节: an empty one is a file cut short, and loading it
        # would turn the year's estimate into a calendar without holidays.
        raise ValidationFailed(f"{year} 年放假安排中没有任何假日：文件可能不完整，未作任何改动",
                               [{"field": "holidays", "reason": "至少应有元旦、春节等法定节假日"}])
    wrong = [d.isoformat() for d in [*holidays, *workdays] if d.year != year]
    if wrong:
        raise ValidationFailed(f"日期不属于 {year} 年", [{"field": "days", "reason": "、".join(wrong)}])
    both = set(holidays) & set(workdays)
    if both:
        raise ValidationFailed("同一天不能既是假日又是工作日", [{"field": "days", "reason": "、".join(map(str, both))}])
    for day in holidays:
        session.merge(CalendarDay(day=day, workday=False, note="法定节假日"))
    for day in workdays:
        session.merge(CalendarDay(day=day, workday=True, note="调休上班"))
    session.merge(CalendarYear(year=year, source=source[:200], loaded_at=gf.now(session)))
    _calendar_changed(session)
    eventlog.append(session, "calendar_year_loaded", actor, gf.now(session), {"year": year, "source": source,
                                                         "holidays": [d.isoformat() for d in holidays],
                                                         "workdays": [d.isoformat() for d in workdays]})


def _calendar_changed(session: Session) -> None:
    """Every process caches the calendar's rows: a new revision token makes them read them again."""
    token = uuid.uuid4().hex
    if not session.execute(update(Revision).where(Revision.name == "calendar").values(token=token)).rowcount:
        session.add(Revision(name="calendar", token=token))


def set_clock(gf: Govflow, session: Session, at: datetime, frozen: bool, actor: str) -> datetime:
    gf.clock.set(session, at, frozen)
    session.flush()
    now = gf.now(session)
    eventlog.append(session, "clock_set", actor, now, {"now": now.isoformat(), "frozen": frozen})
    return now


def advance_clock(gf: Govflow, session: Session, delta: timedelta, actor: str) -> datetime:
    now = gf.clock.advance(session, delta)
    eventlog.append(session, "clock_set", actor, now,
                 {"now": now.isoformat(), "advanced_seconds": delta.total_seconds()})
    return now
