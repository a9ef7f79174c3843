"""One hostile diagram against everyone else (issue 18, point 1): 20 clients work as in bench/load.py
while one more starts, again and again, a diagram whose script would build gigabytes from shared
references (``s = 'x' * 100000; x = [s] * 10000; y = [x] * 2``). Each start must be refused (422) and
the others must carry on: their p95 with the hostile starts within 2x of their p95 without, no 5xx.

    python bench/hostile.py [--clients 20] [--seconds 20] [--workers 2] [--db sqlite|postgres]

Two runs on fresh copies of one seeded database (SQLite by default), gunicorn on a free loopback port:
the clients alone, then the clients and the hostile starter; it prints both p95s and their ratio, and
exits 1 on a 5xx, a request without an answer, a hostile start that was not refused, or a ratio past 2.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from harness import Client, Databases, Server, Tokens, open_system  # noqa: E402
from load import CLERKS, LEADER, LoadClient, Pages, Tally, failed, percentile, seed_instances  # noqa: E402

from bpmn_builder import chain, diagram, end, script, start  # noqa: E402
from govflow.bpmn.deploy import deploy  # noqa: E402

HOSTILE = "s = 'x' * 100000\nx = [s] * 10000\ny = [x] * 2"
TARGET = 2.0


def deploy_hostile(url: str) -> None:
    system = open_system(url)
    xml = diagram("hostile", start(), script("s", HOSTILE), end(), chain("start", "s", "end"),
                  lanes={"办公室": ["start", "s", "end"]})
    deploy(system, xml, "hostile.bpmn", "bench")
    system.store.dispose()


class Starter(threading.Thread):
    """Starts the hostile diagram as fast as its answers come; counts answers by status."""

    def __init__(self, port: int, tokens: Tokens, stop: threading.Event):
        super().__init__(daemon=True)
        self.client, self.stop, self.statuses, self.seconds = Client(port, tokens), stop, {}, []

    def run(self) -> None:
        while not self.stop.is_set():
            began = time.perf_counter()
            try:
                status, _ = self.client.request("POST", "/api/v1/instances", {"process_id": "hostile", "data": {}},
                                                person=CLERKS[0])
            except OSError:
                status = 0
            self.seconds.append(time.perf_counter() - began)
            self.statuses[status] = self.statuses.get(status, 0) + 1
        self.client.close()


def run_once(databases: Databases, clients: int, seconds: float, workers: int, hostile: bool):
    url = databases.fresh()
    keys = seed_instances(url, clients)
    deploy_hostile(url)
    server = Server(url, databases.directory / "gunicorn.log", workers=workers)
    tally, stop, starter = Tally(), threading.Event(), None
    try:
        server.start()
        tokens, pages = Tokens(server.port, databases.tokens), Pages(server.port)
        for person in (LEADER, *CLERKS):
            pages.cookie(person)
        threads = [LoadClient(n, server.port, tokens, pages, tally, stop, keys[n]) for n in range(clients)]
        if hostile:
            starter = Starter(server.port, tokens, stop)
            threads.append(starter)
        for thread in threads:
            thread.start()
        stop.wait(seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        server.stop()
    return tally, starter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)
    databases = Databases(args.db)
    try:
        calm, _ = run_once(databases, args.clients, args.seconds, args.workers, hostile=False)
        attacked, starter = run_once(databases, args.clients, args.seconds, args.workers, hostile=True)
    finally:
        databases.close()
    p95 = {name: percentile([v for vs in t.latencies.values() for v in vs], 95) for name, t in
           (("calm", calm), ("attacked", attacked))}
    count = {name: sum(len(vs) for vs in t.latencies.values()) for name, t in (("calm", calm), ("attacked", attacked))}
    refused_all = set(starter.statuses) == {422}
    print(f"{args.db}, gunicorn -w {args.workers}, {args.clients} clients, {args.seconds:g} s each run")
    print(f"  without the hostile diagram: {count['calm']} requests, p95 {p95['calm'] * 1000:.0f} ms")
    print(f"  with it started {sum(starter.statuses.values())} times (answers {starter.statuses}, p95 "
          f"{percentile(starter.seconds, 95) * 1000:.0f} ms): {count['attacked']} requests, "
          f"p95 {p95['attacked'] * 1000:.0f} ms")
    ratio = p95["attacked"] / p95["calm"] if p95["calm"] else float("inf")
    ok = ratio <= TARGET and refused_all and not failed(calm) and not failed(attacked)
    print("ratios")
    print(f"  p95 attacked / calm   {ratio:.2f}   (target <= {TARGET:g}); 5xx or unanswered: "
          f"{'none' if not failed(calm) and not failed(attacked) else 'SOME'} — {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
