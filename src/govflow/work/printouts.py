"""The papers of one matter as PDF, for whoever may see the matter: the 办文单 of any instance, and for a
公文 (document_approval) its 发文稿纸 and — once 印发 is done — the issued document in GB/T 9704
layout. Everything printed is read from the instance's data and its recorded events, so the issued
document printed from the chain on any later day is the one issued at 印发.

A 涉密 matter (秘密, 机密) is printed only for those who may see it (``people.access``): the same
refusal as its page, and no hint of its title to others."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Forbidden, NotFound
from ..people.access import acting_people, may_see_instance
from ..people.auth import Actor
from ..records.printing import papers, render
from ..store.models import Event, Instance, Task
from ..time.timeutil import parse_moment
from . import files, instances
from .system import Govflow

DOCUMENT_PROCESS = "document_approval"
CACHE_BYTES = 64 * 1024 * 1024      # rendered papers kept per process: a 正文 of 200,000 characters takes ~30 s
KINDS = {"docket": "办文单", "draft": "发文稿纸", "issued": "正式公文"}


@dataclass(frozen=True)
class Printout:
    kind: str
    filename: str
    pdf: bytes


def available(instance: Instance, events: list[papers.Recorded] | None = None) -> list[str]:
    """What may be printed of ``instance`` (the issued document only after 印发)."""
    if instance.process_id != DOCUMENT_PROCESS:
        return ["docket"]
    published = events is not None and any(e.type == "task_completed" and e.payload.get("step") == "publish"
                                           for e in events)
    return ["docket", "draft", *(["issued"] if published else [])]


def kinds_for(session: Session, instance: Instance) -> list[str]:
    """``available`` for a page that shows the links (one query for the 印发 event)."""
    if instance.process_id != DOCUMENT_PROCESS:
        return ["docket"]
    published = session.scalar(select(Task.id).where(Task.instance_id == instance.id, Task.step_id == "publish",
                                                     Task.state == "completed").limit(1))
    return ["docket", "draft", *(["issued"] if published is not None else [])]


def printout(gf: Govflow, session: Session, actor: Actor, instance_id: int, kind: str) -> Printout:
    """``kind`` of the instance, for ``actor`` if they may see it."""
    if kind not in KINDS:
        raise NotFound("没有这种打印件")
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    now, runtime = gf.moment(session)
    if not may_see_instance(session, runtime.org, actor, acting_people(session, runtime.org, actor, now), instance_id):
        raise Forbidden("您无权查看该流程实例")
    return paper(gf, session, instance, kind)


def paper(gf: Govflow, session: Session, instance: Instance, kind: str) -> Printout:
    """``kind`` of the instance, whoever asks (the caller has checked, or packs an archive)."""
    runtime = gf.runtime(session)
    events = [papers.Recorded.of(e) for e in session.scalars(
        select(Event).where(Event.instance_id == instance.id).order_by(Event.seq))]
    if kind not in available(instance, events):
        raise NotFound("该公文尚未印发，没有正式公文可打印" if kind == "issued" else "该流程没有发文稿纸")
    filename = f"{instance.id}-{KINDS[kind]}.pdf"
    # the same record (up to its last event's hash) and the same organisation print the same file
    key = (instance.id, kind, events[-1].hash if events else "")
    cached = _cache.get(key, runtime.org)
    if cached is not None:
        return Printout(kind, filename, cached)
    data = instances.current_data(instances.load(gf, session, instance))
    if kind == "issued":        # 正文 from the signed .docx when there is one, else the form's text
        data = {**data, "body": files.latest_text(gf, session, instance.id) or data.get("body")}
    reading = papers.Reading(runtime.org, data, events, instance.title, instance.business_key or "")
    moment = parse_moment(events[-1].at) if events else None       # dated by the matter, not the clock
    if kind == "docket":
        pdf = render.docket_pdf(papers.docket(reading), moment)
    elif kind == "draft":
        pdf = render.draft_pdf(papers.draft_sheet(reading), moment)
    else:
        issued = papers.issued(reading)
        if issued is None:
            raise NotFound("该公文尚未编号或签发，没有正式公文可打印")
        pdf = render.issued_pdf(issued, moment)
    _cache.put(key, runtime.org, pdf)
    return Printout(kind, filename, pdf)


class _Rendered:
    """The papers this process rendered last, by (instance, kind, last event's hash): printing the same
    record again, a second click or a reload, costs nothing. Kept with the organisation they named
    people from (a reloaded organisation prints afresh)."""

    def __init__(self, limit: int):
        self.limit, self.size, self.items, self.lock = limit, 0, OrderedDict(), threading.Lock()

    def get(self, key, org):
        with self.lock:
            found = self.items.get(key)
            if found is None or found[0] is not org:
                return None
            self.items.move_to_end(key)
            return found[1]

    def put(self, key, org, pdf: bytes) -> None:
        if len(pdf) > self.limit:
            return
        with self.lock:
            old = self.items.pop(key, None)
            self.size -= len(old[1]) if old else 0
            self.items[key], self.size = (org, pdf), self.size + len(pdf)
            while self.size > self.limit:
                _, (_, dropped) = self.items.popitem(last=False)
                self.size -= len(dropped)


_cache = _Rendered(CACHE_BYTES)
