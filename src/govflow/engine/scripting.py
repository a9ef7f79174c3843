"""The script engine every govflow workflow runs with.

It replaces SpiffWorkflow's plain eval/exec with the sandbox gate, gives diagram code a few
helpers that read govflow's clock and 工作日 calendar, and calls service-task operators without
masking their errors (SpiffWorkflow 3.2.0's ``call_service`` reports every failure as
``NameError: name 'script' is not defined`` — SPIFFWORKFLOW-NOTES trap 2).
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from datetime import date, datetime

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from ..errors import GovflowError, RuleBlocked
from ..time.timeutil import SHANGHAI, isoformat, parse_moment
from . import operators, sandbox
from .data import check_data, copied
from .script_workers import ScriptWorkers


@dataclass
class StepRecord:
    """What the engine did during one step, for the event log and the derived rows."""
    service_calls: list = field(default_factory=list)  # {"operator", "task", "params", "result"}
    # what workdays() answered: {"n", "from", "at"}. The calendar can change later (a 调休 entered,
    # load-year): re-execution reads these instead of counting again on today's calendar.
    workdays: list = field(default_factory=list)


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Diagram code through the sandbox: scripts in a worker process (``script_workers``), expressions
    here; ``self.globals`` are govflow's helper functions, which run here when a script calls them.
    A step's scripts and expressions share one allowance of time (``Limits.seconds``): what scripts
    computed as their worker measured it, what expressions took here."""

    def __init__(self, workers: ScriptWorkers, functions: dict):
        super().__init__(sandbox.trusted(functions))
        self.workers = workers
        self.spent = 0.0        # seconds the step's code computed so far

    def begin_step(self) -> None:
        self.spent = 0.0

    def evaluate(self, expression, context, external_context=None):
        began = time.monotonic()
        try:
            return sandbox.evaluate(expression, {**(external_context or {}), **context}, self.globals,
                                    deadline=began + self._left())
        finally:
            self.spent += time.monotonic() - began

    def execute(self, script, context, external_context=None):
        # The worker has its own copy: nested task data is shared by reference between tasks (trap 4),
        # and a script editing it in place must not change other branches and finished tasks.
        names = {**(external_context or {}), **context}
        began = time.monotonic()
        try:
            result, computed = self.workers.execute(script, names, self.globals, self._left())
        except sandbox.ScriptFailed:
            self.spent += time.monotonic() - began
            raise
        self.spent += computed
        check_data(result, where="脚本结果")
        context.clear()
        context.update(result)
        return True

    def _left(self) -> float:
        return self.workers.limits.seconds - self.spent


class GovScriptEngine(PythonScriptEngine):
    def __init__(self, runtime, now: datetime, instance_id: int | None, process_id: str, workers: ScriptWorkers):
        self.runtime = runtime
        self.clock = FrozenClock(now)
        self.record = StepRecord()
        self.instance_id = instance_id
        self.process_id = process_id
        super().__init__(environment=SandboxEnvironment(workers, self._functions()))

    def _functions(self) -> dict:
        return {
            "workdays": self._workdays,
            "now": lambda: isoformat(self.clock.now()),
            "today": lambda: self.clock.now().date().isoformat(),
            "profile_value": self._profile_value,
        }

    def _workdays(self, n, start=None) -> str:
        """``workdays(3)``: the end of the office day 3 工作日 from now, as timer text."""
        begin = parse_moment(start) if isinstance(start, str) else self.clock.now()
        at = isoformat(self.runtime.calendar.add_workdays(begin, int(n)).at)
        self.record.workdays.append({"n": int(n), "from": start if isinstance(start, str) else None, "at": at})
        return at

    def _profile_value(self, key: str):
        return copy.deepcopy(self.runtime.profile.value(key))   # the profile is shared by the process

    def validate(self, expression):
        sandbox.check(expression, "eval")

    def call_service(self, task, operation_name, operation_params, **kwargs):
        op = operators.get(operation_name)
        if op is None:
            raise WorkflowTaskException(f"未注册的服务操作 {operation_name}", task=task)
        params = {name: copied(p["value"]) for name, p in operation_params.items()}
        ctx = operators.OperatorContext(copied(task.data), self.clock.now(), self.runtime,
                                        self.instance_id, self.process_id)
        call = {"operator": op.name, "rule": op.rule, "task": task.task_spec.bpmn_id, "params": params}
        self.record.service_calls.append(call)
        try:
            result = op.func(ctx, **params)
        except RuleBlocked as blocked:
            call["violations"] = [v.to_dict() for v in blocked.violations]
            raise
        except GovflowError:
            raise
        except Exception as err:  # a bug in an operator: report it as itself, never as 'script'
            raise WorkflowTaskException(f"服务操作 {op.name} 出错：{type(err).__name__}: {err}",
                                        task=task, exception=err) from err
        text = json.dumps(result, ensure_ascii=False, default=_json_default)
        call["result"] = json.loads(text)
        check_data(call["result"], where=f"服务操作 {op.name} 的结果")
        return text


class FrozenClock:
    """One step reads one instant: every deadline and timer of the step agrees on 'now'."""

    def __init__(self, at: datetime):
        self._at = at.astimezone(SHANGHAI)

    def now(self) -> datetime:
        return self._at


def _json_default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} 不能写入流程数据")
