"""Task completions per second: govflow against bare SpiffWorkflow, same diagram, same completions.

    python bench/engine_overhead.py [--instances 12] [--rounds 3] [--postgres-url URL | --postgres-url '']

Documents of dongchang go through processes/document_approval.bpmn exactly as ``bench/replay.py``
drives them (退文 and resubmission, a consultation of another department, 会签, 签发 with a 发文字号,
印发). A round goes document after document; for each, the three govflow modes take turns going
first, and the history govflow recorded on SQLite is then the script of the two bare modes:

  govflow       govflow's service layer on SQLite: a write transaction around ``tasks.complete`` (the
                instance lock, the rules, the snapshot, the inbox rows and the hash-chained events)
  govflow-http  the same through the JSON API (Flask test client, token auth, JSON in and out)
  govflow-pg    the service layer on PostgreSQL (a fresh schema of ``--postgres-url``; skipped, with
                the reason, where it is not reachable)
  bare-memory   SpiffWorkflow alone, in memory, on the same diagram: the same start data, the same
                tasks completed in the same order (paired by step id) with the same submitted data;
                service tasks answer with the results govflow recorded (as ``govflow audit
                reexecute`` does), so the rule checks are not charged to the baseline; scripts and
                conditions run by plain eval/exec, and ``workdays()``, the one helper the diagram
                calls, answers a far-future moment (no timer comes due)
  bare-sqlite   bare-memory + one ``serialize_json`` (SpiffWorkflow's own serializer) and one SQLite
                commit per completion (WAL, synchronous=FULL, as govflow's SQLite)

Only completions are timed (starting a document is not). The bare runs must end each document
with the data govflow ended it with, or the bench stops. Machines here are noisy: absolute figures
are not comparable across runs; the ratios printed at the end (measured in one run, median of the
rounds) are the result. Last, one govflow completion is broken down by phase, timed from the
outside by wrapping the functions a completion calls.
"""
from __future__ import annotations

import argparse
import functools
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task as SpiffTask
from SpiffWorkflow.util.task import TaskState
from SpiffWorkflow.workflow import Workflow
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, SessionTransaction

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from replay import DIAGRAM, Documents, build  # noqa: E402  (bench/replay.py: the same documents)

from govflow.app import create_app  # noqa: E402
from govflow.engine import forms, spiff  # noqa: E402
from govflow.engine.scripting import GovScriptEngine, SandboxEnvironment  # noqa: E402
from govflow.people.auth import actor_for  # noqa: E402
from govflow.people.org import Organisation  # noqa: E402
from govflow.store.eventlog import EventBatch  # noqa: E402
from govflow.store.models import Event, Task  # noqa: E402
from govflow.work import inbox, instances, tasks  # noqa: E402
from govflow.work.inbox import candidates  # noqa: E402
from govflow.work.system import Govflow  # noqa: E402

PROCESS = "document_approval"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
FAR_FUTURE = "2099-12-31T17:30:00+08:00"   # what the bare workdays() answers: no timer comes due
TARGET = 0.5


def dongchang() -> Organisation:
    return Organisation.from_toml((REPO / "orgs" / "dongchang.toml").read_text(encoding="utf-8"))


# -- govflow: the documents, their completions timed ---------------------------------------------------------
class Timed(Documents):
    """bench/replay.py's documents, each completion timed; the holder is looked up before the clock starts."""

    def __init__(self, system: Govflow, org: Organisation):
        super().__init__(system, org)
        self.seconds, self.count = 0.0, 0

    def answer(self, instance_id: int, step: str, data: dict, row: Task | None = None) -> None:
        row = row or next(t for t in self.open(instance_id) if t.step_id == step)
        person = self.holder(row)
        began = time.perf_counter()
        self.complete(row, person, data)
        self.seconds += time.perf_counter() - began
        self.count += 1

    def holder(self, row: Task) -> str:
        with self.system.store.read() as session:
            return row.assignee or candidates(session, row.id)[0]

    def complete(self, row: Task, person: str, data: dict) -> None:
        with self.system.store.write() as session:
            tasks.complete(self.system, session, actor_for(self.org, person), row.id, data)

    def rate(self) -> float:
        return self.count / self.seconds


class OverHttp(Timed):
    """The same completions as JSON API requests, each holder with their own token."""

    def __init__(self, system: Govflow, org: Organisation):
        super().__init__(system, org)
        self.client = create_app(system=system).test_client()
        self.tokens: dict[str, str] = {}

    def holder(self, row: Task) -> str:
        person = super().holder(row)
        if person not in self.tokens:   # logging in is not a completion: once, before the clock starts
            self.tokens[person] = self.client.post("/api/v1/auth/token",
                                                   json={"username": person, "password": "demo"}).get_json()["token"]
        return person

    def complete(self, row: Task, person: str, data: dict) -> None:
        reply = self.client.post(f"/api/v1/tasks/{row.id}/complete", json={"data": data},
                                 headers={"Authorization": f"Bearer {self.tokens[person]}"})
        assert reply.status_code == 200, reply.get_json()


# -- the histories govflow recorded: the bare runs' script --------------------------------------------------
@dataclass
class History:
    start: dict
    completions: list[tuple[str, dict]] = field(default_factory=list)   # (step id, submitted data)
    services: list[dict] = field(default_factory=list)                 # service_task payloads
    end: dict | None = None


def history(system: Govflow, instance_id: int) -> History:
    found = None
    with system.store.read() as session:
        for event in session.scalars(select(Event).where(Event.instance_id == instance_id)
                                     .order_by(Event.instance_seq)):
            payload = json.loads(event.payload)
            if event.type == "instance_started":
                found = History(payload["data"])
            elif event.type == "task_completed":
                found.completions.append((payload["step"], payload["data"]))
            elif event.type == "service_task":
                found.services.append(payload)
            elif event.type == "instance_ended":
                found.end = payload["data"]
    return found


# -- bare SpiffWorkflow ----------------------------------------------------------------------------------------
class RecordedServices(PythonScriptEngine):
    """Plain Python scripts, the diagram's one helper, and service tasks answered from the history."""

    def __init__(self, services: list[dict]):
        super().__init__(environment=TaskDataEnvironment({"workdays": lambda n, start=None: FAR_FUTURE}))
        self.services = list(services)

    def call_service(self, task, operation_name, operation_params, **kwargs):
        where = task.task_spec.bpmn_id
        recorded = next(s for s in self.services if s["operator"] == operation_name and s["task"] == where)
        self.services.remove(recorded)
        return json.dumps(recorded["result"], ensure_ascii=False)


def bare_specs():
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(DIAGRAM))
    return parser.get_spec(PROCESS), parser.get_subprocess_specs(PROCESS)


class BareStore:
    """One SQLite table of serialized workflows, committed per completion like govflow's SQLite."""

    def __init__(self):
        self.db = sqlite3.connect(f"{tempfile.mkdtemp()}/bare.db", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE wf (id INTEGER PRIMARY KEY, snapshot TEXT)")
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        self.written = 0

    def save(self, number: int, workflow: BpmnWorkflow) -> None:
        snapshot = self.serializer.serialize_json(workflow)
        self.written += len(snapshot.encode("utf-8"))
        self.db.execute("BEGIN")
        self.db.execute("INSERT OR REPLACE INTO wf VALUES (?, ?)", (number, snapshot))
        self.db.execute("COMMIT")


class Bare:
    """Bare SpiffWorkflow through a recorded history, each completion timed."""

    def __init__(self, specs, store: BareStore | None):
        self.spec, self.subprocess_specs = specs
        self.store = store
        self.seconds, self.count = 0.0, 0

    def run(self, history: History, number: int) -> None:
        workflow = BpmnWorkflow(self.spec, self.subprocess_specs, script_engine=RecordedServices(history.services))
        workflow.task_tree.data.update(history.start)        # as govflow starts an instance
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(history.start)
        workflow.do_engine_steps()
        for step, data in history.completions:
            began = time.perf_counter()
            task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                        if t.task_spec.bpmn_id == step)
            if task.task_spec.variable:
                task.data[task.task_spec.variable] = dict(data)
            else:
                task.data.update(data)
            task.run()
            workflow.do_engine_steps()
            if self.store is not None:
                self.store.save(number, workflow)
            self.seconds += time.perf_counter() - began
            self.count += 1
        same = workflow.is_completed() and workflow.last_task.data == history.end
        assert same, f"bare SpiffWorkflow did not end document {number} as govflow did"

    def rate(self) -> float:
        return self.count / self.seconds


# -- PostgreSQL: a fresh schema, as the tests make one --------------------------------------------------------
def postgres_schema(url: str):
    """(admin engine, schema, URL of the schema) or the reason PostgreSQL cannot be used."""
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as err:  # noqa: BLE001 - any failure to connect means: no PostgreSQL here
        server.dispose()
        return f"PostgreSQL is not reachable at {url} ({type(err).__name__})"
    schema = f"bench_overhead_{uuid.uuid4().hex[:12]}"
    with server.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return server, schema, scoped.render_as_string(hide_password=False)


def drop_schema(server, schema: str) -> None:
    with server.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    server.dispose()


# -- one completion by phase ------------------------------------------------------------------------------------
class Phases:
    """Exclusive time per phase: a wrapped call's own time, less that of the wrapped calls inside it;
    counted only while ``active`` (inside a completion, not while a document is started or looked up)."""

    def __init__(self):
        self.active = False
        self.seconds: dict[str, float] = defaultdict(float)
        self._inner: list[float] = []
        self._undo: list[tuple[object, str, object]] = []

    def wrap(self, owner, name: str, phase: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def timed(*args, **kwargs):
            if not self.active:
                return original(*args, **kwargs)
            self._inner.append(0.0)
            began = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - began
                self.seconds[phase] += elapsed - self._inner.pop()
                if self._inner:
                    self._inner[-1] += elapsed
        setattr(owner, name, timed)
        self._undo.append((owner, name, original))

    def unwrap(self) -> None:
        for owner, name, original in reversed(self._undo):
            setattr(owner, name, original)
        self._undo.clear()


WRAPPED = (   # (owner, function, phase): what a completion calls, by what it does
    (instances, "restore", "restore snapshot (hash check + load)"),
    (SpiffTask, "run", "engine run (SpiffWorkflow)"),
    (BpmnWorkflow, "do_engine_steps", "engine run (SpiffWorkflow)"),
    (BpmnWorkflow, "refresh_timers", "engine run (SpiffWorkflow)"),
    (Workflow, "get_tasks", "engine run (SpiffWorkflow)"),
    (SandboxEnvironment, "evaluate", "scripts and conditions (sandbox)"),
    (SandboxEnvironment, "execute", "scripts and conditions (sandbox)"),
    (GovScriptEngine, "call_service", "service operators (rules)"),
    (forms, "validate", "form validation"),
    (inbox, "derive", "inbox derive"),
    (EventBatch, "record", "events record (payload JSON)"),
    (EventBatch, "append_to", "events append (chain head, hashes)"),
    (spiff, "dump", "snapshot dump"),
    (Session, "flush", "ORM flush (INSERT/UPDATE)"),
    (SessionTransaction, "commit", "commit"),
)


class Profiled(Timed):
    def __init__(self, system: Govflow, org: Organisation, phases: Phases):
        super().__init__(system, org)
        self.phases = phases

    def complete(self, row: Task, person: str, data: dict) -> None:
        self.phases.active = True
        try:
            super().complete(row, person, data)
        finally:
            self.phases.active = False


def breakdown(system: Govflow, org: Organisation, count: int) -> None:
    phases = Phases()
    documents = Profiled(system, org, phases)
    for owner, name, phase in WRAPPED:
        phases.wrap(owner, name, phase)
    try:
        for _ in range(count):
            documents.one()
    finally:
        phases.unwrap()
    total = documents.seconds / documents.count
    print(f"\none govflow completion on SQLite by phase (mean of {documents.count}; timed from outside, "
          f"the wrappers add a little)")
    for phase, seconds in sorted(phases.seconds.items(), key=lambda item: -item[1]):
        share = seconds / documents.count
        print(f"  {phase:<38}{share * 1e3:7.2f} ms  {share / total:5.0%}")
    rest = total - sum(phases.seconds.values()) / documents.count
    print(f"  {'other (lock, queries, rights, ORM)':<38}{rest * 1e3:7.2f} ms  {rest / total:5.0%}")
    print(f"  {'total':<38}{total * 1e3:7.2f} ms")


# -- the run ------------------------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=12, help="documents per mode and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--postgres-url", default=PG_URL, help="'' to leave PostgreSQL out")
    args = parser.parse_args()

    org = dongchang()
    system, _ = build(None, 0)
    pg = postgres_schema(args.postgres_url) if args.postgres_url else "left out (--postgres-url '')"
    pg_system = build(pg[2], 0)[0] if isinstance(pg, tuple) else None
    modes = {"bare-memory": Bare(bare_specs(), None), "bare-sqlite": Bare(bare_specs(), BareStore()),
             "govflow": Timed(system, org), "govflow-http": OverHttp(system, org)}
    if pg_system is not None:
        modes["govflow-pg"] = Timed(pg_system, org)
    results: dict[str, list[float]] = defaultdict(list)
    try:
        measure(modes, 1)                           # warm the caches: definitions, organisation, tokens
        for _ in range(args.rounds):
            for mode, rate in measure(modes, args.instances).items():
                results[mode].append(rate)
        report(args, results, modes, pg)
        breakdown(system, org, max(2, args.instances // 3))
    finally:
        system.store.dispose()
        if pg_system is not None:
            pg_system.store.dispose()
            drop_schema(pg[0], pg[1])


def measure(modes: dict, count: int) -> dict[str, float]:
    """One round: document after document, each mode in turn, so that all meet the same load."""
    for timed in modes.values():
        timed.seconds, timed.count = 0.0, 0
    modes["bare-sqlite"].store = BareStore()
    engines = [mode for mode in ("govflow", "govflow-http", "govflow-pg") if mode in modes]
    for number in range(count):
        turn = number % len(engines)            # who goes first changes: none always follows the bare runs
        ids = {mode: modes[mode].one() for mode in engines[turn:] + engines[:turn]}
        recorded = history(modes["govflow"].system, ids["govflow"])
        modes["bare-memory"].run(recorded, number)
        modes["bare-sqlite"].run(recorded, number)
    return {mode: timed.rate() for mode, timed in modes.items()}


def report(args, results: dict[str, list[float]], modes: dict, pg) -> None:
    bare = modes["bare-sqlite"]
    print(f"{PROCESS}: {args.instances} documents x {bare.count / args.instances:.1f} completions per mode, "
          f"{args.rounds} rounds, median completions/s")
    median = {mode: statistics.median(values) for mode, values in results.items()}
    for mode, value in median.items():
        print(f"  {mode:<13} {value:8.1f}   (rounds: {', '.join(f'{v:.0f}' for v in results[mode])})")
    if "govflow-pg" not in median:
        print(f"  govflow-pg    skipped: {pg}")
    print(f"  bare-sqlite wrote {bare.store.written / bare.count / 1024:.0f} KB per completion "
          f"(SpiffWorkflow's serializer: the spec with every snapshot)")
    print("ratios")
    print(f"  govflow / bare-sqlite       {median['govflow'] / median['bare-sqlite']:.2f}   (target >= {TARGET})")
    print(f"  govflow / bare-memory       {median['govflow'] / median['bare-memory']:.2f}")
    print(f"  govflow-http / bare-sqlite  {median['govflow-http'] / median['bare-sqlite']:.2f}")
    print(f"  govflow-http / govflow      {median['govflow-http'] / median['govflow']:.2f}")
    if "govflow-pg" in median:
        print(f"  govflow-pg / bare-sqlite    {median['govflow-pg'] / median['bare-sqlite']:.2f}")
        print(f"  govflow-pg / govflow        {median['govflow-pg'] / median['govflow']:.2f}")


if __name__ == "__main__":
    main()
