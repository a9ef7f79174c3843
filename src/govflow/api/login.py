"""Logging in and out; who am I."""
from __future__ import annotations

from flask import jsonify, request

from ..errors import Unauthorized
from ..people import auth
from ..people.substitution import away_at, principals_of
from ..time.timeutil import isoformat
from ..work import inbox
from . import actor, body, bp, gf


@bp.post("/auth/token")
def login():
    data = body("Login")
    system = gf()
    with system.store.write() as session:
        now = system.now(session)
        accepted = auth.attempt_login(session, data["username"], data["password"], now)
        if accepted:
            user = auth.actor_for(system.organisation(session), data["username"])
            token, expires = auth.issue_token(session, user.id, now, system.settings.token_hours)
    if not accepted:          # after the commit: the failure counts
        raise Unauthorized("用户名或密码错误")
    return jsonify({"token": token, "expires_at": isoformat(expires), "user": user.to_dict()}), 201


@bp.delete("/auth/token")
def logout():
    with gf().store.write() as session:
        auth.revoke(session, request.headers["Authorization"][7:].strip())
    return "", 204


@bp.get("/me")
def me():
    system, user = gf(), actor()
    with system.store.read() as session:
        now, runtime = system.moment(session)
        acting = principals_of(runtime.org, runtime.profile, away_at(session, now), user.id)
        people = [user.id, *(a.principal for a in acting)]
        return jsonify({"user": user.to_dict(), "counts": inbox.counts(session, people, now),
                        "acting_for": [a.to_dict(runtime.org) for a in acting], "now": isoformat(now),
                        "government": runtime.org.name, "profile": runtime.profile.id})
