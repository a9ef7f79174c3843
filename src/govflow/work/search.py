"""检索: one search over matters of every procedure — their titles, 文号/督办编号 (the business key and
the numbers operators wrote), every form field and opinion in their data (meeting minutes and their
decisions are forms of the meeting's process) — showing only what the person may see.

An instance's document is written by its step (``index``, from ``Step.write``), in the step's
transaction: a result never lags its matter, and a step that fails leaves the old document. The
text of attached files joins the document through ``attachments`` when file storage exists (issue 23
leaves it to the files helper: its extracted .docx/.pdf text is to be passed there).

A 涉密 matter outside one's handling never appears: the access condition is part of the query, so
it is in the count too, and snippets are cut only from the rows that passed it.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import ValidationFailed
from ..people import access
from ..people.auth import Actor
from ..people.org import Organisation
from ..store import fulltext
from ..store.models import Instance, ProcessVersion
from ..time.timeutil import SHANGHAI, isoformat
from .inbox import URGENCY
from .system import Govflow

STATUSES = {"running": "办理中", "completed": "已办结"}
SNIPPET = 40      # characters either side of the first hit
COUNT_CAP = 1000  # matches counted exactly; beyond, "1000 件以上" (nobody pages through more)


# -- the document -------------------------------------------------------------------------------------------
def document(instance: Instance, data: dict, org: Organisation, attachments: tuple[str, ...] = ()) -> str:
    """What is searched of an instance: its title and business key, then every text of its data
    (form fields, opinions, numbers operators wrote) once each, in order, then its files' text. A
    department's or a person's id reads as their name (教育局 finds what ``jyj`` leads); machine
    values (times, snake_case codes) are left out."""
    texts = [instance.title or "", instance.business_key or "", *map(lambda t: _named(org, t), _texts(data)),
             *attachments]
    return "\n".join(t for t in dict.fromkeys(texts) if t and not _MACHINE.match(t))


_MACHINE = re.compile(r"^(\d{4}-\d\d-\d\dT[\d:.]+([+-]\d\d:\d\d|Z)?|[a-z]+(_[a-z]+)+)$")


def _named(org: Organisation, value: str) -> str:
    if value in org.departments:
        return org.departments[value].name
    person = org.person(value) if len(value) <= 40 else None
    return person.name if person is not None else value


def _texts(value, depth: int = 0):
    if isinstance(value, str):
        yield value
    elif depth < 20 and isinstance(value, dict):
        for item in value.values():
            yield from _texts(item, depth + 1)
    elif depth < 20 and isinstance(value, list):
        for item in value:
            yield from _texts(item, depth + 1)


def index(session: Session, instance: Instance, data: dict, org: Organisation) -> str | None:
    """Write the instance's document when it changed; return its new digest (None: unchanged)."""
    body = document(instance, data, org)[:fulltext.MAX_DOCUMENT]
    digest = hashlib.sha256(body.encode("utf-8")).hexdigest()
    if digest == instance.search_digest:
        return None
    fulltext.replace(session, instance.id, body)
    return digest


# -- the query ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Query:
    text: str
    process_id: str | None = None
    status: str | None = None
    since: date | None = None
    until: date | None = None
    department: str | None = None
    urgency: str | None = None
    limit: int = 20
    offset: int = 0

    @classmethod
    def parse(cls, args, limit: int = 20, offset: int = 0) -> "Query":
        """From a request's arguments (the page's and the API's alike); a bad one is refused by name."""
        status, urgency = args.get("status") or None, args.get("urgency") or None
        if status is not None and status not in STATUSES:
            raise ValidationFailed("status 须为 running（办理中）或 completed（已办结）",
                                   [{"field": "status", "reason": status[:40]}])
        if urgency is not None and urgency not in URGENCY:
            raise ValidationFailed(f"紧急程度须为 {'、'.join(URGENCY)} 之一",
                                   [{"field": "urgency", "reason": urgency[:40]}])
        return cls(text=args.get("q") or "", process_id=args.get("process_id") or None, status=status,
                   since=_day(args, "from"), until=_day(args, "to"),
                   department=args.get("department") or None, urgency=urgency, limit=limit, offset=offset)


def _day(args, name: str) -> date | None:
    raw = args.get(name) or None
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"{'起始' if name == 'from' else '截止'}日期须为 YYYY-MM-DD",
                               [{"field": name, "reason": raw[:40]}]) from None


def search(gf: Govflow, session: Session, actor: Actor, query: Query) -> dict:
    """The matters ``actor`` may see whose document matches, newest first, with a snippet each."""
    analyzed = fulltext.Analyzed.of(query.text.strip())
    now, runtime = gf.moment(session)
    people = access.acting_people(session, runtime.org, actor, now)
    conditions = [Instance.id.in_(fulltext.matching(analyzed, gf.store.is_sqlite)),
                  *_filters(query)]
    within = access.visible_among_many(runtime.org, actor, people)
    if within is not None:
        conditions.append(within)
    # Newest first by id (ids grow with time): the page is read walking the matches backwards and
    # stops at its last row; the count stops at COUNT_CAP, so a common word costs what a rare one does.
    matched = select(Instance.id).where(*conditions).order_by(Instance.id.desc())
    total = session.scalar(select(func.count()).select_from(matched.limit(COUNT_CAP + 1).subquery()))
    rows = session.execute(select(Instance, ProcessVersion.name).join(
        ProcessVersion, ProcessVersion.id == Instance.process_version_id).where(*conditions)
        .order_by(Instance.id.desc()).limit(query.limit).offset(query.offset)).all()
    bodies = fulltext.bodies(session, [instance.id for instance, _ in rows])
    needles = analyzed.needles()
    org = runtime.org
    items = [{"id": i.id, "process_id": i.process_id, "process_name": name, "title": i.title,
              "business_key": i.business_key, "status": i.status, "status_name": STATUSES.get(i.status, i.status),
              "started_at": isoformat(i.started_at), "department": i.department,
              "department_name": org.departments[i.department].name if i.department in org.departments else "",
              "urgency": i.urgency, "secrecy": i.secrecy, "snippet": snippet(bodies.get(i.id, ""), needles)}
             for i, name in rows]
    return {"items": items, "total": min(total, COUNT_CAP), "more": total > COUNT_CAP}


def _filters(query: Query) -> list:
    found = []
    if query.process_id:
        found.append(Instance.process_id == query.process_id)
    if query.status:
        found.append(Instance.status == query.status)
    if query.department:
        found.append(Instance.department == query.department)
    if query.urgency:
        found.append(Instance.urgency == query.urgency)
    if query.since:      # days as people in 上海 count them
        found.append(Instance.started_at >= datetime.combine(query.since, time(), SHANGHAI))
    if query.until:
        found.append(Instance.started_at < datetime.combine(query.until + timedelta(days=1), time(), SHANGHAI))
    return found


def snippet(body: str, needles: list[str]) -> dict:
    """The text around the first hit: {"before", "hit", "after"} (the page marks ``hit``)."""
    text = unicodedata.normalize("NFKC", body)
    lowered = text.lower()
    for needle in needles:
        at = lowered.find(needle)
        if at >= 0:
            start, end = max(0, at - SNIPPET), at + len(needle)
            return {"before": ("…" if start else "") + _line(text[start:at]), "hit": text[at:end],
                    "after": _line(text[end:end + SNIPPET]) + ("…" if end + SNIPPET < len(text) else "")}
    return {"before": _line(text[:2 * SNIPPET]), "hit": "", "after": ""}


def _line(value: str) -> str:
    return " ".join(value.split())
