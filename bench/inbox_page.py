"""The 待办 page with 10,000 open tasks: p50 and p95 of whole page requests (session check, queries,
template), against the inbox query alone in the same process.

    python bench/inbox_page.py [--open 10000] [--runs 50] [--database-url URL]

巴州区's organisation is loaded and the open tasks are spread over its people, a fifth of them offered
to groups of three; the measured person, an office clerk (钟杰), holds 500 of them and is offered
1,000 more. Pages are requested through Flask's test client, as a browser would after logging in.
The target (issue 6) is a page under 200 ms.
"""
from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from inbox_scale import NOW, WORDS  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from govflow.app import create_app  # noqa: E402
from govflow.config import Settings  # noqa: E402
from govflow.people.org import Organisation  # noqa: E402
from govflow.store.models import Blob, Instance, ProcessVersion, Task, TaskCandidate  # noqa: E402
from govflow.work import admin, inbox  # noqa: E402
from govflow.work.system import Govflow  # noqa: E402

PERSON = "zhongjie"


def build(database_url: str) -> Govflow:
    system = Govflow(Settings(database_url=database_url, mode="test", home=REPO, secret_key="bench"))
    system.store.migrate()
    org = Organisation.from_toml((REPO / "orgs" / "bazhou.toml").read_text(encoding="utf-8"))
    with system.store.write() as session:
        admin.load_organisation(system, session, org, "bench")
        admin.set_clock(system, session, NOW, True, "bench")
    return system


def fill(system: Govflow, open_count: int, rng: random.Random) -> None:
    with system.store.read() as session:
        people = sorted(system.organisation(session).people)
    tasks, candidates = [], []
    for number in range(open_count):
        mine, offered = number < 500, 500 <= number < 1500
        group = offered or (number >= 1500 and rng.random() < 0.2)
        created = NOW - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 600))
        task_id = f"bench-{number:06d}"
        tasks.append({
            "id": task_id, "instance_id": number // 4 + 1, "process_id": "document_approval", "business_key": None,
            "title": "".join(rng.sample(WORDS, 5)), "step_id": "office_review", "step_name": "办公室审核",
            "lane": "办公室", "role": "office_clerk", "form": None,
            "assignee": None if group else PERSON if mine else rng.choice(people), "owner": None,
            "created_at": created, "due_at": created + timedelta(days=rng.randint(1, 20)), "due_estimated": False,
            "urgency": rng.choice(list(inbox.URGENCY)), "priority": 0, "state": "open", "pressed_count": 0})
        if group:
            offered_to = [PERSON, *rng.sample(people, 2)] if offered else rng.sample(people, 3)
            candidates += [{"task_id": task_id, "person_id": p} for p in dict.fromkeys(offered_to)]
    with system.store.write() as session:
        session.execute(insert(Blob.__table__), [{"hash": "0" * 64, "kind": "bpmn", "content": ""}])
        session.execute(insert(ProcessVersion.__table__), [{
            "id": 1, "process_id": "document_approval", "version": 1, "name": "公文审批与签发", "bpmn_hash": "0" * 64,
            "forms": "{}", "filename": "x.bpmn", "deployed_at": NOW, "deployed_by": "bench"}])
        session.execute(insert(Instance.__table__), [{
            "id": i, "process_version_id": 1, "process_id": "document_approval", "business_key": None, "title": "",
            "status": "running", "started_at": NOW, "started_by": "bench", "ended_at": None, "snapshot": "",
            "snapshot_hash": "", "next_timer_at": None, "lock_version": 1} for i in range(1, open_count // 4 + 2)])
        session.execute(insert(Task.__table__), tasks)
        if candidates:                      # none below 500 open tasks: all of them are the person's own
            session.execute(insert(TaskCandidate.__table__), candidates)


def timed(call, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--database-url", default=f"sqlite:///{tempfile.mkdtemp()}/inbox_page.db")
    args = parser.parse_args()
    system = build(args.database_url)
    fill(system, args.open, random.Random(2026))
    client = create_app(system=system).test_client()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(True)).group(1)
    client.post("/login", data={"csrf": csrf, "username": PERSON, "password": "demo"})
    print(f"{system.store.engine.dialect.name}: {args.open:,} open tasks; {PERSON} holds 500 and is offered 1,000")

    def query() -> None:
        with system.store.read() as session:
            inbox.search(session, inbox.Query(view="mine"), [PERSON], NOW)
    base50, _ = timed(query, args.runs)
    print(f"  {'inbox query alone':<26} p50 {base50:6.2f} ms")
    pages = (("我的待办", "/inbox"), ("组待办", "/inbox?view=group"), ("组待办已逾期", "/inbox?view=group&due=overdue"),
             ("标题检索防汛", "/inbox?q=防汛"), ("第5页", "/inbox?page=5"))
    for label, path in pages:
        assert client.get(path).status_code == 200
        p50, p95 = timed(lambda path=path: client.get(path), args.runs)
        print(f"  {label:\u3000<6} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   p50 ×{p50 / base50:5.1f} the query alone   "
              f"p95 {p95 / 200:4.2f} of the 200 ms target")


if __name__ == "__main__":
    main()
