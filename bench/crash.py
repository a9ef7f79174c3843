"""Crash consistency: SIGKILL the server or the worker while tasks are completed and timers fire,
restart, and check that nothing accepted was lost and every instance is a state its history produces.

    python bench/crash.py [--runs 200] [--db sqlite|postgres] [--seed N] [--admin-url URL]

Each run takes a fresh copy of a seeded database (the bazhou organisation, dept_request and
document_approval deployed, the clock frozen), starts gunicorn with three workers and two
``govflow worker`` processes, as the README deploys them, and drives them over HTTP: three clients
start instances of both diagrams and complete their tasks, now and then another client's, so that two
of them complete the same task and one is refused; a fourth advances the test clock two days at a
time, so that the workers fire the deadlines (dept_request's non-interrupting 签发 deadline,
document_approval's interrupting 征求意见 window) while tasks are being completed. Every request whose
response said it succeeded is recorded, and every completion that was refused. At a random moment
the server, the workers or both are killed (SIGKILL, the whole process group); what they had in
flight has an unknown outcome and is not recorded. The killed processes are restarted, each open
instance gets one more completion and the due timers are drained (the system works on after the
crash), everything stops, and the database is checked:

  (a) every accepted completion is there: its task row completed by that person, its task_completed
      event; every accepted start has its instance; a refused completion changed nothing (no
      task_completed event of that person on that task);
  (b) every instance is a state a prefix of the accepted requests produced: its snapshot matches its
      hash and restores, its open inbox rows are exactly the READY user tasks of the restored
      workflow, and ``replay.reexecute`` — the recorded history run again — reproduces the snapshot;
  (c) ``eventlog.verify`` of the whole chain is ok;
  (d) no task was completed twice, no timer fired twice, and the 发文字号 run 1..n without duplicates;
  (e) no timer is still due 60 s after the restart.

SIGKILL shows that a step is whole and answered only after its commit; it cannot show a missing
fsync (the operating system still writes its page cache out): see the README.

Prints one line per run and the totals; exits 1 if any run failed a check.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Client, Databases, Server, Tokens, Worker, open_system, organisation  # noqa: E402

from govflow.audit import replay  # noqa: E402
from govflow.store import eventlog  # noqa: E402
from govflow.store.models import DocumentRegister, Event, Instance, Task  # noqa: E402
from govflow.work import instances  # noqa: E402
from govflow.work.inbox import candidates  # noqa: E402

ORG = organisation()
CLERK = ORG.with_post("office_clerk", ORG.office_id)[0].id
ADMIN = next(p.id for p in ORG.people.values() if "admin" in p.roles)
REQUEST = {"title": "关于申请专项资金的请示", "department": "czj", "urgency": "一般"}
DOCUMENT = {"doc_type": "请示", "title": "关于申请城区排水管网改造资金的请示", "department": "sfj", "urgency": "一般",
            "secrecy": "无", "category": "government_business", "issuer": "政府", "departments": ["sthjj"],
            "body": "现申请区级资金 300 万元用于城区排水管网改造。妥否，请批示。",
            "signoff": {"signer": "xuexin", "meeting": "局务会议纪要〔2026〕3号"}}
STARTS = (("dept_request", CLERK, REQUEST), ("document_approval", "wanwenhua", DOCUMENT))
ANSWERS = {
    "office_review": {"decision": "拟办", "opinion": "拟同意"}, "office_check": {"decision": "同意"},
    "leader_countersign": {"decision": "同意"}, "sign_off": {"decision": "同意签发", "opinion": "同意"},
    "overdue_notice": {"note": "已电话催办"},
    "receipt": {"received": True}, "reply_timed": {"decision": "同意", "opinion": "无意见"},
    "leader_review": {"decision": "同意", "opinion": "同意"}, "signing": {"decision": "同意", "opinion": "同意"},
    "publish": {"copies": 30, "distribution": "各乡镇人民政府，区级各部门"},
}
# document_approval's office_review takes the document's own answer (拟办 with an opinion)
ANSWERS_BY_PROCESS = {("document_approval", "office_review"): {"decision": "拟办", "opinion": "拟办"}}
DRIVERS = 3
ACTIVE_PER_DRIVER = 4
GUNICORN_WORKERS = 3


class Workers:
    """The timer workers, started, killed and stopped together."""

    def __init__(self, workers: list[Worker]):
        self.workers = workers

    def start(self) -> None:
        for worker in self.workers:
            worker.start()

    def kill(self) -> None:
        for worker in self.workers:
            worker.kill()

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
TIMED = ("reply_timed", "sign_off")      # steps with a deadline timer: often left for the timer to fire


@dataclass
class Accepted:
    """What the clients saw succeed (and what they could not know)."""
    completions: list[dict] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    unknown: int = 0
    refused: Counter = field(default_factory=Counter)
    refused_completions: list[dict] = field(default_factory=list)     # must have changed nothing
    server_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class RunResult:
    number: int
    killed: str
    at: float
    accepted: Accepted
    timers: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


# -- the clients ---------------------------------------------------------------------------------------------
class Driver(threading.Thread):
    """Starts instances and completes their open tasks, as the people who hold them."""

    def __init__(self, port: int, tokens: Tokens, url: str, accepted: Accepted, stop: threading.Event,
                 rng: random.Random, shared: list[int]):
        super().__init__(daemon=True)
        self.client, self.accepted, self.stop, self.rng = Client(port, tokens, 10), accepted, stop, rng
        self.system, self.active, self.shared = open_system(url), [], shared

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                try:
                    self.step()
                except OSError:
                    with self.accepted.lock:
                        self.accepted.unknown += 1
                    time.sleep(0.05)
        finally:
            self.client.close()
            self.system.store.dispose()

    def step(self) -> None:
        self.active = [i for i in self.active if self._running(i)]
        if len(self.active) < ACTIVE_PER_DRIVER:
            self.start_instance()
            return
        # now and then another driver's instance: two drivers complete the same task, one is refused
        pool = self.shared if self.shared and self.rng.random() < 0.3 else self.active
        work = [w for w in open_work(self.system, self.rng.choice(pool))
                if w[0].step_id not in TIMED or self.rng.random() < 0.1]
        if work:
            self.complete(*self.rng.choice(work))
        else:
            time.sleep(0.02)

    def start_instance(self) -> None:
        process_id, person, data = STARTS[self.rng.randrange(len(STARTS))]
        status, body = self.client.request("POST", "/api/v1/instances", {"process_id": process_id, "data": data},
                                           person)
        if status == 201:
            with self.accepted.lock:
                self.accepted.starts.append(body["id"])
                self.shared.append(body["id"])
            self.active.append(body["id"])
        else:
            self._refused(status, body)

    def complete(self, row: Task, person: str) -> None:
        status, body = complete(self.client, row, person)
        if status == 200:
            with self.accepted.lock:
                self.accepted.completions.append({"task": row.id, "instance": row.instance_id, "person": person,
                                                  "step": row.step_id})
        else:
            with self.accepted.lock:
                self.accepted.refused_completions.append({"task": row.id, "person": person, "status": status})
            self._refused(status, body)

    def _refused(self, status: int, body) -> None:
        with self.accepted.lock:
            self.accepted.refused[status] += 1
            if status >= 500:
                self.accepted.server_errors.append(f"{status}: {body}"[:300])

    def _running(self, instance_id: int) -> bool:
        with self.system.store.read() as session:
            return session.scalar(select(Instance.status).where(Instance.id == instance_id)) == "running"


def open_work(system, instance_id: int) -> list[tuple[Task, str]]:
    """The instance's open user tasks, each with someone who may complete it."""
    with system.store.read() as session:
        rows = session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == "open",
                                                  Task.kind == "task")).all()
        return [(row, row.assignee or candidates(session, row.id)[0]) for row in rows]


def complete(client: Client, row: Task, person: str) -> tuple[int, object]:
    answer = ANSWERS_BY_PROCESS.get((row.process_id, row.step_id), ANSWERS[row.step_id])
    return client.request("POST", f"/api/v1/tasks/{row.id}/complete", {"data": answer}, person)


def advance_clock(port: int, tokens: Tokens, stop: threading.Event, every: float) -> None:
    """Time passes two days at a time, so that deadlines fall due while tasks are being completed."""
    client = Client(port, tokens, 10)
    while not stop.wait(every):
        try:
            client.request("POST", "/api/v1/clock/advance", {"days": 2}, ADMIN)
        except OSError:
            pass
    client.close()


# -- one run -------------------------------------------------------------------------------------------------------
def run_once(databases: Databases, number: int, rng: random.Random, logs: Path) -> RunResult:
    url = databases.fresh()
    # as the README deploys them: gunicorn with several workers, and two timer workers sharing the timers
    server = Server(url, logs / "server.log", workers=GUNICORN_WORKERS)
    worker = Workers([Worker(url, logs / f"worker{n}.log") for n in (1, 2)])
    killed, at = rng.choice(("server", "server", "worker", "both")), rng.uniform(0.2, 3.0)
    result = RunResult(number, killed, at, Accepted())
    try:
        server.start()
        worker.start()
        tokens = Tokens(server.port, databases.tokens)
        drive(server, worker, tokens, url, result, rng)
        try:
            if killed in ("server", "both"):
                server.start()
            if killed in ("worker", "both"):
                worker.start()
        except RuntimeError as err:
            result.problems.append(f"the restart failed: {err}")
        else:
            work_on(server.port, tokens, url, result.accepted, result)
    finally:
        server.stop()
        worker.stop()
    result.problems += [f"server error during the run: {e}" for e in result.accepted.server_errors]
    check(url, result)
    if result.ok:
        databases.drop(url)
    else:
        databases.keep(url)
        result.problems.append(f"database kept: {url}; logs in {logs}")
    return result


def drive(server: Server, worker: Worker, tokens: Tokens, url: str, result: RunResult, rng: random.Random) -> None:
    """The clients run until the kill; what they had in flight then has no answer."""
    accepted, stop = result.accepted, threading.Event()
    warm_up(server.port, tokens, accepted, url)
    shared: list[int] = []
    threads = [Driver(server.port, tokens, url, accepted, stop, random.Random(rng.random()), shared)
               for _ in range(DRIVERS)]
    threads.append(threading.Thread(target=advance_clock, args=(server.port, tokens, stop, 0.15), daemon=True))
    for thread in threads:
        thread.start()
    time.sleep(result.at)
    if result.killed in ("server", "both"):
        server.kill()
    if result.killed in ("worker", "both"):
        worker.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)


def warm_up(port: int, tokens: Tokens, accepted: Accepted, url: str) -> None:
    """One start of each diagram before the clock runs (the server parses a definition on first use),
    and the dept_request taken to its 签发 step, whose deadline then falls due in every run."""
    client, system = Client(port, tokens, 60), open_system(url)
    try:
        for process_id, person, data in STARTS:
            status, body = client.request("POST", "/api/v1/instances", {"process_id": process_id, "data": data},
                                          person)
            if status != 201:
                raise RuntimeError(f"warming up: starting {process_id} answered {status}: {body}")
            accepted.starts.append(body["id"])
        timed = accepted.starts[-len(STARTS)]
        for _ in range(6):
            work = [w for w in open_work(system, timed) if w[0].step_id not in TIMED]
            if not work:
                break
            row, person = work[0]
            status, body = complete(client, row, person)
            if status != 200:
                raise RuntimeError(f"warming up: completing {row.step_id} answered {status}: {body}")
            accepted.completions.append({"task": row.id, "instance": timed, "person": person, "step": row.step_id})
    finally:
        client.close()
        system.store.dispose()


def work_on(port: int, tokens: Tokens, url: str, accepted: Accepted, result: RunResult) -> None:
    """After the restart: a month passes (every deadline still open falls due, so that every run has
    timers for the restarted workers to fire), then one more completion on each open instance, and
    the due timers fired again."""
    system, client = open_system(url), Client(port, Tokens(port, tokens.tokens), 30)
    try:
        status, body = client.request("POST", "/api/v1/clock/advance", {"days": 30}, ADMIN)
        if status != 200:
            result.problems.append(f"advancing the clock after the restart: {status} {body}")
        _, still_due = drain_timers(system)
        with system.store.read() as session:
            running = list(session.scalars(select(Instance.id).where(Instance.status == "running")))
        for instance_id in running:
            for row, person in open_work(system, instance_id)[:1]:
                status, body = complete(client, row, person)
                if status == 200:
                    accepted.completions.append({"task": row.id, "instance": instance_id, "person": person,
                                                 "step": row.step_id})
                elif status != 409:        # a timer of the restarted worker may have cancelled it: 409
                    result.problems.append(f"after the restart, completing {row.step_id} of {instance_id}: "
                                           f"{status} {body}")
        result.timers, due_again = drain_timers(system)
        if not result.timers:
            result.problems.append("(e) no timer fired in the run: it did not test the timers")
        if still_due or due_again:
            result.problems.append(f"(e) {still_due + due_again} due timers not fired 60 s after the restart")
    finally:
        client.close()
        system.store.dispose()


def drain_timers(system, timeout: float = 60.0) -> tuple[int, int]:
    """Wait until the restarted workers have fired every due timer: (the timers fired in the run,
    those still due when the wait ended)."""
    deadline = time.monotonic() + timeout
    while True:
        with system.store.read() as session:
            now = system.now(session)
            due = session.scalar(select(func.count()).select_from(Instance).where(
                Instance.status == "running", Instance.next_timer_at <= now))
            fired = session.scalar(select(func.count()).select_from(Event).where(Event.type == "timer_fired"))
        if not due or time.monotonic() > deadline:
            return fired, due
        time.sleep(0.1)


# -- the checks ----------------------------------------------------------------------------------------------------
def check(url: str, result: RunResult) -> None:
    system = open_system(url)
    problems = result.problems
    try:
        with system.store.read() as session:
            check_accepted(session, result.accepted, problems)
            check_refused(session, result.accepted, problems)
            check_timers_once(session, problems)
            for instance in session.scalars(select(Instance).order_by(Instance.id)):
                check_instance(system, session, instance, problems)
            chain = eventlog.verify(session)
            if not chain.ok:
                problems.append(f"(c) event chain: {chain.first_bad.reason}")
            check_once(session, problems)
    finally:
        system.store.dispose()


def check_accepted(session, accepted: Accepted, problems: list[str]) -> None:
    """(a) nothing a client saw succeed is missing."""
    found = set(session.scalars(select(Instance.id).where(Instance.id.in_(accepted.starts))))
    problems += [f"(a) accepted start of instance {i} is missing" for i in accepted.starts if i not in found]
    ids = [c["task"] for c in accepted.completions]
    rows = {r.id: r for r in session.scalars(select(Task).where(Task.id.in_(ids)))}
    events = set(session.scalars(select(Event.task_id).where(Event.type == "task_completed", Event.task_id.in_(ids))))
    for done in accepted.completions:
        row = rows.get(done["task"])
        if row is None or row.state != "completed" or row.completed_by != done["person"]:
            problems.append(f"(a) accepted completion of {done['step']} ({done['task']}) of instance "
                            f"{done['instance']} is not in its task row")
        if done["task"] not in events:
            problems.append(f"(a) accepted completion of {done['step']} ({done['task']}) has no task_completed event")


def check_instance(system, session, instance: Instance, problems: list[str]) -> None:
    """(b) the snapshot verifies and restores, the inbox is its READY user tasks, the history reproduces it."""
    try:
        workflow = instances.load(system, session, instance)
    except Exception as err:  # noqa: BLE001 - a snapshot that cannot be loaded is the finding
        problems.append(f"(b) instance {instance.id}: snapshot refused: {err}")
        return
    ready = {str(t.id) for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    inbox = set(session.scalars(select(Task.id).where(Task.instance_id == instance.id, Task.state == "open",
                                                      Task.kind == "task")))
    if ready != inbox:
        problems.append(f"(b) instance {instance.id}: inbox {sorted(inbox)} ≠ READY tasks {sorted(ready)}")
    rerun = replay.reexecute(system, session, instance)
    problems += [f"(b) instance {instance.id}: re-execution differs at event {d.seq}: {d.what}"
                 for d in rerun.differences]


def check_refused(session, accepted: Accepted, problems: list[str]) -> None:
    """(a) a completion answered as refused changed nothing: no task_completed event of that person
    on that task, unless the same person's completion of it was accepted as well."""
    done = {(c["task"], c["person"]) for c in accepted.completions}
    for refused in accepted.refused_completions:
        if (refused["task"], refused["person"]) in done:
            continue
        by = session.scalar(select(func.count()).select_from(Event).where(
            Event.type == "task_completed", Event.task_id == refused["task"], Event.actor == refused["person"]))
        if by:
            problems.append(f"(a) completion of {refused['task']} by {refused['person']} answered "
                            f"{refused['status']}, yet it was done")


def check_timers_once(session, problems: list[str]) -> None:
    """(d) every timer fired once: one timer_fired event per instance, timer and due time."""
    fired = Counter((e.instance_id, json.loads(e.payload)["timer"], json.loads(e.payload)["due"])
                    for e in session.scalars(select(Event).where(Event.type == "timer_fired")))
    problems += [f"(d) timer {t} of instance {i} (due {d}) fired {n} times" for (i, t, d), n in fired.items() if n != 1]


def check_once(session, problems: list[str]) -> None:
    """(d) one task_completed event per completed task row, none without; 发文字号 1..n, each once."""
    per_task = dict(session.execute(select(Event.task_id, func.count()).where(Event.type == "task_completed")
                                    .group_by(Event.task_id)).all())
    completed = set(session.scalars(select(Task.id).where(Task.state == "completed", Task.kind == "task")))
    problems += [f"(d) task {t} has {n} task_completed events" for t, n in per_task.items() if n != 1]
    problems += [f"(d) task {t} is completed without its event" for t in completed - set(per_task)]
    problems += [f"(d) task_completed event of {t}, whose row is not completed" for t in set(per_task) - completed]
    runs: dict[tuple, list[int]] = {}        # a 发文字号 runs 1..n per prefix and year (the clock crosses years)
    for prefix, year, sequence in session.execute(select(DocumentRegister.prefix, DocumentRegister.year,
                                                         DocumentRegister.sequence)):
        runs.setdefault((prefix, year), []).append(sequence)
    for (prefix, year), numbers in runs.items():
        if sorted(numbers) != list(range(1, len(numbers) + 1)):
            problems.append(f"(d) 发文字号 {prefix}〔{year}〕 sequences are not 1..n once each: {sorted(numbers)}")


# -- the script ---------------------------------------------------------------------------------------------------
def run(db: str, runs: int, seed: int, admin_url: str | None = None, out=None) -> list[RunResult]:
    out = out or sys.stdout     # looked up per call, so a caller's redirection counts
    databases = Databases(db, **({"admin_url": admin_url} if admin_url else {}))
    rng, results = random.Random(seed), []
    logs = databases.directory
    try:
        for number in range(1, runs + 1):
            try:
                result = run_once(databases, number, rng, logs)
            except Exception:
                databases.keep("")          # keep the logs of a run that could not finish
                raise
            results.append(result)
            print(describe(result, db), file=out, flush=True)
            for problem in result.problems[:20]:
                print(f"    {problem}", file=out, flush=True)
    finally:
        databases.close()
    return results


def describe(result: RunResult, db: str) -> str:
    a = result.accepted
    refused = ", ".join(f"{status}×{n}" for status, n in sorted(a.refused.items())) or "none"
    return (f"run {result.number:3} {db}: killed {result.killed:<6} at {result.at:4.2f} s; accepted "
            f"{len(a.completions):3} completions, {len(a.starts):2} starts; {a.unknown} without answer; refused "
            f"{refused}; {result.timers} timers fired — {'ok' if result.ok else 'FAILED'}")


def summary(results: list[RunResult], db: str) -> str:
    kills = Counter(r.killed for r in results)
    return (f"{db}: {len(results)} runs, {sum(r.ok for r in results)} ok, {sum(not r.ok for r in results)} failed; "
            f"killed server {kills['server']}, worker {kills['worker']}, both {kills['both']}; "
            f"{sum(len(r.accepted.completions) for r in results)} accepted completions and "
            f"{sum(len(r.accepted.starts) for r in results)} starts checked, "
            f"{sum(r.accepted.unknown for r in results)} requests without answer, "
            f"{sum(r.timers for r in results)} timers fired")


QUICK_RUNS = 2      # each run kills and restarts; two cover a kill of the server and of a worker


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=None, help="for a run to be repeated (default: random)")
    parser.add_argument("--admin-url", default=None, help="PostgreSQL database to create the run databases from")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_RUNS} runs, every check: the form CI runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = QUICK_RUNS
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"crash consistency on {args.db}, {args.runs} runs, seed {seed}", flush=True)
    began = time.monotonic()
    results = run(args.db, args.runs, seed, args.admin_url)
    print(summary(results, args.db) + f"; {time.monotonic() - began:.0f} s", flush=True)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
