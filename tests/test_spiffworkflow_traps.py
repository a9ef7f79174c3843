"""One regression test per trap of SPIFFWORKFLOW-NOTES.md: each shows the trap is real in bare
SpiffWorkflow 3.2.0 (so the test would fail if the guard went away) and that govflow is not
caught by it."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskIterator, TaskState
from sqlalchemy import inspect, update

import govflow.engine.spiff  # noqa: F401  (lifts the depth cap on import)
from bpmn_builder import (
    boundary_timer,
    chain,
    diagram,
    end,
    flow,
    parallel_multi,
    pgw,
    script,
    service,
    start,
    user,
    xgw,
)
from conftest import REPO, load_org
from govflow.bpmn.xml import read
from govflow.engine.operators import operator
from govflow.errors import ProcessFailed, ValidationFailed
from govflow.store.models import Instance
from govflow.time.timeutil import SHANGHAI
from govflow.work import admin, worker
from govflow.work.system import Govflow
from helpers import complete, count, deploy_xml, events, holder, instance, open_tasks, task, workflow
from helpers import start as start_instance

OFFICE = "办公室"


@operator("test.boom", "测试：总是出错")
def _boom(ctx, **params):
    raise ValueError("拨号失败 boom")


@operator("test.typename", "测试：返回保留字段")
def _typename(ctx, **params):
    return {"typename": "x"}


@operator("test.moment", "测试：返回日期时间")
def _moment(ctx, **params):
    return {"at": datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)}


def bare_workflow(xml: bytes, process_id: str, data: dict, engine=None) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(read(xml), filename="bare.bpmn")
    wf = BpmnWorkflow(parser.get_spec(process_id), parser.get_subprocess_specs(process_id),
                      script_engine=engine or PythonScriptEngine())
    for t in wf.get_tasks(state=TaskState.READY):
        t.data.update(data)
    return wf


# -- trap 1: timer text is a Python expression -----------------------------------------------------------------------
def timer_diagram(expression: str, kind: str) -> bytes:
    return diagram("timer_trap", start(), user("wait", form="press_record.json"),
                   boundary_timer("late", "wait", expression, kind=kind, cancel=True),
                   user("after_timer", form="press_record.json"), end("end"), end("end2"),
                   chain("start", "wait", "end"), flow("f_late", "late", "after_timer"),
                   flow("f_after", "after_timer", "end2"),
                   lanes={OFFICE: ["start", "wait", "late", "after_timer", "end", "end2"]})


def test_trap1_bare_iso_duration_is_a_name_error_in_spiffworkflow():
    wf = bare_workflow(timer_diagram("PT1H", "timeDuration"), "timer_trap", {})
    with pytest.raises(Exception, match="PT1H"):
        wf.do_engine_steps()


def test_trap1_govflow_quotes_bare_iso_and_fires_on_its_own_clock(system):
    result = deploy_xml(system, timer_diagram("PT1H", "timeDuration"))
    assert result["versions"][0]["process_id"] == "timer_trap"
    instance_id = start_instance(system, "zhongjie", "timer_trap", {})
    assert worker.run_once(system) == 0                     # not due yet by govflow's clock
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(minutes=61), "test")
    assert worker.run_once(system) == 1
    assert [t.step_id for t in open_tasks(system, instance_id)] == ["after_timer"]


def test_trap1_unusable_timer_text_is_rejected_with_the_element():
    from govflow.bpmn.timers import normalise
    assert normalise("timeDuration", "P3D") == ('"P3D"', None)
    assert normalise("timeCycle", "R6/P1D") == ('"R6/P1D"', None)
    assert normalise("timeDate", "workdays(3)") == ("workdays(3)", None)
    for kind, bad in (("timeDuration", "P3X"), ("timeDuration", ""), ("timeDate", "${dueDate}"),
                      ("timeDate", "__import__('os')")):
        assert normalise(kind, bad)[1], bad


# -- trap 2: errors inside call_service are masked -------------------------------------------------------------------
def test_trap2_spiffworkflow_masks_service_errors_as_script_name_error():
    class Failing(TaskDataEnvironment):
        def call_service(self, context, **kwargs):
            raise ValueError("拨号失败 boom")
    with pytest.raises(NameError, match="script"):
        PythonScriptEngine(environment=Failing()).call_service(SimpleNamespace(data={}), operation_name="x",
                                                               operation_params={})


def test_trap2_govflow_reports_the_operators_own_error(system):
    deploy_xml(system, diagram("boom", start(), service("call", "test.boom"), end(), chain("start", "call", "end")))
    before = count(system, Instance)
    with pytest.raises(ProcessFailed) as raised:
        start_instance(system, "zhongjie", "boom", {})
    assert "拨号失败 boom" in raised.value.message and "call" in raised.value.message
    assert "script" not in raised.value.message
    assert count(system, Instance) == before                 # nothing stored


# -- trap 3: parallel branches writing the same key ------------------------------------------------------------------
def test_trap3_branches_writing_one_key_are_rejected_at_deploy(system):
    xml = diagram("veto", start(), pgw("split"), user("a", form="countersign.json"),
                  user("b", form="countersign.json"), pgw("join"), end(),
                  flow("f0", "start", "split"), flow("f1", "split", "a"), flow("f2", "split", "b"),
                  flow("f3", "a", "join"), flow("f4", "b", "join"), flow("f5", "join", "end"),
                  lanes={OFFICE: ["start", "split", "a", "b", "join", "end"]})
    with pytest.raises(ValidationFailed) as raised:
        deploy_xml(system, xml)
    problems = [d for d in raised.value.details if "覆盖" in d["reason"]]
    assert {p["element"] for p in problems} == {"b"}
    assert any("“decision”" in p["reason"] and "a" in p["reason"] for p in problems)


def test_trap3_a_countersign_veto_survives_the_join(system):
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    instance_id = start_instance(system, "zhongjie", "dept_request",
                                 {"title": "关于调整预算的请示", "department": "czj", "urgency": "一般"})
    complete(system, "zhongjie", task(system, instance_id, "office_review").id,
             {"decision": "拟办", "opinion": "拟同意"})
    complete(system, "zhongjie", task(system, instance_id, "office_check").id, {"decision": "同意"})
    leader = task(system, instance_id, "leader_countersign")
    complete(system, holder(system, leader), leader.id, {"decision": "不同意", "opinion": "资金来源不明"})
    assert open_tasks(system, instance_id) == []
    tally = workflow(system, instance_id).last_task.data["tally"]
    assert tally["passed"] is False and tally["disagree"] == 1


# -- trap 4: nested task data shared by reference --------------------------------------------------------------------
def shared_data_diagram() -> bytes:
    return diagram("shared", start(), pgw("split"), script("edit", 'doc["meta"]["status"] = "已改"'),
                   user("a", form="press_record.json", variable="a"),
                   user("b", form="press_record.json", variable="b"), pgw("join"), end(),
                   flow("f0", "start", "split"), flow("f1", "split", "edit"), flow("f2", "edit", "a"),
                   flow("f3", "split", "b"), flow("f4", "a", "join"), flow("f5", "b", "join"),
                   flow("f6", "join", "end"),
                   lanes={OFFICE: ["start", "split", "edit", "a", "b", "join", "end"]})


def test_trap4_spiffworkflow_lets_one_branch_change_anothers_data():
    wf = bare_workflow(shared_data_diagram(), "shared", {"doc": {"meta": {"status": "草稿"}}})
    wf.do_engine_steps()
    other = [t for t in wf.get_tasks(state=TaskState.READY, manual=True) if t.task_spec.bpmn_id == "b"][0]
    assert other.data["doc"]["meta"]["status"] == "已改"


def test_trap4_govflow_branches_and_history_keep_their_own_data(system):
    deploy_xml(system, shared_data_diagram())
    instance_id = start_instance(system, "zhongjie", "shared", {"doc": {"meta": {"status": "草稿"}}})
    ready = {t.task_spec.bpmn_id: t for t in workflow(system, instance_id).get_tasks(state=TaskState.READY,
                                                                                      manual=True)}
    assert ready["a"].data["doc"]["meta"]["status"] == "已改"
    assert ready["b"].data["doc"]["meta"]["status"] == "草稿"
    started = events(system, instance_id, "instance_started")[0]
    assert json.loads(started.payload)["data"]["doc"]["meta"]["status"] == "草稿"


# -- trap 5: DeepMerge keeps stale list items ------------------------------------------------------------------------
LIST_FORM = json.dumps({"type": "object", "properties": {"items": {"type": "array", "items": {"type": "string"}}}})


def list_diagram() -> bytes:
    return diagram("lists", start(), user("edit", form="list_form.json"), user("next", form="press_record.json"),
                   end(), chain("start", "edit", "next", "end"), lanes={OFFICE: ["start", "edit", "next", "end"]})


def test_trap5_spiffworkflow_deepmerge_keeps_removed_items():
    wf = bare_workflow(list_diagram(), "lists", {"items": ["甲", "乙", "丙"]})
    wf.do_engine_steps()
    edit = wf.get_tasks(state=TaskState.READY, manual=True)[0]
    edit.task_spec.add_data_from_form(edit, {"items": ["丙", "丙"]})
    assert edit.data["items"] == ["甲", "乙"]             # the submitted list is gone, stale items stay


def test_trap5_govflow_replaces_the_submitted_list(system):
    deploy_xml(system, list_diagram(), forms={"list_form.json": LIST_FORM})
    instance_id = start_instance(system, "zhongjie", "lists", {"items": ["甲", "乙", "丙"]})
    complete(system, "zhongjie", task(system, instance_id, "edit").id, {"items": ["丙", "丙"]})
    assert workflow(system, instance_id).last_task.data["items"] == ["丙", "丙"]


# -- trap 6: snapshot restore depends on key order -------------------------------------------------------------------
def _reordered(snapshot: str) -> str:
    """A JSONB round trip sorts object keys (shorter first, then bytewise); for task ids that
    order is as good as random, so some children end up before their parents. Reversing the
    tasks mapping does that deterministically."""
    document = json.loads(snapshot)
    document["tasks"] = dict(reversed(list(document["tasks"].items())))
    return json.dumps(document)


def test_trap6_reordered_snapshot_loses_task_data_in_spiffworkflow(system):
    from govflow.engine import spiff
    deploy_xml(system, list_diagram(), forms={"list_form.json": LIST_FORM})
    instance_id = start_instance(system, "zhongjie", "lists", {"items": ["甲", "乙"]})
    with system.store.read() as session:
        inst = session.get(Instance, instance_id)
        definition = system.definitions.get(session, inst.process_version_id)
        snapshot = inst.snapshot
    restored = spiff.restore(_reordered(snapshot), definition.spec, definition.subprocess_specs, PythonScriptEngine())
    ready = restored.get_tasks(state=TaskState.READY, manual=True)[0]
    assert ready.data == {}                                   # the silent loss


def test_trap6_govflow_stores_text_and_refuses_a_reordered_snapshot(system):
    with system.store.read() as session:
        column = {c["name"]: c for c in inspect(session.connection()).get_columns("instance")}["snapshot"]
    assert "JSON" not in str(column["type"]).upper()
    deploy_xml(system, list_diagram(), forms={"list_form.json": LIST_FORM})
    instance_id = start_instance(system, "zhongjie", "lists", {"items": ["甲", "乙"]})
    with system.store.write() as session:
        inst = session.get(Instance, instance_id)
        session.execute(update(Instance).where(Instance.id == instance_id)
                        .values(snapshot=_reordered(inst.snapshot)).execution_options(synchronize_session=False))
    edit = task(system, instance_id, "edit")
    with pytest.raises(ProcessFailed, match="快照"):
        complete(system, "zhongjie", edit.id, {"items": ["甲"]})


# -- trap 7: a data key named typename -------------------------------------------------------------------------------
def test_trap7_typename_breaks_spiffworkflow_restore():
    from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
    from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    wf = bare_workflow(list_diagram(), "lists", {"items": [], "meta": {"typename": "x"}})
    wf.do_engine_steps()
    with pytest.raises(TypeError):
        serializer.deserialize_json(serializer.serialize_json(wf))


def test_trap7_govflow_refuses_typename_from_forms_scripts_and_operators(system, api):
    deploy_xml(system, list_diagram(), forms={"list_form.json": LIST_FORM})
    instance_id = start_instance(system, "zhongjie", "lists", {"items": []})
    edit = task(system, instance_id, "edit")
    before = len(events(system))
    response = api.post(f"/tasks/{edit.id}/complete", "zhongjie", json={"data": {"items": [], "typename": "x"}})
    assert response.status_code == 422 and "typename" in response.get_json()["details"][0]["field"]
    assert task(system, instance_id, "edit").state == "open" and len(events(system)) == before
    deploy_xml(system, diagram("typename_script", start(), script("s", 'x = {"typename": "y"}'), end(),
                               chain("start", "s", "end")))
    deploy_xml(system, diagram("typename_operator", start(), service("s", "test.typename"), end(),
                               chain("start", "s", "end")))
    for process_id in ("typename_script", "typename_operator"):
        with pytest.raises((ProcessFailed, ValidationFailed), match="typename"):
            start_instance(system, "zhongjie", process_id, {})


# -- trap 8: the task tree depth cap ---------------------------------------------------------------------------------
def loop_diagram(passes: int) -> bytes:
    return diagram("loop", start(), script("count", "n = n + 1"), xgw("again", default="f_done"),
                   user("final", form="press_record.json"), end(),
                   flow("f0", "start", "count"), flow("f1", "count", "again"),
                   flow("f_back", "again", "count", condition=f"n < {passes}"), flow("f_done", "again", "final"),
                   flow("f2", "final", "end"), lanes={OFFICE: ["start", "count", "again", "final", "end"]})


def test_trap8_spiffworkflow_stops_silently_past_depth_1000(monkeypatch):
    for cls in (TaskIterator, govflow.engine.spiff.BpmnTaskIterator):
        defaults = list(cls.__init__.__defaults__)
        defaults[defaults.index(govflow.engine.spiff._UNBOUNDED)] = 1000
        monkeypatch.setattr(cls.__init__, "__defaults__", tuple(defaults))
    wf = bare_workflow(loop_diagram(600), "loop", {"n": 0})
    wf.do_engine_steps()
    assert wf.get_tasks(state=TaskState.READY, manual=True) == []
    assert wf.is_completed()                                  # says done, but "final" was never reached


def test_trap8_govflow_runs_a_600_pass_loop_to_the_end(system):
    deploy_xml(system, loop_diagram(600))
    instance_id = start_instance(system, "zhongjie", "loop", {"n": 0})
    final = task(system, instance_id, "final")
    wf = workflow(system, instance_id)
    assert wf.last_task.data["n"] == 600 and max(t.depth for t in wf.get_tasks()) > 1000
    complete(system, "zhongjie", final.id, {"note": "完成"})
    assert open_tasks(system, instance_id) == []


# -- trap 9: multi-instance completionCondition sees only the last child ---------------------------------------------
def countersign_diagram(condition: str = "") -> bytes:
    multi = parallel_multi("departments", "consulted_department", "opinions", "opinion", condition)
    return diagram("k_of_n", start(), user("sign", form="countersign.json", variable="opinion", multi=multi),
                   service("tally", "countersign.tally", {"opinions": "opinions", "required": "2"}, "tally"), end(),
                   chain("start", "sign", "tally", "end"),
                   lanes={"会签单位": ["sign"], OFFICE: ["start", "tally", "end"]})


def test_trap9_completion_condition_is_rejected_with_the_reason(system):
    with pytest.raises(ValidationFailed) as raised:
        deploy_xml(system, countersign_diagram("len([o for o in opinions if o]) >= 2"))
    assert any(d["element"] == "sign" and "completionCondition" in d["reason"] for d in raised.value.details)


def test_trap9_two_of_three_is_decided_by_govflow_after_the_join(system):
    deploy_xml(system, countersign_diagram())
    instance_id = start_instance(system, "zhongjie", "k_of_n", {"departments": ["czj", "fgj", "sfj"]})
    signs = open_tasks(system, instance_id)
    heads = {p.id for p in load_org("bazhou").people.values()
             if p.post == "dept_head" and p.department in ("czj", "fgj", "sfj")}
    assert {t.assignee for t in signs} == heads and len(signs) == 3
    for row, decision in zip(signs, ("同意", "不同意", "同意"), strict=True):
        complete(system, row.assignee, row.id, {"decision": decision})
    tally = workflow(system, instance_id).last_task.data["tally"]
    assert tally == {**tally, "agree": 2, "disagree": 1, "required": 2, "passed": True}


def test_a_multi_instance_started_by_one_process_completes_in_another(system):
    """SpiffWorkflow gathers a multi-instance child through a connection on the parsed spec, made
    when the child is created: another process (a restarted server, another gunicorn worker) used to
    restore the children without it, and the 会签 never completed. A second system on the same
    database has its own parse of the definition, as another process would."""
    deploy_xml(system, countersign_diagram())
    instance_id = start_instance(system, "zhongjie", "k_of_n", {"departments": ["czj", "fgj", "sfj"]})
    signs = open_tasks(system, instance_id)
    complete(system, signs[0].assignee, signs[0].id, {"decision": "同意"})
    other = Govflow(system.settings)
    try:
        for row in signs[1:]:
            complete(other, row.assignee, row.id, {"decision": "同意"})
    finally:
        other.store.dispose()
    assert instance(system, instance_id).status == "completed"
    assert workflow(system, instance_id).last_task.data["tally"]["agree"] == 3


# -- trap 10: plain eval/exec ----------------------------------------------------------------------------------------
def test_trap10_spiffworkflow_expressions_reach_every_class():
    classes = TaskDataEnvironment().evaluate("().__class__.__base__.__subclasses__()", {})
    assert len(classes) > 100


def test_trap10_govflow_rejects_escapes_at_deploy_and_bounds_running_time(system):
    escape = diagram("escape", start(), script("s", "x = ().__class__.__base__.__subclasses__()"), end(),
                     chain("start", "s", "end"))
    with pytest.raises(ValidationFailed) as raised:
        deploy_xml(system, escape)
    assert raised.value.details[0]["element"] == "s" and "下划线" in raised.value.details[0]["reason"]
    spin = "n = 0\nwhile n >= 0:\n    n = n + 1"         # endless, but not visibly so: only running shows it
    deploy_xml(system, diagram("spin", start(), script("s", spin), end(), chain("start", "s", "end")))
    with pytest.raises(ProcessFailed, match="超过"):
        start_instance(system, "zhongjie", "spin", {})


# -- trap 11: to_dict is not JSON-safe -------------------------------------------------------------------------------
def test_trap11_operator_datetimes_become_json_text(system, api):
    deploy_xml(system, diagram("moment", start(), service("s", "test.moment", result="stamp"),
                               user("look", form="press_record.json"), end(), chain("start", "s", "look", "end"),
                               lanes={OFFICE: ["start", "s", "look", "end"]}))
    instance_id = start_instance(system, "zhongjie", "moment", {})
    shown = api.get(f"/instances/{instance_id}", "zhongjie").get_json()
    assert shown["data"]["stamp"] == {"at": "2026-11-23T09:30:00+08:00"}


# -- trap 12: service tasks without an operator, Camunda attributes, JUEL --------------------------------------------
def test_trap12_foreign_service_tasks_and_juel_are_rejected_with_reasons(system):
    camunda = ('<bpmn:serviceTask id="mail" xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
               'camunda:class="org.example.Mail"/>')
    xml = diagram("foreign", start(), camunda, xgw("gw", default="f_no"), user("yes", form="press_record.json"),
                  end("e1"), end("e2"), flow("f0", "start", "mail"), flow("f1", "mail", "gw"),
                  flow("f_yes", "gw", "yes", condition="${approved}"), flow("f_no", "gw", "e2"),
                  flow("f2", "yes", "e1"),
                  lanes={OFFICE: ["start", "mail", "gw", "yes", "e1", "e2"]})
    with pytest.raises(ValidationFailed) as raised:
        deploy_xml(system, xml)
    reasons = {d["element"]: d["reason"] for d in raised.value.details}
    assert "JUEL" in reasons["f_yes"]
    assert "Camunda" in reasons["mail"]


def test_trap12_service_task_without_operator_names_the_element(system):
    xml = diagram("no_operator", start(), '<bpmn:serviceTask id="svc"/>', end(), chain("start", "svc", "end"))
    with pytest.raises(ValidationFailed) as raised:
        deploy_xml(system, xml)
    assert raised.value.details[0]["element"] == "svc"
