"""A matter's files as records: 正文 (each upload the next version) and 附件, and what is checked
before one is taken — its name, its size, what its bytes are (sniffed, never trusted from the name),
and for the ZIP-based formats (.docx, .xlsx, .ofd, .zip) that unpacking them stays bounded (a zip
bomb is refused). The bytes are never executed or rendered; the one thing read out of them is a
.docx's text (``docx_text``), under the limits below, for the versions' diff and for printing.

Which steps take files is said by their form: ``"x-files": ["正文", "附件"]`` at the top of its
JSON Schema (document_submit.json, topic_draft.json, followup_report.json, …).
"""
from __future__ import annotations

import difflib
import hashlib
import io
import json
import re
import tempfile
import unicodedata
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..errors import ValidationFailed
from ..store.models import Attachment, Event

ROLES = ("正文", "附件")
FORM_KEY = "x-files"
READ_BLOCK = 64 * 1024
MAX_NAME = 120                  # characters of a file name
# Unpacking a ZIP-based file is bounded: entries, their declared total and each one's ratio. Word's
# own XML compresses 5-20×; 200× is a bomb (42.zip's layers are 1000×+).
MAX_ENTRIES = 5000
MAX_UNPACKED = 200 * 1024 * 1024
MAX_RATIO = 200
# docx_text reads at most this much XML and gives at most this much text
MAX_DOCX_XML = 16 * 1024 * 1024
MAX_TEXT = 500_000
# What each name ending may be, by what its bytes say
ENDINGS = {"docx": "docx", "doc": "ole", "wps": "ole", "pdf": "pdf", "ofd": "ofd", "xlsx": "xlsx",
           "jpg": "jpg", "jpeg": "jpg", "png": "png", "zip": "zip"}
KIND_NAMES = {"docx": "Word 文档（.docx）", "ole": "Word/WPS 文档（.doc/.wps）", "pdf": "PDF 文件",
              "ofd": "OFD 版式文件", "xlsx": "Excel 表格（.xlsx）", "jpg": "JPEG 图片", "png": "PNG 图片",
              "zip": "ZIP 压缩包", "unknown": "无法识别的文件"}
MIME = {"docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "doc": "application/msword", "wps": "application/vnd.ms-works", "pdf": "application/pdf",
        "ofd": "application/ofd", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "jpg": "image/jpeg", "png": "image/png", "zip": "application/zip"}


class FileRefused(ValidationFailed):
    """A file that is not taken; nothing of it is stored."""
    code = "file_refused"


class FileTooLarge(FileRefused):
    status = 413


@dataclass
class Received:
    """An upload read to a temporary file and checked, before any write transaction."""
    name: str
    ending: str           # the name's ending, as the file is listed and downloaded
    kind: str             # what the bytes are: docx, ole, pdf, …
    size: int
    hash: str
    role: str
    spool: BinaryIO

    def close(self) -> None:
        self.spool.close()


def receive(stream: BinaryIO, name: str, role: str, max_bytes: int, allowed: tuple[str, ...]) -> Received:
    """Read an upload (a chunk at a time) into a temporary file, hashing it, and check it: refused
    with the reason in Chinese when the name, the size or the bytes are not acceptable."""
    if role not in ROLES:
        raise FileRefused("文件类别须为“正文”或“附件”", [{"field": "role", "reason": str(role)[:20]}])
    name = check_name(name)
    ending = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if ending not in ENDINGS or (ending if ending != "jpeg" else "jpg") not in allowed:
        taken = "、".join(f".{t}" for t in allowed)
        raise FileRefused(f"不接受该类型的文件“{name}”：只接受 {taken}", [{"field": "file", "reason": "类型不允许"}])
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024)
    try:
        digest, size = hashlib.sha256(), 0
        while block := stream.read(READ_BLOCK):
            size += len(block)
            if size > max_bytes:
                raise FileTooLarge(f"文件“{name}”超过大小上限 {max_bytes // (1024 * 1024)} MB，未保存",
                                   [{"field": "file", "reason": "超过大小上限"}])
            digest.update(block)
            spool.write(block)
        if size == 0:
            raise FileRefused(f"文件“{name}”是空文件", [{"field": "file", "reason": "空文件"}])
        kind = sniff(spool)
        if kind != ENDINGS[ending]:
            raise FileRefused(f"文件“{name}”的内容是{KIND_NAMES[kind]}，与扩展名 .{ending} 不符，未保存",
                              [{"field": "file", "reason": "内容与扩展名不符"}])
        spool.seek(0)
        return Received(name, "jpg" if ending == "jpeg" else ending, kind, size, digest.hexdigest(), role, spool)
    except BaseException:
        spool.close()
        raise


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def check_name(name: str | None) -> str:
    """A file name as it is shown and downloaded: no path, no control or bidi characters, not empty."""
    name = unicodedata.normalize("NFC", (name or "").strip())
    if not name:
        raise FileRefused("未选择文件或文件名为空", [{"field": "file", "reason": "文件名为空"}])
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
        raise FileRefused(f"文件名“{_shown(name)}”不能含路径分隔符或以“.”开头，请改名后上传",
                          [{"field": "file", "reason": "文件名含路径"}])
    if _CONTROL.search(name) or any(unicodedata.category(c) in ("Cf", "Cs", "Co") for c in name):
        raise FileRefused("文件名含控制字符或不可见字符，请改名后上传",
                          [{"field": "file", "reason": "文件名含控制字符"}])
    if len(name) > MAX_NAME:
        raise FileRefused(f"文件名过长（上限 {MAX_NAME} 个字）", [{"field": "file", "reason": "文件名过长"}])
    return name


def _shown(name: str) -> str:
    return _CONTROL.sub("?", name)[:60]


def sniff(source: BinaryIO) -> str:
    """What the bytes are, from their magic numbers and, for ZIP containers, their parts."""
    source.seek(0)
    head = source.read(8)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):     # OLE2: Word 97-2003, WPS 文字
        return "ole"
    if head.startswith(b"PK\x03\x04"):
        return _zip_kind(source)
    return "unknown"


def _zip_kind(source: BinaryIO) -> str:
    source.seek(0)
    try:
        with zipfile.ZipFile(source) as archive:
            entries = archive.infolist()
            check_unpacking(entries)
            names = {e.filename for e in entries}
    except zipfile.BadZipFile:
        return "unknown"
    if "[Content_Types].xml" in names and "word/document.xml" in names:
        return "docx"
    if "[Content_Types].xml" in names and "xl/workbook.xml" in names:
        return "xlsx"
    if "OFD.xml" in names:
        return "ofd"
    return "zip"


def check_unpacking(entries: list[zipfile.ZipInfo]) -> None:
    """Refuse a ZIP whose unpacking would not stay bounded (a zip bomb)."""
    bomb = FileRefused("压缩内容解压后异常巨大（疑似“压缩炸弹”），未保存", [{"field": "file", "reason": "压缩炸弹"}])
    if len(entries) > MAX_ENTRIES:
        raise bomb
    total = 0
    for entry in entries:
        total += entry.file_size
        if total > MAX_UNPACKED or entry.file_size > MAX_RATIO * max(entry.compress_size, 1024):
            raise bomb


# -- a .docx's text ---------------------------------------------------------------------------------------
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_text(data: bytes) -> str:
    """The text of a .docx, a paragraph a line (table cells as paragraphs), bounded: the archive is
    checked as on upload, at most ``MAX_DOCX_XML`` of its XML is read, entities are never resolved,
    and at most ``MAX_TEXT`` characters come back. "" for what is not a readable .docx."""
    return "\n".join(docx_paragraphs(data))


def docx_paragraphs(data: bytes) -> list[str]:
    from lxml import etree  # python-docx's own parser; lxml never fetches or expands entities here
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            check_unpacking(archive.infolist())
            info = archive.getinfo("word/document.xml")
            if info.file_size > MAX_DOCX_XML:
                return []
            with archive.open(info) as part:
                xml = part.read(MAX_DOCX_XML + 1)
    except (zipfile.BadZipFile, KeyError, FileRefused, OSError, EOFError, zipfile.LargeZipFile):
        return []
    if len(xml) > MAX_DOCX_XML:
        return []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        root = etree.fromstring(xml, parser)
    except etree.XMLSyntaxError:
        return []
    paragraphs, length = [], 0
    for p in root.iter(f"{_W}p"):
        text = "".join((t.text or "") if t.tag == f"{_W}t" else "\t" for t in p.iter(f"{_W}t", f"{_W}tab"))
        paragraphs.append(text)
        length += len(text) + 1
        if length > MAX_TEXT:
            break
    return paragraphs


def text_diff(old: list[str], new: list[str]) -> list[tuple[str, str]]:
    """The changed paragraphs between two versions, with a line of context: (" " | "-" | "+", text)."""
    lines = []
    for group in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_grouped_opcodes(1):
        if lines:
            lines.append(("…", ""))
        for op, a1, a2, b1, b2 in group:
            if op == "equal":
                lines += [(" ", t) for t in old[a1:a2]]
                continue
            lines += [("-", t) for t in old[a1:a2]]
            lines += [("+", t) for t in new[b1:b2]]
    return lines


# -- the records ------------------------------------------------------------------------------------------
def next_version(session: Session, instance_id: int, role: str) -> int:
    last = session.scalar(select(func.max(Attachment.version)).where(Attachment.instance_id == instance_id,
                                                                     Attachment.role == role))
    return (last or 0) + 1


def newest_text(session: Session, instance_id: int) -> Attachment | None:
    """The matter's newest 正文 version, if it has one."""
    return session.scalars(select(Attachment).where(Attachment.instance_id == instance_id, Attachment.role == "正文")
                           .order_by(Attachment.version.desc())).first()


def of_instance(session: Session, instance_id: int) -> list[Attachment]:
    """The matter's files: 正文 versions newest first, then 附件 in the order attached."""
    rows = session.scalars(select(Attachment).where(Attachment.instance_id == instance_id).order_by(Attachment.id))
    rows = list(rows)
    return sorted(rows, key=lambda a: (a.role != "正文", -a.version if a.role == "正文" else a.id))


def form_roles(schema: dict | None) -> tuple[str, ...]:
    """The file roles a step's form asks for (``x-files``), in the order of ``ROLES``."""
    wanted = (schema or {}).get(FORM_KEY) or ()
    return tuple(r for r in ROLES if isinstance(wanted, list) and r in wanted)


def texts_since(session: Session, instance_id: int, signing_steps: tuple[str, ...]) -> tuple[int | None, list[int]]:
    """The 正文 version in force when the matter was last signed (at one of ``signing_steps``), and the
    versions uploaded after that signature, by the order of the chain (not by the clock)."""
    signed = None
    for seq, payload in session.execute(select(Event.seq, Event.payload).where(
            Event.instance_id == instance_id, Event.type == "task_completed").order_by(Event.seq.desc())):
        if json.loads(payload).get("step") in signing_steps:
            signed = seq
            break
    if signed is None:
        return None, []
    before, after = None, []
    for seq, payload in session.execute(select(Event.seq, Event.payload).where(
            Event.instance_id == instance_id, Event.type == "file_attached").order_by(Event.seq)):
        file = json.loads(payload).get("file") or {}
        if file.get("role") != "正文":
            continue
        if seq < signed:
            before = file.get("version")
        else:
            after.append(file.get("version"))
    return before, after
