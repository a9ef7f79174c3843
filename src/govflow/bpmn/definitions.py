"""Deployed process definitions as the engine runs them: parsed once per process (per worker),
shared by every instance of that version. Instances keep the version they started on."""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass

from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..engine import spiff
from ..engine.forms import DUE_PROPERTY, ESCALATE_AFTER_PROPERTY, ESCALATE_TO_PROPERTY, FORM_PROPERTY, validator
from ..errors import NotFound
from ..store.models import Blob, ProcessVersion
from .xml import read


@dataclass(frozen=True)
class Step:
    """A human step of the diagram: where its form and its lane are."""
    bpmn_id: str
    name: str
    lane: str | None
    form: str | None
    variable: str | None
    due: str | None       # the ``dueDate`` property: an expression giving the step's deadline
    escalate_to: str | None = None      # a lane: who hears of the task once it is pressed ``escalate_after`` times
    escalate_after: int | None = None


@dataclass(frozen=True)
class Definition:
    version_id: int
    process_id: str
    version: int
    name: str
    spec: object
    subprocess_specs: dict
    forms: dict            # form name -> JSON Schema
    validators: dict       # form name -> its validator, built once
    steps: dict            # bpmn id -> Step
    start_form: str | None  # the form the start data must fit (a property of the none start event)

    def step(self, bpmn_id: str) -> Step:
        return self.steps[bpmn_id]


class DefinitionCache:
    def __init__(self, size: int = 256):
        self._by_version: dict[int, Definition] = {}
        self._size = size
        self._lock = threading.Lock()

    def get(self, session: Session, version_id: int) -> Definition:
        definition = self._by_version.get(version_id)
        if definition is None:
            definition = _load(session, version_id)
            with self._lock:
                if len(self._by_version) >= self._size:
                    self._by_version.pop(next(iter(self._by_version)))
                self._by_version[version_id] = definition
        return definition

    def latest(self, session: Session, process_id: str) -> Definition:
        version_id = session.scalar(select(ProcessVersion.id).where(ProcessVersion.process_id == process_id)
                                    .order_by(ProcessVersion.version.desc()).limit(1))
        if version_id is None:
            raise NotFound(f"流程 {process_id} 尚未部署")
        return self.get(session, version_id)


def _load(session: Session, version_id: int) -> Definition:
    version = session.get(ProcessVersion, version_id)
    if version is None:
        raise NotFound(f"流程版本 {version_id} 不存在")
    xml = session.get(Blob, version.bpmn_hash).content
    parser = spiff.parse(read(xml.encode("utf-8")), version.filename)
    spec, subprocess_specs = spiff.load_specs(parser, version.process_id)
    forms = {name: json.loads(session.get(Blob, digest).content)
             for name, digest in json.loads(version.forms).items()}
    return Definition(version.id, version.process_id, version.version, version.name, spec, subprocess_specs,
                      forms, {name: validator(schema) for name, schema in forms.items()},
                      _steps(spec, subprocess_specs), start_form(spec))


def start_form(spec) -> str | None:
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEvent) and isinstance(task_spec.event_definition, NoneEventDefinition):
            form = task_spec.extensions.get("properties", {}).get(FORM_PROPERTY)
            if form:
                return form
    return None


def _steps(spec, subprocess_specs) -> dict:
    steps = {}
    for s in (spec, *subprocess_specs.values()):
        for task_spec in s.task_specs.values():
            if task_spec.manual:
                properties = task_spec.extensions.get("properties", {})
                escalate_after = properties.get(ESCALATE_AFTER_PROPERTY)
                steps[task_spec.bpmn_id] = Step(
                    task_spec.bpmn_id, task_spec.bpmn_name or task_spec.bpmn_id, task_spec.lane,
                    properties.get(FORM_PROPERTY), getattr(task_spec, "variable", None),
                    properties.get(DUE_PROPERTY), properties.get(ESCALATE_TO_PROPERTY),
                    int(escalate_after) if escalate_after else None)
    return steps
