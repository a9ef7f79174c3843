"""The rows access is decided on, checked against what the events say.

Who may open a matter is read from rows, not from the event log: ``task.assignee`` and its
``task_candidate`` rows, ``instance.started_by``, its ``title``, 密级 and 分发范围 (``distribution``).
The chain and its seals protect the events; someone who can write the database could still give
themselves a task, or lower a 密级, in those rows. Re-execution derives each of them again from the
history — the holders from the task events (``holders_after``), the labels from the data after
every step, as ``access.label`` kept them — and every row that differs is reported with the event
that says otherwise.
"""
from __future__ import annotations

import bisect
import json
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..people.access import CLASSIFIED
from ..people.org import Organisation
from ..store.models import Distribution, Event, Instance, OrganisationVersion, Task, TaskCandidate
from .replay_steps import Recorded, holders_after


class OrganisationAt:
    """The organisation in force when a step ran — the last one loaded before the step's first event,
    in the chain's order (the clock can be set back; the chain cannot) — so that a 分发范围 is kept to
    the people and departments of then, and a personnel change made later is no difference."""

    def __init__(self, session: Session):
        self.session = session
        loaded = session.execute(select(Event.seq, Event.payload).where(Event.type == "organisation_loaded")
                                 .order_by(Event.seq)).all()
        self.seqs = [seq for seq, _ in loaded]
        self.versions = [json.loads(payload).get("version") for _, payload in loaded]
        self.parsed: dict[int, Organisation] = {}

    def before(self, seq: int) -> Organisation | None:
        index = bisect.bisect_left(self.seqs, seq) - 1
        version = self.versions[index] if index >= 0 else None
        row = self.session.get(OrganisationVersion, version) if isinstance(version, int) else None
        if row is None:
            return None
        if version not in self.parsed:
            self.parsed[version] = Organisation.from_document(json.loads(row.document))
        return self.parsed[version]


@dataclass
class Labels:
    """What the events say an instance's labels are, and the event that last set each."""
    title: str = ""
    secrecy: str = ""
    distribution: set = field(default_factory=set)
    named_distribution: bool = False
    seq: dict = field(default_factory=dict)

    def started(self, event: Recorded) -> None:
        self.title = event.payload.get("title") or ""
        self.seq = dict.fromkeys(("title", "secrecy", "distribution"), event.seq)

    def after_step(self, org: Organisation, data: dict, seq: int) -> None:
        """As ``Step._label`` and ``access.label`` do after every step."""
        title = data.get("title")
        if isinstance(title, str) and title.strip() and title[:300] != self.title:
            self.title, self.seq["title"] = title[:300], seq
        if data.get("secrecy") in CLASSIFIED and _rank(data["secrecy"]) > _rank(self.secrecy):
            self.secrecy, self.seq["secrecy"] = data["secrecy"], seq
        named = data.get("distribution")
        if isinstance(named, dict):
            wanted = {("department", d) for d in named.get("departments") or ()
                      if isinstance(d, str) and d in org.departments}
            wanted |= {("person", p) for p in named.get("people") or () if isinstance(p, str) and org.person(p)}
            if wanted != self.distribution or not self.named_distribution:
                self.distribution, self.named_distribution, self.seq["distribution"] = wanted, True, seq


def _rank(secrecy: str) -> int:
    return CLASSIFIED.index(secrecy) + 1 if secrecy in CLASSIFIED else 0


@dataclass(frozen=True)
class RowDifference:
    seq: int          # the event that says otherwise
    what: str


def check(session: Session, instance: Instance, events: list[Recorded], labels: Labels | None) -> list[RowDifference]:
    """Every row of ``instance`` that grants access or shows the matter and differs from its events.
    ``labels``: what re-execution derived (None when it stopped early: only the holders are checked)."""
    found: list[RowDifference] = []
    started = next((e for e in events if e.type == "instance_started"), None)
    if started is not None and instance.started_by != started.actor:
        found.append(RowDifference(started.seq, f"instance 表实例 {instance.id} 的发起人（started_by）为"
                                                f"“{instance.started_by}”，第 {started.seq} 条事件（instance_started）"
                                                f"记为“{started.actor}”"))
    if labels is not None:
        found += _labels(session, instance, labels)
    found += _holders(session, instance, events)
    return found


def _labels(session: Session, instance: Instance, labels: Labels) -> list[RowDifference]:
    found = []
    where = f"instance 表实例 {instance.id} 的"
    if instance.title != labels.title and labels.title:
        seq = labels.seq.get("title", 0)
        found.append(RowDifference(seq, f"{where}标题为“{instance.title}”，第 {seq} 条事件所记为“{labels.title}”"))
    if (instance.secrecy or "") != labels.secrecy:
        seq = labels.seq.get("secrecy", 0)
        found.append(RowDifference(seq, f"{where}密级为“{instance.secrecy or '无'}”，"
                                        f"第 {seq} 条事件所记为“{labels.secrecy or '无'}”"))
    stored = {tuple(r) for r in session.execute(select(Distribution.kind, Distribution.ref)
                                                .where(Distribution.instance_id == instance.id))}
    if stored != labels.distribution and (labels.named_distribution or stored):
        seq = labels.seq.get("distribution", 0)
        found.append(RowDifference(seq, f"distribution 表中实例 {instance.id} 的分发范围为 {_refs(stored)}，"
                                        f"第 {seq} 条事件所记为 {_refs(labels.distribution)}"))
    return found


def _holders(session: Session, instance: Instance, events: list[Recorded]) -> list[RowDifference]:
    """Open tasks: who holds each (assignee, candidates) as its events say; 传阅 copies: only to
    people a 传阅 or 提级督办 event named."""
    held = holders_after(events)
    created = {e.task_id: e.seq for e in events if e.type == "task_created"}
    last_event = {e.task_id: e for e in events if e.task_id}
    rows = session.scalars(select(Task).where(Task.instance_id == instance.id, Task.state == "open",
                                              Task.kind.in_(("task", "read"))).order_by(Task.created_at, Task.id)).all()
    candidates: dict[str, set[str]] = {}
    for task_id, person in session.execute(select(TaskCandidate.task_id, TaskCandidate.person_id)
                                           .join(Task, Task.id == TaskCandidate.task_id)
                                           .where(Task.instance_id == instance.id)):
        candidates.setdefault(task_id, set()).add(person)
    sent_to = {p for e in events if e.type in ("circulated", "task_escalated") for p in e.payload.get("to") or ()}
    found = []
    for row in rows:
        where = f"task 表任务 {row.id}（{row.step_name}）"
        if row.kind == "read":
            if row.assignee not in sent_to:
                found.append(RowDifference(0, f"{where}的阅件给了“{row.assignee}”，"
                                              "没有任何传阅或提级督办事件送给此人"))
            continue
        if row.id not in held:
            found.append(RowDifference(0, f"{where}在事件中没有开出记录（task_created）"))
            continue
        said, event = held[row.id], last_event[row.id]
        if row.assignee != said["assignee"]:
            should = said["assignee"] or "无"
            found.append(RowDifference(event.seq, f"{where}的办理人（assignee）为“{row.assignee or '无'}”，"
                                                  f"第 {event.seq} 条事件（{event.type}）之后应为“{should}”"))
        mine = candidates.get(row.id, set())
        wanted = set(said["candidates"]) if said["assignee"] is None else mine
        if said["assignee"] is None and mine != wanted:
            seq = created[row.id]
            found.append(RowDifference(seq, f"{where}的候选人（task_candidate）为 {_names(mine)}，"
                                            f"第 {seq} 条事件（task_created）记为 {_names(wanted)}"))
    return found


def _names(people) -> str:
    return "、".join(sorted(people)) or "无"


def _refs(refs) -> str:
    return "、".join(f"{kind}:{ref}" for kind, ref in sorted(refs)) or "无"
