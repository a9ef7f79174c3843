"""Keeping a long-lived workflow's task tree small: history that can never be gone back to is cut.

SpiffWorkflow keeps every task an instance ever ran, and a loop (a 督办 item's report rounds) adds
a branch per pass. Its parallel join walks every earlier join and their ancestors on each arrival,
so a step costs more with every round (17× after 60 rounds), and the snapshot grows without end.

A task recorded by an irreversible operator (``undoable=False``: a 督办 report in the ledger, an
extension) is a barrier: 退回 and 撤回 never go back past it (``rewind``). When every live task
descends from a completed barrier, the tree above it can no longer be reset to, joined across or
read as the instance's data (the data is the last task's), so the barrier becomes the root and the
rest is dropped. Nothing of the history is lost: the events hold it. What the diagram page shows of
the dropped part — the steps done and the flows taken — is kept as a small ``Trail`` in the snapshot.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable
from weakref import WeakKeyDictionary

from SpiffWorkflow.util.task import TaskState


@dataclass
class Trail:
    """What the dropped tasks showed: steps done, and (from, to) steps of the flows taken."""
    done: set[str] = field(default_factory=set)
    steps: set[tuple[str | None, str]] = field(default_factory=set)
    dropped: int = 0

    def to_dict(self) -> dict:
        return {"done": sorted(self.done), "steps": sorted([a or "", b] for a, b in self.steps),
                "dropped": self.dropped}

    @classmethod
    def from_dict(cls, dct: dict) -> Trail:
        return cls(set(dct["done"]), {(a or None, b) for a, b in dct["steps"]}, dct["dropped"])


def trail_of(workflow) -> Trail:
    return getattr(workflow, "trail", None) or Trail()


def compact(workflow, is_barrier: Callable[[object], bool]) -> int:
    """Re-root ``workflow``'s task tree at the latest completed barrier that every live task and the
    last task descend from; return how many tasks were dropped."""
    if workflow.last_task is None or not _has_barriers(workflow.spec, is_barrier):
        return 0
    live = [t for t in workflow.tasks.values() if t.has_state(TaskState.NOT_FINISHED_MASK)]
    if not live:
        return 0
    root = _barrier_above(_common_ancestor([*live, workflow.last_task]), is_barrier)
    if root is None or root is workflow.task_tree:
        return 0
    keep = {t.id for t in _subtree(root)}
    dropped = [t for t in workflow.tasks.values() if t.id not in keep]
    _record(workflow, dropped, root)
    for task in dropped:
        if task.id in workflow.subprocesses:
            _drop_subprocess(workflow, task.id)
        del workflow.tasks[task.id]
    root._parent = None
    workflow.task_tree = root
    return len(dropped)


_BARRIERS: WeakKeyDictionary = WeakKeyDictionary()     # spec -> whether any of its steps is a barrier


def _has_barriers(spec, is_barrier) -> bool:
    """Most diagrams have no irreversible step: their trees are never cut, so are not walked for it."""
    if spec not in _BARRIERS:
        _BARRIERS[spec] = any(is_barrier(s) for s in spec.task_specs.values())
    return _BARRIERS[spec]


def _common_ancestor(tasks: list):
    """The deepest task that is ``tasks``' common ancestor (or one of them)."""
    path = _path(tasks[0])
    depth = len(path)
    index = {t.id: i for i, t in enumerate(path)}
    for task in tasks[1:]:
        node = task
        while node.id not in index:
            node = node.parent
        depth = min(depth, index[node.id] + 1)
    return path[depth - 1]


def _path(task) -> list:
    """``task``'s ancestors from the root, then ``task``."""
    path = []
    while task is not None:
        path.append(task)
        task = task.parent
    return path[::-1]


def _barrier_above(task, is_barrier):
    while task is not None and not (task.state == TaskState.COMPLETED and is_barrier(task.task_spec)):
        task = task.parent
    return task


def _subtree(root) -> list:
    found, pending = [], [root]
    while pending:
        task = pending.pop()
        found.append(task)
        pending.extend(task.children)
    return found


def _record(workflow, dropped: list, root) -> None:
    trail = trail_of(workflow)
    for task in (*dropped, root):
        step = task.task_spec.bpmn_id
        if step is None:
            continue
        if task.state == TaskState.COMPLETED:
            trail.done.add(step)
        reached = task.state == TaskState.COMPLETED or (task.state == TaskState.CANCELLED and task.parent is not None
                                                         and task.parent.state == TaskState.COMPLETED)
        if reached:
            trail.steps.add((_named_ancestor(task), step))
    trail.dropped += len(dropped)
    workflow.trail = trail


def _named_ancestor(task) -> str | None:
    node = task.parent
    while node is not None and node.task_spec.bpmn_id is None:
        node = node.parent
    return node.task_spec.bpmn_id if node is not None else None


def _drop_subprocess(workflow, task_id) -> None:
    """A finished call activity's sub-workflow goes with its task (and any it started in turn)."""
    subprocess = workflow.subprocesses.pop(task_id)
    for child_id, child in list(workflow.subprocesses.items()):
        if child.parent_workflow is subprocess:
            _drop_subprocess(workflow, child_id)
