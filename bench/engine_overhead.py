"""Task completions per second: govflow against bare SpiffWorkflow, same diagram, same process.

    python bench/engine_overhead.py [--instances 40] [--rounds 3]

Modes, each driving processes/dept_request.bpmn through its four user tasks (办公室审核, 办公室核稿 and
分管副区长会签 in parallel, 签发) with the 会签 tally service task and the 工作日 timer in between:

  bare-memory   SpiffWorkflow alone, in memory
  bare-sqlite   SpiffWorkflow + one serialize_json + one SQLite commit per completion
  govflow       govflow's service layer on SQLite: snapshot, inbox rows, timer column and the
                hash-chained events written in one transaction per completion
  govflow-http  the same through the JSON API (Flask test client, token auth, JSON in and out)

Machines here are noisy: absolute figures are not comparable across runs, the ratios printed at
the end (measured in one run, median of the rounds) are the result.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from govflow import admin, instances, tasks  # noqa: E402
from govflow.app import create_app  # noqa: E402
from govflow.auth import actor_for  # noqa: E402
from govflow.bpmn.deploy import deploy  # noqa: E402
from govflow.config import Settings  # noqa: E402
from govflow.inbox import candidates  # noqa: E402
from govflow.models import Task  # noqa: E402
from govflow.org import Organisation  # noqa: E402
from govflow.system import Govflow  # noqa: E402
from govflow.timeutil import SHANGHAI  # noqa: E402

DIAGRAM = REPO / "processes" / "dept_request.bpmn"
START = {"title": "关于申请专项资金的请示", "department": "czj", "urgency": "一般"}
ANSWERS = {"office_review": {"decision": "拟办", "opinion": "拟同意"}, "office_check": {"decision": "同意"},
           "leader_countersign": {"decision": "同意"}, "sign_off": {"decision": "同意签发", "opinion": "同意"}}
STEPS_PER_INSTANCE = len(ANSWERS)


# -- bare SpiffWorkflow -----------------------------------------------------------------------------------
class BareEnvironment(TaskDataEnvironment):
    """The least a bare engine needs to run this diagram: the tally and a fixed timer date."""

    def __init__(self):
        super().__init__({"workdays": lambda n: "2026-11-26T17:30:00+08:00"})

    def call_service(self, context, operation_name, operation_params, **kwargs):
        opinions = operation_params["opinions"]["value"]
        return json.dumps({"passed": all(o["decision"] == "同意" for o in opinions)})


def bare_specs():
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(DIAGRAM))
    return parser.get_spec("dept_request"), parser.get_subprocess_specs("dept_request")


def run_bare(instances_count: int, persist: bool) -> float:
    spec, subs = bare_specs()
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    db = None
    if persist:
        path = tempfile.mktemp(suffix=".db")
        db = sqlite3.connect(path)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")          # the durability govflow's store commits with
        db.execute("CREATE TABLE wf (id INTEGER PRIMARY KEY, snapshot TEXT)")
    began = time.perf_counter()
    for number in range(instances_count):
        wf = BpmnWorkflow(spec, subs, script_engine=PythonScriptEngine(environment=BareEnvironment()))
        for t in wf.get_tasks(state=TaskState.READY):
            t.data.update(START)
        wf.do_engine_steps()
        while True:
            ready = wf.get_tasks(state=TaskState.READY, manual=True)
            if not ready:
                break
            step = ready[0]
            step.data[step.task_spec.bpmn_id] = dict(ANSWERS[step.task_spec.bpmn_id])
            step.run()
            wf.do_engine_steps()
            if db is not None:
                db.execute("INSERT OR REPLACE INTO wf VALUES (?, ?)", (number, serializer.serialize_json(wf)))
                db.commit()
        assert wf.is_completed()
    elapsed = time.perf_counter() - began
    if db is not None:
        db.close()
    return instances_count * STEPS_PER_INSTANCE / elapsed


# -- govflow ---------------------------------------------------------------------------------------------
def govflow_system() -> Govflow:
    directory = tempfile.mkdtemp()
    system = Govflow(Settings(database_url=f"sqlite:///{directory}/bench.db", mode="test", home=REPO,
                              secret_key="bench"))
    system.store.migrate()
    org = Organisation.from_toml((REPO / "orgs" / "bazhou.toml").read_text(encoding="utf-8"))
    with system.store.write() as session:
        admin.load_organisation(system, session, org, "bench")
        admin.set_clock(system, session, datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI), True, "bench")
    deploy(system, DIAGRAM.read_bytes(), DIAGRAM.name, "bench")
    return system


def open_rows(system: Govflow, instance_id: int) -> list[Task]:
    with system.store.read() as session:
        return list(session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == "open")))


def holder(system: Govflow, row: Task) -> str:
    with system.store.read() as session:
        return row.assignee or candidates(session, row.id)[0]


def run_govflow(system: Govflow, instances_count: int) -> float:
    org = Organisation.from_toml((REPO / "orgs" / "bazhou.toml").read_text(encoding="utf-8"))
    clerk = actor_for(org, org.with_post("office_clerk", org.office_id)[0].id)
    elapsed = 0.0
    for _ in range(instances_count):
        with system.store.write() as session:
            instance_id = instances.start(system, session, clerk, "dept_request", START).id
        while rows := open_rows(system, instance_id):
            row = rows[0]
            person = actor_for(org, holder(system, row))
            began = time.perf_counter()
            with system.store.write() as session:
                tasks.complete(system, session, person, row.id, ANSWERS[row.step_id])
            elapsed += time.perf_counter() - began
    return instances_count * STEPS_PER_INSTANCE / elapsed


def run_http(system: Govflow, instances_count: int) -> float:
    client = create_app(system=system).test_client()
    tokens: dict[str, str] = {}

    def headers(person: str) -> dict:
        if person not in tokens:
            reply = client.post("/api/v1/auth/token", json={"username": person, "password": "demo"})
            tokens[person] = reply.get_json()["token"]
        return {"Authorization": f"Bearer {tokens[person]}"}

    with system.store.read() as session:
        org = system.organisation(session)
    clerk = org.with_post("office_clerk", org.office_id)[0].id
    elapsed = 0.0
    for _ in range(instances_count):
        instance_id = client.post("/api/v1/instances", json={"process_id": "dept_request", "data": START},
                                  headers=headers(clerk)).get_json()["id"]
        while rows := open_rows(system, instance_id):
            row = rows[0]
            person = holder(system, row)
            auth = headers(person)
            began = time.perf_counter()
            reply = client.post(f"/api/v1/tasks/{row.id}/complete", json={"data": ANSWERS[row.step_id]},
                                headers=auth)
            elapsed += time.perf_counter() - began
            assert reply.status_code == 200, reply.get_json()
    return instances_count * STEPS_PER_INSTANCE / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    system = govflow_system()
    results: dict[str, list[float]] = {"bare-memory": [], "bare-sqlite": [], "govflow": [], "govflow-http": []}
    run_bare(3, False)
    run_govflow(system, 2)                          # warm the caches: definitions, org
    for _ in range(args.rounds):
        results["bare-memory"].append(run_bare(args.instances, persist=False))
        results["bare-sqlite"].append(run_bare(args.instances, persist=True))
        results["govflow"].append(run_govflow(system, args.instances))
        results["govflow-http"].append(run_http(system, args.instances))
    median = {mode: statistics.median(values) for mode, values in results.items()}
    print(f"{args.instances} instances x {STEPS_PER_INSTANCE} completions, {args.rounds} rounds, median")
    for mode, value in median.items():
        print(f"  {mode:<13} {value:8.1f} completions/s   (rounds: {', '.join(f'{v:.0f}' for v in results[mode])})")
    print("ratios")
    print(f"  govflow / bare-sqlite       {median['govflow'] / median['bare-sqlite']:.2f}   (target >= 0.5)")
    print(f"  govflow / bare-memory       {median['govflow'] / median['bare-memory']:.2f}")
    print(f"  govflow-http / bare-sqlite  {median['govflow-http'] / median['bare-sqlite']:.2f}")
    print(f"  govflow-http / govflow      {median['govflow-http'] / median['govflow']:.2f}")


if __name__ == "__main__":
    main()
