"""One instance's event log in words for its page: the timeline, and the opinions given on the way
(what each completed step decided and wrote, 加签 opinions, comments)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from ..store.models import Event
from ..time.timeutil import chinese_moment, parse_moment

LABELS = {
    "instance_started": "发起", "task_created": "生成待办", "task_claimed": "认领", "task_unclaimed": "退回组待办",
    "task_completed": "办理", "task_transferred": "转办", "task_delegated": "委派", "delegation_returned": "委派交回",
    "comment": "意见", "task_pressed": "催办", "task_escalated": "提级督办", "task_cancelled": "取消",
    "task_returned": "退回", "task_withdrawn": "撤回", "signer_added": "加签", "addsign_completed": "加签意见",
    "substitution": "代为办理", "circulated": "传阅", "read": "已阅", "rule_violation": "规则拦截",
    "timer_fired": "时限到达", "service_task": "系统处理", "deadline_recomputed": "时限重算",
    "start_skipped": "未能立项", "timer_failed": "定时处理失败", "instance_ended": "办结",
    "file_attached": "上传文件",
}
# Events the system makes on its own: shown quieter than what people did.
SYSTEM_EVENTS = ("task_created", "service_task", "timer_fired", "deadline_recomputed", "task_cancelled")
# Where a form keeps its verdict (同意, 退文, 通过…) and its words; the first present of each is shown.
VERDICT_FIELDS = ("decision", "outcome", "result", "conclusion", "revise_action", "action")
TEXT_FIELDS = ("opinion", "response", "solution", "statement", "progress", "note", "reason")


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    type: str
    label: str
    actor: str          # a name, or 系统
    detail: str
    task_id: str | None
    system: bool


@dataclass(frozen=True)
class Opinion:
    at: str
    step: str
    by: str
    verdict: str
    text: str


class Words:
    """Names for the ids an event carries: people (from the organisation) and steps (from the diagram)."""

    def __init__(self, person: Callable[[str | None], str], steps: dict[str, str]):
        self._person, self.steps = person, steps

    def person(self, person_id: str | None) -> str:
        return "系统" if person_id == "system" else self._person(person_id)

    def people(self, ids) -> str:
        return "、".join(self.person(p) for p in ids or [])

    def step(self, payload: dict) -> str:
        return payload.get("name") or self.steps.get(payload.get("step") or payload.get("task") or "", "")


def entries(events: list[Event], words: Words) -> list[Entry]:
    found = []
    for event in events:
        payload = json.loads(event.payload)
        found.append(Entry(event.seq, event.at, event.type, LABELS.get(event.type, event.type),
                           words.person(event.actor), _detail(event.type, payload, words), event.task_id,
                           event.type in SYSTEM_EVENTS or event.actor == "system"))
    return found


# The events that carry an opinion: the task page and the instance page list the same ones.
OPINION_EVENTS = ("comment", "task_completed", "addsign_completed", "delegation_returned", "task_returned")
_OPINION_STEP = {"addsign_completed": "（加签）", "delegation_returned": "（委派办理）"}


def opinions(events: list[Event], words: Words) -> list[Opinion]:
    found = []
    for event in events:
        if event.type not in OPINION_EVENTS:
            continue
        payload, by = json.loads(event.payload), words.person(event.actor)
        step = words.step(payload) + _OPINION_STEP.get(event.type, "")
        if event.type == "comment":
            found.append(Opinion(event.at, step, by, "", payload.get("text", "")))
        elif event.type == "task_returned":
            to = words.steps.get(payload.get("to"), payload.get("to") or "")
            found.append(Opinion(event.at, step, by, f"退回至“{to}”", payload.get("reason", "")))
        else:
            verdict, text = verdict_and_text(payload.get("data") or {})
            text = text or (payload.get("note", "") if event.type == "delegation_returned" else "")
            if verdict or text:
                found.append(Opinion(event.at, step, by, verdict, text))
    return found


def verdict_and_text(data: dict) -> tuple[str, str]:
    return _first(data, VERDICT_FIELDS), _first(data, TEXT_FIELDS)


def _first(data: dict, fields: tuple[str, ...]) -> str:
    return next((data[f].strip() for f in fields if isinstance(data.get(f), str) and data[f].strip()), "")


def _joined(*parts: str) -> str:
    return "；".join(p for p in parts if p)


def _when(text: str | None) -> str:
    return chinese_moment(parse_moment(text)) if text else ""


def _file(f: dict) -> str:
    version = f"第 {f.get('version')} 版" if f.get("role") == "正文" else ""
    return f"{f.get('role', '')}{version}《{f.get('name', '')}》SHA-256 {str(f.get('sha256', ''))[:12]}…"


def _detail(kind: str, p: dict, w: Words) -> str:
    step = w.step(p)
    if kind == "instance_started":
        return _joined(p.get("title", ""), f"业务编号 {p['business_key']}" if p.get("business_key") else "")
    if kind == "task_created":
        holder = f"交{w.person(p['assignee'])}办理" if p.get("assignee") else f"待{w.people(p.get('candidates'))}认领"
        return _joined(f"{step}：{holder}", f"办理时限 {_when(p.get('due'))}" if p.get("due") else "",
                       "已退回重办" if p.get("reopened") else "")
    if kind == "task_completed":
        verdict, text = verdict_and_text(p.get("data") or {})
        acting = f"（代{w.person(p['acting_for'])}）" if p.get("acting_for") else ""
        said = _joined(verdict, text)
        return f"{step}{acting}：{said}" if said else step + acting
    if kind == "rule_violation":
        return "；".join(f"{v.get('rule', '')} {v.get('article', '')}：{v.get('message', '')}"
                        for v in p.get("violations", []))
    return _DETAILS.get(kind, lambda p, w, step: step)(p, w, step)


_DETAILS: dict[str, Callable[[dict, Words, str], str]] = {
    "task_transferred": lambda p, w, step: _joined(f"{step}：由{w.person(p.get('from'))}转交{w.person(p.get('to'))}",
                                                   p.get("reason", "")),
    "task_delegated": lambda p, w, step: _joined(f"{step}：委派{w.person(p.get('to'))}", p.get("note", "")),
    "delegation_returned": lambda p, w, step: _joined(f"{step}：交回{w.person(p.get('to'))}", p.get("note", "")),
    "comment": lambda p, w, step: _joined(step, p.get("text", "")),
    "file_attached": lambda p, w, step: _joined(step or "发起", _file(p.get("file") or {})),
    "task_pressed": lambda p, w, step: _joined(f"{step}：第 {p.get('count', 1)} 次催办", p.get("note", ""),
                                               "逾期自动催办" if p.get("auto") else ""),
    "task_escalated": lambda p, w, step: f"{step}：逾期，已提请{w.people(p.get('to'))}督促",
    "task_returned": lambda p, w, step: _joined(f"{step}：退回至“{w.steps.get(p.get('to'), p.get('to'))}”",
                                                p.get("reason", "")),
    "task_withdrawn": lambda p, w, step: _joined(step, p.get("reason", "")),
    "signer_added": lambda p, w, step: _joined(f"{step}：加签{w.person(p.get('person'))}", p.get("note", "")),
    "addsign_completed": lambda p, w, step: _joined(*verdict_and_text(p.get("data") or {})),
    "substitution": lambda p, w, step: _joined(f"代{w.person(p.get('acting_for'))}办理",
                                               f"{p.get('rule', '')} {p.get('article', '')}".strip()),
    "task_claimed": lambda p, w, step: step + ("（办理时自动认领）" if p.get("auto") else ""),
    "circulated": lambda p, w, step: _joined(f"传阅给{w.people(p.get('to'))}", p.get("note", "")),
    "read": lambda p, w, step: p.get("note", ""),
    "timer_fired": lambda p, w, step: _joined(p.get("timer", ""), f"时限 {_when(p['due'])}" if p.get("due") else ""),
    "service_task": lambda p, w, step: step or p.get("operator", ""),
    "deadline_recomputed": lambda p, w, step: f"{step}：办理时限由 {_when(p.get('from'))} 改为 {_when(p.get('to'))}",
    "start_skipped": lambda p, w, step: _joined(p.get("title", ""), p.get("reason", "")),
    "timer_failed": lambda p, w, step: p.get("reason", ""),
    "instance_ended": lambda p, w, step: "流程办结",
}
