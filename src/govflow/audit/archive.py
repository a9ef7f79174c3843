"""The archive package of a matter (归档): one ZIP per 办结 instance, checkable offline.

It holds ``metadata.json`` (the matter, 文号, 密级, 保管期限 from the settings, who did each step and
when, the files), the 正文 versions under ``正文/`` and the 附件 under ``附件/``, ``events.jsonl`` (the
instance's events with their hashes and previous hashes, exactly as chained) and ``manifest.json``
(every member's SHA-256, the chain head when packed, and a digest of the manifest itself).

``verify`` needs nothing but the file: every member against the manifest, every file against the
hash its ``file_attached`` event carries, every event's hash recomputed from its fields, the
instance's events numbered without a gap. It names each thing that is wrong.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Conflict, NotFound
from ..records import files as records
from ..store.contents import Contents
from ..store.eventlog import canonical, link_hash
from ..store.models import Attachment, ChainHead, DocumentRegister, Event, Instance
from ..time.timeutil import isoformat

FORMAT = "govflow-archive/1"
MANIFEST, METADATA, EVENTS = "manifest.json", "metadata.json", "events.jsonl"


def member_name(a: Attachment) -> str:
    if a.role == "正文":
        return f"正文/第{a.version}版-{a.name}"
    return f"附件/{a.version:02d}-{a.name}"


def package(session: Session, contents: Contents, instance_id: int, retention: str, now, out: BinaryIO) -> None:
    """Write the ZIP of a 办结 matter to ``out`` (the files a chunk at a time). Refused for a matter
    still running: its record is not closed."""
    instance = session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"流程实例 {instance_id} 不存在")
    if instance.status != "completed":
        raise Conflict(f"流程实例 {instance_id}（{instance.title}）尚未办结，不能归档")
    events = list(session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.seq)))
    attachments = records.of_instance(session, instance_id)
    number = session.scalar(select(DocumentRegister.number).where(DocumentRegister.instance_id == instance_id))
    head = session.get(ChainHead, 1)
    steps = [{"step": json.loads(e.payload).get("step"), "by": e.actor, "at": e.at, "event": e.seq}
             for e in events if e.type == "task_completed"]
    metadata = {
        "format": FORMAT, "instance_id": instance.id, "process_id": instance.process_id, "title": instance.title,
        "business_key": instance.business_key, "document_number": number, "secrecy": instance.secrecy or "无",
        "retention": retention or "未设定（GOVFLOW_ARCHIVE_RETENTION）", "department": instance.department,
        "started_by": instance.started_by, "started_at": isoformat(instance.started_at),
        "ended_at": isoformat(instance.ended_at) if instance.ended_at else None, "steps": steps,
        "files": [{"path": member_name(a), "role": a.role, "version": a.version, "name": a.name, "type": a.kind,
                   "size": a.size, "sha256": a.hash, "step": a.step_id, "by": a.uploaded_by,
                   "at": isoformat(a.uploaded_at)} for a in attachments],
        "packed_at": isoformat(now)}
    members: dict[str, str] = {}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        def add(name: str, data: bytes) -> None:
            members[name] = hashlib.sha256(data).hexdigest()
            archive.writestr(name, data)
        add(METADATA, json.dumps(metadata, ensure_ascii=False, indent=2).encode("utf-8"))
        add(EVENTS, "".join(json.dumps(_event(e), ensure_ascii=False) + "\n" for e in events).encode("utf-8"))
        for a in attachments:
            digest = hashlib.sha256()
            with archive.open(member_name(a), "w") as member:
                for block in contents.chunks(session, a.hash):
                    digest.update(block)
                    member.write(block)
            members[member_name(a)] = digest.hexdigest()
        manifest = {"format": FORMAT, "instance_id": instance.id, "members": members,
                    "chain_head": {"seq": head.seq, "hash": head.hash} if head else None}
        archive.writestr(MANIFEST, json.dumps({**manifest, "digest": _digest(manifest)}, ensure_ascii=False, indent=2))


def _event(e: Event) -> dict:
    return {"seq": e.seq, "at": e.at, "type": e.type, "actor": e.actor, "instance_id": e.instance_id,
            "instance_seq": e.instance_seq, "task_id": e.task_id, "payload": e.payload, "prev_hash": e.prev_hash,
            "hash": e.hash}


def _digest(manifest: dict) -> str:
    return hashlib.sha256(canonical({k: v for k, v in manifest.items() if k != "digest"}).encode("utf-8")).hexdigest()


def write_packages(session: Session, contents: Contents, instance_ids: list[int], directory: Path, retention: str,
                   now) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for instance_id in instance_ids:
        path = directory / f"govflow-archive-{instance_id}.zip"
        partial = path.with_name(path.name + ".partial")
        with open(partial, "wb") as out:
            package(session, contents, instance_id, retention, now, out)
        partial.replace(path)
        written.append(path)
    return written


def completed(session: Session) -> list[int]:
    return list(session.scalars(select(Instance.id).where(Instance.status == "completed").order_by(Instance.id)))


# -- offline verification ---------------------------------------------------------------------------------
@dataclass
class ArchiveCheck:
    path: str
    problems: list[str] = field(default_factory=list)
    events: int = 0
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(path: Path) -> ArchiveCheck:
    """Check a package with nothing but the file; every finding in words."""
    check = ArchiveCheck(str(path))
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as err:
        check.problems.append(f"不是可读的 ZIP 归档包：{err}")
        return check
    with archive:
        try:
            records.check_unpacking(archive.infolist())
        except records.FileRefused as refused:
            check.problems.append(refused.message)
            return check
        names = set(archive.namelist())
        for needed in (MANIFEST, METADATA, EVENTS):
            if needed not in names:
                check.problems.append(f"缺少 {needed}")
        if check.problems:
            return check
        try:
            manifest = json.loads(archive.read(MANIFEST))
            metadata = json.loads(archive.read(METADATA))
            events = [json.loads(line) for line in archive.read(EVENTS).decode("utf-8").splitlines() if line]
        except (ValueError, UnicodeDecodeError) as err:
            check.problems.append(f"清单、元数据或事件文件不是有效的 JSON：{err}")
            return check
        actual = _check_manifest(archive, names, manifest, check)
        _check_events(events, metadata, check)
        _check_files(metadata, events, actual, check)
    return check


def _check_manifest(archive: zipfile.ZipFile, names: set[str], manifest: dict, check: ArchiveCheck) -> dict:
    """Each member against the manifest; returns every member's actual SHA-256."""
    if manifest.get("format") != FORMAT or manifest.get("digest") != _digest(manifest):
        check.problems.append("清单（manifest.json）被改动或格式不符：其摘要不一致")
    actual = {}
    for name in names - {MANIFEST}:
        found = hashlib.sha256()
        with archive.open(name) as member:
            while block := member.read(records.READ_BLOCK):
                found.update(block)
        actual[name] = found.hexdigest()
    members = manifest.get("members") or {}
    for name, digest in members.items():
        if name not in names:
            check.problems.append(f"清单所列的 {name} 不在归档包中")
        elif actual[name] != digest:
            check.problems.append(f"{name} 的内容与清单记录的 SHA-256 不符（被改动）")
    for name in sorted(names - set(members) - {MANIFEST}):
        check.problems.append(f"{name} 不在清单中（被添加）")
    return actual


def _check_events(events: list[dict], metadata: dict, check: ArchiveCheck) -> None:
    check.events = len(events)
    for number, e in enumerate(events, 1):
        try:
            recomputed = link_hash(e["prev_hash"], e["seq"], e["at"], e["type"], e["actor"], e["instance_id"],
                                   e["instance_seq"], e["task_id"], e["payload"])
        except (KeyError, TypeError):
            check.problems.append(f"第 {number} 条事件缺少字段")
            continue
        if recomputed != e["hash"]:
            check.problems.append(f"第 {e['seq']} 条事件（{e['type']}）的哈希与其内容不符（被改动）")
        if e["instance_seq"] != number:
            check.problems.append(f"实例的第 {number} 条事件缺失或顺序不符（见全局第 {e['seq']} 条）")
        if e["instance_id"] != metadata.get("instance_id"):
            check.problems.append(f"第 {e['seq']} 条事件不属于本事项")


def _check_files(metadata: dict, events: list[dict], actual: dict, check: ArchiveCheck) -> None:
    attached = {}
    for e in events:
        if e.get("type") == "file_attached":
            try:
                attached[json.loads(e["payload"])["file"]["sha256"]] = e["seq"]
            except (ValueError, KeyError, TypeError):
                check.problems.append(f"第 {e.get('seq')} 条事件（file_attached）内容不完整")
    listed = metadata.get("files") or []
    check.files = len(listed)
    for f in listed:
        if f.get("path") not in actual:
            check.problems.append(f"元数据所列的文件 {f.get('path')} 不在归档包中")
        elif actual[f["path"]] != f.get("sha256") or f.get("sha256") not in attached:
            check.problems.append(f"{f['path']} 的内容与附加它的事件所记的 SHA-256 不符（文件被替换）")
    for digest, seq in attached.items():
        if digest not in {f.get("sha256") for f in listed}:
            check.problems.append(f"第 {seq} 条事件附加的文件（{digest[:12]}…）不在归档包中")
