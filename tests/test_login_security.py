"""Logins and pages: passwords stored as scrypt, logins throttled per account in the database (so
every app server counts the same failures), browser sessions that expire with their token, the CSRF
token on every form, and the security headers on every answer."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from conftest import Api, build_system
from govflow.app import CONTENT_SECURITY_POLICY, create_app
from govflow.config import Settings
from govflow.store.models import Account, LoginFailure
from govflow.work import admin
from govflow.work.system import Govflow


def advance(system, **delta) -> None:
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(**delta), "test")


def test_passwords_are_stored_as_scrypt_hashes(sqlite_system):
    with sqlite_system.store.read() as session:
        hashes = session.scalars(select(Account.password_hash)).all()
    assert hashes and all(h.startswith("scrypt:") for h in hashes)
    assert not any("demo" in h for h in hashes)


def test_five_failures_lock_the_account_for_fifteen_minutes_even_with_the_right_password(sqlite_system):
    api = Api(create_app(system=sqlite_system))

    def login(person: str, password: str):
        return api.client.post("/api/v1/auth/token", json={"username": person, "password": password})
    assert [login("shenkai", "guess").status_code for _ in range(5)] == [401] * 5
    refused = login("shenkai", "demo")
    assert refused.status_code == 429
    assert refused.get_json()["message"] == "登录失败次数过多（15 分钟内 5 次），请于 2026年11月23日 09:15 后再试"
    assert refused.headers["Retry-After"] == "901"
    assert login("jiangjianguo", "demo").status_code == 201                # other accounts are not affected
    advance(sqlite_system, minutes=14)
    assert login("shenkai", "demo").status_code == 429
    advance(sqlite_system, minutes=1, seconds=1)
    assert login("shenkai", "demo").status_code == 201
    with sqlite_system.store.read() as session:                            # a success clears the failures
        assert session.scalar(select(func.count()).select_from(LoginFailure)) == 0


def test_the_failures_are_counted_across_app_servers_sharing_the_database(sqlite_url):
    first = build_system(sqlite_url)
    second = Govflow(Settings(database_url=sqlite_url, mode="test", home=first.settings.home, secret_key="test"))
    one, other = create_app(system=first).test_client(), create_app(system=second).test_client()
    for client in (one, other, one, other, one):
        assert client.post("/api/v1/auth/token", json={"username": "shenkai", "password": "x"}).status_code == 401
    assert other.post("/api/v1/auth/token", json={"username": "shenkai", "password": "demo"}).status_code == 429
    first.store.dispose()
    second.store.dispose()


def test_the_login_page_is_throttled_with_the_same_count(sqlite_system):
    client = create_app(system=sqlite_system).test_client()
    csrf = token_of(client.get("/login"))
    for _ in range(4):
        assert client.post("/login", data={"csrf": csrf, "username": "shenkai", "password": "x"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "shenkai", "password": "x"}).status_code == 401
    page = client.post("/login", data={"csrf": csrf, "username": "shenkai", "password": "demo"})
    text = page.get_data(True)
    assert page.status_code == 429 and "登录失败次数过多" in text and "09:15 后再试" in text


def test_a_browser_session_expires_with_its_token(sqlite_system):
    client = logged_in(sqlite_system, "shenkai")
    assert client.get("/inbox").status_code == 200
    advance(sqlite_system, hours=sqlite_system.settings.token_hours, seconds=1)
    expired = client.get("/inbox?view=done")
    assert expired.status_code == 302 and expired.headers["Location"].startswith("/login?next=")
    assert client.get("/inbox").status_code == 302                          # the session no longer holds it


def test_every_form_refuses_a_post_without_the_pages_token(sqlite_system):
    app = create_app(system=sqlite_system)
    posts = [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods and not rule.rule.startswith("/api/")]
    assert len(posts) >= 8
    client = logged_in(sqlite_system, "qianze", app)
    for rule in posts:
        path = re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m: "1" if "id" in m.group(1) or m.group(1) == "version"
                      else "claim" if m.group(1) == "action" else "x", rule.rule)
        response = client.post(path, data={"username": "qianze", "password": "demo"})
        assert response.status_code == 400, (rule.rule, response.status_code)
        assert "页面已过期" in response.get_data(True)


def test_pages_and_api_answers_carry_the_security_headers(sqlite_system):
    app = create_app(system=sqlite_system)
    client = logged_in(sqlite_system, "shenkai", app)
    api = Api(app)
    answers = {"page": client.get("/inbox"), "login page": app.test_client().get("/login"),
               "api": api.get("/me", "shenkai"), "api error": api.get("/nowhere", "shenkai"),
               "page error": client.get("/nowhere")}
    for what, response in answers.items():
        headers = response.headers
        assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, what
        assert headers["X-Content-Type-Options"] == "nosniff", what
        assert headers["X-Frame-Options"] == "DENY", what
        assert headers["Referrer-Policy"] == "same-origin", what
        assert headers["Cache-Control"] == "no-store", what
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY and "script-src 'self';" in CONTENT_SECURITY_POLICY
    static = client.get("/static/css/govflow.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")


def token_of(response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', response.get_data(True)).group(1)


def logged_in(system, person: str, app=None):
    client = (app or create_app(system=system)).test_client()
    csrf = token_of(client.get("/login"))
    assert client.post("/login", data={"csrf": csrf, "username": person, "password": "demo"}).status_code == 302
    return client
