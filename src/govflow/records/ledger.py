"""督办台账: every 督办事项 with its status as of a moment, who may see which, filters, the quarterly
summary with each lead unit's on-time rate (F4, F5), and the same figures as CSV and XLSX.

An item's status at a moment T: 已销号 if it was closed by T; 待核查 if the lead unit applied for
销号 by T within the limit (the 督查 office's checking time is not the unit's); else 逾期 if the
limit as it stood at T (extensions granted later do not rewrite a past quarter) ended before T's
day; else 即将到期 within ``followup_due_soon_wd`` 工作日; else 正常推进. A unit's on-time rate:
items closed on time by T over the items closed or overdue by T — one not yet due counts for neither.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import quote

import xlsxwriter
from flask import Response
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ..people.auth import Actor
from ..people.org import Organisation
from ..store.models import FollowupEntry, FollowupItem
from ..time.timeutil import SHANGHAI
from ..time.workdays import WorkdayCalendar
from .followups import closed_on_time

STATUSES = {"on_time": "正常推进", "due_soon": "即将到期", "overdue": "逾期", "applying": "待核查销号",
            "closed": "已销号"}
WHOLE_GOVERNMENT = ("head", "executive_deputy", "office_director", "office_deputy_director", "secretary_general")


# -- who sees what -------------------------------------------------------------------------------------------
def visible(actor: Actor, org: Organisation):
    """A condition on FollowupItem: the office, the 督查 units, the government's principal leaders,
    administrators and auditors see the whole ledger; a 分管领导 the items their portfolio leads; a
    department the items it leads or assists."""
    supervising = {d.id for d in org.departments.values() if {"督查", "目标绩效"} & set(d.duties)} | {org.office_id}
    if actor.has("admin") or actor.has("auditor") or actor.post in WHOLE_GOVERNMENT or actor.department in supervising:
        return True
    person = org.person(actor.id)
    conditions = [FollowupItem.lead_unit.in_(person.portfolio)] if person and person.portfolio else []
    if actor.department:
        conditions += [FollowupItem.lead_unit == actor.department, _assisted_by(actor.department)]
    return or_(*conditions) if conditions else False


def _assisted_by(department: str):
    return FollowupItem.assisting_units.contains(json.dumps(department), autoescape=True)


# -- statuses ----------------------------------------------------------------------------------------------------
class Clock:
    """One moment's view: its day, the last day that is still 'due soon', the extensions granted by then."""

    def __init__(self, at: datetime, calendar: WorkdayCalendar, due_soon_wd: int, extensions: dict | None = None):
        self.at, self.today = at, at.astimezone(SHANGHAI).date()
        self.soon_until = calendar.add_workdays(at, due_soon_wd).at.date()
        self.extensions = extensions      # item id -> [(granted at, new limit)], None: the limits as they are

    def due_on(self, item: FollowupItem) -> date:
        if self.extensions is None:
            return item.due_on
        granted = [limit for when, limit in self.extensions.get(item.id, []) if when <= self.at]
        return granted[-1] if granted else item.original_due_on

    def status(self, item: FollowupItem) -> str:
        if item.closed_at is not None and item.closed_at <= self.at:
            return "closed"
        due = self.due_on(item)
        if item.applied_at is not None and item.applied_at <= self.at:
            return "applying" if item.applied_at.astimezone(SHANGHAI).date() <= due else "overdue"
        if due < self.today:
            return "overdue"
        return "due_soon" if due <= self.soon_until else "on_time"


@dataclass(frozen=True)
class Filters:
    meeting: int | None = None
    unit: str | None = None          # lead or assisting
    leader: str | None = None        # the 分管领导: the items their portfolio leads
    status: str | None = None
    due_from: date | None = None
    due_to: date | None = None


def items(session: Session, actor: Actor, org: Organisation, filters: Filters, calendar: WorkdayCalendar,
          now: datetime) -> list[dict]:
    stmt = select(FollowupItem).where(visible(actor, org)).order_by(FollowupItem.due_on, FollowupItem.id)
    if filters.meeting is not None:
        stmt = stmt.where(FollowupItem.meeting_id == filters.meeting)
    if filters.unit:
        stmt = stmt.where(or_(FollowupItem.lead_unit == filters.unit, _assisted_by(filters.unit)))
    if filters.leader:
        stmt = stmt.where(FollowupItem.lead_unit.in_(_led_by(org, filters.leader)))
    if filters.due_from:
        stmt = stmt.where(FollowupItem.due_on >= filters.due_from)
    if filters.due_to:
        stmt = stmt.where(FollowupItem.due_on <= filters.due_to)
    clock = Clock(now, calendar, org.local_workdays("followup_due_soon_wd"))
    rows = (row(item, clock, org) for item in session.scalars(stmt))
    return [r for r in rows if filters.status in (None, r["status"])]


def _led_by(org: Organisation, person_id: str) -> list[str]:
    """The departments whose items a leader answers for (the 区长: those no one has in portfolio)."""
    person = org.person(person_id)
    if person is not None and person.portfolio:
        return list(person.portfolio)
    return [d for d in org.departments if org.portfolio_leader(d) is None] if person and person.post == "head" else []


def row(item: FollowupItem, clock: Clock, org: Organisation) -> dict:
    assisting, status = json.loads(item.assisting_units), clock.status(item)
    leader = (org.portfolio_leader(item.lead_unit) or org.head()).id
    return {"id": item.id, "number": item.number, "source": item.source, "source_ref": item.source_ref,
            "meeting_id": item.meeting_id, "instance_id": item.instance_id, "task": item.task,
            "lead_unit": item.lead_unit, "lead_unit_name": _unit(org, item.lead_unit), "assisting_units": assisting,
            "assisting_unit_names": [_unit(org, u) for u in assisting], "leader": leader,
            "leader_name": org.display_name(leader), "due_on": clock.due_on(item).isoformat(),
            "original_due_on": item.original_due_on.isoformat(), "extensions": item.extensions,
            "reports": item.reports, "late_reports": item.late_reports, "status": status,
            "status_name": STATUSES[status], "closed_on": _day(item.closed_at),
            "closed_on_time": closed_on_time(item) if status == "closed" else None,
            "topic_instance_id": item.topic_instance_id}


# -- the quarterly summary (巴州 常务会议规则 第二十三条) ----------------------------------------------------------
def parse_quarter(raw: str) -> tuple[int, int] | None:
    """'2026Q4' → (2026, 4); None for anything else."""
    found = re.fullmatch(r"(20\d\d)Q([1-4])", raw or "", re.ASCII)
    return (int(found.group(1)), int(found.group(2))) if found else None


def quarter_bounds(year: int, quarter: int) -> tuple[datetime, datetime]:
    start = datetime(year, 3 * quarter - 2, 1, tzinfo=SHANGHAI)
    end = datetime(year + (quarter == 4), 1 if quarter == 4 else 3 * quarter + 1, 1, tzinfo=SHANGHAI)
    return start, end - timedelta(microseconds=1)


def summary(session: Session, actor: Actor, org: Organisation, year: int, quarter: int,
            calendar: WorkdayCalendar, now: datetime) -> dict:
    """Every item alive in the quarter, once, with its status at the quarter's end (or now, for the
    current quarter), and each lead unit's figures."""
    start, end = quarter_bounds(year, quarter)
    at = min(end, now)
    stmt = (select(FollowupItem).where(visible(actor, org), FollowupItem.created_at <= at,
                                       or_(FollowupItem.closed_at.is_(None), FollowupItem.closed_at >= start))
            .order_by(FollowupItem.lead_unit, FollowupItem.due_on, FollowupItem.id))
    found = list(session.scalars(stmt))
    clock = Clock(at, calendar, org.local_workdays("followup_due_soon_wd"), _extensions(session, found))
    listed = [row(item, clock, org) for item in found]
    units = {}
    for entry in listed:
        units.setdefault(entry["lead_unit"], []).append(entry)
    by_unit = [_unit_figures(unit, _unit(org, unit), entries) for unit, entries in units.items()]
    return {"year": year, "quarter": quarter, "start": start.date().isoformat(), "end": end.date().isoformat(),
            "as_of": at.isoformat(), "items": listed, "units": by_unit,
            "total": _unit_figures(None, "合计", listed)}


def _extensions(session: Session, found: list[FollowupItem]) -> dict:
    """When each limit was extended, and to what (from the items' 延期 entries)."""
    extended = [item.id for item in found if item.extensions]
    granted: dict[int, list] = {}
    for entry in session.scalars(select(FollowupEntry).where(FollowupEntry.item_id.in_(extended),
                                                             FollowupEntry.kind == "延期")
                                 .order_by(FollowupEntry.id)):
        granted.setdefault(entry.item_id, []).append((entry.at, date.fromisoformat(json.loads(entry.text)["to"])))
    return granted


def _unit_figures(unit: str | None, name: str, entries: list[dict]) -> dict:
    counts = {status: sum(e["status"] == status for e in entries) for status in STATUSES}
    on_time = sum(bool(e["closed_on_time"]) for e in entries)
    settled_or_due = counts["closed"] + counts["overdue"]
    return {"unit": unit, "unit_name": name, "items": len(entries), **counts, "closed_on_time": on_time,
            "on_time_rate": round(on_time / settled_or_due, 4) if settled_or_due else None}


# -- spreadsheets -------------------------------------------------------------------------------------------------
ITEM_COLUMNS = (("number", "督办编号"), ("source", "来源"), ("task", "督办事项"), ("lead_unit_name", "主办单位"),
                ("assisting", "协办单位"), ("leader_name", "分管领导"), ("due_on", "办结时限"),
                ("status_name", "状态"), ("closed_on", "销号日期"), ("reports", "报告次数"),
                ("late_reports", "迟报次数"), ("extensions", "延期次数"))
UNIT_COLUMNS = (("unit_name", "主办单位"), ("items", "事项数"), ("closed", "已销号"), ("closed_on_time", "按期销号"),
                ("overdue", "逾期"), ("applying", "待核查销号"), ("due_soon", "即将到期"), ("on_time", "正常推进"),
                ("on_time_rate", "按期办结率"))


def _cells(entry: dict, columns) -> list:
    values = {**entry, "assisting": "、".join(entry.get("assisting_unit_names", []))}
    return [values.get(key) if values.get(key) is not None else "" for key, _ in columns]


def _inert(value):
    """A cell a spreadsheet will not read as a formula (CSV injection)."""
    return f"'{value}" if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(entries: list[dict], columns=ITEM_COLUMNS) -> bytes:
    """UTF-8 with a BOM, so that Excel opens the Chinese text as it is."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([title for _, title in columns])
    writer.writerows([_inert(v) for v in _cells(e, columns)] for e in entries)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(sheets: list[tuple[str, list[dict], tuple]]) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False})
    bold = book.add_format({"bold": True})
    percent = book.add_format({"num_format": "0.0%"})
    for name, entries, columns in sheets:
        sheet = book.add_worksheet(name)
        sheet.write_row(0, 0, [title for _, title in columns], bold)
        for r, entry in enumerate(entries, start=1):
            for c, value in enumerate(_cells(entry, columns)):
                sheet.write(r, c, value, percent if columns[c][0] == "on_time_rate" and value != "" else None)
        sheet.set_column(0, len(columns) - 1, 14)
    book.close()
    return out.getvalue()


MEDIA_TYPES = {"csv": "text/csv; charset=utf-8",
               "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def download(content: bytes, filename: str, fmt: str) -> Response:
    return Response(content, mimetype=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})


def export_items(entries: list[dict], fmt: str) -> bytes:
    return to_csv(entries) if fmt == "csv" else to_xlsx([("督办台账", entries, ITEM_COLUMNS)])


def export_summary(data: dict, fmt: str) -> bytes:
    """CSV: the units' figures; XLSX: those, and every item on a second sheet."""
    units = [*data["units"], data["total"]]
    if fmt == "csv":
        return to_csv(units, UNIT_COLUMNS)
    return to_xlsx([("按单位", units, UNIT_COLUMNS), ("督办事项", data["items"], ITEM_COLUMNS)])


def _unit(org: Organisation, department: str) -> str:
    return org.departments[department].name if department in org.departments else department


def _day(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).date().isoformat() if moment else None


def period_title(org_name: str, year: int, quarter: int) -> str:
    return f"{org_name}议定事项督办情况（{year}年第{'一二三四'[quarter - 1]}季度）"
