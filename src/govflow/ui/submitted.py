"""What the step before this one sent, field by field as its form labels it: a 核查复核 sees the
佐证材料 of the report it checks, not only its 办理进展. Shown only when the submission holds more
than the verdict and the opinion the 办理意见 list already gives."""
from __future__ import annotations

import json

from .timeline import TEXT_FIELDS, VERDICT_FIELDS

SAID_ELSEWHERE = set(VERDICT_FIELDS) | set(TEXT_FIELDS)


def last_submission(said: list, definition, current_step: str, text) -> dict | None:
    """``said``: the instance's opinion events in order; ``text(value, schema)``: a value as people read it."""
    for event in reversed(said):
        if event.type != "task_completed":
            continue
        payload = json.loads(event.payload)
        step = definition.steps.get(payload.get("step"))
        if step is None or step.bpmn_id == current_step:
            continue
        data = payload.get("data") if isinstance(payload.get("data"), dict) else {}
        properties = definition.forms.get(step.form or "", {}).get("properties", {})
        fields = [(name, sub) for name, sub in properties.items() if isinstance(sub, dict) and _filled(data.get(name))]
        if not any(name not in SAID_ELSEWHERE for name, _ in fields):
            return None
        return {"step": step.name, "by": event.actor, "at": event.at,
                "fields": [(sub.get("title", name), text(data[name], sub)) for name, sub in fields]}
    return None


def _filled(value) -> bool:
    return value is not False and value not in (None, "", [], {})
