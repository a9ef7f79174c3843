"""The API fuzzed from its own OpenAPI document (schemathesis, through bench/fuzz_api.py): every
operation, with requests that fit its schemas and requests that do not, answers without a 5xx, with
a status code and content type the document declares, an error body that fits its schema, and
never accepts what the schemas forbid. A few examples per operation here; the long run is
``python bench/fuzz_api.py --examples 200``."""
from __future__ import annotations

import json
import sys

import pytest

from conftest import REPO
from govflow.api.openapi import PATHS
from govflow.store.models import Instance
from helpers import count

sys.path.insert(0, str(REPO / "bench"))
import fuzz_api  # noqa: E402


@pytest.fixture
def seeded(sqlite_url):
    system = fuzz_api.seeded(sqlite_url)
    yield system
    system.store.dispose()


def test_no_operation_answers_5xx_or_outside_its_document(seeded):
    report = fuzz_api.fuzz(seeded, examples=10, seed=0)
    # every documented operation but the document itself, which schemathesis leaves out
    assert report.operations == sum(len(ops) for ops in PATHS.values()) - 1
    assert report.cases >= 10 * report.operations
    assert report.server_errors == [] and report.failures == []


def test_the_fuzzer_reports_a_server_error_when_there_is_one(seeded, monkeypatch):
    """The harness itself: an operation that fails inside is caught as a 5xx."""
    def broken(*args, **kwargs):
        raise RuntimeError("boom")
    monkeypatch.setattr("govflow.work.inbox.counts", broken)
    report = fuzz_api.fuzz(seeded, examples=2, seed=0, paths={"/me"})
    assert report.operations == 1 and report.server_errors
    assert all(line.startswith("GET /me") and "-> 500" in line for line in report.server_errors)


# -- what the fuzzer found, each kept as a regression ---------------------------------------------------------------
def test_an_id_past_what_the_database_stores_is_not_found_not_a_server_error(api):
    """Bound into the query, an id past 2^63 - 1 overflowed SQLite's driver and one past 2^31 - 1
    PostgreSQL's INTEGER column: a 500 either way."""
    for method, path in [("GET", "/instances/99999999999999999999"), ("GET", "/instances/2147483648/events"),
                         ("GET", "/meetings/2147483648"), ("GET", "/followups/99999999999999999999"),
                         ("DELETE", "/leave/2147483648"), ("POST", "/instances/2147483648/circulate")]:
        response = api.call(method, path, "wangpeng", json={"to": ["zhongjie"]})
        assert response.status_code == 404 and response.get_json()["message"] == "没有这个接口", path
    largest = api.get("/instances/2147483647", "wangpeng")
    assert largest.status_code == 404 and "不存在" in largest.get_json()["message"]
    refused = api.get("/audit/verify?instance_id=2147483648", "wangpeng")
    assert refused.status_code == 422 and "之间" in refused.get_json()["message"]


def test_a_boolean_or_integer_parameter_must_be_one(api):
    """Any word but 1/true/yes used to read as false (``?active=5`` listed everyone's leave), and an
    empty number as the default."""
    for path, words in [("/leave?active=5", "true 或 false"), ("/tasks?overdue=maybe", "true 或 false"),
                        ("/leave?active=", "true 或 false"), ("/instances?limit=", "整数"),
                        ("/tasks?offset=", "整数")]:
        response = api.get(path, "wangpeng")
        assert response.status_code == 422 and words in response.get_json()["message"], path
    for path in ["/leave?active=true", "/tasks?overdue=0", "/instances?limit=5", "/leave", "/instances"]:
        assert api.get(path, "wangpeng").status_code == 200, path


def test_a_nul_character_is_refused_wherever_it_comes(api, system):
    """PostgreSQL cannot hold U+0000 in text and its driver fails on one bound into a query: every one
    of these was a 500 there (SQLite let most of them through into the data)."""
    api.post("/processes", "wangpeng", data=(REPO / "processes" / "dept_request.bpmn").read_bytes(),
             headers={"Content-Type": "application/xml"})
    sends = [("POST", "/instances", {"process_id": "dept_request", "data": {
                 "title": "关于\x00的请示", "department": "czj", "urgency": "加急"}}),
             ("POST", "/instances", {"process_id": "a\x00b", "data": {"x\x00": 1}}),
             ("POST", "/auth/token", {"username": "wangpeng\x00", "password": "demo"}),
             ("PUT", "/calendar/days/2026-11-30", {"workday": True, "note": "调\x00休"}),
             ("POST", "/emergency-decisions", {"matter": "处置\x00"}),
             ("GET", "/tasks?q=%00", None), ("GET", "/instances?business_key=a%00", None),
             ("GET", "/tasks/a%00b", None), ("GET", "/processes/a%00/versions/1/bpmn", None)]
    for method, path, body in sends:
        response = api.call(method, path, "wangpeng", json=body) if body else api.call(method, path, "wangpeng")
        assert response.status_code == 422 and "NUL" in response.get_json()["message"], (path, body)
    for filename, words in [("a\x00b.bpmn", "NUL"), ("a.bpmn", "BPMN 2.0")]:    # a part without a name: the
        nameless = ('--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b\r\nContent-Disposition: '   # fuzzer's 500
                    f'form-data; name="file"; filename="{filename}"\r\n\r\n<x/>\r\n--b--\r\n').encode()
        upload = api.post("/processes", "wangpeng", data=nameless, content_type="multipart/form-data; boundary=b")
        assert upload.status_code == 422 and words in json.dumps(upload.get_json(), ensure_ascii=False), filename
    page = api.client.post("/login", data={"username": "wangpeng\x00", "password": "demo", "csrf": "x"})
    assert page.status_code == 422 and "NUL" in page.get_data(as_text=True)
    assert count(system, Instance) == 0
