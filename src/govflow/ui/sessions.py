"""退出所有设备 on the pages: a button for everyone (their own sessions), and the administrator's page
listing who is signed in where, with the same for any person."""
from __future__ import annotations

from flask import g, redirect, render_template, session, url_for

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
