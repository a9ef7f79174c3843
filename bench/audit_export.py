"""Export time of the event log to XES and OCEL 2.0, against reading the same rows with a plain SELECT.

    python bench/audit_export.py [--events 100000] [--database-url URL]

The events are written straight into the ``event`` table (this measures the export, not the engine):
straight-through documents of bazhou (收文核验 … 印发, with the inbox's schedule and assign events),
their payloads as the engine records them, on one deployed version of document_approval.bpmn.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from sqlalchemy import insert, select  # noqa: E402

from govflow.audit import exports  # noqa: E402
from govflow.people.org import Organisation  # noqa: E402
from govflow.store.database import Store  # noqa: E402
from govflow.store.models import Blob, Event, Instance, ProcessVersion  # noqa: E402
from govflow.time.timeutil import isoformat  # noqa: E402

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
# One straight-through document as the log records it: (type, actor, element).
TRACE = [("service_task", "system", "intake"), ("task_created", "system", "receipt"),
         ("task_claimed", "qianze", "receipt"), ("task_completed", "qianze", "receipt"),
         ("service_task", "system", "check"), ("task_created", "system", "office_review"),
         ("task_claimed", "qianze", "office_review"), ("task_completed", "qianze", "office_review"),
         ("service_task", "system", "route"), ("task_created", "system", "signing"),
         ("task_completed", "tangjianjun", "signing"), ("service_task", "system", "record_signature"),
         ("service_task", "system", "number"), ("task_created", "system", "publish"),
         ("task_claimed", "qianze", "publish"), ("task_completed", "qianze", "publish")]


def fill(store: Store, total: int) -> None:
    bpmn = (REPO / "processes" / "document_approval.bpmn").read_text(encoding="utf-8")
    instances = total // len(TRACE) + 1
    with store.write() as session:
        session.execute(insert(Blob.__table__), [{"hash": "0" * 64, "kind": "bpmn", "content": bpmn}])
        session.execute(insert(ProcessVersion.__table__), [{
            "id": 1, "process_id": "document_approval", "version": 1, "name": "公文审批与签发", "bpmn_hash": "0" * 64,
            "forms": "{}", "filename": "document_approval.bpmn", "deployed_at": NOW, "deployed_by": "bench"}])
        session.execute(insert(Instance.__table__), [{
            "id": i, "process_version_id": 1, "process_id": "document_approval",
            "business_key": f"巴州府发〔2026〕{i}号", "title": "关于申请城区排水管网改造资金的请示",
            "status": "completed",
            "started_at": NOW, "started_by": "wanwenhua", "ended_at": NOW, "snapshot": "", "snapshot_hash": "",
            "next_timer_at": None, "lock_version": 1} for i in range(1, instances + 1)])
    rows = []
    for seq in range(1, total + 1):
        instance_id, position = divmod(seq - 1, len(TRACE))
        type_, actor, element = TRACE[position]
        payload = {"task": element, "operator": "document." + element, "params": {}, "result": {"passed": True}} \
            if type_ == "service_task" else {"step": element, "data": {"opinion": "同意，请办公室按程序办理。"}}
        rows.append({"seq": seq, "at": isoformat(NOW + timedelta(minutes=seq)), "type": type_, "actor": actor,
                     "instance_id": instance_id + 1, "instance_seq": position + 1, "task_id": None,
                     "payload": json.dumps(payload, ensure_ascii=False), "prev_hash": "0" * 64, "hash": "0" * 64})
        if len(rows) == 20_000:
            _write(store, rows)
            rows = []
    _write(store, rows)


def _write(store: Store, rows: list) -> None:
    if rows:
        with store.write() as session:
            session.execute(insert(Event.__table__), rows)


def baseline(store: Store) -> int:
    """The same rows, in the same order, read and their payloads parsed: the floor of any export."""
    with store.read() as session:
        query = (select(Event.seq, Event.at, Event.type, Event.actor, Event.payload, Instance.title)
                 .join(Instance, Instance.id == Event.instance_id).order_by(Event.instance_id, Event.instance_seq)
                 .execution_options(yield_per=2000))
        return sum(json.loads(row.payload) is not None for row in session.execute(query))


def export(store: Store, fmt: str, org: Organisation) -> int:
    with store.read() as session:
        return sum(len(chunk) for chunk in exports.export(session, fmt, org))


def timed(function, *args) -> tuple[float, int]:
    began = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - began, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--database-url", default=f"sqlite:///{tempfile.mkdtemp()}/export.db")
    args = parser.parse_args()
    store = Store(args.database_url)
    store.migrate()
    fill(store, args.events)
    org = Organisation.from_toml((REPO / "orgs" / "bazhou.toml").read_text(encoding="utf-8"))
    baseline(store)   # warm the page cache, so the SELECT is not charged for the first read
    base, rows = timed(baseline, store)
    print(f"{store.engine.dialect.name}: {args.events:,} events; plain SELECT of {rows:,} rows "
          f"{base:.2f} s ({rows / base:,.0f} events/s)")
    for fmt in ("xes", "ocel"):
        seconds, size = timed(export, store, fmt, org)
        print(f"  {fmt:<5} {seconds:6.2f} s   {args.events / seconds:9,.0f} events/s   "
              f"{seconds / base:4.1f}x the SELECT   {size / 1e6:.1f} MB of text")


if __name__ == "__main__":
    main()
