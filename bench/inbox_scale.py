"""Inbox queries with a million historic tasks: p50 and p95 of the queries people run.

    python bench/inbox_scale.py [--tasks 1000000] [--open 100000] [--database-url URL]

The rows are written straight into the ``task`` and ``task_candidate`` tables (this measures the
queries, not the engine): 1,000 people, each open task assigned to one of them or offered to a
group of three, titles drawn from ordinary 公文 words. Queries go through ``govflow.work.inbox.search``,
the function the API calls: mine, my group's overdue tasks, and a title search.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from sqlalchemy import insert  # noqa: E402

from govflow.store.database import Store  # noqa: E402
from govflow.store.models import Blob, Instance, ProcessVersion, Task, TaskCandidate  # noqa: E402
from govflow.work import inbox  # noqa: E402

WORDS = ["关于", "申请", "专项资金", "防汛", "请示", "报告", "安全生产", "检查", "通知", "调整", "预算", "招商引资",
         "项目", "审批", "乡村振兴", "教育", "医疗", "改造", "排水", "交通", "环境", "整治", "督办", "落实"]
PEOPLE = [f"p{i:04d}" for i in range(1000)]
NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


def fill(store: Store, total: int, open_count: int, rng: random.Random) -> None:
    with store.write() as session:          # the rows the tasks point at: one version, their instances
        session.execute(insert(Blob.__table__), [{"hash": "0" * 64, "kind": "bpmn", "content": ""}])
        session.execute(insert(ProcessVersion.__table__), [{
            "id": 1, "process_id": "document", "version": 1, "name": "公文", "bpmn_hash": "0" * 64, "forms": "{}",
            "filename": "x.bpmn", "deployed_at": NOW, "deployed_by": "bench"}])
        for first in range(1, total // 4 + 2, 20_000):
            session.execute(insert(Instance.__table__), [{
                "id": i, "process_version_id": 1, "process_id": "document", "business_key": None, "title": "",
                "status": "running", "started_at": NOW, "started_by": "bench", "ended_at": None, "snapshot": "",
                "snapshot_hash": "", "next_timer_at": None, "lock_version": 1}
                for i in range(first, min(first + 20_000, total // 4 + 2))])
    batch, candidates = [], []
    for number in range(total):
        is_open = number < open_count
        group = is_open and rng.random() < 0.3
        task_id = str(uuid.UUID(int=rng.getrandbits(128)))
        created = NOW - timedelta(days=rng.randint(0, 700), minutes=rng.randint(0, 600))
        batch.append({
            "id": task_id, "instance_id": number // 4 + 1, "process_id": rng.choice(["document", "topic", "followup"]),
            "business_key": f"巴州府办〔2026〕{number}号", "title": "".join(rng.sample(WORDS, 5)), "step_id": "review",
            "step_name": "审核", "lane": "办公室", "role": "office_clerk", "form": None,
            "assignee": None if group else rng.choice(PEOPLE), "owner": None, "created_at": created,
            "due_at": created + timedelta(days=rng.randint(1, 20)), "due_estimated": False, "due_from": None,
            "due_workdays": None, "urgency": "一般", "priority": 0, "state": "open" if is_open else "completed",
            "completed_at": None if is_open else created + timedelta(days=2),
            "completed_by": None if is_open else rng.choice(PEOPLE), "acting_for": None, "pressed_count": 0,
            "last_pressed_at": None})
        if group:
            candidates += [{"task_id": task_id, "person_id": p} for p in rng.sample(PEOPLE, 3)]
        if len(batch) == 20_000:
            _write(store, batch, candidates)
            batch, candidates = [], []
    _write(store, batch, candidates)


def _write(store: Store, tasks: list, candidates: list) -> None:
    if not tasks:
        return
    with store.write() as session:
        session.execute(insert(Task.__table__), tasks)
        if candidates:
            session.execute(insert(TaskCandidate.__table__), candidates)


def measure(store: Store, query: inbox.Query | None, rng: random.Random, runs: int) -> tuple[float, float, int]:
    """Timings of ``inbox.search`` for ``query``, or of ``inbox.counts`` (the badge numbers) for None."""
    times, found = [], 0
    for _ in range(runs):
        person = rng.choice(PEOPLE)
        began = time.perf_counter()
        with store.read() as session:
            if query is None:
                total = sum(inbox.counts(session, [person], NOW).values())
            else:
                total = inbox.search(session, query, [person], NOW)[1]
        times.append((time.perf_counter() - began) * 1000)
        found += total
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1], found // runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--open", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--database-url", default=f"sqlite:///{tempfile.mkdtemp()}/inbox.db")
    args = parser.parse_args()
    store = Store(args.database_url)
    store.migrate()
    rng = random.Random(2026)
    began = time.perf_counter()
    fill(store, args.tasks, args.open, rng)
    print(f"{store.engine.dialect.name}: {args.tasks:,} tasks ({args.open:,} open) written in "
          f"{time.perf_counter() - began:.0f} s")
    with store.engine.begin() as connection:
        connection.exec_driver_sql("ANALYZE")
    for label, query in (("my open tasks", inbox.Query(view="mine")),
                         ("my group's overdue", inbox.Query(view="group", overdue=True)),
                         ("title search '防汛'", inbox.Query(view="mine", q="防汛")),
                         ("my done tasks", inbox.Query(view="done")),
                         ("inbox counts", None)):
        p50, p95, found = measure(store, query, rng, args.runs)
        print(f"  {label:<22} p50 {p50:6.2f} ms   p95 {p95:6.2f} ms   ({found} rows per person)")


if __name__ == "__main__":
    main()
