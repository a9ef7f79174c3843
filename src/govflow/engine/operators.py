"""Service-task operators: the Python a diagram's service task calls by name.

A diagram names an operator with ``<spiffworkflow:serviceTaskOperator id="countersign.tally">``; deploy
refuses a name that is not registered here. Rule checks of the procedures (``govflow.rules.*``)
register theirs with the same decorator, so a step, its operator and its rule are greppable from
each other.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable


@dataclass(frozen=True)
class OperatorContext:
    """What an operator may read: a private copy of the task data and the step's world."""
    data: dict
    now: datetime
    runtime: Any          # govflow.records.runtime.Runtime: org, profile, calendar
    instance_id: int | None
    process_id: str


@dataclass(frozen=True)
class Operator:
    name: str
    func: Callable[..., Any]
    description: str
    rule: str | None = None
    undoable: bool = True    # False: what it records (a 督办 entry…) stays, so no 退回/撤回 may go back past it


_REGISTRY: dict[str, Operator] = {}


def operator(name: str, description: str, rule: str | None = None, undoable: bool = True):
    """Register ``func(ctx, **params)`` under ``name``. It returns JSON-safe data, or raises
    ``RuleBlocked`` with the violations that stop the step."""
    def register(func):
        if name in _REGISTRY:
            raise ValueError(f"operator {name} registered twice")
        _REGISTRY[name] = Operator(name, func, description, rule, undoable)
        return func
    return register


def registry() -> dict[str, Operator]:
    _load_rule_modules()
    return dict(_REGISTRY)


def get(name: str) -> Operator | None:
    _load_rule_modules()
    return _REGISTRY.get(name)


_loaded = False


def irreversible(task_spec) -> bool:
    """Whether the step's operator records what stays (``undoable=False``): no going back past it."""
    name = getattr(task_spec, "operation_name", None)
    op = get(name) if name else None
    return op is not None and not op.undoable


def _load_rule_modules() -> None:
    global _loaded
    if not _loaded:
        from .. import rules
        for module in pkgutil.iter_modules(rules.__path__):
            importlib.import_module(f"{rules.__name__}.{module.name}")
        _loaded = True


# -- operators every procedure may use ---------------------------------------------------------------

@operator("countersign.tally", "会签结果汇总：统计同意与不同意，按“须同意份数”判定是否通过")
def tally(ctx: OperatorContext, opinions: list, required: int | None = None) -> dict:
    """k-of-n 会签 is decided here, after the join: a multi-instance completionCondition only sees
    the last child's data (SPIFFWORKFLOW-NOTES trap 9)."""
    agreed = [o for o in opinions if _agrees(o)]
    objections = [o for o in opinions if not _agrees(o)]
    needed = len(opinions) if required is None else int(required)
    return {"total": len(opinions), "agree": len(agreed), "disagree": len(objections),
            "required": needed, "passed": len(agreed) >= needed,
            "objections": [{"by": o.get("by") or o.get("department"), "opinion": o.get("opinion", "")}
                           for o in objections if isinstance(o, dict)]}


def _agrees(opinion) -> bool:
    if isinstance(opinion, dict):
        decision = opinion.get("decision", opinion.get("agree"))
        return decision in (True, "同意", "无不同意见")
    return opinion in (True, "同意")


@operator("calendar.deadline", "按工作日计算办理期限（不含当日，截止于办公时间结束）")
def deadline(ctx: OperatorContext, workdays: int) -> dict:
    due = ctx.runtime.calendar.add_workdays(ctx.now, int(workdays))
    return due.to_dict()
