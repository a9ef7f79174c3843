"""The 督办台账 (议定事项督办): the ledger with filters, one item with what happened to it, the
quarterly summary — as JSON, CSV or XLSX."""
from __future__ import annotations

import json
from datetime import date

from flask import jsonify, request
from sqlalchemy import select

from ..errors import NotFound, ValidationFailed
from ..records import ledger
from ..records.followups import Followups
from ..store.models import FollowupItem
from . import actor, bp, gf, int_arg


@bp.get("/followups")
def list_followups():
    filters, fmt, system = _filters(), _format(), gf()
    with system.store.read() as session:
        now, runtime = system.moment(session)
        entries = ledger.items(session, actor(), runtime.org, filters, runtime.calendar, now)
        name = f"督办台账-{now.date().isoformat()}"
    if fmt != "json":
        return ledger.download(ledger.export_items(entries, fmt), f"{name}.{fmt}", fmt)
    return jsonify({"items": entries, "total": len(entries)})


@bp.get("/followups/<int:item_id>")
def show_followup(item_id: int):
    system = gf()
    with system.store.read() as session:
        now, runtime = system.moment(session)
        item = session.scalars(select(FollowupItem).where(FollowupItem.id == item_id,
                                                          ledger.visible(actor(), runtime.org))).first()
        if item is None:
            raise NotFound(f"督办事项 {item_id} 不存在或您无权查看")
        clock = ledger.Clock(now, runtime.calendar, runtime.org.local_workdays("followup_due_soon_wd"))
        entries = [{"kind": e.kind, "at": e.at.isoformat(), "late": e.late, "content": json.loads(e.text)}
                   for e in Followups(session).entries(item.id)]
        return jsonify({**ledger.row(item, clock, runtime.org), "entries": entries})


@bp.get("/followups/summary")
def followup_summary():
    year, quarter = _quarter(request.args.get("quarter", ""))
    fmt, system = _format(), gf()
    with system.store.read() as session:
        now, runtime = system.moment(session)
        data = ledger.summary(session, actor(), runtime.org, year, quarter, runtime.calendar, now)
        title = ledger.period_title(runtime.org.name, year, quarter)
        recipients = runtime.profile.param("followup_quarterly_summary")
    if fmt != "json":
        return ledger.download(ledger.export_summary(data, fmt), f"{title}.{fmt}", fmt)
    report_to = {"posts": recipients.value, "article": recipients.article} if recipients.is_set else None
    return jsonify({**data, "title": title, "report_to": report_to})


def _filters() -> ledger.Filters:
    status = request.args.get("status") or None
    if status and status not in ledger.STATUSES:
        raise ValidationFailed(f"状态须为 {'、'.join(ledger.STATUSES)} 之一", [{"field": "status", "reason": status}])
    return ledger.Filters(meeting=int_arg("meeting", None, 1, 10**9), unit=request.args.get("unit") or None,
                          leader=request.args.get("leader") or None, status=status,
                          due_from=_date("due_from"), due_to=_date("due_to"))


def _date(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"参数 {name} 须为日期，如 2026-12-31", [{"field": name, "reason": raw}]) from None


def _format() -> str:
    fmt = request.args.get("format", "json")
    if fmt not in ("json", *ledger.MEDIA_TYPES):
        raise ValidationFailed("格式须为 json、csv 或 xlsx", [{"field": "format", "reason": fmt}])
    return fmt


def _quarter(raw: str) -> tuple[int, int]:
    quarter = ledger.parse_quarter(raw)
    if quarter is None:
        raise ValidationFailed("季度须写作 2026Q4 的形式（2000 至 2099 年）", [{"field": "quarter", "reason": raw}])
    return quarter
