"""A bounded load on loopback: gunicorn with several workers, many clients reading inboxes and task
pages and completing tasks, for a fixed time. Zero 5xx is the requirement; the latencies are the result.

    python bench/load.py [--clients 50] [--seconds 60] [--workers 4] [--db sqlite|postgres] [--admin-url URL]

A fresh database (a SQLite file, or a PostgreSQL database made on ``--admin-url`` and dropped at the
end) gets the bazhou organisation, both diagrams and two dept_request instances per client; then
``gunicorn -w WORKERS 'govflow.app:create_app()'`` is started on 127.0.0.1 and a random free port
(only there), and each client (a thread with its own connection) works its own instances, as the
people who hold their tasks would: read the inbox (JSON, and now and then the 待办 page), find the
instance's open task by its business key, open it (the JSON detail, or now and then the task page),
complete it; when an instance is done the client starts a new one. After ``--seconds`` the clients
stop and the script prints the requests by kind and status, the latencies (p50, p95, p99). Then
the database is checked: every start and completion that was answered as done is there (its
instance; its task row completed by that person, with its task_completed event), every instance's
snapshot verifies, its inbox is its READY tasks and re-executing its history reproduces it, and the
event chain verifies. It exits 1 on any 5xx, any request without an answer, any 4xx (no client
contends with another here, so none is expected), or any of those checks failing.
"""
from __future__ import annotations

import argparse
import random
import re
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))

from crash import Accepted, RunResult, check  # noqa: E402
from harness import Client, Databases, Server, Tokens, open_system  # noqa: E402

from govflow.people.auth import actor_for  # noqa: E402
from govflow.work import instances  # noqa: E402

CLERKS = ("qianze", "songyang", "zhongjie")     # the 办公室 group of bazhou: 办公室审核, 办公室核稿
LEADER = "zengfei"                              # 分管副区长 of czj: 会签, 签发
REQUEST = {"title": "关于申请专项资金的请示", "department": "czj", "urgency": "一般"}
ANSWERS = {"office_review": {"decision": "拟办", "opinion": "拟同意"}, "office_check": {"decision": "同意"},
           "leader_countersign": {"decision": "同意"}, "sign_off": {"decision": "同意签发", "opinion": "同意"}}
SEEDED_PER_CLIENT = 2


@dataclass
class Tally:
    """Every request's kind, status and latency (seconds); no answer is status 0."""
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[str] = field(default_factory=list)
    accepted: Accepted = field(default_factory=Accepted)      # the writes answered as done
    problems: list[str] = field(default_factory=list)         # what the database check found
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, status: int, seconds: float, detail: str = "") -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status] += 1
            if (status >= 400 or status == 0) and len(self.failures) < 20:
                self.failures.append(f"{kind}: {status} {detail}"[:300])


class Pages:
    """A browser session per person (the login form with its CSRF token), shared by the clients."""

    def __init__(self, port: int):
        self.port, self.cookies, self.lock = port, {}, threading.Lock()

    def cookie(self, person: str) -> str:
        with self.lock:
            if person not in self.cookies:
                self.cookies[person] = self._login(person)
            return self.cookies[person]

    def _login(self, person: str) -> str:
        client = Client(self.port)
        status, page = client.request("GET", "/login", raw=True)
        csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
        first = _session(client)
        form = urlencode({"csrf": csrf, "username": person, "password": "demo"}).encode()
        status, _ = client.request("POST", "/login", form, raw=True,
                                   headers={"Cookie": first, "Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"page login of {person} answered {status}")
        client.close()
        return _session(client)


def _session(client: Client) -> str:
    return client.headers["Set-Cookie"].split(";", 1)[0]


class LoadClient(threading.Thread):
    def __init__(self, number: int, port: int, tokens: Tokens, pages: Pages, tally: Tally, stop: threading.Event,
                 keys: list[str]):
        super().__init__(daemon=True)
        self.number, self.tokens, self.pages, self.tally, self.stop = number, tokens, pages, tally, stop
        self.client, self.keys, self.started = Client(port, tokens), list(keys), 0
        self.clerk, self.rng = CLERKS[number % len(CLERKS)], random.Random(number)

    def run(self) -> None:
        while not self.stop.is_set():
            roll = self.rng.random()
            if roll < 0.25:
                view, person = self.rng.choice((("mine", LEADER), ("group", self.clerk), ("done", self.clerk)))
                self.call("inbox", "GET", f"/api/v1/tasks?view={view}", person=person)
            elif roll < 0.32:
                self.call("inbox page", "GET", "/inbox", page=self.rng.choice((LEADER, self.clerk)))
            else:
                self.work()
        self.client.close()

    def work(self) -> None:
        """Find the open task of the client's current instance, open it, complete it."""
        key = self.keys[0]
        found = self.open_task(key)
        if found is None:
            self.keys.pop(0)
            if not self.keys:
                self.start_instance()
            return
        item, person = found
        if self.rng.random() < 0.25:
            self.call("task page", "GET", f"/tasks/{item['id']}", page=person)
        else:
            self.call("task", "GET", f"/api/v1/tasks/{item['id']}", person=person)
        done = self.call("complete", "POST", f"/api/v1/tasks/{item['id']}/complete",
                         {"data": ANSWERS[item["step"]]}, person=person)
        if done is not None:
            self.tally.accepted.completions.append({"task": item["id"], "instance": item["instance_id"],
                                                    "person": person, "step": item["step"]})

    def open_task(self, key: str):
        for view, person in (("group", self.clerk), ("mine", LEADER), ("mine", self.clerk)):
            body = self.call("inbox", "GET", f"/api/v1/tasks?view={view}&business_key={key}", person=person)
            if body and body.get("items"):
                return body["items"][0], person
        return None

    def start_instance(self) -> None:
        self.started += 1
        key = f"LOAD-{self.number}-new-{self.started}"
        body = self.call("start", "POST", "/api/v1/instances", {"process_id": "dept_request", "data": REQUEST,
                                                               "business_key": key}, person=self.clerk)
        if body:
            self.keys.append(key)
            self.tally.accepted.starts.append(body["id"])

    def call(self, kind: str, method: str, path: str, payload=None, person: str | None = None,
             page: str | None = None):
        headers = {"Cookie": self.pages.cookie(page)} if page else None
        began = time.perf_counter()
        try:
            status, body = self.client.request(method, path, payload, person, headers=headers, raw=bool(page))
        except OSError as err:
            self.tally.add(kind, 0, time.perf_counter() - began, str(err))
            return None
        self.tally.add(kind, status, time.perf_counter() - began, "" if status < 400 else str(body)[:200])
        return body if 200 <= status < 300 and not page else None


def seed_instances(url: str, clients: int) -> dict[int, list[str]]:
    """Two instances per client to begin with, each with its own business key."""
    system = open_system(url)
    keys: dict[int, list[str]] = {}
    with system.store.read() as session:
        clerk = actor_for(system.organisation(session), CLERKS[0])
    for number in range(clients):
        keys[number] = []
        for n in range(SEEDED_PER_CLIENT):
            key = f"LOAD-{number}-{n}"
            with system.store.write() as session:
                instances.start(system, session, clerk, "dept_request", REQUEST, business_key=key)
            keys[number].append(key)
    system.store.dispose()
    return keys


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] if ordered else 0.0


def run(db: str = "sqlite", clients: int = 50, seconds: float = 60, workers: int = 4,
        admin_url: str | None = None, out=None) -> Tally:
    out = out or sys.stdout     # looked up per call, so a caller's redirection counts
    databases = Databases(db, **({"admin_url": admin_url} if admin_url else {}))
    url = databases.fresh()
    keys = seed_instances(url, clients)
    server = Server(url, databases.directory / "gunicorn.log", workers=workers)
    tally, stop = Tally(), threading.Event()
    try:
        server.start()
        tokens, pages = Tokens(server.port, databases.tokens), Pages(server.port)
        for person in (LEADER, *CLERKS):
            pages.cookie(person)
        threads = [LoadClient(n, server.port, tokens, pages, tally, stop, keys[n]) for n in range(clients)]
        print(f"{db}, gunicorn -w {workers} on 127.0.0.1:{server.port}, {clients} clients for {seconds:g} s",
              file=out, flush=True)
        for thread in threads:
            thread.start()
        stop.wait(seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        server.stop()
    try:
        checked = RunResult(1, "none", 0.0, tally.accepted)
        check(url, checked)
        tally.problems = checked.problems
    finally:
        databases.close()
    report(tally, seconds, out)
    return tally


def report(tally: Tally, seconds: float, out) -> None:
    every = [v for values in tally.latencies.values() for v in values]
    print(f"{'kind':<12}{'requests':>9}  {'statuses':<26}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}", file=out)
    for kind in sorted(tally.latencies):
        values, statuses = tally.latencies[kind], tally.statuses[kind]
        shown = " ".join(f"{status}×{n}" for status, n in sorted(statuses.items()))
        print(f"{kind:<12}{len(values):9}  {shown:<26}{percentile(values, 50) * 1000:8.0f}"
              f"{percentile(values, 95) * 1000:8.0f}{percentile(values, 99) * 1000:8.0f}", file=out)
    total = Counter()
    for statuses in tally.statuses.values():
        total.update(statuses)
    errors = {s: n for s, n in total.items() if s >= 400 or s == 0}
    print(f"{'all':<12}{len(every):9}  {len(every) / seconds:.0f} requests/s{'':<12}{percentile(every, 50) * 1000:8.0f}"
          f"{percentile(every, 95) * 1000:8.0f}{percentile(every, 99) * 1000:8.0f}", file=out)
    print(f"errors by status: {dict(sorted(errors.items())) or 'none'} (0 = no answer)", file=out)
    a = tally.accepted
    print(f"afterwards: {len(a.completions)} accepted completions and {len(a.starts)} starts checked in the "
          f"database, the chain and every instance's re-execution: {len(tally.problems)} problems", file=out)
    print(f"5xx: {server_errors(tally)}, unexpected 4xx: {client_errors(tally)} — "
          f"{'ok' if not failed(tally) else 'FAILED'}", file=out)
    for failure in tally.failures[:10] + tally.problems[:10]:
        print(f"  {failure}", file=out)


def server_errors(tally: Tally) -> int:
    return sum(n for statuses in tally.statuses.values() for s, n in statuses.items() if s >= 500)


def client_errors(tally: Tally) -> int:
    return sum(n for statuses in tally.statuses.values() for s, n in statuses.items() if 400 <= s < 500)


def failed(tally: Tally) -> bool:
    unanswered = sum(statuses[0] for statuses in tally.statuses.values())
    return bool(server_errors(tally) or client_errors(tally) or unanswered or tally.problems)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--admin-url", default=None, help="PostgreSQL database to create the load database from")
    parser.add_argument("--quick", action="store_true",
                        help="5 clients for 3 s on 3 workers, every check afterwards: the form CI runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.seconds, args.workers = 5, 3.0, 3
    tally = run(args.db, args.clients, args.seconds, args.workers, args.admin_url)
    return 1 if failed(tally) else 0


if __name__ == "__main__":
    sys.exit(main())
