"""An instance's recorded events as the steps that wrote them, and who held each task — what replay
reads from the history.

A step's events are appended together and carry the step's time: first what led to it (an automatic
claim, a substitution), then the input (a start, a completion, a 退回 or 撤回), then what the engine
did (``Step.write``: timers fired, operators called, tasks cancelled and created, the end). A step
with no input fired timers. The events are told apart by their order, and by their time where the
order alone cannot (two timer steps in a row).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from ..store.models import Event

INPUTS = frozenset({"instance_started", "task_completed", "task_returned", "task_withdrawn"})
DERIVED = frozenset({"timer_fired", "service_task", "task_cancelled", "task_created", "instance_ended",
                     "workdays_computed"})


@dataclass(frozen=True)
class Recorded:
    seq: int
    at: datetime
    at_text: str
    type: str
    actor: str
    task_id: str | None
    payload: dict

    @classmethod
    def of(cls, event: Event) -> Recorded:
        return cls(event.seq, datetime.fromisoformat(event.at), event.at, event.type, event.actor, event.task_id,
                   json.loads(event.payload))

    def to_dict(self) -> dict:
        return {"seq": self.seq, "at": self.at_text, "type": self.type, "actor": self.actor,
                "task_id": self.task_id, "payload": self.payload}


@dataclass
class Step:
    events: list[Recorded] = field(default_factory=list)

    @property
    def first(self) -> int:
        return self.events[0].seq

    @property
    def takes_effect(self) -> int:
        """The event from which the step's change shows: its input, or the engine's first work."""
        return next((e.seq for e in self.events if e.type in INPUTS or e.type in DERIVED), self.first)

    @property
    def last(self) -> int:
        return self.events[-1].seq

    @property
    def at(self) -> datetime:
        return self.events[-1].at

    @property
    def runs_engine(self) -> bool:
        return any(e.type in INPUTS or e.type in DERIVED for e in self.events)

    def starts_new(self, event: Recorded) -> bool:
        """Whether ``event`` belongs to the next step rather than to this one."""
        if not self.events:
            return False
        past_input = any(e.type in INPUTS or e.type in DERIVED for e in self.events)
        if event.type not in DERIVED:
            return past_input
        previous = self.events[-1]
        if previous.type in DERIVED and previous.at != event.at:
            return True
        # timers fire first in a step: one after the engine's other work starts the next step
        return event.type == "timer_fired" and previous.type in DERIVED and previous.type != "timer_fired"


def steps(events: list[Recorded]) -> list[Step]:
    found = [Step()]
    for event in events:
        if found[-1].starts_new(event):
            found.append(Step())
        found[-1].events.append(event)
    return [s for s in found if s.events]


def holders_after(events: list[Recorded]) -> dict[str, dict]:
    """Who held each task after these events: its assignee, the group it was offered to, and the
    owner of a task out on 委派."""
    held: dict[str, dict] = {}
    for e in events:
        p, row = e.payload, held.get(e.task_id)
        if e.type == "task_created":
            held[e.task_id] = {"assignee": p.get("assignee"), "candidates": p.get("candidates", []), "owner": None}
        elif row is None:
            continue
        elif e.type == "task_claimed":
            row["assignee"] = e.actor
        elif e.type == "task_unclaimed":
            row["assignee"] = None
        elif e.type in ("task_transferred", "delegation_returned"):
            row["assignee"], row["owner"] = p.get("to"), None
        elif e.type == "task_delegated":
            row["assignee"], row["owner"] = p.get("to"), p.get("owner")
    return held
