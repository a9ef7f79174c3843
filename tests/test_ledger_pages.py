"""The 督办台账 pages in the browser's terms: a session login with CSRF, the ledger with overdue
items in red and due-soon ones in amber, filters and downloads, and the quarterly summary."""
from __future__ import annotations

import io
import re
from datetime import datetime

import openpyxl

from govflow.app import create_app
from govflow.time.timeutil import SHANGHAI
from procedures import People, by_hand, lead_and_other, set_clock


def logged_in(system, person: str):
    client = create_app(system=system).test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf": csrf, "username": person, "password": "demo"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/home")
    return client, csrf


def test_pages_need_a_login_and_the_login_form_needs_its_csrf_token(bazhou):
    client = create_app(system=bazhou).test_client()
    response = client.get("/ledger?status=overdue")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    forged = client.post("/login", data={"username": "duanhaitao", "password": "demo"})
    assert forged.status_code == 400 and "页面已过期" in forged.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    wrong = client.post("/login", data={"csrf": csrf, "username": "duanhaitao", "password": "wrong"})
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.get_data(as_text=True)


def test_the_ledger_page_shows_overdue_items_in_red_and_filters_and_downloads(bazhou):
    people = People("bazhou")
    x, y = lead_and_other(people.org)
    late = by_hand(bazhou, people, x, [], "2026-11-27")
    by_hand(bazhou, people, y, [], "2027-06-30")
    set_clock(bazhou, datetime(2026, 11, 30, 9, 0, tzinfo=SHANGHAI))
    client, csrf = logged_in(bazhou, people.head)
    page = client.get("/ledger").get_data(as_text=True)
    rows = re.findall(r'<tr class="(\w+)" data-number="([^"]+)"', page)
    assert sorted(status for status, _ in rows) == ["on_time", "overdue"]
    assert "逾期" in page and "截至 2026年11月30日" in page
    assert "tr.overdue td, .overdue { color: var(--red); }" in client.get("/static/css/govflow.css").get_data(True)
    only = client.get("/ledger?status=overdue").get_data(as_text=True)
    assert len(re.findall(r'<tr class="overdue"', only)) == 1 and 'class="on_time"' not in only
    book = openpyxl.load_workbook(io.BytesIO(client.get("/ledger?format=xlsx").data))
    assert [r[7] for r in book.active.iter_rows(min_row=2, values_only=True)].count("逾期") == 1
    assert client.get("/ledger?status=late").status_code == 400
    summary = client.get("/ledger/summary?quarter=2026Q4").get_data(as_text=True)
    assert "2026年第四季度" in summary and "报送区长、分管副区长、区政府办公室主任" in summary
    assert late and "0.0%" in summary                                      # unit x: its only due item is overdue
    client.post("/logout", data={"csrf": csrf})
    assert client.get("/ledger").status_code == 302                         # the session's token is revoked
