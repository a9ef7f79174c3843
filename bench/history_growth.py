"""The cost of one step as an instance's history grows: a 督办 item reported on 500 times.

    python bench/history_growth.py [--reports 500] [--at 5,50,500] [--samples 5] [--database-url URL]

One item of bazhou is set by hand (processes/decision_followup.bpmn) with one assisting unit, so
each round has two user tasks (协办单位报送配合情况 and 报告办理情况, in parallel, then the join and
报告登记). Rounds are completed through the service layer (``tasks.complete`` in one write
transaction, as the API does): one item per mark of ``--at`` is brought to that many completed
tasks, then ``--samples`` completions are timed on each item in turn, with the snapshot's size and
the task tree's size. The ratio of each mark's median to the first mark's, measured in the same
run, is the result: the issue's target is ≤ 1.5 at 500 completed tasks against 5.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from govflow.bpmn.deploy import deploy  # noqa: E402
from govflow.config import Settings  # noqa: E402
from govflow.people.auth import actor_for  # noqa: E402
from govflow.people.org import Organisation  # noqa: E402
from govflow.store.models import Instance, Task  # noqa: E402
from govflow.time.timeutil import SHANGHAI  # noqa: E402
from govflow.work import admin, instances, tasks  # noqa: E402
from govflow.work.inbox import candidates  # noqa: E402
from govflow.work.system import Govflow  # noqa: E402

DIAGRAM = REPO / "processes" / "decision_followup.bpmn"
ANSWERS = {"contribute": {"progress": "已配合完成本单位部分"},
           "progress_report": {"progress": "已完成本期排查整治", "action": "继续办理"}}


class Item:
    """One 督办 item of bazhou and the people who work it."""

    def __init__(self, database_url: str | None):
        url = database_url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
        self.system = Govflow(Settings(database_url=url, mode="test", home=REPO, secret_key="bench"))
        self.system.store.migrate()
        self.org = Organisation.from_toml((REPO / "orgs" / "bazhou.toml").read_text(encoding="utf-8"))
        with self.system.store.write() as session:
            admin.load_organisation(self.system, session, self.org, "bench")
            admin.set_clock(self.system, session, datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI), True, "bench")
        deploy(self.system, DIAGRAM.read_bytes(), DIAGRAM.name, "bench")
        lead, assisting = [d for d in self.org.departments if (p := self.org.portfolio_leader(d))
                           and p.post == "deputy" and not self.org.departments[d].duties][:2]
        supervisor = self.org.with_duty("督查")[0].id
        clerk = next(p.id for p in self.org.people.values() if p.department == supervisor
                     and p.post in ("dept_staff", "office_clerk"))
        data = {"source": "领导批示", "source_ref": "区长批示件〔2026〕12号", "task": "整治城区占道经营",
                "lead_unit": lead, "assisting_units": [assisting], "due_on": "2029-12-31", "report_every_wd": 5}
        with self.system.store.write() as session:
            self.id = instances.start(self.system, session, self.actor(clerk), "decision_followup", data).id
        self.completed = 0
        self.complete(self.open()[0], {"responsible": "分管副局长张某，经办人李某", "plan": "分三步推进"})

    def actor(self, person: str):
        return actor_for(self.org, person)

    def open(self) -> list[Task]:
        with self.system.store.read() as session:
            return list(session.scalars(select(Task).where(Task.instance_id == self.id, Task.state == "open",
                                                           Task.kind == "task").order_by(Task.step_id)))

    def complete(self, row: Task, data: dict) -> float:
        with self.system.store.read() as session:
            person = row.assignee or candidates(session, row.id)[0]
        began = time.perf_counter()
        with self.system.store.write() as session:
            tasks.complete(self.system, session, self.actor(person), row.id, data)
        self.completed += 1
        return time.perf_counter() - began

    def next(self) -> float:
        """Complete the next open task (the assisting unit's part before the lead unit's report)."""
        row = self.open()[0]
        return self.complete(row, ANSWERS[row.step_id])

    def shape(self) -> tuple[int, int]:
        """The snapshot's size in bytes and the number of tasks in its tree."""
        with self.system.store.read() as session:
            instance = session.get(Instance, self.id)
            workflow = instances.load(self.system, session, instance)
            return len(instance.snapshot.encode("utf-8")), len(workflow.tasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--at", default="5,50,500", help="completed tasks at which to measure")
    parser.add_argument("--samples", type=int, default=10, help="completions timed at each mark")
    parser.add_argument("--database-url", help="default: a new SQLite file")
    args = parser.parse_args()
    marks = sorted(int(m) for m in args.at.split(","))

    began = time.perf_counter()
    items = [Item(args.database_url) for _ in marks]    # one item per mark, in one database
    for item, mark in zip(items, marks, strict=True):
        while item.completed < mark:
            item.next()
    built = time.perf_counter() - began
    # Samples taken in turn from every item, so that a busy moment of the machine weighs on all alike.
    times: list[list[float]] = [[] for _ in marks]
    for _ in range(args.samples):
        for item, found in zip(items, times, strict=True):
            found.append(item.next())
    base = statistics.median(times[0])
    print(f"one 督办 item of bazhou per mark, built in {built:.0f} s; median of {args.samples} completions "
          "at each mark, taken in turn")
    print(f"  {'after':>7} {'ms/step':>9} {'snapshot':>10} {'tasks in tree':>14} {'x first':>8}")
    for item, mark, found in zip(items, marks, times, strict=True):
        size, tree = item.shape()
        median = statistics.median(found)
        print(f"  {mark:>7} {median * 1000:>9.1f} {size / 1024:>8.1f}KB {tree:>14} {median / base:>8.2f}")
    print("ratio")
    print(f"  step after {marks[-1]} / after {marks[0]}  {statistics.median(times[-1]) / base:.2f}   (target <= 1.5)")


if __name__ == "__main__":
    main()
