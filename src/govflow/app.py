"""The application factory: the JSON API and the start page, on one Govflow system."""
from __future__ import annotations

from flask import Flask, Request, g, jsonify, render_template, render_template_string, request
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter
from werkzeug.wsgi import LimitedStream

from .audit import refusals
from .config import Settings
from .errors import NotFound, ValidationFailed
from .store.models import MAX_ID
from .ui import wants_json
from .work.system import Govflow


def create_app(settings: Settings | None = None, system: Govflow | None = None) -> Flask:
    system = system or Govflow(settings or Settings.from_env())
    if system.settings.mode == "production":
        system.store.check_durability()
        system.settings.check_sealing()
    app = Flask(__name__)
    app.request_class = GovflowRequest
    app.url_map.converters["int"] = RowId         # before the blueprints add their routes
    # a request body may be 8 MB, or an upload of the largest file the settings take and its form
    body_mb = max(8, system.settings.files_max_mb + 1)
    app.config.update(SECRET_KEY=system.settings.secret_key, MAX_CONTENT_LENGTH=body_mb * 1024 * 1024,
                      JSON_AS_ASCII=False, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_HTTPONLY=True,
                      SESSION_COOKIE_SECURE=system.settings.secure_cookies)
    app.session_interface = SessionCookies()
    if system.settings.trusted_proxies:
        # only then is X-Forwarded-Proto believed (request.is_secure): a client could send one itself
        n = system.settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n)
    app.json = GovflowJSON(app)
    app.json.ensure_ascii = False
    app.extensions["govflow"] = system

    from .api import bp as api
    from .api import http_error as api_http_error
    from .api.openapi import document
    app.register_blueprint(api)
    from .ui import bp as ui
    app.register_blueprint(ui)

    @app.get("/api/v1/openapi.json", endpoint="api.openapi")
    def openapi():
        return jsonify(document())

    @app.before_request
    def refuse_nul_characters():
        """PostgreSQL cannot store U+0000 in text, and its driver fails on one bound into a query: a
        NUL in a path, a query parameter or a form field is refused here, one in a JSON body by
        GovflowJSON."""
        if request.routing_exception is not None:
            return
        fields = [request.path, *request.args.keys(), *request.args.values()]
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            fields += [*request.form.keys(), *request.form.values(), *request.files.keys(),
                       *(upload.filename for upload in request.files.values())]
        if any(isinstance(text, str) and "\x00" in text for text in fields):     # a part may have no name
            raise ValidationFailed(NUL_REFUSED, [{"field": "request", "reason": "含 NUL 字符"}])

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if request.path.startswith("/api/"):
            return api_http_error(err)
        own = err.description if err.description != type(err).description else None    # abort(code, "…")
        message = own or _PAGE_ERRORS.get(err.code) or "请求有误"
        g.refused_because = message
        if wants_json():        # a page's script asked: it shows the message in its own words
            return jsonify({"message": message}), err.code
        return render_template("error.html", message=message), err.code

    @app.after_request
    def security_headers(response):
        """Every answer, page or API, in one place: no framing, no sniffing, no referrer to other
        sites, scripts only from govflow itself; nothing but the static files kept in caches."""
        response.headers.update(SECURITY_HEADERS)
        if not request.path.startswith(CACHEABLE):
            response.headers["Cache-Control"] = "no-store"
        return response

    @app.after_request
    def record_refused_write(response):
        """A write refused for the caller's role or standing (403), from the API or a page, is recorded
        for auditors (audit/refusals.py: what, how bounded, and why not in the event chain)."""
        actor = g.get("actor")
        if response.status_code == 403 and request.method not in READS and actor is not None:
            reason = g.get("refused_because") or _message_of(response) or _PAGE_ERRORS[403]
            try:
                refusals.record(system, actor.id, request.method, request.endpoint or "", request.path, reason)
            except Exception:  # noqa: BLE001 - the refusal stands even if its record cannot be written
                app.logger.exception("could not record a refused write")
        return response

    @app.get("/")
    def index():
        with system.store.read() as session:
            try:
                name = system.organisation(session).name
            except NotFound:
                name = "尚未载入组织机构（govflow init --org 组织机构.toml）"
            now = system.now(session)
        return render_template_string(_INDEX, name=name, now=now, mode=system.settings.mode)

    return app


# The pages load their scripts and styles from /static and /vendor (bpmn-js); bpmn-js and the
# templates set inline styles, and bpmn-js's font and icons are data: URIs.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
                           "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {"Content-Security-Policy": CONTENT_SECURITY_POLICY, "X-Content-Type-Options": "nosniff",
                    "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}
CACHEABLE = ("/static/", "/vendor/")


READS = ("GET", "HEAD", "OPTIONS")


def _message_of(response) -> str | None:
    if response.is_json and not response.is_streamed:
        body = response.get_json(silent=True)
        return body.get("message") if isinstance(body, dict) else None
    return None


class SessionCookies(SecureCookieSessionInterface):
    """The session cookie is Secure when the settings say the site is served over HTTPS, or when this
    request came over HTTPS (directly, or through a trusted proxy's X-Forwarded-Proto)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


class RowId(IntegerConverter):
    """``<int:…>`` in every route. A number past what an id column holds matches no route (404)
    instead of overflowing when it is bound into the query (a 500: SQLite's driver raised
    OverflowError past 2^63, PostgreSQL "integer out of range" past 2^31)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class GovflowRequest(Request):
    """A body sent without a Content-Length (chunked: gunicorn passes it on) is read up to
    MAX_CONTENT_LENGTH, and Werkzeug then hands over what it read as if it were the whole body: a
    50 MB upload would arrive cut at 8 MB. One that fills the limit is refused as too large."""

    def get_data(self, *args, **kwargs):
        data = super().get_data(*args, **kwargs)
        self._refuse_if_cut()
        return data

    def _load_form_data(self) -> None:
        super()._load_form_data()
        self._refuse_if_cut()

    def _refuse_if_cut(self) -> None:
        stream = self.stream
        if self.content_length is None and isinstance(stream, LimitedStream) and stream.is_exhausted:
            raise RequestEntityTooLarge()


class GovflowJSON(DefaultJSONProvider):
    """Request bodies nested deeper than Python's recursion limit (``[[[[…]]]]`` 10,000 levels, a few
    kilobytes) make the decoder raise RecursionError, which no caller expects: refuse them as input;
    and text holding U+0000, which PostgreSQL cannot store."""

    def loads(self, s, **kwargs):
        try:
            data = super().loads(s, **kwargs)
        except RecursionError:
            raise ValidationFailed("JSON 嵌套层数过深", [{"field": "body", "reason": "嵌套层数过深"}]) from None
        if _holds_nul(data):
            raise ValidationFailed(NUL_REFUSED, [{"field": "body", "reason": "含 NUL 字符"}])
        return data


NUL_REFUSED = "请求中含有 NUL 字符（\\u0000），不能接受"


def _holds_nul(data) -> bool:
    """Whether any text in parsed JSON, keys included, holds U+0000 (iterative: nesting is deep)."""
    pending = [data]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return False


_PAGE_ERRORS = {403: "您没有权限进行此操作", 404: "页面不存在", 405: "不支持此操作",
                413: "提交的内容过大（上限 8 MB）：流程图请精简后再提交，附件请压缩或分开上传"}
_INDEX = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>govflow · {{ name }}</title>
<style>body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;max-width:48rem;margin:3rem auto;color:#222}
h1{font-size:1.5rem}code{background:#f3f3f3;padding:.1rem .3rem}</style></head>
<body><h1>govflow · {{ name }}</h1>
<p>当前时间：{{ now.year }}年{{ now.month }}月{{ now.day }}日 {{ now.strftime('%H:%M') }}（{{ mode }} 模式）</p>
<p>接口文档：<a href="/api/v1/openapi.json"><code>/api/v1/openapi.json</code></a>。
登录：<code>POST /api/v1/auth/token</code>，之后以 <code>Authorization: Bearer 令牌</code> 访问。</p>
<p><a href="/login">登录</a>后办理待办、查看流程实例和台账、设计流程。</p>
</body></html>"""
