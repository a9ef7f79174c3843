"""The pages people read in a browser: login (a session holding an API token, so it expires and is
revoked like one), the 督办台账 and its quarterly summary. Server-rendered; forms carry a CSRF token."""
from __future__ import annotations

import secrets
from datetime import date
from functools import wraps

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for

from . import auth, ledger
from .errors import GovflowError, Unauthorized
from .system import Govflow
from .timeutil import SHANGHAI

bp = Blueprint("ui", __name__)


def gf() -> Govflow:
    return current_app.extensions["govflow"]


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _check_csrf() -> None:
    sent = request.form.get("csrf", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        abort(400, "页面已过期，请刷新后重试")


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        system = gf()
        try:
            with system.store.read() as db:
                person = auth.person_for_token(db, session.get("token", ""), system.now(db))
                g.actor, g.org = auth.actor_for(system.organisation(db), person), system.organisation(db)
        except Unauthorized:
            session.pop("token", None)
            return redirect(url_for("ui.login", next=request.full_path))
        return view(*args, **kwargs)
    return wrapped


@bp.app_context_processor
def page_context() -> dict:
    return {"csrf_token": csrf_token, "user": g.get("actor"), "government": g.org.name if g.get("org") else ""}


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, system = None, gf()
    with system.store.read() as db:
        g.org = system.organisation(db)
    if request.method == "POST":
        _check_csrf()
        with system.store.write() as db:
            username = request.form.get("username", "").strip()
            if auth.check_login(db, username, request.form.get("password", "")):
                token, _ = auth.issue_token(db, username, system.now(db), system.settings.token_hours)
                session["token"] = token
                target = request.args.get("next", "")
                return redirect(target if target.startswith("/") and not target.startswith("//")
                                else url_for("ui.ledger_page"))
        error = "用户名或密码错误"
    return render_template("login.html", error=error), 401 if error else 200


@bp.post("/logout")
def logout():
    _check_csrf()
    with gf().store.write() as db:
        auth.revoke(db, session.pop("token", ""))
    return redirect(url_for("ui.login"))


@bp.get("/ledger")
@login_required
def ledger_page():
    system = gf()
    try:
        filters = _filters()
    except (ValueError, KeyError):
        abort(400, "筛选条件有误")
    with system.store.read() as db:
        runtime, now = system.runtime(db), system.now(db)
        entries = ledger.items(db, g.actor, runtime.org, filters, runtime.calendar, now)
    fmt = request.args.get("format")
    if fmt in ledger.MEDIA_TYPES:
        return ledger.download(ledger.export_items(entries, fmt), f"督办台账.{fmt}", fmt)
    units = sorted(runtime.org.departments.values(), key=lambda d: d.id)
    leaders = [p for p in runtime.org.people.values() if p.portfolio]
    return render_template("ledger.html", entries=entries, filters=filters, units=units, leaders=leaders,
                           statuses=ledger.STATUSES, today=now.astimezone(SHANGHAI).date())


@bp.get("/ledger/summary")
@login_required
def summary_page():
    system = gf()
    with system.store.read() as db:
        runtime, now = system.runtime(db), system.now(db)
        local = now.astimezone(SHANGHAI)
        year, quarter = _quarter(request.args.get("quarter"), local.date())
        data = ledger.summary(db, g.actor, runtime.org, year, quarter, runtime.calendar, now)
        recipients = runtime.profile.param("followup_quarterly_summary")
        titles = {**runtime.profile.titles, "portfolio_leader": f"分管{runtime.profile.titles.get('deputy', '副职')}"}
    fmt = request.args.get("format")
    title = ledger.period_title(runtime.org.name, year, quarter)
    if fmt in ledger.MEDIA_TYPES:
        return ledger.download(ledger.export_summary(data, fmt), f"{title}.{fmt}", fmt)
    report_to = "、".join(titles.get(p, p) for p in recipients.value) if recipients.is_set else None
    return render_template("summary.html", data=data, title=title, statuses=ledger.STATUSES, year=year,
                           quarter=quarter, report_to=report_to, article=recipients.article)


@bp.app_errorhandler(GovflowError)
def govflow_error(err: GovflowError):
    """A page's refusal in words (the API answers its own errors as JSON)."""
    return render_template("error.html", message=err.message), err.status


def _filters() -> ledger.Filters:
    args = request.args
    status = args.get("status") or None
    if status and status not in ledger.STATUSES:
        raise ValueError(status)
    meeting = int(args["meeting"]) if args.get("meeting") else None
    if meeting is not None and not 1 <= meeting <= 10**9:
        raise ValueError(meeting)
    return ledger.Filters(meeting=meeting,
                          unit=args.get("unit") or None, leader=args.get("leader") or None, status=status,
                          due_from=_day("due_from"), due_to=_day("due_to"))


def _day(name: str) -> date | None:
    return date.fromisoformat(request.args[name]) if request.args.get(name) else None


def _quarter(raw: str | None, today: date) -> tuple[int, int]:
    if not raw:
        return today.year, (today.month - 1) // 3 + 1
    return ledger.parse_quarter(raw) or abort(400, "季度须写作 2026Q4 的形式（2000 至 2099 年）")
