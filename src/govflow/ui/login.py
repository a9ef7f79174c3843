"""Signing in and out, and the start page each kind of user lands on."""
from __future__ import annotations

from flask import g, redirect, render_template, request, session, url_for

from ..errors import TooManyAttempts
from ..people import auth
from . import bp, check_csrf, gf, login_required


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, system = None, gf()
    with system.store.read() as db:
        g.org = system.organisation(db)
    if request.method == "POST":
        check_csrf()
        try:
            with system.store.write() as db:
                username, now = request.form.get("username", "").strip(), system.now(db)
                if auth.attempt_login(db, username, request.form.get("password", ""), now):
                    session["token"], _ = auth.issue_token(db, username, now, system.settings.token_hours)
                    target = request.args.get("next", "")
                    return redirect(target if target.startswith("/") and not target.startswith("//")
                                    else url_for("ui.home"))
        except TooManyAttempts as refused:
            return render_template("login.html", error=refused.message), 429, {"Retry-After": str(refused.retry_after)}
        error = "用户名或密码错误"
    return render_template("login.html", error=error), 401 if error else 200


@bp.post("/logout")
@login_required
def logout():
    with gf().store.write() as db:
        auth.revoke(db, session.pop("token", ""))
    return redirect(url_for("ui.login"))


@bp.get("/home")
@login_required
def home():
    """Designers start in the designer, auditors in the instance list, everyone else in the inbox."""
    if g.actor.has("designer"):
        return redirect(url_for("ui.designer"))
    if g.actor.has("auditor"):
        return redirect(url_for("ui.instance_list"))
    return redirect(url_for("ui.inbox"))
