"""Seconds taken by `govflow backup` and `govflow restore`, each with its check, by database size.

    python bench/backup.py [--instances 20] [--copies 1000] [--events 100000]
                           [--database-url URL --restore-url URL]

``--instances`` requests run through processes/dept_request.bpmn (half to their end, half left at
签发), so that snapshots and events are real ones. The database is then grown to size: ``--copies``
instances cloned from those (snapshot and hash as stored), and ``--events`` events appended to the
chain for them (task_completed payloads copied from real ones), so that the chain still verifies.
Default: a new SQLite file; for PostgreSQL give an empty schema or database as ``--database-url``
and another, fresh, as ``--restore-url``.

Prints the size (events, instances, bytes of the backup), the seconds of the backup (copy and
check) and of the restore (check, copy, check again), and the events checked per second.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from govflow.audit import backup  # noqa: E402
from govflow.bpmn.deploy import deploy  # noqa: E402
from govflow.config import Settings  # noqa: E402
from govflow.people.auth import actor_for  # noqa: E402
from govflow.people.org import Organisation  # noqa: E402
from govflow.store.eventlog import EventBatch  # noqa: E402
from govflow.store.models import Event, Instance, Task  # noqa: E402
from govflow.time.timeutil import SHANGHAI  # noqa: E402
from govflow.work import admin, inbox, instances, tasks  # noqa: E402
from govflow.work.system import Govflow  # noqa: E402

ANSWERS = {"office_review": {"decision": "拟办", "opinion": "拟同意"}, "office_check": {"decision": "同意"},
           "leader_countersign": {"decision": "同意"}, "sign_off": {"decision": "同意签发", "opinion": "同意"}}


def build(url: str, requests: int) -> Govflow:
    system = Govflow(Settings(database_url=url, mode="test", home=REPO, secret_key="bench"))
    system.store.migrate()
    org = Organisation.from_toml((REPO / "orgs" / "bazhou.toml").read_text(encoding="utf-8"))
    with system.store.write() as session:
        admin.load_organisation(system, session, org, "bench")
        admin.set_clock(system, session, datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI), True, "bench")
    deploy(system, (REPO / "processes" / "dept_request.bpmn").read_bytes(), "dept_request.bpmn", "bench")
    clerk = next(p.id for p in org.with_post("office_clerk", org.office_id) if not p.roles)
    department = next(d for d in org.departments if org.portfolio_leader(d))
    for number in range(requests):
        with system.store.write() as session:
            instance = instances.start(system, session, actor_for(org, clerk), "dept_request",
                                       {"title": f"关于第 {number} 批物资的请示", "department": department,
                                        "urgency": "一般"})
        while _step(system, org, instance.id, stop_at="sign_off" if number % 2 else None):
            pass
    return system


def _step(system: Govflow, org: Organisation, instance_id: int, stop_at: str | None) -> bool:
    with system.store.write() as session:
        rows = session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == "open")
                               .order_by(Task.step_id)).all()
        if not rows or rows[0].step_id == stop_at:
            return False
        who = rows[0].assignee or inbox.candidates(session, rows[0].id)[0]
        tasks.complete(system, session, actor_for(org, who), rows[0].id, ANSWERS[rows[0].step_id])
        return True


def grow(system: Govflow, copies: int, events: int) -> None:
    """Clones of the real instances, and events for them appended to the chain in batches."""
    with system.store.read() as session:
        models = session.scalars(select(Instance)).all()
        payloads = session.scalars(select(Event.payload).where(Event.type == "task_completed")).all()
    clone_ids = []
    for start in range(0, copies, 500):
        with system.store.write() as session:
            batch = [Instance(**{c: getattr(models[(start + i) % len(models)], c) for c in _COLUMNS})
                     for i in range(min(500, copies - start))]
            session.add_all(batch)
            session.flush()
            clone_ids += [i.id for i in batch]
    at = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
    for start in range(0, events, 1000):
        with system.store.write() as session:
            batch = EventBatch()
            for n in range(start, min(start + 1000, events)):
                batch.record("task_completed", "bench", at, None, clone_ids[n % len(clone_ids)] if clone_ids else None)
                batch.items[-1].payload = payloads[n % len(payloads)]
            batch.append_to(session)


_COLUMNS = ("process_version_id", "process_id", "business_key", "title", "status", "started_at", "started_by",
            "ended_at", "snapshot", "snapshot_hash", "next_timer_at", "lock_version")


def measure(url: str, restore_url: str, requests: int, copies: int, events: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        system = build(url, requests)
        grow(system, copies, events)
        system.store.dispose()
        output = Path(scratch) / "govflow.backup"
        began = time.perf_counter()
        taken = backup.backup(url, output)
        backed_up = time.perf_counter() - began
        began = time.perf_counter()
        restored = backup.restore(restore_url or f"sqlite:///{scratch}/restored.db", output)
        restoring = time.perf_counter() - began
        assert (restored.chain.head_seq, restored.head_hash) == (taken.chain.head_seq, taken.head_hash)
        return {"events": taken.chain.events, "instances": taken.instances, "bytes": output.stat().st_size,
                "backup_s": backed_up, "restore_s": restoring,
                "events_checked_per_s": taken.chain.events / backed_up}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database-url")
    parser.add_argument("--restore-url")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{scratch}/govflow.db"
        figures = measure(url, args.restore_url, args.instances, args.copies, args.events)
    print(f"{figures['events']} events, {figures['instances']} instances, backup {figures['bytes'] / 1e6:.1f} MB: "
          f"backup {figures['backup_s']:.2f} s (copy and check), restore {figures['restore_s']:.2f} s "
          f"(check, copy, check), {figures['events_checked_per_s']:,.0f} events checked per second")
    return figures


if __name__ == "__main__":
    main()
