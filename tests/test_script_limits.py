"""Issue 18, points 1-3: what a designer's diagram or form can no longer do to the server.

1. a script that builds a huge value from shared references, or formats one, is refused before it is
   built, and a script the budget lets through still meets the worker's memory limit and wall clock;
2. a form's ``$ref`` only points into the form: anything else is refused at deploy, and a stored form
   never makes the server fetch anything at completion;
3. a form's ``pattern`` runs on RE2 (linear time) or is refused at deploy; a form file nested
   100,000 deep is a 4xx.
Each through the real service; each refused request leaves everything stored as it was."""
from __future__ import annotations

import http.server
import json
import threading
import time

import pytest

from bpmn_builder import chain, diagram, end, script, start, user
from conftest import Api, build_system
from govflow.app import create_app
from govflow.engine import forms
from test_designer_pages import logged_in
from test_hostile_input import CLERK, OFFICE, multipart_deploy, raw_deploy, refused, stored

ISSUE_SCRIPTS = [   # (the script from the issue, words of the refusal)
    ("s = 'x' * 100000\nx = [s] * 10000\ny = [x] * 2", "内存超出限制"),
    ("y = '%(a)s' * 6000 % {'a': 'x' * 99000}", "过大"),
    ("s = 'x' * 100000\nx = []\nfor i in range(10000):\n    x.append(s)\ny = [x, x]", "内存超出限制"),
    ("s = 'x' * 100000\nx = {i: s for i in range(10000)}", "内存超出限制"),
]


def script_diagram(process_id: str, code: str) -> bytes:
    return diagram(process_id, start(), script("s", code), user("after", form="press_record.json"),
                   end(), chain("start", "s", "after", "end"), lanes={OFFICE: ["start", "s", "after", "end"]})


def start_refused(api: Api, system, process_id: str, words: str, within: float) -> None:
    before = stored(system)
    began = time.monotonic()
    response = api.post("/instances", CLERK, json={"process_id": process_id, "data": {}})
    took = time.monotonic() - began
    message = refused(response, 422)
    assert words in message and "（s）" in message and response.get_json()["details"][0]["element"] == "s", message
    assert took < within, took
    assert stored(system) == before


@pytest.mark.parametrize("code, words", ISSUE_SCRIPTS)
def test_the_issues_hostile_scripts_deploy_but_are_refused_quickly_when_started(api, system, code, words):
    assert raw_deploy(api, script_diagram("hostile", code)).status_code == 201
    start_refused(api, system, "hostile", words, within=3)
    assert raw_deploy(api, script_diagram("fine", "y = 1")).status_code == 201     # others carry on
    assert api.post("/instances", CLERK, json={"process_id": "fine", "data": {}}).status_code == 201


@pytest.fixture
def tight(sqlite_url):
    """A server whose script workers have 64 MB and one second."""
    built = build_system(sqlite_url, script_memory_mb=64, script_seconds=1.0)
    yield built
    built.store.dispose()


def test_the_os_limits_stop_what_the_budget_lets_through_and_the_worker_is_replaced(tight):
    api = Api(create_app(system=tight))
    cases = [   # within the element budget, but 2.5 million distinct integers; then a C-level scan
        ("memory", "keep = [list(range(100000)) for i in range(24)]", "64 MB", 3),
        ("clock", "l = list(range(90000))\nfor i in range(90000):\n    x = -1 in l", "1 秒", 2.5),
    ]
    for process_id, code, words, within in cases:
        assert raw_deploy(api, script_diagram(process_id, code)).status_code == 201
        start_refused(api, tight, process_id, words, within)
    assert raw_deploy(api, script_diagram("fine", "y = 1")).status_code == 201
    assert api.post("/instances", CLERK, json={"process_id": "fine", "data": {}}).status_code == 201


# -- forms ---------------------------------------------------------------------------------------------------------
class _Recorder(http.server.BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server name
        self.paths.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"type": "integer", "title": "internal-secret"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def internal_url():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Recorder.paths = []
    yield f"http://127.0.0.1:{server.server_port}/internal"
    server.shutdown()
    server.server_close()


def form_diagram() -> bytes:
    return diagram("formed", start(), user("fill", name="填写", form="hostile.json"), end(),
                   chain("start", "fill", "end"), lanes={OFFICE: ["start", "fill", "end"]})


def form_with(field: dict) -> str:
    return json.dumps({"type": "object", "properties": {"amount": {"title": "金额", **field}}})


def test_a_form_referring_outside_itself_is_refused_at_deploy_and_nothing_is_fetched(api, system, internal_url):
    before = stored(system)
    for ref in (internal_url, "file:///etc/passwd", "other.json#/x"):
        response = multipart_deploy(api, form_diagram(), {"hostile.json": form_with({"$ref": ref})})
        message = refused(response, 422)
        assert "“amount”引用了外部定义" in message and "#/" in message, message
    assert stored(system) == before
    local = json.dumps({"type": "object", "$defs": {"n": {"type": "integer"}},
                        "properties": {"amount": {"$ref": "#/$defs/n"}}})
    assert multipart_deploy(api, form_diagram(), {"hostile.json": local}).status_code == 201
    assert _Recorder.paths == []


def test_a_stored_form_with_a_remote_reference_never_fetches_it(internal_url):
    """A form stored before deploy checked references: completion refuses it without a request."""
    schema = json.loads(form_with({"$ref": internal_url}))
    with pytest.raises(forms.ValidationFailed) as failed:
        forms.validate(forms.validator(schema), {"amount": "x"})
    assert "internal-secret" not in str(failed.value.to_dict()) and "无法使用" in failed.value.message
    assert _Recorder.paths == []


def test_a_catastrophic_pattern_runs_in_linear_time_and_a_backreference_is_refused(api, system):
    pattern = form_with({"type": "string", "pattern": "^(a+)+$"})
    assert multipart_deploy(api, form_diagram(), {"hostile.json": pattern}).status_code == 201
    assert api.post("/instances", CLERK, json={"process_id": "formed", "data": {}}).status_code == 201
    task = api.get("/tasks?view=group", CLERK).get_json()["items"][0]["id"]
    before = stored(system)
    began = time.monotonic()
    response = api.post(f"/tasks/{task}/complete", CLERK, json={"data": {"amount": "a" * 40 + "!"}})
    assert "“金额”格式不正确" in refused(response, 422)
    assert time.monotonic() - began < 1
    assert stored(system) == before
    assert api.post(f"/tasks/{task}/complete", CLERK, json={"data": {"amount": "aaa"}}).status_code == 200
    backreference = form_with({"type": "string", "pattern": "^(a)\\1$"})
    message = refused(multipart_deploy(api, form_diagram(), {"hostile.json": backreference}), 422)
    assert "“amount”的 pattern 不受支持" in message


def test_an_uploaded_form_nested_100000_deep_is_a_4xx_at_every_door(sqlite_api, sqlite_system):
    nested = "[" * 100_000
    before = stored(sqlite_system)
    assert "嵌套层数过深" in refused(multipart_deploy(sqlite_api, form_diagram(), {"hostile.json": nested}), 422)
    client, csrf = logged_in(sqlite_system, "qianze")
    xml = form_diagram().decode()
    for what in ("validate", "deploy"):
        response = client.post(f"/designer/{what}", headers={"X-CSRF-Token": csrf},
                               json={"xml": xml, "filename": "formed.bpmn", "forms": {"hostile.json": nested}})
        assert response.status_code in (200, 422), response.status_code
        body = response.get_json()
        text = json.dumps(body, ensure_ascii=False)
        assert "嵌套层数过深" in text, text[:300]
    preview = client.post("/designer/forms/preview", headers={"X-CSRF-Token": csrf},
                          json={"name": "hostile.json", "text": nested})
    assert preview.status_code in (200, 422) and "嵌套层数过深" in preview.get_data(as_text=True)
    assert stored(sqlite_system) == before


@pytest.fixture
def sqlite_api(sqlite_system):
    return Api(create_app(system=sqlite_system))
