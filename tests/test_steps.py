"""Steps under pressure: several workers firing timers at once fire each exactly once, and a rule
check that blocks refuses the step with its article, stores nothing and leaves a record."""
from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import timedelta

import pytest

from bpmn_builder import boundary_timer, chain, diagram, end, flow, pgw, script, service, start, user
from conftest import load_org
from govflow import profiles
from govflow.engine.operators import operator
from govflow.errors import ProcessFailed
from govflow.rules import Violation, block_if
from govflow.store.models import Instance, Task
from govflow.work import admin, worker
from helpers import complete, count, deploy_xml, events, open_tasks, task
from helpers import start as start_instance

ORG = load_org("bazhou")
CLERK = ORG.with_post("office_clerk", ORG.office_id)[0].id


@operator("test.materials_complete", "测试：上会材料是否齐全", rule="T4")
def _materials(ctx, attachments):
    block_if([] if "合法性审查意见" in attachments else [Violation(
        "T4", "巴州常务会议规则 第十七条", "未附合法性审查意见，议题一律不上会")])
    return {"complete": True}


def test_several_workers_fire_each_timer_exactly_once(system):
    xml = diagram("many_timers", start(), user("wait", form="press_record.json"),
                  boundary_timer("late", "wait", "workdays(1)", cancel=True), user("chase", form="press_record.json"),
                  end(), end("end2"), chain("start", "wait", "end"), flow("fl", "late", "chase"),
                  flow("fc", "chase", "end2"), lanes={"办公室": ["start", "wait", "late", "chase", "end", "end2"]})
    deploy_xml(system, xml)
    ids = [start_instance(system, CLERK, "many_timers", {}) for _ in range(24)]
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(days=3), "test")
    fired, errors = [], []

    def work():
        try:
            fired.append(worker.run_once(system))
        except Exception as err:  # noqa: BLE001 - the test reports any failure of a worker
            errors.append(err)
    workers = [threading.Thread(target=work) for _ in range(4)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert errors == [] and sum(fired) == 24
    per_instance = Counter(e.instance_id for e in events(system, type_="timer_fired"))
    assert per_instance == Counter({i: 1 for i in ids})
    assert all([t.step_id for t in open_tasks(system, i)] == ["chase"] for i in ids)


def test_a_blocking_rule_refuses_the_step_names_its_article_and_is_recorded(system, api):
    deploy_xml(system, diagram("topic", start(), user("prepare", form="topic_materials.json", variable="topic"),
                               service("check", "test.materials_complete", {"attachments": 'topic["attachments"]'}),
                               user("approve", form="press_record.json"), end(),
                               chain("start", "prepare", "check", "approve", "end"),
                               lanes={"办公室": ["start", "prepare", "check", "approve", "end"]}),
               forms={"topic_materials.json": json.dumps({"type": "object", "properties": {
                   "attachments": {"type": "array", "items": {"type": "string"}}}})})
    instance_id = start_instance(system, CLERK, "topic", {})
    prepare = task(system, instance_id, "prepare")
    before = (count(system, Task), len(events(system, instance_id)))
    refused = api.post(f"/tasks/{prepare.id}/complete", CLERK, json={"data": {"attachments": ["风险评估报告"]}})
    body = refused.get_json()
    assert refused.status_code == 422 and body["error"] == "rule_blocked"
    assert body["details"] == [{"rule": "T4", "article": "巴州常务会议规则 第十七条",
                                "reason": "未附合法性审查意见，议题一律不上会"}]
    assert "第十七条" in body["message"]
    assert task(system, instance_id, "prepare").state == "open" and count(system, Task) == before[0]
    violation = events(system, instance_id)[before[1]:]
    assert [e.type for e in violation] == ["rule_violation"]
    assert json.loads(violation[0].payload)["violations"][0]["rule"] == "T4"
    done = api.post(f"/tasks/{prepare.id}/complete", CLERK, json={"data": {"attachments": ["合法性审查意见"]}})
    assert done.status_code == 200 and [t.step_id for t in open_tasks(system, instance_id)] == ["approve"]
    checked = [json.loads(e.payload) for e in events(system, instance_id, "service_task")]
    assert checked[-1]["operator"] == "test.materials_complete" and checked[-1]["rule"] == "T4"
    with system.store.read() as session:
        assert session.get(Instance, instance_id).status == "running"


def timer_diagram(expression: str, interrupting: bool = False) -> bytes:
    return diagram("timed", start(), user("wait", form="press_record.json"),
                   boundary_timer("late", "wait", expression, cancel=interrupting),
                   user("chase", form="press_record.json"), end(), end("end2"), chain("start", "wait", "end"),
                   flow("fl", "late", "chase"), flow("fc", "chase", "end2"),
                   lanes={"办公室": ["start", "wait", "late", "chase", "end", "end2"]})


def test_timer_text_without_an_offset_is_beijing_time(system):
    deploy_xml(system, timer_diagram("2026-11-24T09:00"))
    instance_id = start_instance(system, CLERK, "timed", {})
    assert task(system, instance_id, "wait").due_at.isoformat() == "2026-11-24T01:00:00+00:00"


def test_a_timer_that_falls_due_during_someone_elses_step_is_recorded(system):
    xml = diagram("two_branches", start(), pgw("split"), user("wait", form="press_record.json", variable="wait"),
                  boundary_timer("late", "wait", "workdays(1)"),
                  user("chase", form="press_record.json", variable="chase"),
                  user("other", form="press_record.json", variable="other"), end("e1"), end("e2"), end("e3"),
                  flow("f0", "start", "split"), flow("f1", "split", "wait"), flow("f2", "split", "other"),
                  flow("f3", "wait", "e1"), flow("f4", "other", "e2"), flow("fl", "late", "chase"),
                  flow("fc", "chase", "e3"),
                  lanes={"办公室": ["start", "split", "wait", "late", "chase", "other", "e1", "e2", "e3"]})
    deploy_xml(system, xml)
    instance_id = start_instance(system, CLERK, "two_branches", {})
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(days=3), "test")
    other = task(system, instance_id, "other")
    complete(system, CLERK, other.id, {"note": "办结"})               # not the worker: a person's step
    assert len(events(system, instance_id, "timer_fired")) == 1
    assert task(system, instance_id, "chase")
    assert worker.run_once(system) == 0                              # nothing left for the worker


def test_a_timer_value_that_is_no_time_refuses_the_step_in_words(system):
    deploy_xml(system, timer_diagram('now() + "x"'))
    before = count(system, Instance)
    with pytest.raises(ProcessFailed, match="ISO-8601"):
        start_instance(system, CLERK, "timed", {})
    assert count(system, Instance) == before


def test_scripts_get_a_copy_of_profile_values(system):
    deploy_xml(system, diagram("meddle", start(), script("s", 'm = profile_value("meeting_members")\nm.append("x")'),
                               end(), chain("start", "s", "end")))
    start_instance(system, CLERK, "meddle", {})
    assert profiles.load("bazhou").value("meeting_members") == ["head", "deputy", "office_director"]
