"""What may be stored as process data. Checked at every boundary (API, forms, scripts, operators)
so that nothing reaches a snapshot that would break it or that a user could not have meant."""
from __future__ import annotations

import copy
import math

from ..errors import ValidationFailed

MAX_STRING = 200_000      # characters in one value (a 公文 body fits; a 10 MB paste does not)
MAX_ITEMS = 10_000        # entries in one list or object
MAX_DEPTH = 32
# 'typename' makes SpiffWorkflow's deserialiser call a converter that is not there (trap 7);
# '__proto__'-like keys are never data a form means to send.
RESERVED_KEYS = {"typename"}


def copied(value):
    """A deep copy of process data: JSON-like values are copied directly, several times faster than
    ``copy.deepcopy`` (it runs on every operator call and script, trap 4); anything else falls back to it."""
    if isinstance(value, dict):
        return {k: copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copied(v) for v in value]
    if value is None or isinstance(value, (str, int, float)):
        return value
    return copy.deepcopy(value)


def check_data(value, where: str = "数据") -> None:
    problems: list[dict] = []
    _walk(value, "", 0, problems)
    if problems:
        raise ValidationFailed(f"{where}不合规：{problems[0]['reason']}", problems[:20])


def _walk(value, path: str, depth: int, problems: list) -> None:
    if len(problems) >= 20:
        return
    if depth > MAX_DEPTH:
        problems.append({"field": path or "(根)", "reason": f"嵌套层数超过 {MAX_DEPTH}"})
    elif value is None or isinstance(value, bool) or isinstance(value, int):
        return
    elif isinstance(value, float):
        if not math.isfinite(value):
            problems.append({"field": path, "reason": "数值必须是有限数"})
    elif isinstance(value, str):
        if len(value) > MAX_STRING:
            problems.append({"field": path, "reason": f"文本过长（{len(value)} 字符，上限 {MAX_STRING}）"})
    elif isinstance(value, (list, tuple)):
        if len(value) > MAX_ITEMS:
            problems.append({"field": path, "reason": f"列表项过多（上限 {MAX_ITEMS}）"})
            return
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", depth + 1, problems)
    elif isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            problems.append({"field": path, "reason": f"字段过多（上限 {MAX_ITEMS}）"})
            return
        for key, item in value.items():
            field = f"{path}.{key}" if path else str(key)
            if not isinstance(key, str):
                problems.append({"field": field, "reason": "字段名必须是文本"})
            elif key in RESERVED_KEYS or key.startswith("__"):
                problems.append({"field": field, "reason": f"字段名“{key}”为系统保留，不能使用"})
            else:
                _walk(item, field, depth + 1, problems)
    else:
        problems.append({"field": path, "reason": f"不支持的数据类型 {type(value).__name__}"})
