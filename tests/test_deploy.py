"""Deploying diagrams: checked, normalised, stored once by content hash as a new version; a
rejected file gets its problems element by element and changes nothing stored."""
from __future__ import annotations

import io
import json
import re

import pytest

from bpmn_builder import boundary_timer, chain, diagram, end, flow, service, start, user, xgw
from conftest import REPO
from govflow.errors import ValidationFailed
from govflow.store.models import Blob, Event, ProcessVersion
from helpers import complete, count, deploy_xml, open_tasks, task
from helpers import instance as get_instance
from helpers import start as start_instance

DEPT_REQUEST = (REPO / "processes" / "dept_request.bpmn").read_bytes()


def simple(step_name: str = "办理", lane: str = "办公室", form: str = "press_record.json") -> bytes:
    return diagram("simple", start(), user("work", name=step_name, form=form), end(), chain("start", "work", "end"),
                   lanes={lane: ["start", "work", "end"]})


def stored(system) -> tuple[int, int, int]:
    return count(system, ProcessVersion), count(system, Blob), count(system, Event)


def rejected(system, xml: bytes, **kwargs) -> dict[str, str]:
    before = stored(system)
    with pytest.raises(ValidationFailed) as refused:
        deploy_xml(system, xml, **kwargs)
    assert stored(system) == before, "a rejected file stores nothing"
    return {d["element"]: d["reason"] for d in refused.value.details if d["severity"] == "error"}


def test_the_same_file_is_stored_once(system):
    first = deploy_xml(system, DEPT_REQUEST)["versions"][0]
    again = deploy_xml(system, DEPT_REQUEST)["versions"][0]
    assert (first["version"], first["unchanged"]) == (1, False)
    assert (again["version"], again["unchanged"]) == (1, True)
    assert count(system, ProcessVersion) == 1 and count(system, Blob) == 1 + 5   # the file and its five forms


def test_a_new_version_leaves_running_instances_on_theirs(system):
    deploy_xml(system, simple("办理"))
    old = start_instance(system, "zhongjie", "simple", {})
    assert deploy_xml(system, simple("新的办理"))["versions"][0]["version"] == 2
    new = start_instance(system, "zhongjie", "simple", {})
    assert task(system, old, "work").step_name == "办理" and task(system, new, "work").step_name == "新的办理"
    complete(system, "zhongjie", task(system, old, "work").id, {"note": "完成"})
    assert get_instance(system, old).status == "completed"
    back = deploy_xml(system, simple("办理"))["versions"][0]
    assert back["version"] == 3 and count(system, Blob) == 2 + 1     # two files, one form: no new blob


def test_bare_iso_timer_text_is_stored_normalised(system):
    xml = diagram("timed", start(), user("work", form="press_record.json"),
                  boundary_timer("late", "work", "P3D", kind="timeDuration"), user("chase", form="press_record.json"),
                  end(), end("e2"), chain("start", "work", "end"), flow("fl", "late", "chase"),
                  flow("fc", "chase", "e2"),
                  lanes={"办公室": ["start", "work", "late", "chase", "end", "e2"]})
    version = deploy_xml(system, xml)["versions"][0]
    with system.store.read() as session:
        assert '"P3D"' in session.get(Blob, version["bpmn_hash"]).content


def escalating(to: str, after: str) -> bytes:
    """A task escalated to ``to`` after ``after`` presses (escalateTo, escalateAfterPresses)."""
    extra = (f'<spiffworkflow:property name="escalateTo" value="{to}"/>'
             f'<spiffworkflow:property name="escalateAfterPresses" value="{after}"/></spiffworkflow:properties>')
    task = user("work", form="press_record.json").replace("</spiffworkflow:properties>", extra)
    return diagram("p", start(), task, end(), chain("start", "work", "end"),
                   lanes={"办公室": ["start", "work", "end"]})


@pytest.mark.parametrize("xml, element, words", [
    (diagram("p", start(), user("work", form="press_record.json"), end(), chain("start", "work", "end")),
     "work", "不在任何泳道"),
    (simple(lane="财务处"), "work", "不对应组织机构中的角色"),
    (simple(form="nowhere.json"), "work", "不存在"),
    (simple(form=None), "work", "没有指定表单"),
    (diagram("p", start(), service("svc", "no.such.operator"), end(), chain("start", "svc", "end")),
     "svc", "未注册"),
    (diagram("p", start(), user("w", form="press_record.json"), boundary_timer("t", "w", "P3X", "timeDuration"),
             end(), end("e2"), chain("start", "w", "end"), flow("ft", "t", "e2"), lanes={"办公室": ["start", "w"]}),
     "t", "ISO-8601"),
    (diagram("p", start(), xgw("gw"), end("a"), end("b"), flow("f0", "start", "gw"), flow("fa", "gw", "a"),
             flow("fb", "gw", "b", condition="x == 1")), "fa", "没有条件"),
    (diagram("p", start(), end("a"), end("b"), flow("fa", "start", "a"), flow("fb", "start", "b")),
     "start", "多条流出连线"),
    (diagram("p", start(), end(), chain("start", "end"), executable=False), "p", "可执行"),
    (escalating(to="财务处", after="3"), "work", "逾期提级"),
    (escalating(to="分管领导", after="三次"), "work", "催办次数"),
])
def test_each_problem_names_its_element(system, xml, element, words):
    problems = rejected(system, xml)
    assert element in problems and words in problems[element], problems


def test_an_uploaded_form_must_be_a_json_schema(system):
    broken = {"upload.json": '{"type": "object", "properties": 3}'}
    problems = rejected(system, simple(form="upload.json"), forms=broken)
    assert "JSON Schema" in problems["work"]


def test_an_xsd_error_points_at_the_element(system):
    xml = DEPT_REQUEST.replace(b'<bpmn:userTask id="office_review"', b'<bpmn:userTask bogus="1" id="office_review"')
    problems = rejected(system, xml)
    assert "XSD" in problems["office_review"]


@pytest.mark.parametrize("content, words", [
    (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>', "DOCTYPE"),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;'
     b'&lol;&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>', "DOCTYPE"),
    ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE d [<!ENTITY x SYSTEM "http://example.com/">]><d/>'
     .encode("utf-16"), "DOCTYPE"),
    (b"<bpmn:definitions", "不是合法的 XML"),
    (b"<root/>", "BPMN 2.0"),
    (b"x" * (6 * 1024 * 1024), "文件过大"),
])
def test_hostile_or_broken_files_are_refused_before_parsing_anything(system, content, words):
    problems = rejected(system, content)
    assert words in problems["(文件)"]


def test_a_50_mb_upload_is_refused_by_the_api(api):
    response = api.post("/processes", "wangpeng", data=b"<" * (50 * 1024 * 1024),
                        headers={"Content-Type": "application/xml"})
    assert response.status_code == 413 and "过大" in response.get_json()["message"]


def test_only_designers_deploy_through_the_api(api, system):
    refused = api.post("/processes", "zhongjie", data=DEPT_REQUEST, headers={"Content-Type": "application/xml"})
    assert refused.status_code == 403 and "流程设计" in refused.get_json()["message"]


def test_deploy_through_the_api_with_its_forms(api, system):
    from conftest import load_org
    designer = next(p.id for p in load_org("bazhou").people.values() if "designer" in p.roles)
    form = json.dumps({"type": "object", "required": ["x"], "properties": {"x": {"type": "string", "title": "事项"}}})
    response = api.post("/processes", designer, data={
        "file": (io.BytesIO(simple(form="own.json")), "simple.bpmn"),
        "form": (io.BytesIO(form.encode()), "own.json")}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["versions"][0]["process_id"] == "simple"
    bad = api.post("/processes", designer, data=simple(lane="财务处"), headers={"Content-Type": "application/xml"})
    body = bad.get_json()
    assert bad.status_code == 422 and body["details"][0]["element"] == "work"
    started = api.post("/instances", designer, json={"process_id": "simple", "data": {}}).get_json()
    row = open_tasks(system, started["id"])[0]
    refused = api.post(f"/tasks/{row.id}/complete", "zhongjie", json={"data": {}})
    assert refused.status_code == 422 and refused.get_json()["details"][0]["reason"] == "“事项”为必填项"


def every_error(system, xml: bytes) -> list[tuple[str, str]]:
    before = stored(system)
    with pytest.raises(ValidationFailed) as refused:
        deploy_xml(system, xml)
    assert stored(system) == before, "a rejected file stores nothing"
    return [(d["element"], d["reason"]) for d in refused.value.details if d["severity"] == "error"]


def _due(task: str, expression: str) -> str:
    return task.replace("</spiffworkflow:properties>",
                        f'<spiffworkflow:property name="dueDate" value="{expression}"/></spiffworkflow:properties>')


def test_a_task_dropped_in_a_lane_without_flows_and_with_a_broken_deadline_is_refused(system):
    xml = diagram("p", start(), user("work", form="press_record.json"), end(), chain("start", "work", "end"),
                  _due(user("lonely", name="孤立的任务", form="press_record.json"), "workdays(3"),
                  lanes={"办公室": ["start", "work", "lonely", "end"]})
    reasons = [reason for element, reason in every_error(system, xml) if element == "lonely"]
    assert any("用户任务“孤立的任务”没有流入的连线" in r for r in reasons), reasons
    assert any("没有流出的连线" in r for r in reasons), reasons
    assert any("办理期限" in r and "第 1 行第 9 列" in r and "括号“(”没有闭合" in r for r in reasons), reasons


def test_every_problem_of_a_file_is_reported_at_once_not_in_rounds(system):
    xml = diagram("p", start(), xgw("gw"), user("work", form="press_record.json"), service("svc", "no.such.op"),
                  end("a"), end("b"), flow("f0", "start", "gw"), flow("fa", "gw", "work"),
                  flow("fb", "gw", "svc", condition="x == 1"), flow("fw", "work", "a"), flow("fs", "svc", "b"),
                  flow("fx", "svc", "ghost"),
                  lanes={"财务处": ["start", "gw", "work", "svc", "a", "b"]})
    problems = every_error(system, xml)
    elements = {element for element, _ in problems}
    assert {"fa", "fx", "work"} <= elements, problems     # the XML's, the missing target's, the lane's
    assert any("排他网关 gw 的分支 fa 没有条件" in reason for _, reason in problems), problems


def test_a_flow_to_a_missing_element_is_said_in_chinese(system):
    xml = diagram("p", start(), user("work", form="press_record.json"), end(), chain("start", "work", "end"),
                  flow("stray", "work", "nowhere"), lanes={"办公室": ["start", "work", "end"]})
    problems = every_error(system, xml)
    assert ("stray", "连线 stray 的终点“nowhere”不是本流程中的元素：请在建模工具中把连线两端都接到元素上") in problems
    for _, reason in problems:
        assert not re.search(r"\b(When|looking|task spec|found)\b", reason), reason


def test_what_the_engine_parser_says_reaches_the_designer_in_chinese():
    from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException

    from govflow.bpmn.deploy import _spiff_problem
    said = _spiff_problem(ValidationException("When looking for a task spec, we found two items, perhaps a form "
                                              "has the same ID?"))
    assert said.reason == "流程引擎无法解析：连线指向的元素不存在或不唯一：请检查该元素的连线两端"
    unknown = _spiff_problem(ValueError("Something else entirely"))
    assert not re.search(r"[A-Za-z]{4,}", unknown.reason.replace("BPMN", "")), unknown.reason
