"""Issue 18, round 2, points 5-7 and the unit a matter is started in: 传阅 of a 涉密 document stays
within its 分发范围; a password change, a reset or 退出所有设备 ends every session of that person;
session cookies are SameSite=Lax (Secure over HTTPS); every refused write is recorded for auditors,
bounded; a matter is started only in a unit one belongs to or acts for."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from conftest import MONDAY_9AM, REPO, Api, build_system
from govflow.app import create_app
from govflow.audit import refusals
from govflow.people import auth
from govflow.people.substitution import record_leave
from govflow.store.models import Instance, RefusedWrite
from govflow.work.system import Govflow
from helpers import count, deploy_xml, events, open_tasks
from helpers import start as start_instance

SECRET = "关于干部任免的请示（机密）"


def document(title: str, secrecy: str = "无", **more) -> dict:
    return {"doc_type": "请示", "title": title, "department": "jyj", "urgency": "一般", "secrecy": secrecy,
            "category": "government_business", "issuer": "政府", "departments": [], "body": "妥否，请批示。",
            "signoff": {"signer": "liangxiaodong", "meeting": "局务会议纪要〔2026〕3号"}, **more}


def documents(url: str):
    system = build_system(url)
    deploy_xml(system, (REPO / "processes" / "document_approval.bpmn").read_bytes(), "document_approval.bpmn")
    return system


# -- point 5: 传阅 of a 涉密 document --------------------------------------------------------------------------
def test_circulating_a_classified_document_outside_its_distribution_is_refused_in_chinese(sqlite_url):
    system = documents(sqlite_url)
    api = Api(create_app(system=system))
    hidden = start_instance(system, "shenkai", "document_approval", document(
        SECRET, "机密", distribution={"departments": ["czj"], "people": ["zhoubo"]}))
    # 宋阳 (办公室) is only a candidate of 收文登记; 蒋建国 is of 教育局 but off the 分发范围
    refused = api.post(f"/instances/{hidden}/circulate", "songyang", json={"to": ["zhoubo", "jiangjianguo"]})
    assert refused.status_code == 403
    message = refused.get_json()["message"]
    assert "机密" in message and "分发范围" in message and "蒋建国" in message
    assert api.get(f"/instances/{hidden}", "jiangjianguo").status_code == 403
    assert not [t for t in open_tasks(system, hidden) if t.kind == "read"]          # nobody got a copy
    # within the 分发范围 (a person, a department's member) and to an auditor it goes
    shown = api.post(f"/instances/{hidden}/circulate", "songyang", json={"to": ["zhoubo", "qiaohui", "xuxiaoling"]})
    assert shown.status_code == 201, shown.get_json()
    assert api.get(f"/instances/{hidden}", "zhoubo").status_code == 200
    # a plain document still circulates to anyone
    plain = start_instance(system, "shenkai", "document_approval", document("关于校舍维修的请示"))
    assert api.post(f"/instances/{plain}/circulate", "songyang", json={"to": ["shuitianming"]}).status_code == 201
    system.store.dispose()


# -- point 6: a new password, 退出所有设备, the session cookie ---------------------------------------------------
def csrf_of(response) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', response.get_data(True)).group(1)


def page_client(system, person: str, password: str = "demo", app=None):
    client = (app or create_app(system=system)).test_client()
    csrf = csrf_of(client.get("/login"))
    assert client.post("/login", data={"csrf": csrf, "username": person, "password": password}).status_code == 302
    return client


def signed_in(client) -> bool:
    return client.get("/inbox").status_code == 200


def test_changing_a_password_ends_every_earlier_session_api_and_browser(sqlite_system):
    api = Api(create_app(system=sqlite_system))
    phone, browser = api.login("shenkai"), page_client(sqlite_system, "shenkai")
    laptop = api.login("shenkai")
    wrong = api.call("PUT", "/me/password", "shenkai", json={"old_password": "guess", "new_password": "new-pass-1"})
    assert wrong.status_code == 401 and wrong.get_json()["message"] == "原密码错误"
    changed = api.call("PUT", "/me/password", "shenkai", json={"old_password": "demo", "new_password": "new-pass-1"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["revoked"] == 3 and "已退出" in changed.get_json()["message"]
    for old in (phone, laptop):
        assert api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert not signed_in(browser)                                                 # the page session too
    fresh = changed.get_json()["token"]
    assert api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    relogin = api.client.post("/api/v1/auth/token", json={"username": "shenkai", "password": "new-pass-1"})
    assert relogin.status_code == 201
    [event] = events(sqlite_system, type_="password_changed")
    assert event.actor == "shenkai" and '"tokens":3' in event.payload


def test_a_reset_by_the_administrator_or_the_command_line_ends_every_session(sqlite_system):
    api = Api(create_app(system=sqlite_system))
    old, browser = api.login("shenkai"), page_client(sqlite_system, "shenkai")
    assert api.put("/people/shenkai/password", "jiangjianguo", json={"password": "reset-1"}).status_code == 403
    reset = api.put("/people/shenkai/password", "wangpeng", json={"password": "reset-1"})      # 王鹏 is admin
    assert reset.status_code == 200 and reset.get_json()["revoked"] == 2
    assert api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    assert not signed_in(browser)
    assert [e.actor for e in events(sqlite_system, type_="password_reset")] == ["wangpeng"]
    again = api.client.post("/api/v1/auth/token", json={"username": "shenkai", "password": "reset-1"})
    with sqlite_system.store.write() as session:           # `govflow user passwd` goes through this
        assert auth.set_password(session, "shenkai", "cli-pass") == 1
    token = again.get_json()["token"]
    assert api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_sign_out_everywhere_for_oneself_and_by_an_administrator(sqlite_system):
    api = Api(create_app(system=sqlite_system))
    first, browser = api.login("shenkai"), page_client(sqlite_system, "shenkai")
    everywhere = api.delete("/auth/tokens", "shenkai")
    assert everywhere.status_code == 200 and everywhere.get_json()["revoked"] == 2
    assert api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {first}"}).status_code == 401
    assert not signed_in(browser)
    # an auditor may sign themselves out everywhere (it changes nothing but their own sessions)
    api.login("xuxiaoling")
    assert api.delete("/auth/tokens", "xuxiaoling").status_code == 200
    # the administrator, for someone else; nobody else may
    api.login("shenkai")
    victim = page_client(sqlite_system, "shenkai")
    assert api.delete("/people/shenkai/tokens", "jiangjianguo").status_code == 403
    assert signed_in(victim)
    assert api.delete("/people/shenkai/tokens", "wangpeng").get_json()["revoked"] == 2
    assert not signed_in(victim)
    assert api.delete("/people/nobody/tokens", "wangpeng").status_code == 404
    assert [e.actor for e in events(sqlite_system, type_="sessions_revoked")] == ["shenkai", "xuxiaoling", "wangpeng"]
    # on the pages: the button for oneself, and the administrator's page
    mine = page_client(sqlite_system, "shenkai")
    other = page_client(sqlite_system, "shenkai")
    inbox = mine.get("/inbox").get_data(True)
    assert "退出所有设备" in inbox
    assert mine.post("/logout/all", data={"csrf": csrf_of(mine.get("/inbox"))}).status_code == 302
    assert not signed_in(mine) and not signed_in(other)
    admin, victim = page_client(sqlite_system, "wangpeng"), page_client(sqlite_system, "shenkai")
    listing = admin.get("/admin/sessions")
    assert listing.status_code == 200 and "沈凯" in listing.get_data(True)
    assert page_client(sqlite_system, "jiangjianguo").get("/admin/sessions").status_code == 403
    assert admin.post("/admin/sessions/shenkai/revoke", data={"csrf": csrf_of(listing)}).status_code == 302
    assert not signed_in(victim) and signed_in(admin)


def test_the_password_page_changes_it_and_ends_the_other_sessions(sqlite_system):
    api = Api(create_app(system=sqlite_system))
    phone = api.login("shenkai")
    browser, other = page_client(sqlite_system, "shenkai"), page_client(sqlite_system, "shenkai")
    csrf = csrf_of(browser.get("/password"))
    form = {"csrf": csrf, "old_password": "demo", "new_password": "new-pass-2", "new_password_again": "new-pass-3"}
    assert browser.post("/password", data=form).status_code == 422                       # the two differ
    wrong = browser.post("/password", data={**form, "old_password": "guess", "new_password_again": "new-pass-2"})
    assert wrong.status_code == 401 and "原密码错误" in wrong.get_data(True)
    done = browser.post("/password", data={**form, "new_password_again": "new-pass-2"}, follow_redirects=True)
    assert done.status_code == 200 and "其他设备上的登录均已退出" in done.get_data(True)
    assert signed_in(browser) and not signed_in(other)                                    # this one goes on
    assert api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {phone}"}).status_code == 401
    assert [e.actor for e in events(sqlite_system, type_="password_changed")] == ["shenkai"]


def cookie_of(response) -> str:
    return next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))


def test_session_cookies_are_samesite_lax_and_secure_over_https(sqlite_system):
    plain = create_app(system=sqlite_system).test_client().get("/login")
    assert "SameSite=Lax" in cookie_of(plain) and "HttpOnly" in cookie_of(plain)
    assert "Secure" not in cookie_of(plain)
    assert "Secure" in cookie_of(create_app(system=sqlite_system).test_client().get("/login", base_url="https://localhost"))
    # a forwarded scheme is believed only from a proxy the settings trust
    forwarded = {"X-Forwarded-Proto": "https"}
    assert "Secure" not in cookie_of(create_app(system=sqlite_system).test_client().get("/login", headers=forwarded))
    behind = Govflow(replace(sqlite_system.settings, trusted_proxies=1))
    cookie = cookie_of(create_app(system=behind).test_client().get("/login", headers=forwarded))
    assert "Secure" in cookie and "SameSite=Lax" in cookie
    configured = Govflow(replace(sqlite_system.settings, secure_cookies=True))
    assert "Secure" in cookie_of(create_app(system=configured).test_client().get("/login"))
    behind.store.dispose()
    configured.store.dispose()


# -- point 7: refused writes are recorded, bounded ----------------------------------------------------------------
def refused_rows(system) -> list[RefusedWrite]:
    with system.store.read() as session:
        return refusals.listing(session, limit=500)


def test_an_auditors_refused_completion_is_recorded_with_who_what_when_and_why(database_url):
    system = documents(database_url)
    api = Api(create_app(system=system))
    plain = start_instance(system, "shenkai", "document_approval", document("关于校舍维修的请示"))
    receipt = open_tasks(system, plain)[0].id
    before = count(system, RefusedWrite)
    refused = api.post(f"/tasks/{receipt}/complete", "xuxiaoling", json={"data": {"received": True}},
                       headers={"Idempotency-Key": "audit-try-1"})
    assert refused.status_code == 403
    [row] = refused_rows(system)
    assert before == 0 and row.actor == "xuxiaoling" and row.method == "POST" and row.count == 1
    assert row.endpoint == "api.complete_task" and row.target == f"/api/v1/tasks/{receipt}/complete"
    assert row.reason == "审计人员只能查阅，不能办理或更改" and row.first_at == MONDAY_9AM
    [event] = events(system, type_="write_refused")                 # the first of its kind is chained
    assert event.actor == "xuxiaoling" and "审计人员只能查阅" in event.payload and event.instance_id is None
    assert open_tasks(system, plain)[0].state == "open"                                # nothing else changed
    # staff acting outside their role: 蒋建国 setting the calendar
    assert api.put("/calendar/days/2026-12-01", "jiangjianguo", json={"workday": False}).status_code == 403
    assert {r.actor: r.reason for r in refused_rows(system)}["jiangjianguo"] == "需要管理员权限"
    # the auditor (and the administrator) read them; nobody else
    listed = api.get("/audit/refusals", "xuxiaoling").get_json()["items"]
    assert {(i["actor"], i["endpoint"], i["count"]) for i in listed} == {
        ("xuxiaoling", "api.complete_task", 1), ("jiangjianguo", "api.set_day", 1)}
    assert api.get("/audit/refusals", "jiangjianguo").status_code == 403
    mine = api.get("/audit/refusals?actor=jiangjianguo", "wangpeng").get_json()["items"]
    assert [i["reason"] for i in mine] == ["需要管理员权限"]
    system.store.dispose()


def test_a_flood_of_refusals_adds_a_bounded_number_of_rows_and_events(sqlite_system):
    api = Api(create_app(system=sqlite_system))
    for _ in range(300):                                       # the same refusal again and again: one row
        assert api.put("/calendar/days/2026-12-01", "jiangjianguo", json={"workday": False}).status_code == 403
    [row] = refused_rows(sqlite_system)
    assert row.count == 300
    for n in range(refusals.KINDS_PER_DAY + 40):               # as many kinds as one can make: capped
        api.delete(f"/people/p{n}/tokens", "jiangjianguo")      # 403 需要管理员权限, a different path each
        api.post(f"/leave/{n}", "xuxiaoling")                   # an auditor: 405 is not a refusal
    api.put("/people/x/password", "jiangjianguo", json={"password": "xxxxxx"})
    rows = [r for r in refused_rows(sqlite_system) if r.actor == "jiangjianguo"]
    assert len(rows) <= refusals.KINDS_PER_DAY + 1
    assert sum(r.count for r in rows) == 300 + refusals.KINDS_PER_DAY + 40 + 1
    assert len(events(sqlite_system, type_="write_refused")) == len(refused_rows(sqlite_system))


def test_a_refused_write_on_a_page_is_recorded_and_shown_in_chinese(sqlite_system):
    auditor = page_client(sqlite_system, "xuxiaoling")
    refused = auditor.post("/admin/sessions/shenkai/revoke", data={"csrf": csrf_of(auditor.get("/audit"))})
    assert refused.status_code == 403 and "审计人员只能查阅" in refused.get_data(True)
    clerk = page_client(sqlite_system, "jiangjianguo")
    assert clerk.post("/admin/sessions/shenkai/revoke", data={"csrf": csrf_of(clerk.get("/inbox"))}).status_code == 403
    rows = {r.actor: r for r in refused_rows(sqlite_system)}
    assert rows["xuxiaoling"].endpoint == "ui.admin_revoke_sessions" and "审计人员" in rows["xuxiaoling"].reason
    assert rows["jiangjianguo"].reason == "您没有权限进行此操作"
    page = auditor.get("/audit/refusals").get_data(True)
    assert "越权操作记录" in page and "蒋建国" in page and "/admin/sessions/shenkai/revoke" in page
    assert clerk.get("/audit/refusals").status_code == 403


# -- also: a matter is started only in a unit one belongs to, leads or acts for ---------------------------------------
def request_data(unit: str) -> dict:
    return {"title": "关于采购应急物资的请示", "department": unit, "urgency": "一般"}


def test_a_matter_is_started_only_in_ones_own_unit_or_one_acted_for(sqlite_url):
    system = documents(sqlite_url)
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes(), "dept_request.bpmn")
    api = Api(create_app(system=system))
    before = count(system, Instance)
    refused = api.post("/instances", "shenkai", json={"process_id": "dept_request", "data": request_data("czj")})
    assert refused.status_code == 403
    assert refused.get_json()["message"] == ("只能以本人所在单位、分管单位（或代为办理的 AB 角的单位）发起事项："
                                             "您所在单位为巴州区教育局，不能以巴州区财政局的名义发起")
    assert refused.get_json()["details"][0]["field"] == "department"
    as_issuer = api.post("/instances", "shenkai", json={"process_id": "document_approval",
                                                        "data": document("关于校舍维修的请示") | {"department": "czj"}})
    assert as_issuer.status_code == 403 and "发起" in as_issuer.get_json()["message"]          # 发文单位 too
    assert count(system, Instance) == before
    assert api.post("/instances", "shenkai", json={"process_id": "dept_request",
                                                  "data": request_data("jyj")}).status_code == 201
    # a 分管领导 for the units of the portfolio; for the AB角's while acting for them
    assert api.post("/instances", "tangjianjun", json={"process_id": "dept_request",
                                                      "data": request_data("sfj")}).status_code == 201
    assert api.post("/instances", "tangjianjun", json={"process_id": "dept_request",
                                                      "data": request_data("jyj")}).status_code == 403
    with system.store.write() as session:
        runtime = system.runtime(session)
        record_leave(session, runtime.org, runtime.profile, "zhouguoqiang", MONDAY_9AM, MONDAY_9AM + timedelta(days=2),
                     "出差", "test")
    acting = api.post("/instances", "tangjianjun", json={"process_id": "dept_request", "data": request_data("jyj")})
    assert acting.status_code == 201, acting.get_json()
    # the refusal is on the record of refused writes
    assert any(r.actor == "shenkai" and r.endpoint == "api.start_instance" for r in refused_rows(system))
    system.store.dispose()


def test_the_start_page_refuses_another_unit_in_chinese(sqlite_url):
    system = documents(sqlite_url)
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes(), "dept_request.bpmn")
    client = page_client(system, "shenkai")
    csrf = csrf_of(client.get("/processes/dept_request/start"))
    page = client.post("/processes/dept_request/start", data={"csrf": csrf, "f.title": "关于采购应急物资的请示",
                                                               "f.department": "czj", "f.urgency": "一般"})
    assert page.status_code == 403 and "不能以巴州区财政局的名义发起" in page.get_data(True)
    [row] = refused_rows(system)
    assert row.reason.endswith("您所在单位为巴州区教育局，不能以巴州区财政局的名义发起")
    system.store.dispose()


# -- in a browser -----------------------------------------------------------------------------------------------------
def test_sign_out_everywhere_in_the_browser_for_oneself_and_by_the_administrator(browse, site):
    laptop, phone = browse("shenkai"), browse("shenkai")
    laptop.click("button:has-text('退出所有设备')")
    laptop.wait_for_load_state()
    assert laptop.url.split("?")[0].endswith("/login")
    phone.goto("/inbox")
    assert "/login" in phone.url                                      # the other browser is signed out too
    victim, admin = browse("shenkai"), browse("wangpeng")
    admin.click("nav >> text=登录管理")
    admin.click("tr[data-person='shenkai'] >> button:has-text('退出所有设备')")
    admin.wait_for_load_state()
    assert "登录管理" in admin.locator("h1").inner_text()
    assert admin.locator("tr[data-person='shenkai']").count() == 0
    victim.goto("/inbox")
    assert "/login" in victim.url


def test_a_refused_write_is_said_in_chinese_and_shown_to_the_auditor(browse, site):
    drafter = browse("shenkai")
    drafter.goto("/processes/dept_request/start")
    drafter.fill("[name='f.title']", "关于采购应急物资的请示")
    drafter.fill("[name='f.department']", "czj")
    drafter.click("button:has-text('发起')")
    alert = drafter.locator("[role=alert]").inner_text()
    assert "不能以巴州区财政局的名义发起" in alert and "本人所在单位" in alert
    auditor = browse("xuxiaoling")
    auditor.click("nav >> text=越权记录")
    row = auditor.locator("tr[data-actor='shenkai']")
    assert "不能以巴州区财政局的名义发起" in row.inner_text() and "页面：发起事项" in row.inner_text()


def test_hostile_input_to_the_new_entry_points_answers_in_chinese_and_is_stored_harmlessly(sqlite_system):
    api = Api(create_app(system=sqlite_system))
    script = "<img src=x onerror=alert(1)>" + "长" * 2000
    refused = api.delete(f"/people/{script}/tokens", "jiangjianguo")                 # not an administrator
    assert refused.status_code == 403
    assert api.delete(f"/people/{script}/tokens", "wangpeng").status_code == 404       # no such person
    for bad in (None, b"[]", b'{"old_password": "demo"}', b'{"old_password": 1, "new_password": "x"}',
                b'{"old_password": "demo", "new_password": "abc"}'):                  # under 4 characters
        answer = api.put("/me/password", "shenkai", data=bad, headers={"Content-Type": "application/json"})
        assert answer.status_code == 422 and re.search(r"[\u4e00-\u9fff]", answer.get_json()["message"])
    assert api.put("/people/shenkai/password", "wangpeng", json={"password": "x" * 201}).status_code == 422
    for query in ("limit=0", "limit=abc", "offset=-1", "limit=100000"):
        assert api.get(f"/audit/refusals?{query}", "xuxiaoling").status_code == 422
    [row] = refused_rows(sqlite_system)
    assert len(row.target) == 300 and row.target.startswith("/api/v1/people/<img src=x")
    auditor = page_client(sqlite_system, "xuxiaoling")
    page = auditor.get("/audit/refusals").get_data(True)
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert auditor.get("/audit/refusals?page=0").status_code == 400
    # the pages' forms need their CSRF token; a person of another session cannot sign someone out
    other = page_client(sqlite_system, "shenkai")
    assert other.post("/logout/all", data={}).status_code == 400
    assert other.post("/admin/sessions/wangpeng/revoke", data={"csrf": "forged"}).status_code == 400
    assert signed_in(other)
