"""Replay and re-execution time, against restoring the stored snapshot.

    python bench/replay.py [--instances 30] [--rounds 5] [--database-url URL]

Documents of dongchang are driven through processes/document_approval.bpmn by the service layer on
SQLite (this measures replay on real histories): 退文 and resubmission, a consultation of another
department, 会签, 签发 with a 发文字号, 印发 — about 30 events each. Then, per instance:

  restore     ``instances.load``: the stored snapshot checked and restored (the baseline)
  state_at    ``replay.state_at`` at the first, the middle and the last event: the history up to
              that event run again in memory, with the diagram marks, holders and rule checks
  reexecute   ``replay.reexecute``: the whole history run again and compared with the snapshot

Times are medians over the instances of the best of ``--rounds`` runs; "per event" divides by the
events replayed. Machines here are noisy: the ratios against restore, measured in the same run, are
the result.
"""
from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from govflow.audit import replay  # noqa: E402
from govflow.bpmn.deploy import deploy  # noqa: E402
from govflow.config import Settings  # noqa: E402
from govflow.people.auth import actor_for  # noqa: E402
from govflow.people.org import Organisation  # noqa: E402
from govflow.store.models import Event, Instance, Task  # noqa: E402
from govflow.time.timeutil import SHANGHAI  # noqa: E402
from govflow.work import admin, instances, tasks  # noqa: E402
from govflow.work.inbox import candidates  # noqa: E402
from govflow.work.system import Govflow  # noqa: E402

DIAGRAM = REPO / "processes" / "document_approval.bpmn"
ANSWERS = {"receipt": {"received": True},
           "office_review": {"decision": "拟办", "opinion": "拟请有关领导会签后报区长签发"},
           "reply_timed": {"decision": "同意", "opinion": "无意见"},
           "leader_review": {"decision": "同意", "opinion": "同意"},
           "signing": {"decision": "同意", "opinion": "同意印发"},
           "publish": {"copies": 50, "distribution": "主送：各镇街、区级各部门"}}


class Documents:
    """Drives documents of one organisation with the people a document meets there."""

    def __init__(self, system: Govflow, org: Organisation):
        self.system, self.org = system, org
        led = {d: org.portfolio_leader(d) for d in org.departments}
        own = next(d for d, p in led.items() if p and p.post == "deputy" and p.ab_partner)
        lead = led[own]
        other = next(d for d, p in led.items() if p and p.post == "deputy" and p.id not in (lead.id, lead.ab_partner))
        self.sender = org.with_post("dept_staff", own)[0].id
        self.data = {"doc_type": "请示", "title": "关于申请城区排水管网改造资金的请示", "department": own,
                     "urgency": "一般", "secrecy": "无", "category": "government_business", "issuer": "政府",
                     "departments": [other], "body": "现申请区级资金 300 万元用于城区排水管网改造。妥否，请批示。",
                     "signoff": {"signer": org.with_post("dept_head", own)[0].id,
                                 "meeting": "局务会议纪要〔2026〕3号"}}

    def one(self) -> int:
        with self.system.store.write() as session:
            instance_id = instances.start(self.system, session, actor_for(self.org, self.sender),
                                          "document_approval", self.data).id
        self.answer(instance_id, "receipt", ANSWERS["receipt"])
        self.answer(instance_id, "office_review", {"decision": "退文", "opinion": "请修改后重新报送"})
        self.answer(instance_id, "revise", {**self.data, "revise_action": "重新报送", "response": "已改"})
        while rows := self.open(instance_id):
            self.answer(instance_id, rows[0].step_id, ANSWERS[rows[0].step_id], rows[0])
        return instance_id

    def open(self, instance_id: int) -> list[Task]:
        with self.system.store.read() as session:
            return list(session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == "open")
                                        .order_by(Task.created_at, Task.step_id)))

    def answer(self, instance_id: int, step: str, data: dict, row: Task | None = None) -> None:
        row = row or next(t for t in self.open(instance_id) if t.step_id == step)
        with self.system.store.write() as session:
            person = row.assignee or candidates(session, row.id)[0]
            tasks.complete(self.system, session, actor_for(self.org, person), row.id, data)


def seal_key_file() -> str:
    """A sealing key outside the database, as production has one (every event is sealed);
    ``GOVFLOW_SEAL_KEY_FILE=''`` measures without."""
    if "GOVFLOW_SEAL_KEY_FILE" in os.environ:
        return os.environ["GOVFLOW_SEAL_KEY_FILE"]
    path = Path(tempfile.mkdtemp()) / "seal.key"
    path.write_text(secrets.token_hex(32), encoding="utf-8")
    return str(path)


def build(url: str | None, count: int) -> tuple[Govflow, list[int]]:
    url = url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    system = Govflow(Settings(database_url=url, mode="test", home=REPO, secret_key="bench",
                              seal_key_file=seal_key_file()))
    system.store.migrate()
    org = Organisation.from_toml((REPO / "orgs" / "dongchang.toml").read_text(encoding="utf-8"))
    with system.store.write() as session:
        admin.load_organisation(system, session, org, "bench")
        admin.set_clock(system, session, datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI), True, "bench")
    deploy(system, DIAGRAM.read_bytes(), DIAGRAM.name, "bench")
    documents = Documents(system, org)
    return system, [documents.one() for _ in range(count)]


def best(rounds: int, run) -> float:
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


def measure(system: Govflow, ids: list[int], rounds: int) -> dict[str, list[tuple[float, int]]]:
    """(seconds, events replayed) per instance for each measurement."""
    found: dict[str, list[tuple[float, int]]] = {k: [] for k in ("restore", "first", "middle", "last", "reexecute")}
    with system.store.read() as session:
        for instance_id in ids:
            instance = session.get(Instance, instance_id)
            seqs = list(session.scalars(select(Event.seq).where(Event.instance_id == instance_id)
                                        .order_by(Event.instance_seq)))
            found["restore"].append((best(rounds, lambda i=instance: instances.load(system, session, i)), len(seqs)))
            for name, where in (("first", 0), ("middle", len(seqs) // 2), ("last", len(seqs) - 1)):
                seconds = best(rounds, lambda i=instance, seq=seqs[where]: replay.state_at(system, session, i, seq))
                found[name].append((seconds, where + 1))
            result = replay.reexecute(system, session, instance)
            assert result.ok, result.to_dict()
            found["reexecute"].append((best(rounds, lambda i=instance: replay.reexecute(system, session, i)),
                                       len(seqs)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", help="default: a new SQLite file")
    args = parser.parse_args()

    began = time.perf_counter()
    system, ids = build(args.database_url, args.instances)
    print(f"{len(ids)} documents built through the engine in {time.perf_counter() - began:.1f} s")
    found = measure(system, ids, args.rounds)
    events = statistics.median(n for _, n in found["reexecute"])
    print(f"events per instance: median {events:.0f}\n")
    baseline = statistics.median(s for s, _ in found["restore"])
    print(f"{'':26}{'ms / call':>12}{'events':>8}{'µs / event':>12}{'× restore':>11}")
    labels = {"restore": "restore snapshot (base)", "first": "state_at first event", "middle": "state_at middle event",
              "last": "state_at last event", "reexecute": "reexecute whole history"}
    for key, label in labels.items():
        seconds = statistics.median(s for s, _ in found[key])
        replayed = statistics.median(n for _, n in found[key])
        per_event = statistics.median(s / n for s, n in found[key]) * 1e6
        print(f"{label:26}{seconds * 1e3:12.2f}{replayed:8.0f}{per_event:12.1f}{seconds / baseline:11.1f}")
    system.store.dispose()


if __name__ == "__main__":
    main()
