"""Exports of the event log to process-mining tools: XES (IEEE 1849-2016), one trace per instance,
and OCEL 2.0 JSON, whose objects are the documents, topics, meetings, decision items, 督办事项 and
departments the events touch.

Both are generators of text chunks read from the log with ``yield_per``, so 100,000 events never sit
in memory as a tree. Activities are named as the BPMN names them (收文登记, 合规审查…): a BPMN
diagram converted to a Petri net labels its transitions with those names, so the log replays on it.
Times are the log's own +08:00 text, exactly as hashed. Nothing here imports a process-mining
library: the tools read what this writes.
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import and_, select, true
from sqlalchemy.orm import Session

from ..errors import ValidationFailed
from ..people.org import Organisation
from ..store.models import Blob, DecisionItem, Event, FollowupItem, Instance, MajorDecision, Meeting, ProcessVersion
from ..time.timeutil import isoformat

FORMATS = {"xes": ("application/xml", "xes"), "ocel": ("application/json", "jsonocel")}

# XES lifecycle (standard extension) of each recorded event that is part of a step; the other
# events (comments, 催办, rule checks…) are about a step, not a step, and stay in govflow's log.
LIFECYCLE = {
    "task_created": "schedule", "task_claimed": "assign", "task_transferred": "reassign",
    "task_delegated": "reassign", "task_cancelled": "withdraw", "task_completed": "complete",
    "service_task": "complete", "timer_fired": "complete",
}
# The object each process's instance stands for in OCEL.
CASE_OBJECTS = {"document_approval": ("公文", "document"), "topic_submission": ("议题", "topic"),
                "decision_followup": ("督办事项", "followup"), "standing_meeting": ("常务会议", "meeting"),
                "major_decision": ("重大行政决策", "major_decision")}
OTHER_CASE = ("流程实例", "instance")
DEPARTMENT, DECISION = "部门", "议定事项"
EPOCH = "1970-01-01T08:00:00+08:00"   # OCEL 2.0: an attribute's initial value holds from the epoch
_CHUNK = 500
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationFailed("导出格式须为 xes 或 ocel", [{"field": "format", "reason": fmt}])
    return fmt


def export(session: Session, fmt: str, org: Organisation, process_id: str | None = None,
           within=None) -> Iterator[str]:
    """``within``: a condition on Instance limiting the instances exported (an administrator's
    export leaves out 涉密 documents off their 分发范围); None exports all."""
    scope = and_(Instance.process_id == process_id if process_id else true(),
                 true() if within is None else within)
    if check_format(fmt) == "xes":
        return xes(session, scope)
    return ocel(session, org, scope)


@dataclass(frozen=True)
class _Row:
    seq: int
    at: str
    type: str
    actor: str
    instance_id: int
    payload: dict
    activity: str
    element: str


def _rows(session: Session, scope, types) -> Iterator[tuple[_Row, tuple]]:
    """The step events, instance by instance in their order, each with its instance's columns."""
    names = _ElementNames(session)
    query = (select(Event.seq, Event.at, Event.type, Event.actor, Event.instance_id, Event.payload,
                    Instance.process_id, ProcessVersion.version, Instance.business_key, Instance.title,
                    Instance.process_version_id)
             .join(Instance, Instance.id == Event.instance_id)
             .join(ProcessVersion, ProcessVersion.id == Instance.process_version_id)
             .where(Event.type.in_(types), scope).order_by(Event.instance_id, Event.instance_seq)
             .execution_options(yield_per=2000))
    for seq, at, type_, actor, instance_id, payload, *case in session.execute(query):
        data = json.loads(payload)
        element = data.get("step") or data.get("task") or ""
        activity = (names.of(case[-1], element) if element else data.get("timer")) or data.get("name") or type_
        yield _Row(seq, at, type_, actor, instance_id, data, activity, element), tuple(case[:-1])


class _ElementNames:
    """BPMN element id -> name, per deployed version (service task events carry only the id)."""

    def __init__(self, session: Session):
        self.session, self.cache = session, {}

    def of(self, version_id: int, element: str) -> str | None:
        if version_id not in self.cache:
            content = self.session.scalar(select(Blob.content)
                                          .join(ProcessVersion, ProcessVersion.bpmn_hash == Blob.hash)
                                          .where(ProcessVersion.id == version_id))
            root = ElementTree.fromstring(content.encode("utf-8"))
            self.cache[version_id] = {e.get("id"): e.get("name") for e in root.iter() if e.get("id") and e.get("name")}
        return self.cache[version_id].get(element)


# -- XES ------------------------------------------------------------------------------------------------
_XES_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">
<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
<global scope="event">
<string key="concept:name" value=""/><string key="lifecycle:transition" value="complete"/>
<date key="time:timestamp" value="1970-01-01T08:00:00+08:00"/>
</global>
<classifier name="活动" keys="concept:name"/>
<classifier name="活动与生命周期" keys="concept:name lifecycle:transition"/>
<string key="concept:name" value="govflow"/>
"""


def xes(session: Session, scope) -> Iterator[str]:
    """One trace per instance; one event per step event (see LIFECYCLE), in the instance's order."""
    yield _XES_HEAD
    chunk, current = [], None
    for row, case in _rows(session, scope, tuple(LIFECYCLE)):
        if row.instance_id != current:
            chunk.append(("</trace>\n" if current is not None else "") + _xes_trace(row.instance_id, *case))
            current = row.instance_id
        chunk.append(_xes_event(row))
        if len(chunk) >= _CHUNK:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk) + ("</trace>\n" if current is not None else "") + "</log>\n"


def _xes_trace(instance_id: int, process_id: str, version: int, business_key, title) -> str:
    return ("<trace>" + _string("concept:name", str(instance_id)) + _string("govflow:process_id", process_id)
            + f'<int key="govflow:version" value="{version}"/>' + _string("govflow:business_key", business_key or "")
            + _string("govflow:title", title or "") + "\n")


def _xes_event(row: _Row) -> str:
    return ("<event>" + _string("concept:name", row.activity) + _string("lifecycle:transition", LIFECYCLE[row.type])
            + f'<date key="time:timestamp" value="{row.at}"/>' + _string("org:resource", row.actor)
            + _string("govflow:event_type", row.type) + f'<int key="govflow:seq" value="{row.seq}"/>'
            + _string("govflow:element", row.element) + "</event>\n")


def _string(key: str, value: str) -> str:
    return f'<string key="{key}" value="{_xml(value)}"/>'


def _xml(text: str) -> str:
    text = _XML_INVALID.sub("", text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


# -- OCEL 2.0 -------------------------------------------------------------------------------------------
STEP_TYPES = ("task_completed", "service_task", "timer_fired")   # what happened, not who was asked


def ocel(session: Session, org: Organisation, scope) -> Iterator[str]:
    """OCEL 2.0 JSON: the completed steps as events, each related to its instance's object, the
    actor's department and the meetings and decision items its payload names. ``eventTypes`` comes
    last (JSON objects are unordered): the types are known once the events have gone by."""
    cases, activities = _case_objects(session), set()
    people = {p.id: p.department for p in org.people.values()}

    def events():
        for row, _ in _rows(session, scope, STEP_TYPES):
            activities.add(row.activity)
            yield _ocel_event(row, cases, people)
    yield '{"objectTypes":' + _json(_object_types()) + ',"objects":['
    yield from _chunks(_objects(session, org, cases, scope))
    yield '],"events":['
    yield from _chunks(events())
    yield '],"eventTypes":' + _json([{"name": a, "attributes": EVENT_ATTRIBUTES} for a in sorted(activities)]) + "}\n"


EVENT_ATTRIBUTES = [{"name": n, "type": t} for n, t in (("org:resource", "string"), ("govflow:event_type", "string"),
                                                        ("govflow:seq", "integer"), ("govflow:element", "string"))]


def _chunks(items: Iterator[dict]) -> Iterator[str]:
    """The items as JSON array elements, a few hundred to a chunk."""
    batch, separator = [], ""
    for item in items:
        batch.append(_json(item))
        if len(batch) >= _CHUNK:
            yield separator + ",".join(batch)
            batch, separator = [], ","
    if batch:
        yield separator + ",".join(batch)


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _object_types() -> list[dict]:
    return [{"name": "公文", "attributes": _strings("标题", "发文字号", "流程")},
            {"name": "议题", "attributes": _strings("标题", "议题编号", "流程")},
            {"name": "督办事项", "attributes": _strings("标题", "督办编号", "流程", "主办单位", "办理期限", "状态")},
            {"name": "常务会议", "attributes": _strings("标题", "状态")},
            {"name": "重大行政决策", "attributes": _strings("标题", "业务编号", "流程", "所属事项", "状态")},
            {"name": DECISION, "attributes": _strings("事项", "主办单位", "办理期限")},
            {"name": DEPARTMENT, "attributes": _strings("名称")},
            {"name": OTHER_CASE[0], "attributes": _strings("标题", "业务编号", "流程")}]


def _strings(*names: str) -> list[dict]:
    return [{"name": n, "type": "string"} for n in names]


def _case_objects(session: Session) -> dict[int, str]:
    """Instance id -> the id of the object it stands for (a meeting's process is its meeting, a
    follow-up's is its 督办事项)."""
    cases = {i: f"{CASE_OBJECTS.get(p, OTHER_CASE)[1]}:{i}" for i, p in session.execute(
        select(Instance.id, Instance.process_id))}
    cases.update({i: f"meeting:{m}" for m, i in session.execute(select(Meeting.id, Meeting.instance_id)) if i})
    cases.update({i: f"followup:{f}" for f, i in session.execute(select(FollowupItem.id, FollowupItem.instance_id))})
    return cases


def _objects(session: Session, org: Organisation, cases: dict[int, str], scope) -> Iterator[dict]:
    for department in org.departments.values():
        yield _object(f"department:{department.id}", DEPARTMENT, {"名称": department.name})
    for meeting in session.scalars(select(Meeting).order_by(Meeting.id)):
        yield _object(f"meeting:{meeting.id}", "常务会议", {"标题": meeting.title, "状态": meeting.status},
                      isoformat(meeting.created_at))
    for item in session.scalars(select(DecisionItem).order_by(DecisionItem.id)):
        yield _object(f"decision:{item.id}", DECISION,
                      {"事项": item.task, "主办单位": item.lead_unit, "办理期限": item.due_on.isoformat()},
                      isoformat(item.created_at), [(f"meeting:{item.meeting_id}", "议定于"),
                                                   (f"department:{item.lead_unit}", "主办单位")])
    yield from _instance_objects(session, cases, scope)


def _instance_objects(session: Session, cases: dict[int, str], scope) -> Iterator[dict]:
    followups = {f.instance_id: f for f in session.scalars(select(FollowupItem))}
    majors = {m.instance_id: m for m in session.scalars(select(MajorDecision))}
    query = (select(Instance.id, Instance.process_id, Instance.title, Instance.business_key, Instance.started_at)
             .where(scope).order_by(Instance.id))
    for instance_id, process, title, key, started in session.execute(query):
        kind, _ = CASE_OBJECTS.get(process, OTHER_CASE)
        if kind == "常务会议":
            continue   # the meeting object, listed from its table
        attributes = {"标题": title or "", "流程": process, _KEY_NAMES.get(kind, "业务编号"): key or ""}
        relations = []
        if instance_id in followups:
            item = followups[instance_id]
            attributes.update({"主办单位": item.lead_unit, "办理期限": item.due_on.isoformat(), "状态": item.status})
            relations = [(f"department:{item.lead_unit}", "主办单位")]
            relations += [(f"decision:{item.decision_item_id}", "督办")] if item.decision_item_id else []
            relations += [(f"meeting:{item.meeting_id}", "来源会议")] if item.meeting_id else []
        if instance_id in majors:
            relations = _major_relations(majors[instance_id], cases)
            attributes.update({"所属事项": majors[instance_id].scope_item, "状态": majors[instance_id].status})
        yield _object(cases[instance_id], kind, attributes, isoformat(started), relations)


def _major_relations(decision: MajorDecision, cases: dict[int, str]) -> list[tuple[str, str]]:
    """A 重大行政决策 is linked to the topic that took it to the meeting, the meeting that decided it
    and the 议定事项 (督办) its minutes made."""
    records = json.loads(decision.records or "{}")
    relations = [(f"department:{decision.department}", "承办单位")]
    if decision.topic_instance_id in cases:
        relations.append((cases[decision.topic_instance_id], "议题"))
    meeting = (records.get("meeting") or [{}])[-1]
    if meeting.get("meeting_id"):
        relations.append((f"meeting:{meeting['meeting_id']}", "集体讨论决定"))
    for linked in (records.get("evaluation") or [{}])[-1].get("followups", []):
        relations.append((f"decision:{linked['decision_item']}", "议定事项"))
    return relations


_KEY_NAMES = {"公文": "发文字号", "议题": "议题编号", "督办事项": "督办编号"}


def _object(object_id: str, kind: str, attributes: dict, at: str = EPOCH, relations=()) -> dict:
    return {"id": object_id, "type": kind,
            "attributes": [{"name": n, "time": at, "value": v} for n, v in attributes.items()],
            "relationships": [{"objectId": o, "qualifier": q} for o, q in relations]}


def _ocel_event(row: _Row, cases: dict[int, str], people: dict[str, str | None]) -> dict:
    related = {cases[row.instance_id]: "办理对象"}
    if people.get(row.actor):
        related[f"department:{people[row.actor]}"] = "办理部门"
    for meeting in _mentioned(row.payload, ("meeting_id", "meeting")):
        related.setdefault(f"meeting:{meeting}", "会议")
    for decision in _mentioned(row.payload, ("decision_items", "decision_item", "decision_item_id")):
        related.setdefault(f"decision:{decision}", DECISION)
    return {"id": f"e{row.seq}", "type": row.activity, "time": row.at,
            "attributes": [{"name": "org:resource", "value": row.actor},
                           {"name": "govflow:event_type", "value": row.type},
                           {"name": "govflow:seq", "value": row.seq},
                           {"name": "govflow:element", "value": row.element}],
            "relationships": [{"objectId": o, "qualifier": q} for o, q in related.items()]}


def _mentioned(payload: dict, keys: tuple[str, ...]) -> list[int]:
    """Ids the payload names under ``keys``, at its top level or in its data, params or result."""
    found = []
    for part in (payload, payload.get("data"), payload.get("params"), payload.get("result")):
        if not isinstance(part, dict):
            continue
        for key in keys:
            value = part.get(key)
            values = value if isinstance(value, list) else [value]
            found += [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
    return sorted(set(found))
