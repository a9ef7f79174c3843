"""The inbox badges, counted in one statement (issue 25), say what the five separate counts said,
and a page whose total is taken from its badge has the total a count of its own query gives."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import insert

from conftest import MONDAY_9AM
from govflow.store.models import Blob, Instance, ProcessVersion, Task, TaskCandidate
from govflow.work import inbox

PEOPLE = ["zhongjie", "wangpeng", "songchangping", "duanhaitao"]


def fill(system, rng: random.Random) -> list[dict]:
    rows, offered = [], []
    for number in range(240):
        kind = rng.choice(["task", "task", "task", "read", "addsign"])
        state = rng.choice(["open", "open", "open", "completed"])
        group = kind == "task" and rng.random() < 0.4
        due = None if rng.random() < 0.2 else MONDAY_9AM + timedelta(hours=rng.randint(-72, 72))
        row = {"id": f"t{number:04d}", "instance_id": 1, "process_id": "p", "business_key": None, "title": "件",
               "step_id": "s", "step_name": "步", "lane": "办公室", "role": "office_clerk", "form": None, "kind": kind,
               "assignee": None if group else rng.choice(PEOPLE), "owner": None, "created_at": MONDAY_9AM,
               "due_at": due, "due_estimated": False, "urgency": "一般", "priority": 0, "state": state,
               "pressed_count": 0, "completed_by": rng.choice(PEOPLE) if state == "completed" else None,
               "completed_at": MONDAY_9AM if state == "completed" else None}
        row["offered"] = rng.sample(PEOPLE, rng.randint(1, 3)) if group else []
        rows.append(row)
        offered += [{"task_id": row["id"], "person_id": p} for p in row["offered"]]
    with system.store.write() as session:
        session.execute(insert(Blob.__table__), [{"hash": "0" * 64, "kind": "bpmn", "content": ""}])
        session.execute(insert(ProcessVersion.__table__), [{
            "id": 1, "process_id": "p", "version": 1, "name": "测试", "bpmn_hash": "0" * 64, "forms": "{}",
            "filename": "x.bpmn", "deployed_at": MONDAY_9AM, "deployed_by": "t"}])
        session.execute(insert(Instance.__table__), [{
            "id": 1, "process_version_id": 1, "process_id": "p", "business_key": None, "title": "", "status": "running",
            "started_at": MONDAY_9AM, "started_by": "t", "ended_at": None, "snapshot": "", "snapshot_hash": "",
            "next_timer_at": None, "lock_version": 1}])
        session.execute(insert(Task.__table__), [{k: v for k, v in r.items() if k != "offered"} for r in rows])
        session.execute(insert(TaskCandidate.__table__), offered)
    return rows


def expected(rows: list[dict], people: list[str]) -> dict:
    """The badges as the five separate counts defined them."""
    open_rows = [r for r in rows if r["state"] == "open"]
    mine = [r for r in open_rows if r["assignee"] in people and r["kind"] != "read"]
    read = [r for r in open_rows if r["assignee"] in people and r["kind"] == "read"]
    group = [r for r in open_rows if r["assignee"] is None and set(r["offered"]) & set(people)]
    late = [r for r in mine + group if r["due_at"] is not None and r["due_at"] < MONDAY_9AM]
    return {"mine": len(mine), "group": len(group), "read": len(read), "overdue": len(late)}


def test_one_statement_counts_what_the_five_counts_did_and_pages_agree(system):
    rows = fill(system, random.Random(25))
    for people in (["zhongjie"], ["wangpeng", "songchangping"], PEOPLE):
        with system.store.read() as session:
            badges = inbox.counts(session, people, MONDAY_9AM)
            assert badges == expected(rows, people), people
            for view in ("mine", "group", "read", "done"):
                query = inbox.Query(view=view, limit=500)
                counted, total = inbox.search(session, query, people, MONDAY_9AM)
                assert total == len(counted)                                   # counted by its own query
                if query.counted_by(badges) is not None:
                    assert query.counted_by(badges) == total, (people, view)
                late = inbox.Query(view=view, overdue=True, limit=500)
                assert late.counted_by(badges) is None                          # a filter: counted by itself
                assert inbox.search(session, late, people, MONDAY_9AM)[1] == len(
                    [r for r in counted if r.due_at is not None and r.due_at < MONDAY_9AM])
