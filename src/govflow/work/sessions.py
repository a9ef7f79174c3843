"""Passwords and sessions as people change them: a password changed by its owner or reset by an
administrator, and 退出所有设备 (for oneself, or by an administrator for anyone). Each ends every
token of the person (API clients and browser sessions alike: a page session holds a token) and is an
event of the chain, naming who did it to whom and how many sessions ended."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..errors import NotFound
from ..people import auth
from ..people.auth import Actor
from ..store import eventlog
from .system import Govflow


def sign_out_everywhere(gf: Govflow, session: Session, actor: Actor, person_id: str) -> int:
    """退出所有设备: revoke every token of ``person_id``; how many there were."""
    _known(gf, session, person_id)
    revoked = auth.revoke_all(session, person_id)
    eventlog.append(session, "sessions_revoked", actor.id, gf.now(session),
                    {"person": person_id, "tokens": revoked})
    return revoked


def set_password(gf: Govflow, session: Session, actor: Actor, person_id: str, password: str) -> int:
    """A new password: changed by its owner (who gave the old one) or reset by an administrator."""
    _known(gf, session, person_id)
    revoked = auth.set_password(session, person_id, password)
    eventlog.append(session, "password_changed" if actor.id == person_id else "password_reset", actor.id,
                    gf.now(session), {"person": person_id, "tokens": revoked})
    return revoked


def _known(gf: Govflow, session: Session, person_id: str) -> None:
    if gf.organisation(session).person(person_id) is None:
        raise NotFound("组织机构中没有此人")
