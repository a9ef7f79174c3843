"""Browser tests: the app served on a free port of this machine, driven by Playwright in Debian's
chromium (``/usr/bin/chromium``, headless). Playwright's own browser download is never used. Where
chromium is missing the tests are skipped, saying so; CI installs it (.ci/run). Screenshots go to
``artifacts/screenshots/`` (not committed)."""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from conftest import REPO
from govflow.app import create_app
from helpers import deploy_xml

CHROMIUM = Path(os.environ.get("GOVFLOW_CHROMIUM", "/usr/bin/chromium"))
SHOTS = REPO / "artifacts" / "screenshots"
ARGS = ["--lang=zh-CN", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
        "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def chromium():
    if not CHROMIUM.is_file():
        pytest.skip(f"no chromium at {CHROMIUM}: install Debian's package (apt-get install chromium) "
                    "or set GOVFLOW_CHROMIUM")
    if not (REPO / "node_modules" / "bpmn-js").is_dir():
        pytest.skip("front-end packages missing: run `npm ci` in the repository")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def site(sqlite_system):
    """巴州区 on SQLite with every diagram in ``processes/`` deployed, as the demo has it."""
    for path in sorted((REPO / "processes").glob("*.bpmn")):
        deploy_xml(sqlite_system, path.read_bytes(), path.name)
    return sqlite_system


@pytest.fixture
def served(site):
    """The site's app on 127.0.0.1 at a free port; yields its base URL."""
    server = make_server("127.0.0.1", 0, create_app(system=site), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def browse(chromium, served):
    """Opens pages as a person: ``page = browse("zhongjie")`` is logged in and on their start page.
    Whatever the pages did, the Content-Security-Policy refused none of it (checked at the end)."""
    contexts, refused = [], []

    def open_as(person: str, password: str = "demo"):
        context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", base_url=served,
                                       viewport={"width": 1440, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text
                else None)
        page.on("pageerror", lambda error: refused.append(str(error)) if "Content Security Policy" in str(error)
                else None)
        page.set_default_timeout(15_000)
        page.goto("/login")
        page.fill("input[name=username]", person)
        page.fill("input[name=password]", password)
        page.click("form button:has-text('登录')")
        page.wait_for_load_state()
        return page
    yield open_as
    for context in contexts:
        context.close()
    assert refused == [], "the Content-Security-Policy refused what a page needs"


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
