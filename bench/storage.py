"""Bytes stored per completed task over whole document procedures, against the 4 KB target.

    python bench/storage.py [--instances 50] [--database-url sqlite:///PATH] [--attachment-mb 1]

Documents of dongchang are driven through processes/document_approval.bpmn by the service layer on
SQLite exactly as ``bench/replay.py`` builds them (退文 and resubmission, a consultation of another
department, 会签, 签发 with a 发文字号, 印发). The file is then VACUUMed and every table measured:

  payload   the bytes of its rows (SQLite's ``dbstat`` payload of the table's b-tree), or, where
            ``dbstat`` is not compiled in, the sum of ``length()`` of every column
  on disk   the pages of the table and of its indexes (``dbstat`` pgsize; not without dbstat)

Each is divided by the completed tasks (task rows of kind ``task`` in state ``completed``). Tables
filled once whatever the number of documents (organisation, accounts, calendar, clock) are shown
but left out of the total; the definitions (blob, process_version) are in it, spread over the
documents. The ratio total / 4096 is the result: ≤ 1 meets the issue's target.

Then a PDF of ``--attachment-mb`` (default 1 MB, random bytes: incompressible, as a scan is) is attached
to each document as its 附件 the way the start form attaches one (``work.files``: content, attachment row,
``file_attached`` event), and the bytes per completed task are measured again (0: skip).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "bench"))

from replay import build  # noqa: E402  (bench/replay.py: the same documents)

from govflow.store.models import Task  # noqa: E402

TARGET = 4096
DEFINITIONS = {"blob", "process_version"}
SETUP = {"organisation", "account", "api_token", "leave", "calendar_day", "calendar_year", "clock_setting", "revision",
         "alembic_version"}


def completed_tasks(session) -> int:
    return session.scalar(select(func.count()).select_from(Task)
                          .where(Task.kind == "task", Task.state == "completed"))


def tables(session) -> dict[str, str]:
    """Every b-tree (tables and their indexes) by name → the table it belongs to."""
    rows = session.execute(text("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
    return {name: table for name, table in rows if not table.startswith("sqlite_")}


def measure(session) -> tuple[dict[str, dict[str, int]], bool]:
    """Per table: rows, payload bytes and on-disk bytes (None without dbstat)."""
    owner = tables(session)
    found = {t: {"rows": session.scalar(text(f'SELECT count(*) FROM "{t}"')), "payload": 0, "disk": None}
             for t in sorted(set(owner.values()))}
    try:
        stats = session.execute(text("SELECT name, SUM(payload), SUM(pgsize) FROM dbstat GROUP BY name")).all()
    except Exception:  # noqa: BLE001 - no dbstat in this SQLite: fall back to length() of the columns
        for table in found:
            columns = [row[1] for row in session.execute(text(f'PRAGMA table_info("{table}")'))]
            lengths = " + ".join(f'COALESCE(length(CAST("{c}" AS BLOB)), 0)' for c in columns)
            found[table]["payload"] = session.scalar(text(f'SELECT COALESCE(SUM({lengths}), 0) FROM "{table}"'))
        return found, False
    for name, payload, pages in stats:
        table = owner.get(name)
        if table is None:
            continue
        if name == table:
            found[table]["payload"] += payload
        found[table]["disk"] = (found[table]["disk"] or 0) + pages
    return found, True


def attach(system, ids: list[int], megabytes: float) -> None:
    """A different PDF of ``megabytes`` per document, attached as the start form attaches one."""
    import io
    import os

    from govflow.people.auth import actor_for
    from govflow.store.models import Instance
    from govflow.work import files
    size = int(megabytes * 1024 * 1024)
    for instance_id in ids:
        content = b"%PDF-1.7\n" + os.urandom(size - 9)
        with system.store.read() as session:
            instance = session.get(Instance, instance_id)
            starter = actor_for(system.organisation(session), instance.started_by)
        received = files.receive(system, io.BytesIO(content), "附件.pdf", "附件")
        with system.store.write() as session:
            files.attach_at_start(system, session, starter, session.get(Instance, instance_id), [received])
        received.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=50)
    parser.add_argument("--database-url", help="an SQLite URL; default: a new SQLite file")
    parser.add_argument("--attachment-mb", type=float, default=1.0,
                        help="附件 per document in the second count (0: none)")
    args = parser.parse_args()
    if args.database_url and not args.database_url.startswith("sqlite"):
        parser.error("storage is measured on SQLite (dbstat / length()): give an sqlite:/// URL")

    began = time.perf_counter()
    system, ids = build(args.database_url, args.instances)
    print(f"{len(ids)} documents built through the engine in {time.perf_counter() - began:.1f} s")
    url = system.store.engine.url
    system.store.dispose()
    without = report(url, ids)
    if args.attachment_mb:
        attach(system, ids, args.attachment_mb)
        system.store.dispose()
        print(f"\n-- with a {args.attachment_mb:g} MB 附件 per document:")
        with_file = report(url, ids)
        print(f"\nbytes per completed task: {without:.0f} without files, {with_file:.0f} with a "
              f"{args.attachment_mb:g} MB 附件 per document ({with_file - without:.0f} more)")


def report(url, ids: list[int]) -> float:
    """Print the table of bytes per completed task; return the total per task (on disk, or payload)."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")    # plain: VACUUM runs outside a transaction
    with engine.connect() as connection:
        connection.exec_driver_sql("VACUUM")
    with Session(engine) as session:
        done = completed_tasks(session)
        found, dbstat = measure(session)
    engine.dispose()
    print(f"completed tasks: {done} ({done / len(ids):.1f} per document); "
          f"{'dbstat' if dbstat else 'length() of the columns (no dbstat)'}\n")

    print(f"{'table':22}{'rows':>8}{'payload B/task':>16}{'on disk B/task':>16}")
    totals = {"payload": 0.0, "disk": 0.0}
    definitions = {"payload": 0.0, "disk": 0.0}     # fixed per deployment: shrinks per task as documents grow
    for counted in (True, False):
        if not counted:
            print("-- filled once, not counted:")
        for table, row in found.items():
            if (table in SETUP) == counted or not row["rows"]:      # an empty table: one page, no rows
                continue
            payload = row["payload"] / done
            disk = f"{row['disk'] / done:16.0f}" if row["disk"] is not None else f"{'-':>16}"
            print(f"{table:22}{row['rows']:8}{payload:16.0f}{disk}")
            if counted:
                totals["payload"] += payload
                totals["disk"] += (row["disk"] or 0) / done
                if table in DEFINITIONS:
                    definitions["payload"] += payload
                    definitions["disk"] += (row["disk"] or 0) / done
        if counted:
            disk = f"{totals['disk']:16.0f}" if dbstat else f"{'-':>16}"
            print(f"{'total':22}{'':8}{totals['payload']:16.0f}{disk}")
            rest = {k: totals[k] - definitions[k] for k in totals}
            disk = f"{rest['disk']:16.0f}" if dbstat else f"{'-':>16}"
            print(f"{'total - definitions':22}{'':8}{rest['payload']:16.0f}{disk}")
    print(f"\ntarget ≤ {TARGET} B per completed task: payload {totals['payload'] / TARGET:.2f} × target"
          + (f", on disk {totals['disk'] / TARGET:.2f} × target" if dbstat else ""))
    return totals["disk"] if dbstat else totals["payload"]


if __name__ == "__main__":
    main()
