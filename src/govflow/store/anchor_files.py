"""Anchors on a schedule: the worker writes one into a directory the config names
(``GOVFLOW_ANCHOR_DIR``, every ``GOVFLOW_ANCHOR_MINUTES``), and ``govflow audit verify`` checks the
chain against the newest one it finds there. The directory is meant to be out of the database
administrator's reach (another machine's share, WORM storage): an anchor there names the chain's
head as it was, so a tail cut off later is named, even with the head row set back.

"Newest" is the anchor recording the furthest event, not the file's time, which anyone can touch.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from . import eventlog
from .models import ChainHead

PATTERN = "anchor-*.json"
MAX_BYTES = 64 * 1024 * 1024       # an anchor lists every instance's last event: large, never this large


@dataclass(frozen=True)
class Found:
    path: Path
    anchor: dict


def newest(directory: Path) -> tuple[Found | None, list[str]]:
    """The anchor of ``directory`` that records the furthest event, and a note for each file there
    that is not an anchor (unreadable, not JSON, not govflow's)."""
    best, notes = None, []
    if not directory.is_dir():
        return None, [f"锚点目录 {directory} 不存在"]
    for path in sorted(directory.glob(PATTERN)):
        try:
            if path.stat().st_size > MAX_BYTES:
                raise ValueError("文件过大")
            anchor = json.loads(path.read_text(encoding="utf-8"))
            seq = anchor["head"]["seq"]
            if not isinstance(seq, int) or isinstance(seq, bool):
                raise ValueError("链尾序号不是整数")
        except (OSError, ValueError, KeyError, TypeError, RecursionError) as err:
            notes.append(f"锚点目录中的 {path.name} 不是可读的锚点（{type(err).__name__}），已跳过")
            continue
        rank = (seq, str(anchor.get("at", "")))
        if best is None or rank > (best.anchor["head"]["seq"], str(best.anchor.get("at", ""))):
            best = Found(path, anchor)
    return best, notes


def write_if_due(session: Session, directory: Path, every: timedelta, now: datetime) -> Path | None:
    """An anchor into ``directory`` when the newest there is older than ``every`` and the chain has
    moved since; its path, or None when none was due. Refused (``Conflict``) over a broken chain."""
    directory.mkdir(parents=True, exist_ok=True)
    found, _ = newest(directory)
    if found is not None:
        try:
            taken_at = datetime.fromisoformat(found.anchor["at"])
        except (KeyError, TypeError, ValueError):
            taken_at = None
        head = session.get(ChainHead, 1)
        if taken_at is not None and now - taken_at < every:
            return None
        anchored = found.anchor["head"]
        if head is not None and (head.seq, head.hash) == (anchored["seq"], anchored.get("hash")):
            return None        # nothing happened since: the newest anchor still says everything
    anchor = eventlog.anchor(session, now)
    stamp = datetime.fromisoformat(anchor["at"]).strftime("%Y%m%dT%H%M%S")
    path = directory / f"anchor-{anchor['head']['seq']:012d}-{stamp}.json"
    partial = path.with_suffix(".part")
    with open(partial, "w", encoding="utf-8") as file:
        file.write(json.dumps(anchor, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)      # whole or not at all: a reader never meets half an anchor
    return path

