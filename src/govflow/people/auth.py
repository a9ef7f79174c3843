"""Accounts and API tokens. Passwords are hashed with scrypt (Werkzeug); tokens are random and
stored only as their SHA-256, so a copy of the database lets nobody log in. Logins are throttled per
account: after ``MAX_FAILURES`` failures within ``FAILURE_WINDOW`` the account takes no login (not
even the right password) until the oldest of them leaves the window. Failures are rows in the
database, so every app server and worker process counts the same ones."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import TooManyAttempts, Unauthorized, ValidationFailed
from ..store.models import Account, ApiToken, LoginFailure
from ..time.timeutil import chinese_moment
from .org import Organisation

_DUMMY_HASH = generate_password_hash("govflow-timing-equaliser")
MAX_FAILURES, FAILURE_WINDOW = 5, timedelta(minutes=15)


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    post: str
    department: str | None
    roles: frozenset[str]

    def has(self, role: str) -> bool:
        return role in self.roles

    def to_dict(self) -> dict:
        return {"id": self.id, "name": self.name, "post": self.post, "department": self.department,
                "roles": sorted(self.roles)}


# govflow itself: the worker, and processes started by other processes' steps.
SYSTEM = Actor("system", "系统", "system", None, frozenset())


def actor_for(org: Organisation, person_id: str) -> Actor:
    person = org.person(person_id)
    if person is None:
        raise Unauthorized("该账号不在当前组织机构中")
    return Actor(person.id, person.name, person.post, person.department, frozenset({"staff", *person.roles}))


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def set_password(session: Session, person_id: str, password: str) -> int:
    """A new password (changed or reset) ends every session of the person: a token issued under the
    old one, a browser's included, is what someone who learned the old password may hold. Returns how
    many tokens were revoked."""
    if len(password) < 4:
        raise ValidationFailed("密码至少 4 位", [{"field": "password", "reason": "过短"}])
    store_hash(session, person_id, hash_password(password))
    return revoke_all(session, person_id)


def store_hash(session: Session, person_id: str, password_hash: str) -> None:
    account = session.get(Account, person_id) or Account(person_id=person_id)
    account.password_hash, account.active = password_hash, True
    session.add(account)


def check_login(session: Session, person_id: str, password: str) -> bool:
    account = session.get(Account, person_id)
    if account is None or not account.active:
        check_password_hash(_DUMMY_HASH, password)   # same time whether or not the account exists
        return False
    return check_password_hash(account.password_hash, password)


def attempt_login(session: Session, username: str, password: str, now: datetime) -> bool:
    """``check_login`` under the throttle: a failure is recorded (the caller must commit it, so it
    answers the failure after its transaction), a success clears the account's failures."""
    username = username[:40]
    recent = session.scalars(select(LoginFailure.at).where(LoginFailure.username == username,
                                                           LoginFailure.at > now - FAILURE_WINDOW)
                             .order_by(LoginFailure.at.desc()).limit(MAX_FAILURES)).all()
    if len(recent) >= MAX_FAILURES:
        retry_at = recent[-1] + FAILURE_WINDOW
        raise TooManyAttempts(f"登录失败次数过多（{FAILURE_WINDOW.seconds // 60} 分钟内 {MAX_FAILURES} 次），"
                              f"请于 {chinese_moment(retry_at)} 后再试", int((retry_at - now).total_seconds()) + 1)
    if check_login(session, username, password):
        session.execute(delete(LoginFailure).where(LoginFailure.username == username))
        return True
    session.execute(delete(LoginFailure).where(LoginFailure.username == username,
                                               LoginFailure.at <= now - FAILURE_WINDOW))
    session.add(LoginFailure(username=username, at=now))
    return False


def issue_token(session: Session, person_id: str, now: datetime, hours: int) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=hours)
    session.add(ApiToken(token_hash=_digest(token), person_id=person_id, created_at=now, expires_at=expires))
    return token, expires


def person_for_token(session: Session, token: str, now: datetime) -> str:
    row = session.get(ApiToken, _digest(token))
    if row is None or row.expires_at <= now:
        raise Unauthorized("登录已失效，请重新登录")
    return row.person_id


def revoke_all(session: Session, person_id: str) -> int:
    """退出所有设备: every token of the person, API clients and browser sessions alike."""
    return session.execute(delete(ApiToken).where(ApiToken.person_id == person_id)).rowcount or 0


def live_tokens(session: Session, now: datetime) -> dict[str, int]:
    """How many unexpired tokens (signed-in devices) each person holds."""
    rows = session.execute(select(ApiToken.person_id, func.count()).where(ApiToken.expires_at > now)
                           .group_by(ApiToken.person_id))
    return {person: n for person, n in rows}


def revoke(session: Session, token: str) -> None:
    session.execute(delete(ApiToken).where(ApiToken.token_hash == _digest(token)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
