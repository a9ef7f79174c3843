"""A completion as a user's browser pays for it: the JSON API served by gunicorn (one sync worker) on
loopback, against bare SpiffWorkflow on the same diagram in the same run.

    python bench/http_roundtrip.py [--instances 20] [--clients 1,4] [--open 500] [--inbox-runs 40]
                                   [--db sqlite,postgres] [--against SRC]

The diagram is ``bench/approval/bench_approval.bpmn`` (呈批件审批: 办公室审核, 分管领导审核, a 3-way 会签
by 区长, 常务副区长 and the 审核领导 in parallel, 审批, 签发 — 7 user tasks, each its own person's;
the start form and the opinion form are beside it). Each client thread starts instances and works
each through its 7 tasks as their holders (one API token each). A client follows what the answers
say: when the answer of a start or of a completion names the instance's open tasks, it completes
those; when it does not, it lists the next holder's inbox (``GET /api/v1/tasks``) to find the task,
as a browser does after each step. So the requests per instance are what the API makes a client send.

Printed per database and number of clients: the median and p90 of one completion request, the
requests per instance, and the server's CPU per instance (user + system time of the gunicorn
worker, from /proc, over the instances). Then the inbox GET (``GET /api/v1/tasks?limit=100``) of a
person holding ``--open`` open tasks (500: the 办公室主任 after that many starts), median and p90.

In the same process, before, between the rounds and after: bare SpiffWorkflow on the same diagram,
the same 7 tasks, per task: in memory (``task.run()`` + ``do_engine_steps()``), and with one ``serialize_json`` and
one durable SQLite commit (WAL, synchronous=FULL) per step. The ratios printed at the end are the
result; the machine is shared, so absolute times vary from run to run.

``--against SRC`` also serves another checkout's ``src`` (e.g. main's), at the same time on a copy of
the same database, the rounds taking turns (A B, B A), and prints this checkout's figures over that one's.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from harness import Client, Databases, Server, Tokens, open_system  # noqa: E402
from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from govflow.bpmn.deploy import deploy  # noqa: E402
from govflow.people.auth import actor_for  # noqa: E402
from govflow.work import instances  # noqa: E402

DIAGRAM_DIR = BENCH / "approval"
DIAGRAM = DIAGRAM_DIR / "bench_approval.bpmn"
PROCESS = "bench_approval"
FORMS = ("bench_approval_start.json", "bench_approval_opinion.json")
START = {"reviewer": "tangjianjun", "approver": "zhouguoqiang", "signer": "liubing"}
# who holds each step, by the lanes: 办公室主任, 审核领导, 区长, 常务副区长, 会签领导, 审批人, 签发人
HOLDERS = {"office_review": "wangpeng", "leader_review": "tangjianjun", "countersign_head": "duanhaitao",
           "countersign_executive": "zengfei", "countersign_reviewer": "tangjianjun", "approve": "zhouguoqiang",
           "sign_off": "liubing"}
ORDER = tuple(HOLDERS)                  # the order a client works the steps in (the 会签 in parallel)
OPINION = {"decision": "同意", "opinion": "拟同意。"}
TARGETS = {"completion": 2.0, "requests": 8, "inbox": 0.4}


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def p90(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]


# -- bare SpiffWorkflow ------------------------------------------------------------------------------------------
class DurableStore:
    """One SQLite table of serialized workflows, one commit per step, as durable as govflow's SQLite."""

    def __init__(self, directory: Path):
        self.db = sqlite3.connect(directory / "bare.db", isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("CREATE TABLE IF NOT EXISTS wf (id INTEGER PRIMARY KEY, snapshot TEXT)")
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))

    def save(self, number: int, workflow: BpmnWorkflow) -> None:
        snapshot = self.serializer.serialize_json(workflow)
        self.db.execute("BEGIN")
        self.db.execute("INSERT OR REPLACE INTO wf VALUES (?, ?)", (number, snapshot))
        self.db.execute("COMMIT")


def bare_specs():
    parser = SpiffBpmnParser()
    parser.add_bpmn_file(str(DIAGRAM))
    return parser.get_spec(PROCESS), parser.get_subprocess_specs(PROCESS)


class Bare:
    """The baseline, measured between the rounds of the HTTP part: the same window, the same load."""

    def __init__(self, directory: Path):
        self.specs, self.store = bare_specs(), DurableStore(directory)
        self.memory: list[float] = []
        self.durable: list[float] = []

    def round(self, instances_count: int = 1) -> None:
        self.memory += bare(self.specs, instances_count, None)
        self.durable += bare(self.specs, instances_count, self.store)


def bare(specs, instances_count: int, store: DurableStore | None) -> list[float]:
    """Seconds per user task, bare SpiffWorkflow: run + engine steps (+ serialize + durable commit)."""
    spec, subprocesses = specs
    times = []
    for number in range(instances_count):
        workflow = BpmnWorkflow(spec, subprocesses)
        workflow.task_tree.data.update(START)
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(START)
        workflow.do_engine_steps()
        for step in ORDER:
            began = time.perf_counter()
            task = next(t for t in workflow.get_tasks(state=TaskState.READY, manual=True)
                        if t.task_spec.bpmn_id == step)
            task.data[task.task_spec.variable] = dict(OPINION)
            task.run()
            workflow.do_engine_steps()
            if store is not None:
                store.save(number, workflow)
            times.append(time.perf_counter() - began)
        assert workflow.is_completed(), "bare SpiffWorkflow did not finish the diagram"
    return times


# -- govflow over HTTP -------------------------------------------------------------------------------------------
def prepare(databases: Databases) -> None:
    """The bench diagram deployed into the template database, with its forms."""
    url = f"sqlite:///{databases.template}" if databases.kind == "sqlite" else databases._url(databases.template_name)
    system = open_system(url)
    uploaded = {name: (DIAGRAM_DIR / name).read_text(encoding="utf-8") for name in FORMS}
    deploy(system, DIAGRAM.read_bytes(), DIAGRAM.name, "bench", uploaded)
    system.store.dispose()


class GunicornServer(Server):
    """One sync worker, importing govflow from ``src``."""

    def __init__(self, url: str, log: Path, src: Path):
        super().__init__(url, log, workers=1)
        self.src = src

    def start(self, timeout: float = 60.0) -> None:
        previous = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = str(self.src)
        try:
            super().start(timeout)
        finally:
            if previous is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = previous

    def worker_cpu(self) -> float:
        """User + system seconds of the gunicorn worker(s) so far."""
        total = 0.0
        master = self.popen.pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        for pid in children:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


@dataclass
class Tally:
    completions: list[float] = field(default_factory=list)     # seconds per completion request
    requests: int = 0
    instances: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Runner:
    """One client thread: instances one after another, each through its 7 tasks."""

    def __init__(self, port: int, tokens: Tokens, tally: Tally):
        self.client, self.tally = Client(port, tokens), tally
        self.requests = 0
        self.times: list[float] = []

    def call(self, method: str, path: str, payload=None, person: str = "") -> tuple[int, object]:
        self.requests += 1
        return self.client.request(method, path, payload, person=person)

    def one(self, number: int) -> None:
        status, shown = self.call("POST", "/api/v1/instances",
                                  {"process_id": PROCESS, "data": {**START, "title": f"基准呈批件{number}"}},
                                  person="wangpeng")
        if status != 201:
            raise RuntimeError(f"start answered {status}: {shown}")
        instance_id, open_tasks = shown["id"], shown.get("open_tasks")
        done: set[str] = set()
        for step in ORDER:
            person = HOLDERS[step]
            task_id = self.find(instance_id, step, person, open_tasks)
            began = time.perf_counter()
            status, answer = self.call("POST", f"/api/v1/tasks/{task_id}/complete", {"data": OPINION}, person=person)
            self.times.append(time.perf_counter() - began)
            if status != 200:
                raise RuntimeError(f"completing {step} answered {status}: {answer}")
            done.add(step)
            instance = answer.get("instance") if isinstance(answer, dict) else None
            open_tasks = instance.get("open_tasks") if instance else None
        if open_tasks is not None and open_tasks:
            raise RuntimeError(f"instance {instance_id} still has open tasks after its last step: {open_tasks}")

    def find(self, instance_id: int, step: str, person: str, open_tasks: list | None) -> str:
        if open_tasks is not None:              # the answer said what is open: no list needed
            for task in open_tasks:
                if task["step"] == step:
                    return task["id"]
            raise RuntimeError(f"{step} of instance {instance_id} is not among the open tasks {open_tasks}")
        status, page = self.call("GET", f"/api/v1/tasks?view=mine&limit=100&process_id={PROCESS}", person=person)
        if status != 200:
            raise RuntimeError(f"the inbox of {person} answered {status}: {page}")
        for item in page["items"]:
            if item["instance_id"] == instance_id and item["step"] == step:
                return item["id"]
        raise RuntimeError(f"{step} of instance {instance_id} is not in the inbox of {person}")

    def run(self, numbers: list[int]) -> None:
        try:
            for number in numbers:
                self.one(number)
        except Exception as err:  # noqa: BLE001 - reported by the main thread
            with self.tally.lock:
                self.tally.errors.append(f"{type(err).__name__}: {err}")
        with self.tally.lock:
            self.tally.completions += self.times
            self.tally.requests += self.requests
            self.tally.instances += len(numbers)
        self.client.close()


@dataclass
class Measured:
    """One server's figures for one number of clients, summed over the rounds."""
    tally: Tally = field(default_factory=Tally)
    cpu: float = 0.0
    wall: float = 0.0

    def figures(self) -> dict:
        t = self.tally
        return {"median": median(t.completions), "p90": p90(t.completions), "requests": t.requests / t.instances,
                "cpu": self.cpu / t.instances, "per_second": len(t.completions) / self.wall}


def completions(server: GunicornServer, tokens: Tokens, clients: int, numbers: list[int], into: Measured) -> None:
    """``clients`` threads share ``numbers`` (one instance each, a round), against one server."""
    runners = [Runner(server.port, tokens, into.tally) for _ in range(clients)]
    shares = [numbers[i::clients] for i in range(clients)]
    cpu_before = server.worker_cpu()
    began = time.perf_counter()
    threads = [threading.Thread(target=r.run, args=(share,)) for r, share in zip(runners, shares, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    into.wall += time.perf_counter() - began
    into.cpu += server.worker_cpu() - cpu_before
    if into.tally.errors:
        raise SystemExit(f"{len(into.tally.errors)} client(s) failed: {into.tally.errors[0]}")


def fill_inbox(url: str, count: int) -> None:
    """``count`` instances started in-process: each opens 办公室审核 for the 办公室主任 (wangpeng)."""
    system = open_system(url)
    with system.store.read() as session:
        actor = actor_for(system.organisation(session), "wangpeng")
    for number in range(count):
        with system.store.write() as session:
            instances.start(system, session, actor, PROCESS, {**START, "title": f"待办呈批件{number}"})
    system.store.dispose()


INBOX = "/api/v1/tasks?view=mine&limit=100"


def inbox_get(client: Client) -> float:
    began = time.perf_counter()
    status, _page = client.request("GET", INBOX, person="wangpeng", raw=True)
    elapsed = time.perf_counter() - began
    assert status == 200, status
    return elapsed


def serve(databases: Databases, sources: dict[str, Path], args, baseline: Bare) -> dict[str, dict]:
    """Every checkout's server at once, each on a database of its own; the rounds take turns
    (A B, then B A), so that all of them meet the same load of a shared machine."""
    urls = {label: databases.fresh() for label in sources}
    servers = {label: GunicornServer(urls[label], databases.directory / f"{label}-{databases.kind}.log", src)
               for label, src in sources.items()}
    found: dict[str, dict] = {label: {} for label in sources}
    try:
        for server in servers.values():
            server.start()
        tokens = {label: Tokens(server.port, databases.tokens) for label, server in servers.items()}
        labels = list(sources)
        for label in labels:                                 # warm each worker: definitions, organisation
            completions(servers[label], tokens[label], 1, [100_000, 100_001], Measured())
        first = 0
        for clients in args.clients:
            measured = {label: Measured() for label in labels}
            rounds = max(1, args.instances // clients)
            for number in range(rounds):
                numbers = list(range(first, first + clients))
                first += clients
                for label in labels if number % 2 == 0 else labels[::-1]:
                    completions(servers[label], tokens[label], clients, numbers, measured[label])
                baseline.round()
            for label in labels:
                found[label][clients] = measured[label].figures()
        for label in labels:
            fill_inbox(urls[label], args.open)
        clients = {label: Client(servers[label].port, tokens[label]) for label in labels}
        for label in labels:
            status, page = clients[label].request("GET", INBOX, person="wangpeng")
            assert status == 200, page
            found[label]["inbox_total"] = page["total"]
        times: dict[str, list[float]] = {label: [] for label in labels}
        cpu = {label: 0.0 for label in labels}
        for number in range(args.inbox_runs):
            for label in labels if number % 2 == 0 else labels[::-1]:
                before = servers[label].worker_cpu()
                times[label].append(inbox_get(clients[label]))
                cpu[label] += servers[label].worker_cpu() - before
            if number % 10 == 0:
                baseline.round()
        for label in labels:
            clients[label].close()
            found[label]["inbox"] = {"median": median(times[label]), "p90": p90(times[label]),
                                     "total": found[label]["inbox_total"], "cpu": cpu[label] / args.inbox_runs}
    finally:
        for label, server in servers.items():
            server.stop()
            databases.drop(urls[label])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=20, help="instances per number of clients")
    parser.add_argument("--clients", default="1,4")
    parser.add_argument("--open", type=int, default=500, help="open tasks of the person whose inbox is read")
    parser.add_argument("--inbox-runs", type=int, default=40)
    parser.add_argument("--bare-instances", type=int, default=30)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--against", type=Path, help="another checkout's src/ to serve the same way, for comparison")
    args = parser.parse_args()
    args.clients = [int(c) for c in args.clients.split(",")]
    servers = {"this": BENCH.parent / "src"}
    if args.against:
        servers["against"] = args.against.resolve()

    baseline = Bare(Path(tempfile.mkdtemp(prefix="govflow-bare-")))
    baseline.round(args.bare_instances)
    results: dict[str, dict[str, dict]] = {}
    for kind in args.db.split(","):
        try:
            databases = Databases(kind)
        except SystemExit as missing:
            print(f"{kind}: skipped: {missing}")
            continue
        try:
            prepare(databases)
            results[kind] = serve(databases, servers, args, baseline)
        finally:
            databases.close()
    baseline.round(args.bare_instances)
    report(args, results, median(baseline.memory), median(baseline.durable))


def report(args, results: dict, memory: float, durable: float) -> None:
    ms = 1e3
    print(f"{PROCESS}: 7 user tasks (3-way 会签), gunicorn with one sync worker on loopback, "
          f"{args.instances} instances per number of clients")
    print(f"bare SpiffWorkflow per task: in memory {memory * ms:.3f} ms; with one serialize + one durable "
          f"SQLite commit {durable * ms:.3f} ms")
    for kind, by_server in results.items():
        for label, found in by_server.items():
            name = kind if label == "this" else f"{kind} ({args.against})"
            print(f"{name}")
            for clients in args.clients:
                f = found[clients]
                print(f"  {clients} client{'s' if clients > 1 else ' '}  completion median {f['median'] * ms:6.2f} ms  "
                      f"p90 {f['p90'] * ms:6.2f} ms   requests/instance {f['requests']:4.1f}   "
                      f"server CPU/instance {f['cpu'] * ms:5.0f} ms   {f['per_second']:5.1f} completions/s")
            inbox = found["inbox"]
            print(f"  inbox GET, {inbox['total']} open, 100 a page: median {inbox['median'] * ms:6.2f} ms  "
                  f"p90 {inbox['p90'] * ms:6.2f} ms   server CPU {inbox['cpu'] * ms:5.1f} ms a GET")
    print("ratios")
    for kind, by_server in results.items():
        found = by_server["this"]
        one = found[args.clients[0]]
        print(f"  {kind}: completion / bare task in memory            {one['median'] / memory:6.2f}")
        print(f"  {kind}: completion / bare + serialize + durable commit {one['median'] / durable:6.2f}   "
              f"(target <= {TARGETS['completion']:g})")
        print(f"  {kind}: requests per instance                       {one['requests']:6.1f}   "
              f"(target <= {TARGETS['requests']})")
        print(f"  {kind}: inbox GET / bare + serialize + durable commit {found['inbox']['median'] / durable:6.2f}")
        if "against" in by_server:
            other = by_server["against"]
            print(f"  {kind}: inbox GET / the other checkout's             "
                  f"{found['inbox']['median'] / other['inbox']['median']:6.2f}   (target <= {TARGETS['inbox']:g})")
            print(f"  {kind}: inbox GET server CPU / the other checkout's  "
                  f"{found['inbox']['cpu'] / other['inbox']['cpu']:6.2f}")
            print(f"  {kind}: completion / the other checkout's            "
                  f"{one['median'] / other[args.clients[0]]['median']:6.2f}")
            print(f"  {kind}: server CPU per instance / the other's        "
                  f"{one['cpu'] / other[args.clients[0]]['cpu']:6.2f}")


if __name__ == "__main__":
    main()
