"""Scale-out on PostgreSQL: 1, 2 and 4 worker processes completing tasks of different instances.

    python bench/scale_out.py [--instances 0] [--seconds 10] [--workers 1,2,4] [--admin-url URL]

A fresh database ``bench_scale_<pid>`` is made on the server of ``--admin-url`` (dropped at the
end), migrated, given the bazhou organisation and a frozen clock, and processes/dept_request.bpmn
is deployed. For each worker count k, new instances are started — enough that no worker runs out
within ``--seconds`` (``--instances 0``, the default: 2 × k × seconds × one process's rate measured
first, over the 4 tasks of an instance; a number fixes it) — then k processes
(multiprocessing, spawn) each take the instances whose id modulo k is their number and complete
their open tasks through the service layer (``tasks.complete`` inside ``store.write()``, as the
task's assignee or first candidate) until they run out or ``--seconds`` have passed. Every
completion writes the snapshot, the inbox rows and the hash-chained events, so the workers meet
at the chain head's row lock.

Throughput is completions per second of the round (the sum over workers, over the slowest
worker's time), of a saturated system: the row says ``saturated`` when no worker ran out of work
before the window ended, and carries the median wait for the chain head's lock beside it.
Afterwards every round is checked: each completed task has exactly one
``task_completed`` event, and the completed task rows equal the completions the workers reported
(none lost, none done twice). The ratios 2/1 and 4/1, measured in the same run, are the result:
the target is 4/1 ≥ 1.6.

Under each round, ``chain head`` says what the one lock every completion takes cost it: how long
the head's ``SELECT … FOR UPDATE`` waited, how long the lock was held until COMMIT returned (and
of that the COMMIT), the whole step, the share of the round the lock was held, the workers' CPU
per completion and the load average: on a machine whose CPUs are busy, the workers wait for CPU
before they wait for the lock.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from govflow.bpmn.deploy import deploy  # noqa: E402
from govflow.config import Settings  # noqa: E402
from govflow.people.auth import actor_for  # noqa: E402
from govflow.people.org import Organisation  # noqa: E402
from govflow.store.models import Event, Instance, Task  # noqa: E402
from govflow.time.timeutil import SHANGHAI  # noqa: E402
from govflow.work import admin, instances, tasks  # noqa: E402
from govflow.work.inbox import candidates  # noqa: E402
from govflow.work.system import Govflow  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DIAGRAM = REPO / "processes" / "dept_request.bpmn"
TARGET = 1.6
START = {"title": "关于申请专项资金的请示", "department": "czj", "urgency": "一般"}
ANSWERS = {"office_review": {"decision": "拟办", "opinion": "拟同意"}, "office_check": {"decision": "同意"},
           "leader_countersign": {"decision": "同意"}, "sign_off": {"decision": "同意签发", "opinion": "同意"}}


def organisation() -> Organisation:
    return Organisation.from_toml((REPO / "orgs" / "bazhou.toml").read_text(encoding="utf-8"))


def open_system(url: str) -> Govflow:
    return Govflow(Settings(database_url=url, mode="test", home=REPO, secret_key="bench"))


def set_up(url: str) -> Govflow:
    system = open_system(url)
    system.store.migrate()
    with system.store.write() as session:
        admin.load_organisation(system, session, organisation(), "bench")
        admin.set_clock(system, session, datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI), True, "bench")
    deploy(system, DIAGRAM.read_bytes(), DIAGRAM.name, "bench")
    return system


def start(system: Govflow, count: int) -> list[int]:
    org = organisation()
    clerk = actor_for(org, org.with_post("office_clerk", org.office_id)[0].id)
    ids = []
    for _ in range(count):
        with system.store.write() as session:
            ids.append(instances.start(system, session, clerk, "dept_request", START).id)
    return ids


# -- a worker process ------------------------------------------------------------------------------------
class ChainLock:
    """This worker's completions timed around the chain head's row lock, from SQLAlchemy's engine
    events: how long the ``SELECT … FOR UPDATE`` of the head waited, how long the lock was then held
    until COMMIT returned, and of that the COMMIT itself."""

    def __init__(self, engine):
        self.samples: dict[str, list[float]] = {"wait": [], "held": [], "commit": [], "step": []}
        self._began = self._sent = self._taken = self._committing = None
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)
        event.listen(engine, "commit", self._commit)

    @staticmethod
    def _is_head(statement: str) -> bool:
        return "chain_head" in statement and "FOR UPDATE" in statement

    def _before(self, _conn, _cursor, statement, *_args):
        if self._is_head(statement):
            self._sent = time.perf_counter()

    def _after(self, _conn, _cursor, statement, *_args):
        if self._is_head(statement):
            self._taken = time.perf_counter()

    def _commit(self, _conn):
        self._committing = time.perf_counter()

    def begin(self) -> None:
        self._began, self._sent, self._taken, self._committing = time.perf_counter(), None, None, None

    def end(self) -> None:
        now = time.perf_counter()
        if self._taken is not None and self._committing is not None:
            for name, since in (("wait", self._sent), ("held", self._taken), ("commit", self._committing),
                                ("step", self._began)):
                self.samples[name].append(((self._taken if name == "wait" else now) - since) * 1e3)


def work(url: str, mine: list[int], seconds: float, ready, results) -> None:
    """Complete the open tasks of ``mine``, one instance after another, until done or out of time."""
    system, org = open_system(url), organisation()
    with system.store.read() as session:          # parse the definition before the clock starts
        instances.load(system, session, session.get(Instance, mine[0]))
    done, errors, ran_out = 0, [], True
    lock = ChainLock(system.store.engine)
    ready.wait()
    began, cpu = time.perf_counter(), time.process_time()
    for instance_id in mine:
        while row := first_open(system, instance_id):
            if time.perf_counter() - began >= seconds:
                ran_out = False
                break
            try:
                lock.begin()
                with system.store.write() as session:
                    person = row.assignee or candidates(session, row.id)[0]
                    tasks.complete(system, session, actor_for(org, person), row.id, ANSWERS[row.step_id])
                lock.end()
                done += 1
            except Exception as err:  # noqa: BLE001 - reported and counted: a failed completion is a finding
                errors.append(f"{type(err).__name__}: {err}"[:200])
                if len(errors) > 20:
                    break
        if not ran_out or len(errors) > 20:
            break
    results.put({"pid": os.getpid(), "done": done, "seconds": time.perf_counter() - began,
                 "errors": errors, "ran_out": ran_out, "lock": lock.samples,
                 "cpu": time.process_time() - cpu})
    system.store.dispose()


def first_open(system: Govflow, instance_id: int) -> Task | None:
    with system.store.read() as session:
        return session.scalars(select(Task).where(Task.instance_id == instance_id, Task.kind == "task",
                                                  Task.state == "open")
                               .order_by(Task.created_at, Task.step_id).limit(1)).first()


def run_round(url: str, ids: list[int], k: int, seconds: float) -> list[dict]:
    context = multiprocessing.get_context("spawn")
    ready, results = context.Barrier(k + 1), context.Queue()
    shares = [[i for i in ids if i % k == n] for n in range(k)]
    workers = [context.Process(target=work, args=(url, share, seconds, ready, results)) for share in shares]
    for worker in workers:
        worker.start()
    ready.wait(timeout=120)
    found = [results.get(timeout=seconds + 300) for _ in workers]
    for worker in workers:
        worker.join()
    return found


def check(system: Govflow, ids: list[int], reported: int) -> tuple[bool, str]:
    """No completion lost or done twice: one task_completed event per completed task, and as many
    completed task rows as the workers reported."""
    with system.store.read() as session:
        rows = set(session.scalars(select(Task.id).where(Task.instance_id.in_(ids), Task.kind == "task",
                                                         Task.state == "completed")))
        per_task = dict(session.execute(select(Event.task_id, func.count()).where(
            Event.instance_id.in_(ids), Event.type == "task_completed").group_by(Event.task_id)).all())
    twice = [t for t, n in per_task.items() if n != 1]
    without = rows - set(per_task)
    unmatched = set(per_task) - rows
    ok = not twice and not without and not unmatched and len(rows) == reported
    return ok, (f"{len(rows)} completed rows, {reported} reported, {len(per_task)} tasks with events, "
                f"{len(twice)} with ≠1 event, {len(without)} rows without event, {len(unmatched)} events without row")


def chain_lock_line(found: list[dict]) -> str:
    """Medians (p95) in ms over the round's completions: the lock's wait and hold, and the whole step."""
    def figure(name: str) -> str:
        values = sorted(v for r in found for v in r["lock"][name])
        return f"{statistics.median(values):.1f} ({values[int(len(values) * 0.95) - 1 if len(values) > 1 else 0]:.1f})"
    steps = sum(len(r["lock"]["step"]) for r in found)
    if not steps:
        return "chain head: no completion timed"
    held = sum(v for r in found for v in r["lock"]["held"]) / 1e3
    cpu = sum(r["cpu"] for r in found) / steps * 1e3
    return (f"chain head ms p50 (p95): wait {figure('wait')}, held {figure('held')} of which COMMIT "
            f"{figure('commit')}; whole step {figure('step')}; held {held / max(r['seconds'] for r in found):.0%} "
            f"of the round; worker CPU {cpu:.1f} ms per completion; load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=0,
                        help="instances started per round (0: enough for the whole window, from a measured rate)")
    parser.add_argument("--seconds", type=float, default=10.0, help="at most this long per round")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--admin-url", default=ADMIN_URL, help="a PostgreSQL database to create the bench one from")
    args = parser.parse_args()
    counts = [int(k) for k in args.workers.split(",")]

    server = create_engine(args.admin_url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as err:  # noqa: BLE001 - any failure to connect means: no PostgreSQL here
        server.dispose()
        sys.exit(f"PostgreSQL is not reachable at {args.admin_url} ({type(err).__name__}); start it with "
                 "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or pass --admin-url")
    name = f"bench_scale_{os.getpid()}"
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        measure(url, counts, args.instances, args.seconds)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


TASKS_PER_INSTANCE = len(ANSWERS)


def one_process_rate(system: Govflow) -> float:
    """Completions per second of this process alone, on a few instances: what sizes the rounds."""
    org, ids = organisation(), start(system, 6)
    done, began = 0, time.perf_counter()
    for instance_id in ids:
        while row := first_open(system, instance_id):
            with system.store.write() as session:
                person = row.assignee or candidates(session, row.id)[0]
                tasks.complete(system, session, actor_for(org, person), row.id, ANSWERS[row.step_id])
            done += 1
    return done / (time.perf_counter() - began)


def wait_median(found: list[dict]) -> float:
    values = [v for r in found for v in r["lock"]["wait"]]
    return statistics.median(values) if values else float("nan")


def measure(url: str, counts: list[int], per_round: int, seconds: float) -> None:
    system = set_up(url)
    rate = one_process_rate(system) if not per_round else None
    sizing = (f"instances per round: 2 × workers × {seconds:g} s × {rate:.0f} completions/s (one process, "
              f"measured) / {TASKS_PER_INSTANCE} tasks" if rate else f"{per_round} dept_request instances per round")
    print(f"PostgreSQL database {make_url(url).database}; {os.cpu_count()} CPUs; {sizing}, at most {seconds:g} s\n")
    print(f"{'workers':>8}{'completions':>13}{'seconds':>9}{'per s':>9}{'× one':>8}{'head wait':>11}  "
          f"saturated  check")
    throughput: dict[int, float] = {}
    all_ok = True
    try:
        for k in counts:
            ids = start(system, per_round or int(2 * k * seconds * rate / TASKS_PER_INSTANCE) + k)
            found = run_round(url, ids, k, seconds)
            done = sum(r["done"] for r in found)
            elapsed = max(r["seconds"] for r in found)
            throughput[k] = done / elapsed
            ok, detail = check(system, ids, done)
            errors = [e for r in found for e in r["errors"]]
            all_ok &= ok and not errors
            base = throughput.get(counts[0], throughput[k])
            saturated = not any(r["ran_out"] for r in found)
            print(f"{k:8}{done:13}{elapsed:9.2f}{throughput[k]:9.1f}{throughput[k] / base:8.2f}"
                  f"{wait_median(found):8.2f} ms  {'yes' if saturated else 'NO ':<9}  "
                  f"{'ok' if ok else 'FAILED'}: {detail}")
            if not saturated:
                print(f"{'':8}note: {sum(r['ran_out'] for r in found)} of {k} workers ran out of tasks "
                      f"before {seconds:g} s (raise --instances)")
            print(f"{'':8}{chain_lock_line(found)}")
            for error in errors[:5]:
                print(f"{'':8}error: {error}")
    finally:
        system.store.dispose()
    print()
    if 1 in throughput:
        for k in (2, 4):
            if k in throughput:
                print(f"{k}/1 workers: {throughput[k] / throughput[1]:.2f}"
                      + (f"  (target ≥ {TARGET})" if k == 4 else ""))
    print(f"lost or duplicated completions: {'none' if all_ok else 'FOUND (see above)'}")


if __name__ == "__main__":
    main()
