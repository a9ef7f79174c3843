"""The 常务会议's steps on the task page: the meeting a step belongs to (time, agenda, who came and
who asked leave, what each topic decided), the choices narrowed to those the step may name, and the
纪要 started from what the meeting recorded.

- 拟定议程 / 审定议程 show the agenda as it stands, so the office confirms a list it can read;
- 会议签到 offers the 组成人员 only (processes/standing_meeting.bpmn, rule T8), all ticked to start;
- a topic's 会议审议 names presenters among those expected and 回避 among the members present (T9);
- 起草会议纪要 starts from the 议定事项 entered at each topic's 会议审议, each under its topic by name.

Only the page's rendering changes: the step's own form still checks what is submitted."""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

from sqlalchemy import select

from ..errors import Conflict, NotFound
from ..records.meetings import Meetings
from ..store.models import Attendance, Meeting

MEETING_PROCESS = "standing_meeting"
TOPIC_PROCESS = "topic_submission"
HEARING = "hearing"
AGENDA_STEPS = ("draft_agenda", "approve_agenda")
MINUTES_STEP = "draft_minutes"
MEETING_STATUSES = {"planned": "已安排", "frozen": "议程已审定", "opened": "召开中", "adjourned": "流会",
                    "held": "已召开", "signed": "纪要已签发"}
AGENDA_STATUSES = {"scheduled": "待审议", "moved": "顺延至下次会议", "withdrawn": "已撤出", "decided": "已审议",
                   "reported": "已报告"}


@dataclass
class StepContext:
    meeting: Meeting
    agenda: list[dict]
    present: list[str] = field(default_factory=list)
    absent: list[tuple[str, str]] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    choices: dict[str, list[tuple]] = field(default_factory=dict)   # field path → (value, label)
    initial: dict = field(default_factory=dict)
    show_members: bool = False

    @property
    def status_name(self) -> str:
        return MEETING_STATUSES.get(self.meeting.status, self.meeting.status)

    def schema(self, schema: dict | None) -> dict | None:
        """The step's form as the page renders it: fields whose values the step narrows become
        choices among those values (labelled), everything else as the form has it."""
        if not schema or not self.choices:
            return schema
        shown = copy.deepcopy(schema)
        for path, options in self.choices.items():
            node = _node(shown, path.split("."))
            if node is None:
                continue
            target = node.get("items", node) if node.get("type") == "array" else node
            target.pop("format", None)
            target["enum"] = [value for value, _ in options]
            target["enumNames"] = [label for _, label in options]
        return shown


def _node(schema: dict, parts: list[str]) -> dict | None:
    node = schema
    for part in parts:
        if node.get("type") == "array":
            node = node.get("items", {})
        node = node.get("properties", {}).get(part)
        if not isinstance(node, dict):
            return None
    return node


def context(db, org, process_id: str, step: str, instance_id: int, data: dict) -> StepContext | None:
    """The meeting a step of the meeting process, or a topic's 会议审议, belongs to; None for any other."""
    meetings = Meetings(db)
    try:
        if process_id == MEETING_PROCESS and "meeting_id" in data:
            meeting = meetings.get(int(data["meeting_id"]))
        elif process_id == TOPIC_PROCESS and step == HEARING:
            meeting = meetings.get(meetings.item_for(instance_id).meeting_id)
        else:
            return None
    except (NotFound, Conflict, TypeError, ValueError):
        return None
    name = org.display_name
    items = [i for i in meetings.agenda(meeting.id) if i.status != "moved"]
    agenda = [{"id": i.id, "title": i.title, "kind": i.kind, "topic": i.topic_instance_id,
               "department": org.departments[i.department].name if i.department in org.departments else "",
               "status": AGENDA_STATUSES.get(i.status, i.status), "outcome": i.outcome or "",
               "conclusion": i.conclusion, "late_exception": i.late_exception,
               "recused": [f"{name(r.get('person', ''))}（{r.get('reason', '')}）" if r.get("reason")
                           else name(r.get("person", "")) for r in json.loads(i.recused or "[]")],
               "decisions": len(json.loads(i.decisions or "[]"))} for i in items]
    sheet = list(db.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id)))
    found = StepContext(meeting=meeting, agenda=agenda, members=[name(p) for p in org.meeting_members],
                        present=[name(a.person_id) for a in sheet if a.present],
                        absent=[(name(a.person_id), a.leave_reason) for a in sheet if not a.present])
    members = [(p, name(p)) for p in org.meeting_members]
    if process_id == MEETING_PROCESS and step == "sign_in":
        found.show_members = True
        found.choices = {"present": members, "absent.person": members}
        found.initial = {"present": [p for p, _ in members]}
    elif process_id == TOPIC_PROCESS:
        here = {a.person_id for a in sheet if a.present}
        gate = data.get("gate") if isinstance(data.get("gate"), dict) else {}    # the topic's gate: who presents (T6)
        expected = [p for p in gate.get("presenters") or [] if isinstance(p, str)]
        if expected:
            found.choices["presenters_present"] = [(p, name(p)) for p in expected]
        found.choices["recused.person"] = [(p, n) for p, n in members if p in here] or members
    elif step == MINUTES_STEP:
        decided = [(a["id"], a["title"]) for a in agenda if a["kind"] == "topic" and a["outcome"]]
        if decided:
            found.choices["decisions.agenda_item"] = decided
        found.initial = _minutes_start(data, decided)
    return found


def _minutes_start(data: dict, decided: list[tuple]) -> dict:
    """The 纪要 as last drafted (sent back by a 会签 for changes), else the 议定事项 each topic's
    会议审议 recorded, under their topics."""
    if isinstance(data.get("minutes"), dict):
        return data["minutes"]
    held = data.get("held") if isinstance(data.get("held"), dict) else {}
    topics = {item for item, _ in decided}
    decisions = [{k: v for k, v in d.items() if k != "topic"} for d in held.get("proposed_decisions") or []
                 if isinstance(d, dict) and d.get("agenda_item") in topics | {None}]
    return {"decisions": decisions} if decisions else {}
