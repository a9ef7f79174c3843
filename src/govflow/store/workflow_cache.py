"""The workflows this process wrote last, kept restored: the next step on the same instance skips
parsing its snapshot again.

An entry is keyed by the instance and the snapshot it was written as (its text and hash), and is
handed out only while the stored snapshot is still that very text: a step by another process, or any
edit of the row, makes it stale. Comparing the text costs less than hashing it again. A step takes
its workflow out of the cache and the workflow goes back in only once the step's transaction has
committed, so a step that fails or rolls back leaves nothing behind that it changed. The workflow a
step continues is the one SpiffWorkflow would have in memory had it never been stored — the state
re-execution (``replay``) runs through as well.
"""
from __future__ import annotations

import threading
from collections import OrderedDict

SIZE = 256      # instances; a 公文 workflow in memory is some 100 KB, its snapshot text 15-30 KB


class WorkflowCache:
    def __init__(self, size: int = SIZE):
        self.size = size
        self._items: OrderedDict[int, tuple[str, str, object]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, instance_id: int, snapshot_hash: str, snapshot: str):
        """The instance's workflow as written to ``snapshot``, removed from the cache; None if not kept."""
        with self._lock:
            entry = self._items.pop(instance_id, None)
        return entry[2] if entry is not None and entry[:2] == (snapshot_hash, snapshot) else None

    def keep(self, instance_id: int, snapshot_hash: str, snapshot: str, workflow) -> None:
        with self._lock:
            self._items[instance_id] = (snapshot_hash, snapshot, workflow)
            self._items.move_to_end(instance_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
