"""Accounts and API tokens. Passwords are hashed with scrypt (Werkzeug); tokens are random and
stored only as their SHA-256, so a copy of the database lets nobody log in."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .errors import Unauthorized, ValidationFailed
from .models import Account, ApiToken
from .org import Organisation

_DUMMY_HASH = generate_password_hash("govflow-timing-equaliser")


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


def set_password(session: Session, person_id: str, password: str) -> None:
    if len(password) < 4:
        raise ValidationFailed("密码至少 4 位", [{"field": "password", "reason": "过短"}])
    store_hash(session, person_id, hash_password(password))


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


def revoke(session: Session, token: str) -> None:
    session.execute(delete(ApiToken).where(ApiToken.token_hash == _digest(token)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
