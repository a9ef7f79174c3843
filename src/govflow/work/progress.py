"""How far an instance has come, in the terms of its diagram: the steps done, the steps it stands
at now, and the sequence flows its tokens took — for the instance page to highlight.

Read from the restored workflow's task tree, where a task's parent is the task it came from. The
tree also holds SpiffWorkflow's own specs, which have no shape (``Start``, ``End``, ``*.EndJoin``,
``*.BoundaryEventSplit``), so a flow counts as taken when its target was reached from the nearest
ancestor the diagram draws; the instances of a multi-instance step carry the step's own id, which
pairs with no flow. Sub-processes run in sub-workflows, which ``get_tasks`` walks too; their flows
connect inside them. Only ids the diagram draws are returned, and a step done before and reached
again (a 退文 loop) is current, not done.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.util.task import TaskState
from sqlalchemy.orm import Session

from ..bpmn.xml import NS, read
from ..engine import compaction
from ..store.models import Blob, ProcessVersion

REACHED = TaskState.COMPLETED | TaskState.READY | TaskState.WAITING | TaskState.STARTED
CURRENT = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class Diagram:
    """What a BPMN file draws: the ids of its shapes, and each sequence flow's ends."""
    shapes: frozenset[str]
    flows: dict[str, tuple[str, str]]     # flow id -> (sourceRef, targetRef)


@dataclass(frozen=True)
class Progress:
    done: frozenset[str]
    current: frozenset[str]
    taken: frozenset[str]

    def to_dict(self) -> dict:
        return {"done": sorted(self.done), "current": sorted(self.current), "taken": sorted(self.taken)}


def diagram(tree: etree._ElementTree) -> Diagram:
    """``tree``: the stored BPMN, as ``bpmn.xml.read`` parses it."""
    root = tree.getroot()
    shapes = frozenset(root.xpath("//bpmndi:BPMNShape/@bpmnElement | //bpmndi:BPMNEdge/@bpmnElement",
                                  namespaces=NS))
    flows = {f.get("id"): (f.get("sourceRef"), f.get("targetRef"))
             for f in root.iterfind(".//bpmn:sequenceFlow", NS)}
    return Diagram(shapes, flows)


_DRAWN: dict[str, Diagram] = {}      # by the BPMN file's content hash: a stored file never changes


def drawn_by(session: Session, version_id: int) -> Diagram:
    """What the version's BPMN file draws, parsed once per file."""
    bpmn_hash = session.get(ProcessVersion, version_id).bpmn_hash
    if bpmn_hash not in _DRAWN:
        _DRAWN[bpmn_hash] = diagram(read(session.get(Blob, bpmn_hash).content.encode()))
    return _DRAWN[bpmn_hash]


def progress(workflow, drawn: Diagram) -> Progress:
    trail = compaction.trail_of(workflow)     # what the tree no longer holds of a long history
    reached = [t for t in workflow.get_tasks(state=REACHED) if t.task_spec.bpmn_id in drawn.shapes]
    current = {t.task_spec.bpmn_id for t in reached if t.state & CURRENT and not _armed_boundary(t)}
    done = ({t.task_spec.bpmn_id for t in reached if t.state == TaskState.COMPLETED}
            | (trail.done & drawn.shapes)) - current
    arrived = [t for t in workflow.get_tasks(state=TaskState.CANCELLED) if _arrived(t)]
    steps = {(_drawn_ancestor(t, drawn.shapes), t.task_spec.bpmn_id) for t in (*reached, *arrived)} | trail.steps
    taken = {flow for flow, ends in drawn.flows.items() if ends in steps and flow in drawn.shapes}
    return Progress(frozenset(done), frozenset(current), frozenset(taken))


def _armed_boundary(task) -> bool:
    """A boundary event waiting on its activity (a deadline timer): armed, but the token is at the activity."""
    return task.state == TaskState.WAITING and isinstance(task.task_spec, BoundaryEvent)


def _arrived(task) -> bool:
    """A cancelled task was reached when the task before it completed: a parallel join keeps one
    arrival and cancels the others, and an interrupting event cancels the activity it was on."""
    return task.parent is not None and task.parent.state == TaskState.COMPLETED


def _drawn_ancestor(task, shapes: frozenset[str]) -> str | None:
    node = task.parent
    while node is not None and node.task_spec.bpmn_id not in shapes:
        node = node.parent
    return node.task_spec.bpmn_id if node is not None else None
