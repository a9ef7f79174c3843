"""SpiffWorkflow 3.2.0 as govflow runs it: the parser, the snapshot serializer, the workflow class.

Each trap of SPIFFWORKFLOW-NOTES.md that lives at this level is answered here and named:
- trap 1/timers: timer definitions read govflow's clock (from the script engine), not the machine's;
- trap 6: snapshots are text, and carry no spec (the spec is stored once per definition version);
- trap 8: the task iterators' depth cap of 1000 is lifted, so long 退回 loops and 督办 histories
  keep running instead of stopping silently at a READY task;
- a multi-instance or loop activity gathers its children through a connection SpiffWorkflow makes
  on the parsed spec, not in the snapshot: it is made once per parse (``connect_loop_merges``).
"""
from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, WorkflowConverter
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.bpmn.util.task import BpmnTaskIterator
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskIterator, TaskState

from ..time.timeutil import parse_moment
from .compaction import Trail

# -- trap 8: the depth cap ----------------------------------------------------------------------
# TaskIterator(max_depth=1000) is the default of every tree walk inside SpiffWorkflow (joins,
# is_completed, engine steps). A loop adds depth on every pass, so after a few hundred 退回 the
# engine stops seeing READY tasks while is_completed() returns True. The walks are iterative, so
# an unbounded depth costs nothing but the walk itself.
_UNBOUNDED = sys.maxsize


def _lift_depth_cap(cls) -> None:
    defaults = list(cls.__init__.__defaults__)
    position = cls.__init__.__code__.co_varnames.index("max_depth") - 2  # after self, task
    if defaults[position] != 1000:
        raise RuntimeError(f"unexpected {cls.__name__} defaults {defaults}: check the SpiffWorkflow version")
    defaults[position] = _UNBOUNDED
    cls.__init__.__defaults__ = tuple(defaults)


_lift_depth_cap(TaskIterator)
_lift_depth_cap(BpmnTaskIterator)


# -- timers on govflow's clock --------------------------------------------------------------------
def _now(my_task) -> datetime:
    return my_task.workflow.script_engine.clock.now().astimezone(timezone.utc)


def timer_due(value) -> datetime:
    """A timer's due moment from its text. Text without an offset is Beijing time (SpiffWorkflow
    would read it in the server's own timezone)."""
    if isinstance(value, datetime):
        return value
    try:
        return parse_moment(str(value))
    except ValueError:
        raise ValueError(f"定时器时间“{value}”不是有效的 ISO-8601 时间") from None


def _due(my_task, value) -> datetime:
    try:
        return timer_due(value)
    except ValueError as err:
        raise WorkflowTaskException(str(err), task=my_task) from None


class ClockedTimeDate(TimeDateEventDefinition):
    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=event_value)
        if _due(my_task, event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedDuration(DurationTimerEventDefinition):
    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            start = _now(my_task)
            delta = TimerEventDefinition.get_timedelta_from_start(
                TimerEventDefinition.parse_iso_duration(expression), start)
            event_value = (start + delta).isoformat()
            my_task._set_internal_data(event_value=event_value)
        if _due(my_task, event_value) <= _now(my_task):
            my_task._set_internal_data(event_fired=True)
        return my_task._get_internal_data("event_fired", False)


class ClockedCycle(CycleTimerEventDefinition):
    def cycle_complete(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            event_value = _first_cycle(expression, _now(my_task))
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= _now(my_task):
                event_value["next"] = (next_event + timedelta(seconds=event_value["duration"])).isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


def _first_cycle(expression: str, now: datetime) -> dict:
    """``R3/P1D`` (from now) or ``R3/2026-11-24T09:00/P1D`` (from a Beijing-time start)."""
    count, first, *rest = expression.upper().replace("--", "/").split("/")
    cycles = int(count.strip("R")) if count.strip("R") else -1
    if first.startswith("P"):
        start = now + TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(first), now)
        duration = start - now
    else:
        start = parse_moment(first)
        duration = TimerEventDefinition.get_timedelta_from_start(
            TimerEventDefinition.parse_iso_duration(rest[0]), start)
    return {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}


_CLOCKED = {TimeDateEventDefinition: ClockedTimeDate, DurationTimerEventDefinition: ClockedDuration,
            CycleTimerEventDefinition: ClockedCycle}
TIMER_EVENT_TYPES = frozenset(cls.__name__ for cls in _CLOCKED.values())   # PendingBpmnEvent.event_type


def _clocked(definition):
    if isinstance(definition, MultipleEventDefinition):
        definition.event_definitions = [_clocked(d) for d in definition.event_definitions]
        return definition
    cls = _CLOCKED.get(type(definition))
    if cls is None:
        return definition
    return cls(definition.name, definition.expression, description=definition.description)


def use_govflow_clock(spec) -> None:
    """Swap the timer definitions of a freshly parsed spec for ones that read the engine's clock."""
    for task_spec in spec.task_specs.values():
        if getattr(task_spec, "event_definition", None) is not None:
            task_spec.event_definition = _clocked(task_spec.event_definition)


# -- parsing ---------------------------------------------------------------------------------------
def parse(tree, filename: str) -> SpiffBpmnParser:
    """Parse an already safely-parsed lxml tree with the Spiff parser (which keeps the
    spiffworkflow: extensions: forms, operators, scripts)."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(tree, filename=filename)
    return parser


def load_specs(parser: SpiffBpmnParser, process_id: str):
    spec = parser.get_spec(process_id)
    subprocess_specs = parser.get_subprocess_specs(process_id)
    for s in (spec, *subprocess_specs.values()):
        use_govflow_clock(s)
        connect_loop_merges(s)
    return spec, subprocess_specs


def connect_loop_merges(spec) -> None:
    """A multi-instance (or loop) activity learns that a child finished through its child spec's
    ``completed_event``, which SpiffWorkflow connects to the activity's ``merge_child`` only when it
    creates a child — on the spec object of the process that happened to do that. Any other process
    (an app server restarted, another gunicorn worker) restores the children without the connection:
    they finish, nothing gathers their output, and the activity never completes. Connect every
    activity's merge when its spec is parsed, so every process has it."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, LoopTask):
            child = spec.task_specs[task_spec.task_spec]
            if not child.completed_event.is_connected(task_spec.merge_child):
                child.completed_event.connect(task_spec.merge_child)


# -- snapshots (trap 6, and specs stored once) -----------------------------------------------------
class _SnapshotConverter(BpmnWorkflowConverter):
    """Like SpiffWorkflow's, but the spec is not written: it is the deployed definition's, shared."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        if getattr(workflow, "trail", None) is not None:
            dct["trail"] = workflow.trail.to_dict()
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        workflow.trail = Trail.from_dict(dct["trail"]) if "trail" in dct else None
        return workflow


def _serializer() -> BpmnWorkflowSerializer:
    config = dict(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SnapshotConverter
    registry = BpmnWorkflowSerializer.configure(config)
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    return BpmnWorkflowSerializer(registry)


SERIALIZER = _serializer()


def dump(workflow: BpmnWorkflow) -> str:
    """The workflow state as JSON text (never JSONB: key order matters to the restore, trap 6)."""
    return SERIALIZER.serialize_json(workflow)


def restore(snapshot: str, spec, subprocess_specs, script_engine) -> BpmnWorkflow:
    dct = json.loads(snapshot)
    SERIALIZER.migrate(dct)
    workflow = SERIALIZER.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine  # not serialised: attach it after every load
    return workflow


def new_workflow(spec, subprocess_specs, script_engine, data: dict) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    workflow.task_tree.data.update(data)
    for task in workflow.get_tasks(state=TaskState.READY):  # the start task inherits the start data
        task.data.update(data)
    return workflow
