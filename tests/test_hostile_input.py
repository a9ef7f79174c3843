"""Hostile input, through the entry points a careless designer or a malicious client reaches: the
deploy API (``POST /api/v1/processes``, raw and multipart), the designer's validate and deploy
endpoints, starting an instance and completing a task. Each is answered 4xx with a Chinese message,
and nothing stored changes: versions, blobs, instances, events, tasks, the snapshot.

Every hostile input govflow is tested against, and where its test is (``here`` = this module):

Uploads
- XML external entity (file, network), billion laughs, the same disguised as UTF-16, not XML, not
  BPMN, a 6 MB file, at the deploy service:
  test_deploy.py::test_hostile_or_broken_files_are_refused_before_parsing_anything
- the entities through the API (raw, multipart) and the designer's validate and deploy; no upload
  (entity, XInclude, schemaLocation) makes the server fetch anything:
  here: test_xml_entities_are_refused_at_every_upload_door, test_no_upload_makes_the_server_fetch_anything
- 50 MB raw to the API: test_deploy.py::test_a_50_mb_upload_is_refused_by_the_api
- 50 MB multipart and to the designer; with a Content-Length not a byte is read, chunked reading stops
  at the limit and a cut body is not taken for a whole one: here: test_a_50_mb_upload_is_refused_at_every_door,
  test_an_oversized_body_is_refused_before_it_is_read, test_a_chunked_body_is_read_no_further_than_the_limit
- ``govflow deploy`` of an entity file and of a 50 MB file (refused unread):
  here: test_govflow_deploy_refuses_entities_and_a_50_mb_file_unread

Diagram code
- import, dunder and private names, try/class/global/match, formats too wide, typename, at the gate:
  test_sandbox.py::test_code_that_could_escape_is_rejected_before_it_runs,
  ::test_match_patterns_cannot_reach_dunders_or_rebind_guards
- builtins that are not there at run time (open, eval, getattr, type, globals…):
  test_sandbox.py::test_dangerous_builtins_are_not_there
- huge allocations, recursion, endless loops, copies, inside the sandbox:
  test_sandbox.py::test_huge_allocations_and_recursion_stop_quickly,
  ::test_endless_loops_are_stopped_by_the_step_bound, ::test_unpacking_copies_and_growth_are_charged_to_the_budget
- a subclass escape at deploy and a loop at run time, at the service:
  test_spiffworkflow_traps.py::test_trap10_govflow_rejects_escapes_at_deploy_and_bounds_running_time
- import, __import__, ().__class__…, getattr, '{0.__class__}'.format, type, while True, 'x' * 10**10,
  [0] * 10**9, 10**10**10 in scripts and conditions, deployed through the API:
  here: test_code_that_could_escape_or_blow_up_is_refused_at_deploy
- the same blow-ups fed by form data, not visible at deploy: the step refused, nothing changed:
  here: test_code_that_blows_up_on_submitted_data_refuses_the_step_and_changes_nothing
- process and step ids and names longer than the tables hold (a 500 on PostgreSQL):
  here: test_ids_and_names_longer_than_the_tables_hold_are_refused_at_deploy

Form and request data
- wrong types, 250 KB and 10 MB strings, typename/__proto__/__class__ keys, NaN and 1e400, nesting 40
  and 10,000 deep, not an object, at start and at completion:
  here: test_hostile_form_data_is_refused_and_changes_nothing
- JSON nested 10,000 deep to the designer: here: test_deeply_nested_json_is_refused_at_the_designer
- ids past what an id column holds, empty or non-boolean query parameters, NUL characters anywhere:
  test_api_fuzz.py
- wrong types field by field: test_api.py::test_the_task_page_carries_its_form_and_its_history
- typename from forms, scripts and operators:
  test_spiffworkflow_traps.py::test_trap7_govflow_refuses_typename_from_forms_scripts_and_operators
- malformed bodies (empty, null, [], broken JSON, 900 KB, __proto__) on every route:
  test_api.py::test_no_route_answers_5xx_to_malformed_input
- generated requests for every operation of the OpenAPI document: test_api_fuzz.py (schemathesis);
  bench/fuzz_api.py for long runs
"""
from __future__ import annotations

import http.server
import io
import json
import re
import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from werkzeug.test import EnvironBuilder, run_wsgi_app

from bpmn_builder import chain, diagram, end, flow, script, start, user, xgw
from conftest import REPO, Api
from govflow.app import create_app
from govflow.cli import main
from govflow.store import eventlog
from govflow.store.models import Blob, Event, Instance, ProcessVersion, Task
from helpers import count
from test_designer_pages import logged_in

DESIGNER, ADMIN, CLERK = "qianze", "wangpeng", "zhongjie"
MB = 1024 * 1024
CHINESE = re.compile(r"[\u4e00-\u9fff]")
OFFICE = "办公室"

XXE_FILE = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d" '
            b'targetNamespace="t"><bpmn:process id="p" isExecutable="true" name="&x;"/></bpmn:definitions>')
BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b']><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&lol9;'
                    b"</bpmn:definitions>")


def xxe_network(url: str) -> bytes:
    return (f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % remote SYSTEM "{url}/dtd"> %remote;'
            f'<!ENTITY x SYSTEM "{url}/x">]><bpmn:definitions '
            'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>').encode()


def stored(system) -> dict:
    """Everything a refused request must leave as it was."""
    with system.store.read() as db:
        instances = {i.id: (i.status, i.snapshot_hash, i.snapshot) for i in db.scalars(select(Instance))}
        tasks = {t.id: (t.state, t.assignee) for t in db.scalars(select(Task))}
    return {"versions": count(system, ProcessVersion), "blobs": count(system, Blob),
            "events": count(system, Event), "instances": instances, "tasks": tasks}


def chain_verifies(system) -> bool:
    with system.store.read() as db:
        return eventlog.verify(db).ok


def refused(response, status: int | tuple = (400, 413, 422)) -> str:
    """The Chinese message of a 4xx answer, JSON (API, designer) or a page (role=alert)."""
    statuses = status if isinstance(status, tuple) else (status,)
    assert response.status_code in statuses, (response.status_code, response.get_data()[:300])
    if response.is_json:
        body = response.get_json()
        message = body["message"] + "".join(p.get("reason", "") for p in body.get("problems") or [])
    else:
        message = re.search(r'role="alert"[^>]*>(.*?)<', response.get_data(as_text=True), re.S).group(1)
    assert CHINESE.search(message), message
    return message


def raw_deploy(api: Api, content: bytes):
    return api.post("/processes", ADMIN, data=content, headers={"Content-Type": "application/xml"})


def multipart_deploy(api: Api, content: bytes, forms: dict[str, str] | None = None):
    files = {"file": (io.BytesIO(content), "hostile.bpmn")}
    if forms:
        files["form"] = [(io.BytesIO(text.encode()), name) for name, text in forms.items()]
    return api.post("/processes", ADMIN, data=files, content_type="multipart/form-data")


@pytest.fixture
def sqlite_api(sqlite_system):
    return Api(create_app(system=sqlite_system))


@pytest.fixture
def doors(sqlite_api, sqlite_system):
    """Each way a BPMN file comes in: door name -> send(content) -> response."""
    client, csrf = logged_in(sqlite_system, DESIGNER)

    def designer(what: str):
        return lambda content: client.post(f"/designer/{what}", headers={"X-CSRF-Token": csrf},
                                           json={"xml": content.decode("utf-8"), "filename": "hostile.bpmn"})
    return {"api-raw": lambda content: raw_deploy(sqlite_api, content),
            "api-multipart": lambda content: multipart_deploy(sqlite_api, content),
            "designer-validate": designer("validate"), "designer-deploy": designer("deploy")}


# -- uploads -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("content", [XXE_FILE, BILLION_LAUGHS, xxe_network("http://127.0.0.1:9")],
                         ids=["xxe-file", "billion-laughs", "xxe-network"])
def test_xml_entities_are_refused_at_every_upload_door(sqlite_system, doors, content):
    before = stored(sqlite_system)
    for door, send in doors.items():
        response = send(content)
        if door == "designer-validate":       # validation answers 200 with its problems and stores nothing
            assert response.status_code == 200 and response.get_json()["passed"] is False
            message = response.get_json()["problems"][0]["reason"]
        else:
            message = refused(response, 422)
        assert "DOCTYPE" in message and "root:" not in message, (door, message)
    assert stored(sqlite_system) == before


class _Recorder(http.server.BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self):  # noqa: N802 - the http.server name
        self.paths.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'<!ENTITY x "fetched">')

    def log_message(self, *args):
        pass


def test_no_upload_makes_the_server_fetch_anything(doors):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        hostile = [
            xxe_network(url),
            # no DOCTYPE: an XInclude and a schemaLocation are the other ways a parser might go out
            ('<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
             'xmlns:xi="http://www.w3.org/2001/XInclude" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
             f'xsi:schemaLocation="http://www.omg.org/spec/BPMN/20100524/MODEL {url}/bpmn.xsd" id="d" '
             f'targetNamespace="t"><xi:include href="{url}/include.xml"/></bpmn:definitions>').encode(),
        ]
        for content in hostile:
            for door, send in doors.items():
                assert send(content).status_code in (200, 422), door
        assert _Recorder.paths == []
    finally:
        server.shutdown()
        server.server_close()


def test_a_50_mb_upload_is_refused_at_every_door(sqlite_api, sqlite_system):
    before = stored(sqlite_system)
    huge = b"<" * (50 * MB)
    message = refused(multipart_deploy(sqlite_api, huge), 413)
    assert "过大" in message
    client, csrf = logged_in(sqlite_system, DESIGNER)
    for what in ("validate", "deploy"):
        page = client.post(f"/designer/{what}", data=b'{"xml": "' + huge + b'"}',
                           headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
        assert "过大" in refused(page, 413)       # a page with its message in role=alert: the modeler shows it
    assert stored(sqlite_system) == before


class CountingStream(io.RawIOBase):
    """A request body of ``size`` bytes that is made only as it is read, and counts what was read."""

    def __init__(self, size: int):
        self.size, self.position, self.read_bytes = size, 0, 0

    def readable(self):
        return True

    def seekable(self):          # the test client measures the body by seeking to its end and back
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        self.position = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence] + offset
        return self.position

    def tell(self):
        return self.position

    def readinto(self, buffer):
        n = max(0, min(len(buffer), self.size - self.position))
        buffer[:n] = b"<" * n
        self.position += n
        self.read_bytes += n
        return n


@pytest.mark.parametrize("path, headers", [
    ("/api/v1/processes", {"Content-Type": "application/xml"}),
    ("/api/v1/processes", {"Content-Type": "multipart/form-data; boundary=x"}),
    ("/api/v1/instances", {"Content-Type": "application/json"}),
])
def test_an_oversized_body_is_refused_before_it_is_read(sqlite_api, path, headers):
    """With a Content-Length over the limit the answer comes without a byte of the body read."""
    body = CountingStream(50 * MB)
    token = sqlite_api.login(ADMIN)
    response = sqlite_api.client.post(path, input_stream=body, content_length=50 * MB,
                                      headers={**headers, "Authorization": f"Bearer {token}"})
    assert "过大" in refused(response, 413)
    assert body.read_bytes == 0


@pytest.mark.parametrize("path, content_type", [
    ("/api/v1/processes", "application/xml"),
    ("/api/v1/processes", "multipart/form-data; boundary=x"),
    ("/api/v1/instances", "application/json"),
])
def test_a_chunked_body_is_read_no_further_than_the_limit(sqlite_api, sqlite_system, path, content_type):
    """Without a Content-Length (chunked, as gunicorn passes it on) reading stops at the 8 MB limit,
    and what was read is not taken for the whole body (Werkzeug would hand it over cut)."""
    body = CountingStream(50 * MB)
    token = sqlite_api.login(ADMIN)
    before = stored(sqlite_system)
    environ = EnvironBuilder(path=path, method="POST", content_type=content_type,
                             headers={"Authorization": f"Bearer {token}", "Transfer-Encoding": "chunked"}).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": io.BufferedReader(body), "wsgi.input_terminated": True})
    app = sqlite_api.client.application
    answer, status, headers = run_wsgi_app(app, environ, buffered=True)
    response = app.response_class(b"".join(answer), status=status, headers=headers)
    assert "过大" in refused(response, 413)
    assert body.read_bytes <= 9 * MB
    assert stored(sqlite_system) == before


def test_govflow_deploy_refuses_entities_and_a_50_mb_file_unread(sqlite_system, tmp_path):
    hostile, huge = tmp_path / "xxe.bpmn", tmp_path / "huge.bpmn"
    hostile.write_bytes(XXE_FILE)
    with huge.open("wb") as sparse:         # 50 MB that take no disk: the command must not read them
        sparse.truncate(50 * MB)
    before = stored(sqlite_system)
    runner = CliRunner()
    for path, words in [(hostile, "DOCTYPE"), (huge, "文件过大（51200 KB")]:
        result = runner.invoke(main, ["--database-url", sqlite_system.settings.database_url, "deploy", str(path)])
        assert result.exit_code == 2 and words in result.output, result.output
    assert stored(sqlite_system) == before


def test_deeply_nested_json_is_refused_at_the_designer(sqlite_system):
    client, csrf = logged_in(sqlite_system, DESIGNER)
    nested = b'{"xml": "<x/>", "forms": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    for what in ("validate", "deploy"):
        response = client.post(f"/designer/{what}", data=nested,
                               headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
        assert "嵌套层数过深" in refused(response, 422)


# -- diagram code --------------------------------------------------------------------------------------------------
CODE = [
    ("import os", "import"),
    ("x = __import__('os')", "下划线"),
    ("x = ().__class__.__base__.__subclasses__()", "下划线"),
    ("x = getattr(title, '__class__')", "getattr"),
    ("x = '{0.__class__}'.format(title)", ".format"),
    ("x = '{0.__init__.__globals__}'.format_map({'0': title})", ".format_map"),
    ("x = type(title)", "type"),
    ("while True: pass", "死循环"),
    ("while 1:\n    x = 1", "死循环"),
    ("x = 'x' * 10**10", "过大"),
    ("x = [0] * 10**9", "过大"),
    ("x = 10**10**10", "数值过大"),
]


def code_diagram(code: str, in_condition: bool) -> bytes:
    """A script task holding ``code``, or a gateway whose condition is ``code`` as an expression."""
    if not in_condition:
        return diagram("hostile", start(), script("s", code), end(), chain("start", "s", "end"),
                       lanes={OFFICE: ["start", "s", "end"]})
    expression = code.removeprefix("x = ")
    return diagram("hostile", start(), xgw("s", default="f_no"), end("yes"), end("no"), flow("f0", "start", "s"),
                   flow("f_yes", "s", "yes", condition=expression), flow("f_no", "s", "no"),
                   lanes={OFFICE: ["start", "s", "yes", "no"]})


def test_code_that_could_escape_or_blow_up_is_refused_at_deploy(sqlite_api, sqlite_system):
    """Every case in a script task, and those that are expressions also as a gateway's condition."""
    before = stored(sqlite_system)
    places = [(code, words, False) for code, words in CODE] + [
        (code, words, True) for code, words in CODE if code.startswith("x = ")]
    for code, words, in_condition in places:
        response = raw_deploy(sqlite_api, code_diagram(code, in_condition))
        message = refused(response, 422)
        problem = response.get_json()["details"][0]
        assert words in message and problem["element"] in ("s", "f_yes"), (code, in_condition, message)
    assert stored(sqlite_system) == before


def test_ids_and_names_longer_than_the_tables_hold_are_refused_at_deploy(api, system):
    """SQLite kept them; PostgreSQL refused them at the first step that stored them: a 500 then."""
    def simple(process_id="long", name="测试流程", step="work", step_name="办理"):
        return diagram(process_id, start(), user(step, name=step_name, form="press_record.json"), end(),
                       chain("start", step, "end"), lanes={OFFICE: ["start", step, "end"]}, name=name)
    before = stored(system)
    for xml, words in [(simple(process_id="p" * 101), "标识过长（101 个字符，上限 100）"),
                       (simple(name="名" * 201), "名称过长（201 个字符，上限 200）"),
                       (simple(step="w" * 101), "标识过长"), (simple(step_name="步" * 201), "名称过长")]:
        assert words in refused(raw_deploy(api, xml), 422)
    assert stored(system) == before
    assert raw_deploy(api, simple(process_id="p" * 100, name="名" * 200, step_name="步" * 200)).status_code == 201


BLOW_UPS = [   # (script, the amount that sets it off, words of the refusal)
    ("s = 'x' * n", 10**10, "过大"),
    ("s = [0] * n", 10**9, "过大"),
    ("v = 10 ** n", 10**10, "数值过大"),
    ("v = 1 << n", 10**9, "数值过大"),
    ("i = 0\nwhile i != n:\n    i = i + 1", -1, "超过 1,000,000 步"),
    ("s = 'ab'\nwhile len(s) < n:\n    s = s + s", 10**12, "过大"),
]
AMOUNT_FORM = json.dumps({"type": "object", "required": ["kind", "n"], "additionalProperties": False,
                          "properties": {"kind": {"type": "integer", "title": "脚本"},
                                         "n": {"type": "integer", "title": "数量"}}})


def blow_up_diagram() -> bytes:
    """填写数量 (kind, n), then the script ``kind`` picks, then one more step."""
    scripts = [script(f"s{k}", code) for k, (code, _, _) in enumerate(BLOW_UPS)]
    flows = [flow(f"f_to{k}", "pick", f"s{k}", condition=f"kind == {k}") for k in range(len(BLOW_UPS))]
    flows += [flow(f"f_from{k}", f"s{k}", "after") for k in range(len(BLOW_UPS))]
    nodes = ["start", "enter", "pick", "after", "end", *(f"s{k}" for k in range(len(BLOW_UPS)))]
    return diagram("hostile_runtime", start(), user("enter", name="填写数量", form="amount.json"), xgw("pick"),
                   *scripts, user("after", form="press_record.json"), end(), chain("start", "enter", "pick"),
                   chain("after", "end"), *flows, lanes={OFFICE: nodes})


def test_code_that_blows_up_on_submitted_data_refuses_the_step_and_changes_nothing(api, system):
    """Not visible at deploy (the size comes from the form): the runtime bound stops the step, and the
    step's transaction is rolled back whole — the same task can be tried again."""
    assert multipart_deploy(api, blow_up_diagram(), {"amount.json": AMOUNT_FORM}).status_code == 201
    started = api.post("/instances", CLERK, json={"process_id": "hostile_runtime", "data": {}})
    assert started.status_code == 201, started.get_json()
    enter = api.get("/tasks?view=group", CLERK).get_json()["items"][0]["id"]
    before = stored(system)
    for kind, (code, n, words) in enumerate(BLOW_UPS):
        response = api.post(f"/tasks/{enter}/complete", CLERK, json={"data": {"kind": kind, "n": n}})
        message = refused(response, 422)
        assert words in message and response.get_json()["details"][0]["element"] == f"s{kind}", (code, message)
        assert stored(system) == before, code
    assert chain_verifies(system)
    done = api.post(f"/tasks/{enter}/complete", CLERK, json={"data": {"kind": 0, "n": 3}})
    assert done.status_code == 200, done.get_json()           # the task stayed open: a sane amount goes through


# -- form data -----------------------------------------------------------------------------------------------------
def _deep(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


FORM_DATA = [   # (raw JSON of the form data, status, words of the answer)
    ('{"decision": 3, "opinion": ["拟同意"]}', 422, "应为文本"),
    ('{"decision": null, "opinion": {"text": "x"}}', 422, "应为文本"),
    ('{"decision": "拟办", "opinion": "' + "长" * 250_000 + '"}', 422, "文本过长"),
    ('{"decision": "拟办", "opinion": "' + "x" * (10 * MB) + '"}', 413, "过大"),
    ('{"decision": "拟办", "opinion": "拟同意", "typename": "x"}', 422, "typename"),
    ('{"decision": "拟办", "opinion": "拟同意", "__proto__": {"admin": true}}', 422, "__proto__"),
    ('{"decision": "拟办", "opinion": "拟同意", "__class__": "x"}', 422, "__class__"),
    ('{"decision": "拟办", "opinion": "拟同意", "n": NaN}', 422, "有限数"),
    ('{"decision": "拟办", "opinion": "拟同意", "n": 1e400}', 422, "有限数"),
    ('{"decision": "拟办", "opinion": "拟同意", "x": ' + _deep(40) + "}", 422, "嵌套层数"),
    ('{"decision": "拟办", "opinion": "拟同意", "x": ' + _deep(10_000) + "}", 422, "嵌套层数"),
    ('"拟同意"', 422, "对象"),
]
START_DATA = [   # the start form of dept_request: title, department, urgency
    ('{"title": ["标题"], "department": 3, "urgency": true}', 422, "应为文本"),
    ('{"title": "' + "长" * 250_000 + '", "department": "czj", "urgency": "加急"}', 422, "文本过长"),
    ('{"title": "' + "x" * (10 * MB) + '", "department": "czj", "urgency": "加急"}', 413, "过大"),
    ('{"title": "标题", "department": "czj", "urgency": "加急", "typename": 1}', 422, "typename"),
    ('{"title": "标题", "department": "czj", "urgency": "加急", "__proto__": {}}', 422, "__proto__"),
    ('{"title": "标题", "department": "czj", "urgency": "加急", "__class__": 1}', 422, "__class__"),
    ('{"title": "标题", "department": "czj", "urgency": "加急", "x": ' + _deep(10_000) + "}", 422, "嵌套层数"),
    ("[]", 422, "对象"),
]


@pytest.fixture
def at_office_review(api, system):
    """A 部门请示 waiting at 办公室审核, as the clerk sees it."""
    raw_deploy(api, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    started = api.post("/instances", CLERK, json={"process_id": "dept_request", "data": {
        "title": "关于采购应急物资的请示", "department": "czj", "urgency": "加急"}})
    assert started.status_code == 201
    return api.get("/tasks?view=group", CLERK).get_json()["items"][0]["id"]


def test_hostile_form_data_is_refused_and_changes_nothing(api, system, at_office_review):
    before = stored(system)
    sends = [(f"/tasks/{at_office_review}/complete", '{"data": ' + raw + "}", status, words)
             for raw, status, words in FORM_DATA]
    sends += [("/instances", '{"process_id": "dept_request", "data": ' + raw + "}", status, words)
              for raw, status, words in START_DATA]
    for path, body, status, words in sends:
        response = api.post(path, CLERK, data=body.encode(), headers={"Content-Type": "application/json"})
        message = refused(response, status)
        details = json.dumps(response.get_json().get("details", []), ensure_ascii=False)
        assert words in message + details, (path, body[:80], message)
        assert stored(system) == before, (path, body[:80])
    assert chain_verifies(system)
