"""退出所有设备 on the pages: a button for everyone (their own sessions), and the administrator's page
listing who is signed in where, with the same for any person; and one's own new password."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, session, url_for

from ..errors import TooManyAttempts, ValidationFailed
from ..people import auth
from ..work import sessions
from . import bp, gf, login_required, require_role


@bp.post("/logout/all")
@login_required
def logout_everywhere():
    with gf().store.write() as db:
        sessions.sign_out_everywhere(gf(), db, g.actor, g.actor.id)
    session.pop("token", None)
    return redirect(url_for("ui.login"))


@bp.get("/admin/sessions")
@login_required
def admin_sessions():
    require_role("admin")
    system = gf()
    with system.store.read() as db:
        live = auth.live_tokens(db, system.now(db))
    people = sorted((p for p in g.org.people.values() if p.id in live), key=lambda p: (p.department or "", p.id))
    return render_template("admin_sessions.html", people=people, live=live, departments=g.org.departments)


@bp.post("/admin/sessions/<person_id>/revoke")
@login_required
def admin_revoke_sessions(person_id: str):
    require_role("admin")
    with gf().store.write() as db:
        sessions.sign_out_everywhere(gf(), db, g.actor, person_id[:40])
    if person_id == g.actor.id:
        session.pop("token", None)
        return redirect(url_for("ui.login"))
    return redirect(url_for("ui.admin_sessions"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """One's own new password, given the current one (throttled like a login): every other session
    ends, this browser gets a new one."""
    error, status, system = None, 200, gf()
    if request.method == "POST":
        new, again = request.form.get("new_password", ""), request.form.get("new_password_again", "")
        if new != again:
            error, status = "两次输入的新密码不一致", 422
        else:
            try:
                with system.store.write() as db:
                    now = system.now(db)
                    accepted = auth.attempt_login(db, g.actor.id, request.form.get("old_password", "")[:200], now)
                    if accepted:
                        sessions.set_password(system, db, g.actor, g.actor.id, new[:200])
                        session["token"], _ = auth.issue_token(db, g.actor.id, now, system.settings.token_hours)
            except ValidationFailed as refused:
                error, status = refused.message, refused.status
            except TooManyAttempts as refused:
                error, status = refused.message, 429
            else:
                if accepted:
                    flash("密码已修改，其他设备上的登录均已退出")
                    return redirect(url_for("ui.change_password"))
                error, status = "原密码错误", 401
    return render_template("password.html", error=error), status
