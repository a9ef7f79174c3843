"""Idempotency keys: a write retried with the same key is answered as the first time, not done twice.

A client whose connection dropped while its step committed cannot tell whether the step was done.
It retries with the same ``Idempotency-Key``; the key's row is written *in the write transaction
itself* (``Store.write`` adds the claim of the request being served), so the row exists exactly
when the write committed. Once the answer is known it is stored on the row, and a retry gets that
answer back. A retry that finds the row without an answer (the first request is still running, or
its process died between the commit and the answer) is told so (409) and changes nothing. The
same key with another request is refused (422): it would otherwise answer one request with
another's result.
"""
from __future__ import annotations

import hashlib
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..errors import Conflict, ValidationFailed
from .models import IdempotentRequest

KEPT = timedelta(hours=24)          # how long a key answers (as long as a client might retry)
MAX_KEY = 100


@dataclass
class Claim:
    person: str
    key: str
    fingerprint: str
    written: bool = False           # its row committed with a write of this request


_claim: ContextVar[Claim | None] = ContextVar("govflow_idempotency_claim", default=None)


def fingerprint(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join((method.encode(), path.encode(), body))).hexdigest()


def check_key(key: str) -> str:
    if not 1 <= len(key) <= MAX_KEY or not all("!" <= c <= "~" for c in key):
        raise ValidationFailed(f"Idempotency-Key 须为 1 到 {MAX_KEY} 个可见 ASCII 字符（不含空格）",
                               [{"field": "Idempotency-Key", "reason": "格式不符"}])
    return key


def earlier(session: Session, claim: Claim) -> IdempotentRequest | None:
    """The row of an earlier request with this key, checked against this one: the same request
    answered (the caller replays it), or refused as another request or one not yet answered."""
    row = session.get(IdempotentRequest, (claim.person, claim.key))
    if row is None or row.created_at < _now() - KEPT:
        return None
    if row.fingerprint != claim.fingerprint:
        raise ValidationFailed("该 Idempotency-Key 已用于另一个请求（地址或内容不同），未作任何改动；"
                               "新的操作请换一个键", [{"field": "Idempotency-Key", "reason": "已用于另一个请求"}])
    if row.status is None:
        raise Conflict("带同一 Idempotency-Key 的请求已提交，正在办理或结果未能记录；请刷新查看办理结果，"
                       "未重复办理")
    return row


def begin(claim: Claim) -> None:
    _claim.set(claim)


def end() -> Claim | None:
    claim = _claim.get()
    _claim.set(None)
    return claim


def join(session: Session) -> Claim | None:
    """Called by ``Store.write`` at the start of each write transaction: the request's key row goes
    into the first one that commits (a transaction rolled back takes its row with it)."""
    claim = _claim.get()
    if claim is None or claim.written:
        return None
    session.execute(delete(IdempotentRequest).where(IdempotentRequest.person == claim.person,
                                                    IdempotentRequest.key == claim.key,
                                                    IdempotentRequest.created_at < _now() - KEPT))
    try:
        with session.begin_nested():
            session.execute(insert(IdempotentRequest).values(person=claim.person, key=claim.key,
                                                             fingerprint=claim.fingerprint, created_at=_now()))
    except IntegrityError:           # the same key, sent again while the first is being served
        raise Conflict("带同一 Idempotency-Key 的请求正在办理，未重复办理；请稍后刷新查看结果") from None
    return claim


def answer(session: Session, claim: Claim, status: int, content_type: str, location: str | None,
           body: bytes) -> None:
    session.execute(update(IdempotentRequest).where(IdempotentRequest.person == claim.person,
                                                    IdempotentRequest.key == claim.key)
                    .values(status=status, content_type=content_type, location=location, body=body))


def _now() -> datetime:
    # wall time, not govflow's settable clock: keys expire in real hours whatever the demo clock says
    return datetime.now(timezone.utc)
