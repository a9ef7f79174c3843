"""Logging in and out; who am I."""
from __future__ import annotations

from flask import jsonify, request

from ..errors import Unauthorized
from ..people import auth
from ..people.substitution import away_at, principals_of
from ..time.timeutil import isoformat
from ..work import inbox, sessions
from . import actor, body, bp, gf, require


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


@bp.delete("/auth/tokens")
def logout_everywhere():
    """退出所有设备: every token of the caller, this one included."""
    system, user = gf(), actor()
    with system.store.write() as session:
        revoked = sessions.sign_out_everywhere(system, session, user, user.id)
    return jsonify({"revoked": revoked, "message": f"已退出所有设备（{revoked} 处登录）"})


@bp.put("/me/password")
def change_password():
    """The caller's new password, given the current one (throttled like a login). Every earlier token
    ends; the answer carries a new one for this client."""
    data, system, user = body("ChangePassword"), gf(), actor()
    with system.store.write() as session:
        now = system.now(session)
        accepted = auth.attempt_login(session, user.id, data["old_password"], now)
        if accepted:
            revoked = sessions.set_password(system, session, user, user.id, data["new_password"])
            token, expires = auth.issue_token(session, user.id, now, system.settings.token_hours)
    if not accepted:          # after the commit: the failure counts towards the lockout
        raise Unauthorized("原密码错误")
    return jsonify({"token": token, "expires_at": isoformat(expires), "revoked": revoked,
                    "message": f"密码已修改，其他设备上的 {revoked} 处登录已退出"})


@bp.delete("/people/<person_id>/tokens")
def revoke_person_tokens(person_id: str):
    """An administrator signs a person out of every device (a lost phone, a departure)."""
    system, user = gf(), require("admin")
    with system.store.write() as session:
        revoked = sessions.sign_out_everywhere(system, session, user, person_id[:40])
    return jsonify({"revoked": revoked, "message": f"已使该人员退出所有设备（{revoked} 处登录）"})


@bp.put("/people/<person_id>/password")
def reset_password(person_id: str):
    """An administrator resets a person's password; every session of theirs ends."""
    data, system, user = body("ResetPassword"), gf(), require("admin")
    with system.store.write() as session:
        revoked = sessions.set_password(system, session, user, person_id[:40], data["password"])
    return jsonify({"revoked": revoked, "message": f"密码已重置，该人员的 {revoked} 处登录已退出"})


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
