"""The JSON API under /api/v1: token login, then one view per operation. Views are thin: parse,
call a service in one transaction, answer. Errors become JSON in Chinese in one place.

Layer 11, a face: imports only ``audit`` and the layers below it."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from ..engine import forms
from ..errors import Forbidden, GovflowError, Unauthorized, ValidationFailed
from ..people.auth import Actor, actor_for, person_for_token
from ..store import database, idempotency
from ..work.system import Govflow
from .openapi import SCHEMAS

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC = {"api.login", "api.openapi", "api.health"}
READS = ("GET", "HEAD", "OPTIONS")
OWN_SESSION = {"api.logout", "api.logout_everywhere", "api.change_password"}   # writes an auditor may make
AUDITOR_READS_ONLY = "审计人员只能查阅，不能办理或更改"      # auditors read everything and change nothing


def gf() -> Govflow:
    return current_app.extensions["govflow"]


def actor() -> Actor:
    return g.actor


def require(*roles: str) -> Actor:
    """The current actor, if they hold one of ``roles``."""
    if not any(g.actor.has(r) for r in roles):
        names = {"admin": "管理员", "designer": "流程设计人员", "auditor": "审计人员", "staff": "工作人员"}
        raise Forbidden(f"需要{'或'.join(names.get(r, r) for r in roles)}权限")
    return g.actor


_BODIES = {name: forms.validator(schema) for name, schema in SCHEMAS.items()}


def body(schema: str) -> dict:
    """The request's JSON body, checked against the OpenAPI schema of that name."""
    data = request.get_json(silent=True)
    if data is None:
        raise ValidationFailed("请求体须为 JSON（Content-Type: application/json）",
                               [{"field": "body", "reason": "不是合法的 JSON"}])
    forms.validate(_BODIES[schema], data, what="请求")
    return data


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationFailed(f"参数 {name} 须为整数", [{"field": name, "reason": "须为整数"}]) from None
    if not low <= value <= high:
        raise ValidationFailed(f"参数 {name} 须在 {low} 到 {high} 之间", [{"field": name, "reason": "超出范围"}])
    return value


_BOOLEANS = {"0": False, "false": False, "no": False, "1": True, "true": True, "yes": True}


def bool_arg(name: str) -> bool:
    """``?name=true`` or ``false`` (1/0, yes/no); absent is false. Any other word, the empty one
    included, is refused: it used to read as false."""
    raw = request.args.get(name)
    if raw is None:
        return False
    raw = raw.lower()
    if raw not in _BOOLEANS:
        raise ValidationFailed(f"参数 {name} 须为 true 或 false", [{"field": name, "reason": "须为 true 或 false"}])
    return _BOOLEANS[raw]


@bp.before_request
def authenticate():
    key = request.headers.get("Idempotency-Key")
    if key is not None and request.method not in READS:
        idempotency.check_key(key)          # on every write, the public ones too: as documented
    if request.endpoint in PUBLIC:
        return
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise Unauthorized("请先登录（Authorization: Bearer 令牌）")
    system = gf()
    with system.store.read() as session:
        now, organisation = system.now_and_organisation(session)
        person = person_for_token(session, header[7:].strip(), now)
        g.actor = actor_for(organisation(), person)
    if g.actor.has("auditor") and request.method not in READS and request.endpoint not in OWN_SESSION:
        raise Forbidden(AUDITOR_READS_ONLY)
    return idempotent(g.actor.id, key)


def idempotent(person: str, key: str | None) -> Response | None:
    """A write sent with an Idempotency-Key (API header, or the pages' hidden field): the first
    answer again if this request was done before, else the key is claimed for its write
    transaction (``store/idempotency.py``)."""
    if request.method in READS or key is None:
        return None
    claim = idempotency.Claim(person, idempotency.check_key(key),
                              idempotency.fingerprint(request.method, request.full_path, request.get_data()))
    system = gf()
    with system.store.read() as session:
        done = idempotency.earlier(session, claim)
    if done is not None:
        headers = {"Idempotent-Replayed": "true", **({"Location": done.location} if done.location else {})}
        return Response(done.body, done.status, headers=headers, content_type=done.content_type)
    idempotency.begin(claim)
    return None


@bp.after_app_request
def remember_answer(response: Response) -> Response:
    """The answer of a write whose key row committed, kept for its retries (pages and API alike)."""
    claim = idempotency.end()
    if claim is not None and claim.written and response.status_code < 500 and not response.is_streamed:
        with gf().store.write() as session:
            idempotency.answer(session, claim, response.status_code, response.content_type,
                               response.headers.get("Location"), response.get_data())
    return response


@bp.teardown_app_request
def forget_claim(_error) -> None:
    idempotency.end()          # a request that failed before its answer leaves no claim to the next


@bp.get("/health")
def health():
    """What a load balancer or a monitor asks: 200, or 503 / 507 with the reason in words."""
    trouble = gf().store.health()
    if trouble is None:
        return jsonify({"status": "ok", "message": "数据库可以访问，磁盘未满"})
    return _answer(trouble, {"status": trouble.code})


@bp.errorhandler(GovflowError)
def govflow_error(err: GovflowError):
    return _answer(err)


def _answer(err: GovflowError, extra: dict | None = None):
    retry_after = getattr(err, "retry_after", None)
    headers = {"Retry-After": str(retry_after)} if retry_after else {}
    return jsonify({**(extra or {}), **err.to_dict()}), err.status, headers


@bp.errorhandler(DBAPIError)
def database_fault(err: DBAPIError):
    """The database unreachable (503 with Retry-After) or its disk full (507), in words; any other
    database error is a bug (500, logged)."""
    fault = database.fault(err)
    if fault is None:
        return unexpected(err)
    current_app.logger.warning("database fault: %s", err.orig)
    gf().store.noticed(fault)
    return _answer(fault)


_HTTP_MESSAGES = {404: "没有这个接口", 405: "该接口不支持此请求方法", 413: "请求体过大（上限 8 MB）",
                  415: "不支持的内容类型"}


@bp.errorhandler(HTTPException)
def http_error(err: HTTPException):
    """Also the application's handler for /api/ paths (an unknown route never reaches the blueprint)."""
    message = _HTTP_MESSAGES.get(err.code, "请求有误")
    return jsonify({"error": err.name.lower().replace(" ", "_"), "message": message}), err.code


@bp.errorhandler(Exception)
def unexpected(err: Exception):
    current_app.logger.exception("unexpected error")
    return jsonify({"error": "internal", "message": "服务器内部错误，已记录，请联系管理员"}), 500


from . import (  # noqa: E402,F401  (routes)
    audit,
    calendar,
    clock,
    decisions,
    files,
    followups,
    instances,
    login,
    meetings,
    notifications,
    org,
    processes,
    refusals,
    search,
    tasks,
)
