"""Refused writes: a write the caller's role or standing does not allow (an auditor completing a
task, a clerk setting the calendar, anyone circulating a 涉密 document off its 分发范围), from the API
or the pages, recorded with who, what (method, endpoint, path), when and the reason given — for
auditors to read (``GET /api/v1/audit/refusals``, the 越权操作记录 page).

Why a table of its own and not the event chain: the chain is append-only by design (any update or
deletion is exactly what ``verify`` reports), so a flood of refusals written there could neither be
aggregated nor pruned and would grow it without bound; each append also queues on the chain head
that every real step takes, so whoever can send requests could slow everyone's work by being
refused. Here repeats are aggregated: one row per person, Shanghai day and kind of refusal (method,
endpoint, reason), counting them, with the first and latest moment and the latest path. A person gets
at most ``KINDS_PER_DAY`` kinds a day; past that, every further kind that day is folded into one row
(``OVERFLOW``). So a day adds at most (KINDS_PER_DAY + 1) rows per person of the organisation,
whatever the number of requests. The chain still learns of each new kind: the first refusal of a
kind in a day is also a chained ``write_refused`` event (so at most KINDS_PER_DAY + 1 per person a
day), and a database administrator cannot delete that someone tried without ``verify`` noticing; the
counts of repeats are kept here only.

The record is written in its own transaction after the refused one rolled back: the caller changes
nothing but this record, whose fields the server fills in (the path and reason cut to their columns).
"""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..store import eventlog, idempotency
from ..store.models import RefusedWrite
from ..time.timeutil import SHANGHAI, isoformat
from ..work.system import Govflow

KINDS_PER_DAY = 50
OVERFLOW = ("*", "*", "当日其余种类的越权操作（已超出单日记录种类上限，合并计数）")
EVENT = "write_refused"


def record(gf: Govflow, actor: str, method: str, endpoint: str, path: str, reason: str) -> None:
    """One refused write, in its own transaction (never the request's Idempotency-Key row: a retry of
    the same request must be judged again, not answered with this refusal)."""
    method, endpoint, path, reason = method[:10], (endpoint or "")[:100], path[:300], (reason or "")[:300]
    claim = idempotency.end()
    try:
        for attempt in (1, 2):
            try:
                with gf.store.write() as session:
                    _count(gf, session, actor[:40], method, endpoint, path, reason)
                return
            except IntegrityError:       # the same new kind, recorded by another request meanwhile
                if attempt == 2:
                    raise
    finally:
        if claim is not None:
            idempotency.begin(claim)


def _count(gf: Govflow, session: Session, actor: str, method: str, endpoint: str, path: str, reason: str) -> None:
    now = gf.now(session)
    day = now.astimezone(SHANGHAI).date()
    row = _row(session, actor, day, _kind(method, endpoint, reason))
    if row is None:
        kinds = session.scalar(select(func.count()).select_from(RefusedWrite)
                               .where(RefusedWrite.actor == actor, RefusedWrite.day == day))
        if kinds >= KINDS_PER_DAY:
            method, endpoint, reason = OVERFLOW
            row = _row(session, actor, day, _kind(*OVERFLOW))
    if row is not None:
        row.count, row.last_at, row.target = row.count + 1, now, path
        return
    session.add(RefusedWrite(actor=actor, day=day, kind=_kind(method, endpoint, reason), method=method,
                             endpoint=endpoint, reason=reason, target=path, first_at=now, last_at=now, count=1))
    session.flush()                      # a concurrent insert of this kind fails here, before the event
    eventlog.append(session, EVENT, actor, now, {"method": method, "endpoint": endpoint, "path": path,
                                                 "reason": reason})


def _row(session: Session, actor: str, day, kind: str) -> RefusedWrite | None:
    return session.scalar(select(RefusedWrite).where(RefusedWrite.actor == actor, RefusedWrite.day == day,
                                                     RefusedWrite.kind == kind).with_for_update())


def _kind(method: str, endpoint: str, reason: str) -> str:
    return hashlib.sha256("\x1f".join((method, endpoint, reason)).encode("utf-8")).hexdigest()


def listing(session: Session, since: datetime | None = None, actor: str | None = None,
            limit: int = 200, offset: int = 0) -> list[RefusedWrite]:
    """The latest refusals first."""
    stmt = select(RefusedWrite).order_by(RefusedWrite.last_at.desc(), RefusedWrite.id.desc())
    if since is not None:
        stmt = stmt.where(RefusedWrite.last_at >= since)
    if actor:
        stmt = stmt.where(RefusedWrite.actor == actor)
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def to_dict(row: RefusedWrite) -> dict:
    return {"actor": row.actor, "day": row.day.isoformat(), "method": row.method, "endpoint": row.endpoint,
            "path": row.target, "reason": row.reason, "count": row.count, "first_at": isoformat(row.first_at),
            "last_at": isoformat(row.last_at)}
