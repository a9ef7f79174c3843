"""Files of a matter, as people attach and read them: a 正文 or 附件 uploaded at the start or at a
step whose form asks for files (``x-files``), by whoever may act on that step; every attachment a
``file_attached`` event carrying the file's SHA-256, in the step's transaction, so the hash chain
covers the file. Downloads are for those who may see the matter (涉密 rules included); one by an
auditor or by someone who does not handle the matter is itself an event of the chain
(``file_read``, the instance in its payload as ``audit.readings`` has it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Forbidden, NotFound, ValidationFailed
from ..people import access
from ..people.auth import Actor
from ..records import files as records
from ..records.files import FileRefused, Received
from ..store.contents import Contents, read_all
from ..store.eventlog import append
from ..store.models import Attachment, Instance, Task
from . import instances, tasks
from .instances import Step
from .system import Govflow

ATTACHED, READ = "file_attached", "file_read"


def contents(gf: Govflow) -> Contents:
    return Contents(gf.settings.files_dir)


def receive(gf: Govflow, stream, name: str | None, role: str) -> Received:
    """An upload read and checked before any transaction (``records.files.receive``), with the
    limits of the settings."""
    return records.receive(stream, name or "", role, gf.settings.files_max_mb * 1024 * 1024, gf.settings.files_types)


def attach_at_task(gf: Govflow, session: Session, actor: Actor, task_id: str, received: Received) -> Attachment:
    """Attach at an open step, as the one who may act on it, when its form asks for this role."""
    step, row = tasks.locked(gf, session, task_id)
    tasks.check_sees(step, actor, row.instance_id)
    tasks.acting_step(step, actor, row)
    schema = step.definition.forms.get(row.form or "") if row.kind == "task" else None
    if received.role not in records.form_roles(schema):
        raise FileRefused(f"“{row.step_name}”环节不上传{received.role}",
                          [{"field": "role", "reason": "该环节不收此类文件"}])
    return _attach(gf, step, actor, received, row)


def attach_at_start(gf: Govflow, session: Session, actor: Actor, instance: Instance, received: list[Received]) -> None:
    """The files of a start form, in the start's own transaction (the starter handles the matter)."""
    if not received:
        return
    step = instances.open_step(gf, session, instance.id)
    start = step.definition.forms.get(step.definition.start_form or "")
    for item in received:
        if item.role not in records.form_roles(start):
            raise FileRefused(f"发起“{step.definition.name}”不上传{item.role}",
                              [{"field": "role", "reason": "不收此类文件"}])
        _attach(gf, step, actor, item, None)


def _attach(gf: Govflow, step: Step, actor: Actor, received: Received, row: Task | None) -> Attachment:
    session = step.session
    _check_new_text(session, step.instance.id, received)
    contents(gf).put(session, received.hash, received.size, received.spool)
    attachment = Attachment(instance_id=step.instance.id, task_id=row.id if row else None,
                            step_id=row.step_id if row else "start", role=received.role,
                            version=records.next_version(session, step.instance.id, received.role),
                            name=received.name, kind=received.ending, size=received.size, hash=received.hash,
                            uploaded_by=actor.id, uploaded_at=step.now)
    session.add(attachment)
    session.flush()
    step.events.record(ATTACHED, actor.id, step.now,
                       {"step": attachment.step_id, "file": {"id": attachment.id, "role": attachment.role,
                                                             "version": attachment.version, "name": attachment.name,
                                                             "type": attachment.kind, "size": attachment.size,
                                                             "sha256": attachment.hash}},
                       step.instance.id, row.id if row else None)
    step.events.append_to(session)
    return attachment


def _check_new_text(session: Session, instance_id: int, received: Received) -> None:
    """A 正文 byte for byte the newest version is no new version: it would show an empty difference and,
    after 签发, send the document back to its signer for nothing (D12)."""
    if received.role != "正文":
        return
    newest = records.newest_text(session, instance_id)
    if newest is not None and newest.hash == received.hash:
        raise FileRefused(f"该文件与第 {newest.version} 版正文完全相同，未作为新版本保存",
                          [{"field": "file", "reason": "与最新版正文相同"}])


# -- reading ----------------------------------------------------------------------------------------------
def visible_files(gf: Govflow, session: Session, actor: Actor, instance_id: int) -> list[Attachment]:
    _check_sees(gf, session, actor, instance_id)
    return records.of_instance(session, instance_id)


def _check_sees(gf: Govflow, session: Session, actor: Actor, instance_id: int) -> None:
    now, runtime = gf.moment(session)
    people = access.acting_people(session, runtime.org, actor, now)
    if not access.may_see_instance(session, runtime.org, actor, people, instance_id):
        raise Forbidden("您无权查看该事项的文件")


@dataclass
class Download:
    attachment: Attachment
    mime: str

    @property
    def filename(self) -> str:
        return self.attachment.name


def open_download(gf: Govflow, actor: Actor, attachment_id: int) -> Download:
    """Check that the actor may read the file, and log the reading of an auditor or of someone who
    does not handle the matter (in its own transaction, before a byte is sent)."""
    with gf.store.read() as session:
        attachment = session.get(Attachment, attachment_id)
        if attachment is None:
            raise NotFound("文件不存在")
        _check_sees(gf, session, actor, attachment.instance_id)
        logged = actor.has("auditor") or not _handles(gf, session, actor, attachment.instance_id)
    if logged:
        with gf.store.write() as session:
            append(session, READ, actor.id, gf.now(session),
                   {"instance_id": attachment.instance_id, "file": attachment.id, "sha256": attachment.hash,
                    "name": attachment.name})
    return Download(attachment, records.MIME.get(attachment.kind, "application/octet-stream"))


def _handles(gf: Govflow, session: Session, actor: Actor, instance_id: int) -> bool:
    now, runtime = gf.moment(session)
    people = access.acting_people(session, runtime.org, actor, now)
    departments = {p.department for p in map(runtime.org.person, people) if p is not None and p.department}
    return session.scalar(select(Instance.id).where(Instance.id == instance_id,
                                                    access.handled_by(people, departments))) is not None


def stream(gf: Govflow, digest: str) -> Iterator[bytes]:
    """The bytes, chunk by chunk, each read in a short transaction of its own stream."""
    with gf.store.read() as session:
        yield from contents(gf).chunks(session, digest)


# -- 正文 versions and their differences -----------------------------------------------------------------
def diff(gf: Govflow, session: Session, actor: Actor, instance_id: int, old: int, new: int) -> dict:
    """What changed in the text between two 正文 versions (both .docx) of the matter."""
    _check_sees(gf, session, actor, instance_id)
    versions = {a.version: a for a in session.scalars(select(Attachment).where(
        Attachment.instance_id == instance_id, Attachment.role == "正文", Attachment.version.in_((old, new))))}
    if old not in versions or new not in versions:
        raise NotFound("该正文版本不存在")
    if any(versions[v].kind != "docx" for v in (old, new)):
        raise ValidationFailed("只有 .docx 正文可以比较文字差异", [{"field": "version", "reason": "不是 .docx"}])
    limit = gf.settings.files_max_mb * 1024 * 1024
    texts = [records.docx_paragraphs(read_all(contents(gf), session, versions[v].hash, limit)) for v in (old, new)]
    return {"old": old, "new": new, "lines": records.text_diff(*texts)}


def latest_text(gf: Govflow, session: Session, instance_id: int) -> str:
    """The text of the matter's newest 正文 when it is a .docx, else "". At 印发 the newest version is
    the signed one: a 正文 uploaded after 签发 goes back to the signer first (D12)."""
    newest = records.newest_text(session, instance_id)
    if newest is None or newest.kind != "docx":
        return ""
    return records.docx_text(read_all(contents(gf), session, newest.hash, gf.settings.files_max_mb * 1024 * 1024))
