"""Going back in a process: 退回 (the holder sends the document back to an earlier step, with a
reason) and 撤回 (the sender takes back what they just sent, before the next person has acted).

Both rewind the workflow with SpiffWorkflow's ``reset_from_task_id``: the earlier step becomes
READY again and whatever came after it is dropped, so the tree does not grow with each return.
"""
from __future__ import annotations

import copy
from uuid import UUID

from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..engine import compaction, operators
from ..errors import Conflict, Forbidden, ValidationFailed
from ..people.auth import Actor
from ..store.models import Event, Task
from ..time.timeutil import isoformat
from .inbox import candidates
from .instances import Step, engine_errors
from .system import Govflow
from .tasks import acting_step, locked, open_added, short_text

# What counts as the next person having acted on a document.
_ACTS = ("task_completed", "task_claimed", "task_transferred", "task_delegated", "delegation_returned", "comment",
         "task_returned", "addsign_completed", "signer_added")


def returnable_steps(workflow, task_id: str) -> list[dict]:
    """The earlier human steps a task may be sent back to: those completed on its way here."""
    found, node = {}, workflow.get_task_from_id(UUID(task_id)).parent
    while node is not None:
        spec = node.task_spec
        if spec.manual and node.state == TaskState.COMPLETED and spec.bpmn_id not in found:
            found[spec.bpmn_id] = {"step": spec.bpmn_id, "name": spec.bpmn_name or spec.bpmn_id}
        node = node.parent
    return list(found.values())


def send_back(gf: Govflow, session: Session, actor: Actor, task_id: str, to_step: str, reason: str) -> Task:
    """退回: the task goes back to ``to_step``, which opens again with the reason in its data."""
    step, row = locked(gf, session, task_id)
    if row.kind != "task":
        raise Conflict("只有流程任务可以退回")
    acting_step(step, actor, row)
    if row.owner is not None:
        raise Conflict("委派中的任务须先交回委派人，由委派人退回")
    if open_added(session, row):
        raise Conflict("加签人尚未签署意见，暂不能退回")
    if not (reason or "").strip():
        raise ValidationFailed("退回须说明理由", [{"field": "reason", "reason": "不能为空"}])
    workflow = step.restore()
    target = _earlier(workflow, row.id, to_step)
    _nothing_recorded_since(target)
    data = copy.deepcopy(target.parent.data)
    data["returned"] = {"from": row.step_id, "from_name": row.step_name, "reason": short_text(reason),
                        "by": actor.id, "at": isoformat(step.now)}
    with engine_errors():
        workflow.reset_from_task_id(target.id, data)
    row.state, row.completed_at, row.completed_by = "returned", step.now, actor.id
    step.events.record("task_returned", actor.id, step.now,
                       {"step": row.step_id, "to": to_step, "reason": data["returned"]["reason"]},
                       row.instance_id, row.id)
    step.rewound = True
    step.write(workflow)
    return row


def _earlier(workflow, task_id: str, to_step: str):
    node = workflow.get_task_from_id(UUID(task_id)).parent
    while node is not None:
        if node.task_spec.bpmn_id == to_step and node.task_spec.manual and node.state == TaskState.COMPLETED:
            return node
        node = node.parent
    if to_step in compaction.trail_of(workflow).done:   # done before the barrier the tree was cut at
        raise _recorded(workflow.task_tree.task_spec)
    choices = "、".join(s["name"] for s in returnable_steps(workflow, task_id)) or "无"
    raise ValidationFailed(f"只能退回到此前办理过的步骤（可选：{choices}）", [{"field": "to", "reason": to_step}])


def withdraw(gf: Govflow, session: Session, actor: Actor, task_id: str, reason: str = "") -> Task:
    """撤回: the sender reopens the task they completed, as long as nobody has acted since."""
    step, row = locked(gf, session, task_id)
    if row.kind != "task" or row.state != "completed" or row.completed_by != actor.id:
        raise Forbidden("只能撤回本人刚办理完毕的任务")
    if step.instance.status != "running":
        raise Conflict("流程已办结，不能撤回")
    _nobody_acted_since(session, row)
    workflow = step.restore()
    task = _task(workflow, row)
    if task is None or task.state != TaskState.COMPLETED:
        raise Conflict("该任务已不能撤回")
    if task.workflow.parent_task_id is not None or isinstance(task.parent.task_spec, LoopTask):
        # a reply in a 征求意见 or 会签 round: rewinding it alone would not rewind the round
        raise Conflict("征求意见、会签中的答复不能撤回：如需修改，请下一步办理人退回")
    _nothing_recorded_since(task)
    with engine_errors():
        workflow.reset_from_task_id(task.id)
    step.events.record("task_withdrawn", actor.id, step.now, {"step": row.step_id, "reason": short_text(reason)},
                       row.instance_id, row.id)
    step.rewound = True
    step.write(workflow)
    return _back_to(step, row, actor)


def _task(workflow, row: Task):
    """The row's task, if the tree still holds it: one cut off with the history before a barrier
    (``engine.compaction``) cannot be gone back to."""
    try:
        return workflow.get_task_from_id(UUID(row.id))
    except TaskNotFoundException:
        if row.step_id in compaction.trail_of(workflow).done:
            raise _recorded(workflow.task_tree.task_spec) from None
        return None


def _nothing_recorded_since(target) -> None:
    """A step whose operator recorded something that stays (a report in the 督办台账, an extension)
    cannot be undone by going back past it."""
    pending = list(target.children)
    while pending:
        node = pending.pop()
        if node.state == TaskState.COMPLETED and operators.irreversible(node.task_spec):
            raise _recorded(node.task_spec)
        pending.extend(node.children)


def _recorded(spec) -> Conflict:
    return Conflict(f"“{spec.bpmn_name or spec.bpmn_id}”已登记，不能退回或撤回到此前的步骤")


def _nobody_acted_since(session: Session, row: Task) -> None:
    sent = session.scalar(select(func.max(Event.seq)).where(Event.task_id == row.id, Event.type == "task_completed"))
    acted = session.scalar(select(Event.seq).where(Event.instance_id == row.instance_id, Event.seq > sent,
                                                   Event.type.in_(_ACTS)).limit(1))
    if acted is not None:
        raise Conflict("下一步已有人办理，不能撤回；如需修改，请对方退回")


def _back_to(step: Step, row: Task, actor: Actor) -> Task:
    """A withdrawn group task comes back to the one who withdrew it, not to the whole group."""
    reopened = step.session.get(Task, row.id)
    if reopened.assignee is None and actor.id in candidates(step.session, row.id):
        reopened.assignee = actor.id
    return reopened
