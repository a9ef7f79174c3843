"""Timer text. SpiffWorkflow evaluates a timer's text as a Python expression (trap 1): bare
``P3D`` is a NameError at run time. On deploy, bare ISO-8601 (durations, repeating intervals,
date-times) is quoted — the only normalisation that cannot change meaning — and anything else must
be an expression the sandbox accepts (``workdays(3)`` for a 工作日 deadline)."""
from __future__ import annotations

import re
from datetime import datetime

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from ..engine import sandbox

_DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$", re.I)
_CYCLE = re.compile(r"^R\d*/.+$", re.I)
_ISO_LIKE = re.compile(r"^(P\d|PT\d|R\d*/|\d{4}-)", re.I)   # meant as ISO-8601, whether or not it is valid


def normalise(kind: str, text: str | None) -> tuple[str | None, str | None]:
    """Return (normalised text, problem). ``kind`` is timeDate, timeDuration or timeCycle."""
    raw = (text or "").strip()
    if not raw:
        return None, "定时器表达式为空：请填写 ISO-8601 时间（如 P3D）或 workdays(3)"
    if raw.startswith("${") or raw.startswith("#{"):
        return None, f"定时器使用了 JUEL 表达式 {raw}；govflow 使用 Python 表达式，如 \"P3D\" 或 workdays(3)"
    if _is_bare_iso(kind, raw) or _ISO_LIKE.match(raw):
        problem = _check_iso(kind, raw)
        return (None, problem) if problem else (f'"{raw}"', None)
    literal = _string_literal(raw)
    if literal is not None:
        return raw, _check_iso(kind, literal)
    try:
        sandbox.check(raw, "eval")
    except sandbox.ScriptRejected as err:
        return None, f"定时器表达式无效：{err.reason}"
    return raw, None


def _is_bare_iso(kind: str, raw: str) -> bool:
    if kind == "timeDuration":
        return bool(_DURATION.match(raw))
    if kind == "timeCycle":
        return bool(_CYCLE.match(raw))
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+)?(Z|[+-]\d{2}:?\d{2})?$", raw))


def _string_literal(raw: str) -> str | None:
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    return None


def _check_iso(kind: str, value: str) -> str | None:
    try:
        if kind == "timeDuration":
            TimerEventDefinition.parse_iso_duration(value)
        elif kind == "timeCycle":
            TimerEventDefinition.parse_iso_recurring_interval(value)
        else:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
    except Exception:
        return f"“{value}”不是有效的 ISO-8601 {_KIND_NAMES[kind]}"
    return None


_KIND_NAMES = {"timeDate": "时间点", "timeDuration": "时长", "timeCycle": "循环周期"}
