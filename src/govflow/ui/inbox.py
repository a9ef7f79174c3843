"""待办: the tasks of the signed-in person and of everyone they act for, by tab (mine, my group's,
传阅, 已办), filtered and sorted by deadline; overdue rows red, rows due within one 工作日 amber."""
from __future__ import annotations

from flask import abort, g, render_template, request
from sqlalchemy import select

from ..people.access import acting_people
from ..people.substitution import away_at
from ..store.models import ProcessVersion
from ..time.timeutil import parse_moment
from ..work import inbox as tasks_inbox
from . import bp, gf, login_required, page_number

TABS = {"mine": "我的待办", "group": "组待办", "read": "传阅", "done": "已办"}
DUE = {"overdue": "已逾期", "soon": "1个工作日内到期"}
PAGE = 50


@bp.get("/inbox")
@login_required
def inbox():
    args, system = request.args, gf()
    view = args.get("view", "mine")
    due, urgency = args.get("due", ""), args.get("urgency", "")
    if view not in TABS or due not in ("", *DUE) or urgency not in ("", *tasks_inbox.URGENCY):
        abort(400, "筛选条件有误")
    page = page_number(args.get("page"))
    with system.store.read() as db:
        now, runtime = system.moment(db)
        soon = runtime.calendar.add_workdays(now, 1).at
        query = tasks_inbox.Query(
            view=view, process_id=args.get("process") or None, business_key=args.get("key", "").strip() or None,
            q=args.get("q", "").strip()[:100] or None, urgency=urgency or None,
            due_from=now if due == "soon" else None,
            due_to={"overdue": now, "soon": soon}.get(due), latest_first=args.get("sort") == "-due",
            limit=PAGE, offset=(page - 1) * PAGE)
        away = away_at(db, now)
        people = acting_people(db, runtime.org, g.actor, now, away)
        counts = tasks_inbox.counts(db, people, now)
        rows, total = tasks_inbox.search(db, query, people, now, query.counted_by(counts))
        items = [_item(tasks_inbox.describe(row, now, runtime, away), now, soon) for row in rows]
        processes = _process_names(db)
    return render_template("inbox.html", items=items, total=total, counts=counts, view=view, tabs=TABS,
                           due_choices=DUE, urgencies=tasks_inbox.URGENCY, processes=processes, args=args,
                           page=page, pages=max(1, -(-total // PAGE)))


def _item(item: dict, now, soon) -> dict:
    """The row's deadline state: 逾期 (red) or due within one 工作日 (amber)."""
    due = parse_moment(item["due_at"]) if item["due_at"] else None
    open_ = item["state"] == "open"
    item["due_state"] = ("overdue" if due < now else "due_soon" if due <= soon else "") if due and open_ else ""
    return item


def _process_names(db) -> dict[str, str]:
    """Each process's name as its latest version has it."""
    rows = db.execute(select(ProcessVersion.process_id, ProcessVersion.name).order_by(ProcessVersion.version))
    return dict(sorted({pid: name for pid, name in rows}.items(), key=lambda kv: kv[1]))
