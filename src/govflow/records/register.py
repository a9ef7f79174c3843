"""发文登记簿: the documents that received a 发文字号 (``Numbering.register``, the 登记编号 step of
processes/document_approval.bpmn), with the 紧急程度 and 密级 they were last submitted with.

Those two are not in the register row: they are fields of the document form, given at the start
and again by a resubmission after 退文 (a form without ``variableName`` replaces the top-level keys
of the process data). They are read back from the recorded events, never from engine data.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..bpmn.definitions import DefinitionCache
from ..people.access import HIDDEN_TITLE
from ..store.models import DocumentRegister, Event, Instance

FORM_FIELDS = ("urgency", "secrecy")


@dataclass(frozen=True)
class Entry:
    number: str
    title: str
    doc_type: str
    signer: str
    signed_on: date
    instance_id: int
    urgency: str = ""
    secrecy: str = ""
    shown: bool = True           # False: a 涉密 document the reader may know of but not open


def years(session: Session, listed) -> list[int]:
    """The years with numbered documents the user may know of, newest first (``listed``: a condition on Instance)."""
    stmt = (select(DocumentRegister.year).join(Instance, Instance.id == DocumentRegister.instance_id)
            .where(listed).distinct().order_by(DocumentRegister.year.desc()))
    return list(session.scalars(stmt))


def entries(session: Session, definitions: DefinitionCache, listed, visible, year: int) -> list[Entry]:
    """The year's register in the order numbers were given: the documents ``listed`` (a condition on
    Instance), those not also ``visible`` (涉密 ones the user is not on the 分发范围 of) titled
    「涉密文件」 and not linked."""
    rows = session.execute(select(DocumentRegister, Instance.process_version_id)
                           .join(Instance, Instance.id == DocumentRegister.instance_id)
                           .where(listed, DocumentRegister.year == year)
                           .order_by(DocumentRegister.registered_at, DocumentRegister.prefix,
                                     DocumentRegister.sequence)).all()
    ids = [r.instance_id for r, _ in rows]
    seen = set(session.scalars(select(Instance.id).where(Instance.id.in_(ids), visible)))
    submitted = _submitted(session, definitions, {r.instance_id: version for r, version in rows})
    return [Entry(r.number, r.title if r.instance_id in seen else HIDDEN_TITLE, r.doc_type, r.signer, r.signed_on,
                  r.instance_id, **submitted.get(r.instance_id, {}), shown=r.instance_id in seen) for r, _ in rows]


def _submitted(session: Session, definitions: DefinitionCache, versions: dict[int, int]) -> dict[int, dict]:
    """Each document's form fields as last submitted: the start data, then every completed step
    whose form writes the top level."""
    found: dict[int, dict] = {}
    events = session.scalars(select(Event).where(Event.instance_id.in_(versions),
                                                 Event.type.in_(("instance_started", "task_completed")))
                             .order_by(Event.seq))
    for event in events:
        payload = json.loads(event.payload)
        if event.type == "task_completed" and _nested(session, definitions, versions[event.instance_id], payload):
            continue
        data = payload.get("data") or {}
        found.setdefault(event.instance_id, {}).update(
            {k: data[k] for k in FORM_FIELDS if isinstance(data.get(k), str)})
    return found


def _nested(session: Session, definitions: DefinitionCache, version_id: int, payload: dict) -> bool:
    step = definitions.get(session, version_id).steps.get(payload.get("step"))
    return step is None or step.variable is not None
