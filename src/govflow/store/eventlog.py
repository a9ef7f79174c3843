"""The event log: every change appended with actor, time and payload, hash-chained.

Each row's hash covers its own fields and the previous row's hash, so editing, deleting,
inserting or reordering a row breaks the chain at that row, and ``verify`` names it. Appends lock
the single ``chain_head`` row, which keeps the chain a line when several app servers write.
Payloads are serialised when they are recorded: later changes to engine data (which SpiffWorkflow
shares by reference between tasks, trap 4) cannot reach the history.
An anchor (the chain head at a moment) kept outside govflow also catches a rewrite that recomputes
every later hash; auditors' readings are events of the chain too (``audit.readings``).

A hash anyone can recompute; a seal only the key's holder can. With a sealing key (``Settings.seal_key``,
kept outside the database, handed over in ``session.info``) every event carries an HMAC-SHA256 of its
hash, and the chain head an HMAC of its seq, hash and the first sealed event: an event appended or
rewritten by someone who can write the database but not read the key, or a tail cut off with the head
set back, fails ``verify``. Events written before sealing began (before migration 0019, or while no
key was configured) stay as they were; the sealed head says where sealing began, so that point cannot
be moved, and ``verify`` names the unsealed part.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from ..errors import Conflict
from ..time.timeutil import isoformat
from .models import ChainHead, Event

GENESIS = "0" * 64


def canonical(payload) -> str:
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_plain)


def _plain(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot record {type(value).__name__}")


def link_hash(prev_hash: str, seq: int, at: str, type_: str, actor: str, instance_id, instance_seq,
              task_id, payload: str) -> str:
    material = json.dumps([seq, at, type_, actor, instance_id, instance_seq, task_id, payload, prev_hash],
                          ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def event_seal(key: bytes, hash_: str) -> str:
    return hmac.new(key, b"event:" + hash_.encode("ascii"), hashlib.sha256).hexdigest()


def head_seal(key: bytes, seq: int, hash_: str, sealed_from: int | None) -> str:
    return hmac.new(key, f"head:{seq}:{hash_}:{sealed_from}".encode("ascii"), hashlib.sha256).hexdigest()


def _sealed(seal: str | None, wanted: str) -> bool:
    return seal is not None and hmac.compare_digest(seal, wanted)


def row_hash(event: Event) -> str:
    return link_hash(event.prev_hash, event.seq, event.at, event.type, event.actor, event.instance_id,
                     event.instance_seq, event.task_id, event.payload)


@dataclass
class _Pending:
    type: str
    actor: str
    at: str
    payload: str
    instance_id: int | None
    task_id: str | None


@dataclass
class EventBatch:
    """The events of one transaction, appended to the chain when the step is written."""
    items: list[_Pending] = field(default_factory=list)

    def record(self, type_: str, actor: str, at: datetime, payload: dict | None = None,
               instance_id: int | None = None, task_id: str | None = None) -> None:
        self.items.append(_Pending(type_, actor, isoformat(at), canonical(payload or {}), instance_id, task_id))

    def append_to(self, session: Session) -> int:
        """Append the batch to the chain; return how many events it held. The chain head is locked
        last, after everything else of the transaction is flushed, so that it is held only for the
        appends and the commit: every writer of the system queues on it."""
        if not self.items:
            return 0
        session.flush()
        db = session.connection()     # Core from here: the rows are plain, and the ORM's bookkeeping costs
        head = db.execute(_HEAD).first()
        seq, prev, sealed_from = head if head is not None else (0, GENESIS, None)
        key = session.info.get("seal_key")
        if key and sealed_from is None:
            sealed_from = seq + 1                     # sealing begins with this batch
        instance_seqs = {i: db.scalar(_LAST_SEQ, {"instance": i}) or 0
                         for i in {item.instance_id for item in self.items if item.instance_id is not None}}
        rows = []
        for item in self.items:
            instance_seq = None
            if item.instance_id is not None:
                instance_seq = instance_seqs[item.instance_id] = instance_seqs[item.instance_id] + 1
            seq += 1
            row = {"seq": seq, "at": item.at, "type": item.type, "actor": item.actor,
                   "instance_id": item.instance_id, "instance_seq": instance_seq, "task_id": item.task_id,
                   "payload": item.payload, "prev_hash": prev}
            prev = row["hash"] = link_hash(prev, seq, item.at, item.type, item.actor, item.instance_id,
                                           instance_seq, item.task_id, item.payload)
            row["seal"] = event_seal(key, prev) if key else None
            rows.append(row)
        db.execute(_INSERT, rows)
        db.execute(_NEW_HEAD if head is None else _MOVE_HEAD,
                   {"head_seq": seq, "head_hash": prev, "sealed_from": sealed_from,
                    "head_seal": head_seal(key, seq, prev, sealed_from) if key else None})
        self.items.clear()
        return len(rows)


_EVENTS, _CHAIN = Event.__table__, ChainHead.__table__
_HEAD = select(_CHAIN.c.seq, _CHAIN.c.hash, _CHAIN.c.sealed_from).where(_CHAIN.c.id == 1).with_for_update()
_LAST_SEQ = select(func.max(_EVENTS.c.instance_seq)).where(_EVENTS.c.instance_id == bindparam("instance"))
_INSERT = _EVENTS.insert()
_HEAD_VALUES = {_CHAIN.c.seq: bindparam("head_seq"), _CHAIN.c.hash: bindparam("head_hash"),
                _CHAIN.c.sealed_from: bindparam("sealed_from"), _CHAIN.c.seal: bindparam("head_seal")}
_NEW_HEAD = _CHAIN.insert().values({_CHAIN.c.id: 1, **_HEAD_VALUES})
_MOVE_HEAD = _CHAIN.update().where(_CHAIN.c.id == 1).values(_HEAD_VALUES)


# -- verification ---------------------------------------------------------------------------------------
@dataclass
class Finding:
    seq: int
    reason: str
    instance_id: int | None = None

    def to_dict(self) -> dict:
        return {"seq": self.seq, "instance_id": self.instance_id, "reason": self.reason}


@dataclass
class Verification:
    events: int
    findings: list[Finding]
    head_seq: int
    last_seq: int = 0                   # the last event actually present
    sealed_from: int | None = None      # the first sealed event, as the chain head says
    notes: list[str] = field(default_factory=list)    # what the check could not vouch for

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first_bad(self) -> Finding | None:
        return self.findings[0] if self.findings else None

    def to_dict(self) -> dict:
        return {"ok": self.ok, "events": self.events, "head_seq": self.head_seq, "sealed_from": self.sealed_from,
                "first_bad": self.first_bad.to_dict() if self.first_bad else None,
                "findings": [f.to_dict() for f in self.findings[:100]], "notes": self.notes}


def verify(session: Session, instance_id: int | None = None) -> Verification:
    """Walk the chain (or one instance's part of it) and report every break, first one first."""
    findings: list[Finding] = []
    # Plain rows, not ORM objects: building an object per event took half the time of a walk
    query = select(*Event.__table__.columns).order_by(Event.seq).execution_options(yield_per=2000)
    if instance_id is not None:
        query = query.where(Event.instance_id == instance_id)
    expected_seq, prev_hash, count = 1, GENESIS, 0
    instance_next: dict[int, int] = {}
    head = session.get(ChainHead, 1)
    key = session.info.get("seal_key")
    sealed_from = head.sealed_from if head is not None else None
    check_seals = key is not None and sealed_from is not None
    for event in session.execute(query):
        count += 1
        if instance_id is None:
            if event.seq != expected_seq:
                what = "缺失（被删除）" if event.seq > expected_seq else "重复或顺序被调换"
                findings.append(Finding(expected_seq, f"第 {expected_seq} 条事件{what}", event.instance_id))
            elif event.prev_hash != prev_hash:
                findings.append(Finding(event.seq, f"第 {event.seq} 条事件与前一条不衔接（被插入、删除或调换）",
                                        event.instance_id))
            expected_seq, prev_hash = event.seq + 1, event.hash
        if row_hash(event) != event.hash:
            findings.append(Finding(event.seq, f"第 {event.seq} 条事件（{event.type}）内容被改动", event.instance_id))
        elif check_seals and event.seq >= sealed_from and not _sealed(event.seal, event_seal(key, event.hash)):
            what = "没有封签" if event.seal is None else "的封签不符"
            findings.append(Finding(event.seq, f"第 {event.seq} 条事件（{event.type}）{what}：不是持有封签密钥的 "
                                               "govflow 写入的（被追加、改写或伪造）", event.instance_id))
        if event.instance_id is not None:
            wanted = instance_next.get(event.instance_id, 1)
            if event.instance_seq != wanted:
                findings.append(Finding(event.seq, f"实例 {event.instance_id} 的第 {wanted} 条事件缺失或顺序不符",
                                        event.instance_id))
            instance_next[event.instance_id] = (event.instance_seq or wanted) + 1
    head_seq = head.seq if head else 0
    if instance_id is None and head is not None and (head.seq != expected_seq - 1 or head.hash != prev_hash):
        findings.append(Finding(head.seq, f"链尾记录为第 {head.seq} 条，实际最后一条为第 {expected_seq - 1} 条"
                                          "（末尾事件被删除或追加）"))
    if instance_id is None and head is None and count:
        findings.append(Finding(expected_seq - 1, f"链尾记录不存在，事件却有 {count} 条（链尾记录被删除）"))
    if instance_id is None and head is not None and key is not None:
        findings += _head_seal_findings(head, key)
    notes = _seal_notes(head, key)
    return Verification(count, findings, head_seq, expected_seq - 1 if instance_id is None else head_seq,
                        sealed_from, notes)


def _head_seal_findings(head: ChainHead, key: bytes) -> list[Finding]:
    if head.sealed_from is None:
        return [Finding(head.seq, "链尾没有封签：已配置封签密钥，事件链却没有封签起点（封签被清除，"
                                  "或启用封签后尚未写入事件：运行 govflow init 启用）")]
    if not _sealed(head.seal, head_seal(key, head.seq, head.hash, head.sealed_from)):
        return [Finding(head.seq, f"链尾（第 {head.seq} 条）的封签不符：链尾记录被改动——末尾事件被截去或追加，"
                                  "或封签起点被挪动")]
    return []


def _seal_notes(head: ChainHead | None, key: bytes | None) -> list[str]:
    notes = []
    if head is None or head.sealed_from is None:
        if key is None and head is not None:
            notes.append("事件未封签（未配置封签密钥）：能写数据库的人可重算哈希而不被本项校验发现，须以锚点核对")
        return notes
    if key is None:
        notes.append(f"未配置封签密钥（GOVFLOW_SEAL_KEY_FILE），第 {head.sealed_from} 条起的封签未核对")
    if head.sealed_from > 1:
        notes.append(f"第 1–{head.sealed_from - 1} 条事件写于启用封签之前，只由哈希链与锚点保护")
    return notes


def begin_sealing(session: Session, now: datetime) -> int | None:
    """With a key, on a chain not sealed yet (written before migration 0019 or without a key): one
    sealed event that fixes where sealing begins; its seq, or None when there is nothing to do."""
    if not session.info.get("seal_key"):
        return None
    head = session.get(ChainHead, 1)
    if head is None or head.sealed_from is not None:
        return None
    append(session, "sealing_started", "system", now, {"unsealed_before": head.seq + 1})
    return head.seq + 1


def append(session: Session, type_: str, actor: str, at: datetime, payload: dict | None = None,
           instance_id: int | None = None, task_id: str | None = None) -> None:
    """Record one event on its own (a change that is not a workflow step)."""
    batch = EventBatch()
    batch.record(type_, actor, at, payload, instance_id, task_id)
    batch.append_to(session)


# -- anchors --------------------------------------------------------------------------------------------
# An anchor is the chain head (and each instance's last event) at a moment, handed to someone outside
# govflow. A forger who edits an event and recomputes every later hash passes ``verify``, but cannot
# give the anchored seq its old hash back: ``verify_anchor`` finds the rewrite.
ANCHOR_FORMAT = "govflow-anchor/1"


def anchor(session: Session, now: datetime) -> dict:
    """The chain head and every instance's last link as of ``now``, with a digest of its own content.
    Refused over a broken chain: an anchor vouches for the history before it."""
    checked = verify(session)
    if not checked.ok:
        raise Conflict(f"事件链已被破坏，不能生成锚点：{checked.first_bad.reason}")
    head = session.get(ChainHead, 1)
    last = select(func.max(Event.seq)).where(Event.instance_id.is_not(None)).group_by(Event.instance_id)
    instances = [{"instance_id": e.instance_id, "instance_seq": e.instance_seq, "seq": e.seq, "hash": e.hash}
                 for e in session.scalars(select(Event).where(Event.seq.in_(last)).order_by(Event.instance_id))]
    content = {"format": ANCHOR_FORMAT, "at": isoformat(now), "events": checked.events,
               "head": {"seq": head.seq if head else 0, "hash": head.hash if head else GENESIS},
               "instances": instances}
    if head is not None and head.sealed_from is not None:
        content["sealed_from"] = head.sealed_from
    digest = anchor_digest(content)
    key = session.info.get("seal_key")
    return {**content, "digest": digest, **({"seal": anchor_seal(key, digest)} if key else {})}


def anchor_digest(anchor_: dict) -> str:
    content = {k: v for k, v in anchor_.items() if k not in ("digest", "seal")}
    return hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()


def anchor_seal(key: bytes, digest: str) -> str:
    """An anchor's own seal: whoever reaches the anchors' directory but not the key cannot make one."""
    return hmac.new(key, b"anchor:" + digest.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass
class AnchorVerification(Verification):
    anchor_seq: int = 0
    anchor_at: str = ""

    def to_dict(self) -> dict:
        return {**super().to_dict(), "anchor": {"seq": self.anchor_seq, "at": self.anchor_at}}


def verify_anchor(session: Session, anchor_: dict) -> AnchorVerification:
    """The whole chain's check, and whether the anchored links still hold the anchored hashes."""
    head = anchor_.get("head") or {}
    findings = []
    if anchor_.get("format") != ANCHOR_FORMAT or anchor_.get("digest") != anchor_digest(anchor_):
        findings.append(Finding(head.get("seq", 0), "锚点文件本身被改动或格式不符（摘要不一致），不能作为凭据"))
    key = session.info.get("seal_key")
    if key and "seal" in anchor_ and not _sealed(str(anchor_["seal"]), anchor_seal(key, str(anchor_.get("digest")))):
        findings.append(Finding(head.get("seq", 0), "锚点的封签不符：不是持有封签密钥的 govflow 生成的，不能作为凭据"))
    chain = verify(session)
    anchored = head.get("seq", 0) if isinstance(head.get("seq"), int) else 0
    if chain.last_seq < anchored:
        findings.append(Finding(chain.last_seq + 1, f"链尾缺失：锚点记录到第 {anchored} 条，"
                                                    f"数据库只到第 {chain.last_seq} 条"))
    links = [{"seq": head.get("seq", 0), "hash": head.get("hash"), "instance_id": None},
             *anchor_.get("instances", [])]
    findings += _anchored_links(session, links)
    findings += chain.findings
    findings.sort(key=lambda f: f.seq)
    return AnchorVerification(chain.events, findings, chain.head_seq, chain.last_seq, chain.sealed_from,
                              chain.notes, head.get("seq", 0), anchor_.get("at", ""))


def _anchored_links(session: Session, links: list[dict]) -> list[Finding]:
    """A finding for each anchored link whose event is gone or holds another hash."""
    wanted = {link["seq"]: link for link in links if link["seq"]}
    found: dict[int, Event] = {}
    seqs = sorted(wanted)
    for start in range(0, len(seqs), 500):
        found.update((e.seq, e) for e in session.scalars(select(Event).where(Event.seq.in_(seqs[start:start + 500]))))
    findings = []
    for seq, link in sorted(wanted.items()):
        event, where = found.get(seq), _anchored_what(link)
        if event is None:
            findings.append(Finding(seq, f"锚点所记{where}第 {seq} 条事件已不存在", link["instance_id"]))
        elif event.hash != link["hash"]:
            findings.append(Finding(seq, f"锚点所记{where}第 {seq} 条事件（{event.type}）的哈希与锚点不符："
                                         "锚点之前的历史被改写", link["instance_id"]))
    return findings


def _anchored_what(link: dict) -> str:
    return f"实例 {link['instance_id']} 的最后一条事件即" if link["instance_id"] else "链尾即"
