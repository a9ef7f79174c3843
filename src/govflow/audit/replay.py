"""Replay and re-execution: an instance's recorded history run again, in memory, through the process
version it ran on — to show an auditor the state at any event, and to confirm that the history
reproduces the stored state.

Nothing is written. What is not deterministic comes from the events, never recomputed: each step's
clock is the time its events carry, and an operator is not run again (发文字号, 督办 records have
database side effects) — the call gets the result recorded for it, once its params are checked.
SpiffWorkflow's task ids are random, so the re-run's tasks are paired with the recorded ones by the
``task_created`` events of each step (same step, in order).
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from ..engine import compaction, operators, spiff
from ..engine.scripting import FrozenClock, GovScriptEngine
from ..errors import GovflowError, ProcessFailed
from ..store.eventlog import canonical
from ..store.models import Event, Instance
from ..work import instances, progress
from ..work.system import Govflow
from . import rows
from .replay_steps import Recorded, Step, holders_after, steps


@dataclass(frozen=True)
class Difference:
    seq: int
    what: str

    def to_dict(self) -> dict:
        return {"seq": self.seq, "what": self.what}


@dataclass
class Result:
    instance_id: int
    events: int
    differences: list[Difference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def to_dict(self) -> dict:
        return {"instance_id": self.instance_id, "ok": self.ok, "events": self.events,
                "differences": [d.to_dict() for d in self.differences]}


class Diverged(Exception):
    """The re-run left the recorded path: nothing after this point can be compared."""


class ReplayEngine(GovScriptEngine):
    """Each step's clock is set from its events; operators answer with what they answered then."""

    def __init__(self, runtime, instance: Instance, differences: list[Difference], workers):
        super().__init__(runtime, instance.started_at, instance.id, instance.process_id, workers)
        self.differences = differences
        self.expected: list[Recorded] = []
        self.counted: list[dict] = []
        self.step: Step | None = None

    def begin(self, step: Step) -> None:
        self.clock = FrozenClock(step.at)
        self.environment.begin_step()
        self.expected = [e for e in step.events if e.type == "service_task"]
        self.counted = [call for e in step.events if e.type == "workdays_computed" for call in e.payload["calls"]]
        self.step = step

    def _workdays(self, n, start=None) -> str:
        """What ``workdays()`` answered when the step ran, not what today's calendar says: a 调休
        entered since is no difference. A step recorded before counts were recorded is counted again."""
        start = start if isinstance(start, str) else None
        recorded = next((c for c in self.counted if c["n"] == int(n) and c["from"] == start), None)
        if recorded is not None:
            self.counted.remove(recorded)
            return recorded["at"]
        if self.step is not None and any(e.type == "workdays_computed" for e in self.step.events):
            self.differences.append(Difference(self.step.first, f"重新执行计算了 workdays({int(n)}"
                                               f"{', ' + start if start else ''})，原记录此步没有这次计算"))
        return super()._workdays(n, start)

    def call_service(self, task, operation_name, operation_params, **kwargs):
        where = task.task_spec.bpmn_id
        params = json.loads(canonical({name: p["value"] for name, p in operation_params.items()}))
        recorded = next((e for e in self.expected if e.payload["operator"] == operation_name
                         and e.payload["task"] == where), None)
        if recorded is None:
            raise Diverged(f"重新执行调用了服务操作 {operation_name}（{where}），原记录此步没有这次调用")
        self.expected.remove(recorded)
        if recorded.payload["params"] != params:
            was = _short(recorded.payload["params"])
            self.differences.append(Difference(recorded.seq, f"服务操作 {operation_name}（{where}）的参数不符："
                                               f"原记录 {was}，重新执行 {_short(params)}"))
        if "result" not in recorded.payload:
            raise Diverged(f"第 {recorded.seq} 条事件记录服务操作 {operation_name} 未得出结果")
        return json.dumps(recorded.payload["result"], ensure_ascii=False)


class Replay:
    """One instance's history, applied step by step to a fresh workflow."""

    def __init__(self, gf: Govflow, session: Session, instance: Instance):
        self.instance = instance
        self.definition = gf.definitions.get(session, instance.process_version_id)
        self.events = [Recorded.of(e) for e in session.scalars(
            select(Event).where(Event.instance_id == instance.id).order_by(Event.instance_seq))]
        self.differences: list[Difference] = []
        self.engine = ReplayEngine(gf.runtime(session), instance, self.differences, gf.scripts)
        self.workflow = None
        self.recorded_of: dict[str, str] = {}   # re-run task id -> recorded task id
        self.rerun_of: dict[str, UUID] = {}     # recorded task id -> re-run task id
        self.names: dict[str, str] = {}         # recorded task id -> its step's name
        self.open: dict[str, str] = {}          # what the events say is open: recorded task id -> step
        self.labels = rows.Labels()             # title, 密级, 分发范围 as the steps set them
        self.orgs = rows.OrganisationAt(session)  # the organisation each step ran under
        self.stopped = False

    def run(self, until: int | None = None) -> Replay:
        """Apply every step that took effect at or before event ``until`` (all when None)."""
        for step in steps(self.events):
            if self.stopped or (until is not None and step.takes_effect > until):
                break
            try:
                self._apply(step)
            except Diverged as err:
                self._stop(step.first, str(err))
            except (GovflowError, ProcessFailed) as err:
                self._stop(step.first, f"重新执行出错：{err.message}")
        return self

    def _stop(self, seq: int, what: str) -> None:
        self.differences.append(Difference(seq, what))
        self.stopped = True

    def _apply(self, step: Step) -> None:
        self.engine.begin(step)
        for event in step.events:
            handler = getattr(self, f"_on_{event.type}", None)
            if handler:
                handler(event)
            self._follow(event)
        if step.runs_engine:
            with instances.engine_errors():
                self._settle()
            self.labels.after_step(self.orgs.before(step.first) or self.engine.runtime.org, self.data(), step.last)
            self._compare(step)

    # -- the recorded inputs, applied as the step that recorded them did --------------------------------
    def _on_instance_started(self, event: Recorded) -> None:
        self.labels.started(event)
        self.workflow = spiff.new_workflow(self.definition.spec, self.definition.subprocess_specs, self.engine,
                                           json.loads(canonical(event.payload["data"])))

    def _on_task_completed(self, event: Recorded) -> None:
        task = self._task(event, TaskState.READY)
        submitted = json.loads(canonical(event.payload["data"]))
        variable = self.definition.step(task.task_spec.bpmn_id).variable
        if variable:
            task.data[variable] = submitted
        else:
            task.data.update(submitted)
        with instances.engine_errors():
            task.run()

    def _on_task_returned(self, event: Recorded) -> None:
        node = self._task(event, TaskState.READY).parent
        while node is not None and not (node.task_spec.bpmn_id == event.payload["to"] and node.task_spec.manual
                                        and node.state == TaskState.COMPLETED):
            node = node.parent
        if node is None:
            raise Diverged(f"第 {event.seq} 条事件退回到“{event.payload['to']}”，重新执行中此前没有办理过该步骤")
        data = json.loads(canonical(node.parent.data))
        data["returned"] = {"from": event.payload["step"], "from_name": self.names.get(event.task_id, ""),
                            "reason": event.payload["reason"], "by": event.actor, "at": event.at_text}
        with instances.engine_errors():
            self.workflow.reset_from_task_id(node.id, data)

    def _on_task_withdrawn(self, event: Recorded) -> None:
        task = self._task(event, TaskState.COMPLETED)
        with instances.engine_errors():
            self.workflow.reset_from_task_id(task.id)

    def _on_deadline_recomputed(self, event: Recorded) -> None:
        old, new = (datetime.fromisoformat(event.payload[k]) for k in ("from", "to"))
        instances.move_deadline(self.workflow, old, new)

    def _task(self, event: Recorded, state: TaskState):
        rerun = self.rerun_of.get(event.task_id)
        task = self.workflow.get_task_from_id(rerun) if rerun else None
        if task is None or task.state != state:
            raise Diverged(f"第 {event.seq} 条事件（{event.type}）所办的任务在重新执行中不存在或不在应有状态")
        return task

    def _follow(self, event: Recorded) -> None:
        """What the events say is open, and each task's name."""
        if event.type == "task_created":
            self.open[event.task_id] = event.payload["step"]
            self.names[event.task_id] = event.payload.get("name", "")
        elif event.type in ("task_completed", "task_cancelled", "task_returned"):
            self.open.pop(event.task_id, None)

    # -- running the engine to its next wait, as Step.write does ---------------------------------------
    def _settle(self) -> None:
        self.workflow.refresh_timers()
        for _ in range(instances.MAX_ENGINE_ROUNDS):
            self.workflow.do_engine_steps()
            if not self.workflow.get_tasks(state=TaskState.READY, manual=False):
                break
        compaction.compact(self.workflow, operators.irreversible)

    def _compare(self, step: Step) -> None:
        for missed in self.engine.expected:
            p = missed.payload
            self.differences.append(Difference(missed.seq, f"原记录调用了服务操作 {p['operator']}（{p['task']}），"
                                                            "重新执行没有调用"))
        self._pair(step)
        rerun_open = {self.recorded_of.get(str(t.id)) for t in self._ready()}
        if rerun_open != set(self.open):
            self.differences.append(Difference(step.last, f"此步之后的待办不符：原记录为 {_steps(self.open.values())}，"
                                               f"重新执行为 {_steps(self._ready_steps())}"))
        self._compare_end(step)

    def _pair(self, step: Step) -> None:
        """Pair the re-run's new user tasks with the step's ``task_created`` events, by step, in order."""
        fresh = [t for t in self._ready() if str(t.id) not in self.recorded_of]
        for event in step.events:
            if event.type != "task_created" or event.task_id in self.rerun_of:
                continue
            task = next((t for t in fresh if t.task_spec.bpmn_id == event.payload["step"]), None)
            if task is None:
                self.differences.append(Difference(event.seq, f"原记录开出“{event.payload.get('name')}”"
                                                   f"（{event.payload['step']}），重新执行没有开出"))
                continue
            fresh.remove(task)
            self.recorded_of[str(task.id)], self.rerun_of[event.task_id] = event.task_id, task.id
        for task in fresh:
            self.differences.append(Difference(step.last, f"重新执行开出了“{task.task_spec.bpmn_name}”"
                                               f"（{task.task_spec.bpmn_id}），原记录没有"))

    def _compare_end(self, step: Step) -> None:
        ended = next((e for e in step.events if e.type == "instance_ended"), None)
        if ended is None:
            if self.workflow.is_completed() and not self._ended_before(step):
                self.differences.append(Difference(step.last, "重新执行在此步办结，原记录没有办结"))
            return
        if not self.workflow.is_completed():
            self.differences.append(Difference(ended.seq, "原记录在此步办结，重新执行没有办结"))
        self._compare_data(ended.seq, ended.payload["data"], "办结时的数据")

    def _ended_before(self, step: Step) -> bool:
        return any(e.type == "instance_ended" and e.seq < step.first for e in self.events)

    def _compare_data(self, seq: int, recorded: dict, what: str) -> None:
        mine = json.loads(canonical(self.data()))
        for key in sorted(set(recorded) | set(mine)):
            if recorded.get(key) != mine.get(key):
                self.differences.append(Difference(self._writer(key, mine.get(key), seq),
                                                   f"{what}“{key}”不符：原记录 {_short(recorded.get(key))}，"
                                                   f"重新执行 {_short(mine.get(key))}"))

    def _writer(self, key: str, value, default: int) -> int:
        """The recorded event that last put ``value`` under ``key`` — a submitted form or an
        operator's result: where an altered history shows."""
        for event in reversed([e for e in self.events if e.seq <= default]):
            if event.type == "service_task" and "result" in event.payload and event.payload["result"] == value:
                return event.seq
            if event.type == "task_completed" and self._writes(event, key):
                return event.seq
        return default

    def _writes(self, event: Recorded, key: str) -> bool:
        variable = self.definition.step(event.payload["step"]).variable
        return variable == key if variable else key in event.payload["data"]

    # -- what the replay shows -------------------------------------------------------------------------
    def _ready(self) -> list:
        return self.workflow.get_tasks(state=TaskState.READY, manual=True) if self.workflow else []

    def _ready_steps(self) -> list[str]:
        return [t.task_spec.bpmn_id for t in self._ready()]

    def data(self) -> dict:
        return instances.current_data(self.workflow) if self.workflow else {}

    def open_tasks(self) -> list[dict]:
        return [{"task_id": self.recorded_of.get(str(t.id)), "step": t.task_spec.bpmn_id,
                 "name": t.task_spec.bpmn_name or t.task_spec.bpmn_id} for t in self._ready()]


def reexecute(gf: Govflow, session: Session, instance: Instance) -> Result:
    """Run the history again and compare every step, the end, and the stored snapshot."""
    replay = Replay(gf, session, instance).run()
    if not replay.stopped and replay.events:
        _compare_snapshot(gf, session, instance, replay)
    replay.differences += [Difference(d.seq, d.what) for d in
                           rows.check(session, instance, replay.events, None if replay.stopped else replay.labels)]
    return Result(instance.id, len(replay.events), replay.differences)


def _compare_snapshot(gf: Govflow, session: Session, instance: Instance, replay: Replay) -> None:
    last = replay.events[-1].seq
    try:
        engine = ReplayEngine(gf.runtime(session), instance, [], gf.scripts)
        stored = instances.restore(instance, replay.definition, engine)
    except ProcessFailed as refused:
        replay.differences.append(Difference(last, refused.message))
        return
    except (zlib.error, UnicodeDecodeError, ValueError, KeyError, TypeError) as damaged:
        # the stored bytes do not even inflate or parse: the snapshot was damaged behind govflow's back
        replay.differences.append(Difference(last, f"实例 {instance.id} 的快照已损坏，无法读取"
                                                   f"（{type(damaged).__name__}），不能与重新执行的结果比对"))
        return
    replay._compare_data(last, json.loads(canonical(instances.current_data(stored))), "快照数据")
    stored_open = {str(t.id) for t in stored.get_tasks(state=TaskState.READY, manual=True)}
    rerun_open = {t["task_id"] for t in replay.open_tasks()}
    if stored_open != rerun_open:
        replay.differences.append(Difference(last, f"快照中的待办（{len(stored_open)} 项）与重新执行的待办"
                                                   f"（{len(rerun_open)} 项）不符"))


def reexecute_all(gf: Govflow, session: Session, instance_id: int | None = None) -> list[Result]:
    """Every instance (or one), each on its own: one that cannot be re-executed at all (a damaged
    snapshot, a version whose diagram is gone) is reported as a difference and the others go on.
    Snapshots are read one at a time, when compared: loading them all with the rows would make one
    damaged snapshot stop every instance's check."""
    query = select(Instance).options(defer(Instance.snapshot)).order_by(Instance.id)
    if instance_id is not None:
        query = query.where(Instance.id == instance_id)
    results = []
    for instance in session.scalars(query).all():
        try:
            results.append(reexecute(gf, session, instance))
        except (GovflowError, zlib.error, UnicodeDecodeError, ValueError, KeyError, TypeError) as err:
            reason = err.message if isinstance(err, GovflowError) else f"{type(err).__name__}: {err}"
            failed = Difference(0, f"实例 {instance.id} 无法重新执行：{_short(reason)}")
            results.append(Result(instance.id, 0, [failed]))
    if instance_id is None:
        results += _deleted_instances(session, {r.instance_id for r in results})
    return results


def _deleted_instances(session: Session, known: set[int]) -> list[Result]:
    """A history whose instance row is gone: the matter deleted behind govflow's back."""
    found = []
    for gone, first in session.execute(select(Event.instance_id, func.min(Event.seq))
                                       .where(Event.instance_id.is_not(None)).group_by(Event.instance_id)):
        if gone not in known:
            found.append(Result(gone, 0, [Difference(first, f"instance 表中没有实例 {gone}，"
                                                             f"第 {first} 条起的事件却记有它的历史（实例被删除）")]))
    return found


def state_at(gf: Govflow, session: Session, instance: Instance, seq: int | None = None) -> dict:
    """The instance as it stood at event ``seq`` (the last when None): steps done and current for the
    diagram, the data, the open tasks and their holders, the rule checks so far, and the events."""
    replay = Replay(gf, session, instance)
    seqs = [e.seq for e in replay.events]
    seq = seq if seq in seqs else (seqs[-1] if seqs else 0)
    replay.run(until=seq)
    before = [e for e in replay.events if e.seq <= seq]
    holders = holders_after(before)
    opened = [{**t, "holder": holders.get(t["task_id"], {})} for t in replay.open_tasks()]
    marks = (progress.progress(replay.workflow, progress.drawn_by(session, instance.process_version_id)).to_dict()
             if replay.workflow else {})
    return {"instance_id": instance.id, "seq": seq, "seqs": seqs, "progress": marks,
            "data": json.loads(canonical(replay.data())), "open_tasks": opened,
            "rule_checks": [_rule_check(e) for e in before if e.type in ("service_task", "rule_violation")],
            "events": [e.to_dict() for e in replay.events],
            "differences": [d.to_dict() for d in replay.differences if d.seq <= seq]}


def _rule_check(event: Recorded) -> dict:
    """A service task's check, or a step a rule blocked (its violations, nothing else stored)."""
    p = event.payload
    violations = p.get("violations") or []
    return {"seq": event.seq, "at": event.at_text, "operator": p.get("operator"),
            "rule": p.get("rule") or (violations[0].get("rule") if violations else None),
            "task": p.get("task"), "result": p.get("result"), "violations": violations}


def _steps(ids) -> str:
    return "、".join(sorted(ids)) or "无"


def _short(value, limit: int = 200) -> str:
    text = canonical(value)
    return text if len(text) <= limit else text[:limit] + "…"

