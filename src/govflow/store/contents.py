"""File contents stored once by their SHA-256, read and written in chunks (a file is never held in
memory whole): in the database by default (``file_chunk`` rows, so that ``govflow backup`` and
``restore`` carry them, on SQLite and PostgreSQL alike), or in a directory the settings name (shared
storage for several app servers; back it up beside the database). One small interface: ``put``
within the step's transaction, ``chunks`` to read, ``exists``.

A row in ``file_content`` says where the bytes are; the directory holds ``ab/abcdef…`` files written
to a temporary name and moved into place, so a half-written file is never found under its hash.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ..errors import Damaged
from .models import FileChunk, FileContent

CHUNK = 256 * 1024       # bytes per row: a few rows per typical 正文, small enough for any driver


class Contents:
    """Where file bytes live; ``directory`` None keeps them in the database."""

    def __init__(self, directory: Path | None = None):
        self.directory = Path(directory) if directory else None

    def exists(self, session: Session, digest: str) -> bool:
        return session.get(FileContent, digest) is not None

    def put(self, session: Session, digest: str, size: int, source: BinaryIO) -> bool:
        """Store ``source`` (seekable, already hashed to ``digest`` by the caller) unless its bytes are
        there already; True when they were new. Part of the caller's transaction."""
        if self.exists(session, digest):
            return False
        source.seek(0)
        if self.directory is None:
            session.add(FileContent(hash=digest, size=size, stored_in="db"))
            session.flush()
            insert, n, check = FileChunk.__table__.insert(), 0, hashlib.sha256()
            while block := source.read(CHUNK):
                check.update(block)
                session.connection().execute(insert, {"hash": digest, "n": n, "data": block})
                n += 1
        else:
            check = self._write_file(digest, source)
            session.add(FileContent(hash=digest, size=size, stored_in="dir"))
        if check.hexdigest() != digest:
            raise Damaged("文件在保存过程中发生变化（哈希不一致），未保存")
        return True

    def chunks(self, session: Session, digest: str) -> Iterator[bytes]:
        """The bytes, a chunk at a time, each checked into a running hash: bytes that no longer
        match their SHA-256 end the stream with an error rather than pass as the file."""
        row = session.get(FileContent, digest)
        if row is None:
            raise Damaged(f"文件内容缺失（{digest[:12]}…）")
        check = hashlib.sha256()
        for block in self._blocks(session, row):
            check.update(block)
            yield block
        if check.hexdigest() != digest:
            raise Damaged(f"文件内容与其哈希不符（{digest[:12]}…），已被改动或损坏")

    def _blocks(self, session: Session, row: FileContent) -> Iterator[bytes]:
        if row.stored_in == "dir":
            if self.directory is None:
                raise Damaged("文件存放在文件目录中，但未配置 GOVFLOW_FILES_DIR")
            with open(self._path(row.hash), "rb") as stored:
                while block := stored.read(CHUNK):
                    yield block
            return
        n = 0
        while True:      # one row at a time: the driver never holds more than a chunk
            block = session.scalar(_CHUNK, {"hash": row.hash, "n": n})
            if block is None:
                return
            yield bytes(block)
            n += 1

    def _path(self, digest: str) -> Path:
        return self.directory / digest[:2] / digest

    def _write_file(self, digest: str, source: BinaryIO):
        target = self._path(digest)
        target.parent.mkdir(parents=True, exist_ok=True)
        check = hashlib.sha256()
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                while block := source.read(CHUNK):
                    check.update(block)
                    out.write(block)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return check


_CHUNK = select(FileChunk.data).where(FileChunk.hash == bindparam("hash"), FileChunk.n == bindparam("n"))


def read_all(contents: Contents, session: Session, digest: str, limit: int) -> bytes:
    """The whole file, for the few uses that need it at once (a .docx's text), refused over ``limit``."""
    out = bytearray()
    for block in contents.chunks(session, digest):
        out += block
        if len(out) > limit:
            raise Damaged("文件超过可读取的大小上限")
    return bytes(out)
