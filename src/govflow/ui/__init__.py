"""The pages people use in a browser, server-rendered: one module per area (login, inbox, tasks,
instances, designer, ledgers). A session holds an API token, so a page login expires and is revoked
like one; every form that changes something carries a CSRF token; each page shows a user only what
their role may see and do. Front-end packages (bpmn-js) come from npm at set-up time and are served
from ``node_modules`` by name, never committed.

Layer 12, a face: imports only ``api`` and the layers below it."""
from __future__ import annotations

import secrets
from datetime import date, datetime, timezone
from functools import wraps
from pathlib import Path
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from sqlalchemy.exc import DBAPIError

from ..api import AUDITOR_READS_ONLY, idempotent
from ..errors import GovflowError, Unauthorized
from ..people import auth
from ..store import database
from ..time.timeutil import chinese_date, chinese_moment, parse_moment
from ..work import notifications
from ..work.system import Govflow

bp = Blueprint("ui", __name__)
OWN_SESSION = ("ui.logout", "ui.logout_everywhere", "ui.change_password")     # the POSTs an auditor may send

# The npm files the pages load, by the name they use (npm ci puts them in node_modules).
VENDOR = {
    "bpmn-viewer.js": "bpmn-js/dist/bpmn-navigated-viewer.production.min.js",
    "bpmn-modeler.js": "bpmn-js/dist/bpmn-modeler.production.min.js",
    "bpmn-js.css": "bpmn-js/dist/assets/bpmn-js.css",
    "diagram-js.css": "bpmn-js/dist/assets/diagram-js.css",
    "bpmn-font.css": "bpmn-js/dist/assets/bpmn-font/css/bpmn-embedded.css",
}


def gf() -> Govflow:
    return current_app.extensions["govflow"]


def node_modules() -> Path:
    return gf().settings.home / "node_modules"


def vendor_installed() -> bool:
    return all((node_modules() / path).is_file() for path in VENDOR.values())


@bp.get("/vendor/<name>")
def vendor(name: str):
    if name not in VENDOR or not (node_modules() / VENDOR[name]).is_file():
        abort(404)
    return send_file(node_modules() / VENDOR[name], max_age=86400)


# -- the session ---------------------------------------------------------------------------------------------------
def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf") or request.headers.get("X-CSRF-Token", "")
    if not sent or not secrets.compare_digest(sent, session.get("csrf", "")):
        abort(400, "页面已过期，请刷新后重试")


def wants_json() -> bool:
    """A page's own script calling (JSON sent or asked for): its errors go back as JSON to show in place."""
    return request.is_json or request.accept_mimetypes.best == "application/json"


def login_required(view):
    """The signed-in person as ``g.actor`` (and ``g.org``); POSTs must carry the CSRF token."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        system = gf()
        try:
            with system.store.read() as db:
                now, organisation = system.now_and_organisation(db)
                person = auth.person_for_token(db, session.get("token", ""), now)
                g.org = organisation()
                g.actor = auth.actor_for(g.org, person)
                g.unread = notifications.unread(db, g.actor.id)       # the header's 消息 count
        except Unauthorized:
            session.pop("token", None)
            if wants_json():
                return jsonify({"message": "登录已过期：请在新窗口重新登录后再试（本页的修改仍在）"}), 401
            return redirect(url_for("ui.login", next=request.full_path))
        if request.method == "POST":
            check_csrf()
            if g.actor.has("auditor") and request.endpoint not in OWN_SESSION:
                abort(403, AUDITOR_STARTS_NOTHING if request.endpoint == "ui.start_process" else AUDITOR_READS_ONLY)
            # a form sent twice (a double click, a retry after the connection dropped) is done once
            replayed = idempotent(g.actor.id, request.form.get("idempotency_key"))
            if replayed is not None:
                return replayed
        return view(*args, **kwargs)
    return wrapped


AUDITOR_STARTS_NOTHING = "审计人员只能查阅，不能发起事项：公文、议题和督办事项由承办单位的工作人员发起"


def require_role(*roles: str) -> None:
    if not any(g.actor.has(r) for r in roles):
        abort(403)


@bp.app_context_processor
def page_context() -> dict:
    actor = g.get("actor")
    return {"csrf_token": csrf_token, "idempotency_key": lambda: secrets.token_urlsafe(18), "user": actor,
            "government": g.org.name if g.get("org") else "",
            "is_designer": bool(actor and (actor.has("designer") or actor.has("admin"))),
            "is_auditor": bool(actor and (actor.has("auditor") or actor.has("admin"))),
            "handed_by": HANDED_BY, "unread": g.get("unread", 0)}


HANDED_BY = {"task": "委派", "addsign": "加签", "read": "传阅"}     # what the owner of a row of each kind did


def _moment(value) -> datetime | None:
    if isinstance(value, str):
        return parse_moment(value) if value else None
    if isinstance(value, datetime) and value.tzinfo is None:     # SQLite hands back naive UTC
        return value.replace(tzinfo=timezone.utc)
    return value


@bp.app_template_filter("cn_date")
def cn_date(value) -> str:
    """2026年11月23日, from a datetime, a date or ISO text."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return f"{value.year}年{value.month}月{value.day}日"
    moment = _moment(value)
    return chinese_date(moment) if moment else ""


@bp.app_template_filter("cn_moment")
def cn_moment(value) -> str:
    """2026年11月23日 09:00."""
    moment = _moment(value)
    return chinese_moment(moment) if moment else ""


# Who acted when nobody of the organisation did: timers, the worker and a step's own service tasks;
# the demo's set-up; `govflow deploy` (its default --as).
NOT_PEOPLE = {"system": "系统", "demo": "演示程序", "cli": "命令行"}


@bp.app_template_filter("person")
def person_name(person_id: str | None) -> str:
    if person_id in NOT_PEOPLE:
        return NOT_PEOPLE[person_id]
    return g.org.display_name(person_id) if g.get("org") else (person_id or "")


def page_number(raw: str | None) -> int:
    """The ``page`` of a list's query string (1 when absent)."""
    raw = raw or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 100_000:
        abort(400, "页码有误")
    return int(raw)


@bp.app_template_filter("pager")
def pager(args, page: int) -> str:
    """The query string of the same list at another page."""
    return urlencode([(k, v) for k, v in args.items(multi=True) if k != "page"] + [("page", page)])


@bp.app_errorhandler(GovflowError)
def govflow_error(err: GovflowError):
    """A page's refusal in words (the API answers its own errors as JSON), as JSON to a page's script."""
    retry_after = getattr(err, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    g.refused_because = err.message          # for the record of a refused write (app.record_refused_write)
    if wants_json():
        return jsonify({"message": err.message, "problems": err.details}), err.status, headers
    return render_template("error.html", message=err.message), err.status, headers


@bp.app_errorhandler(DBAPIError)
def database_fault(err: DBAPIError):
    """A page met the database unreachable (503) or its disk full (507): said in words."""
    fault = database.fault(err)
    if fault is None:
        current_app.logger.exception("unexpected database error")
        return render_template("error.html", message="服务器内部错误，已记录，请联系管理员"), 500
    gf().store.noticed(fault)
    return govflow_error(fault)


from . import (  # noqa: E402,F401  (pages)
    audit,
    designer,
    files,
    inbox,
    instances,
    ledgers,
    login,
    messages,
    printouts,
    refusals,
    replay,
    search,
    sessions,
    start,
    tasks,
)
