"""The 工作日 calendar: statutory holidays and 调休 make-up days.

Sources, in order: the administrator's overrides (the State Council publishes next year's schedule
each autumn; an administrator enters it), then ``chinesecalendar`` (which covers up to its last
release year), then — for a year nobody has covered yet — a Monday-to-Friday estimate. A deadline
computed from an estimated day says so (``Deadline.estimated``) instead of crashing or pretending.

Counting follows 民法典 第二百零一条: a period counted in days starts the next day, so "3 工作日"
from a Monday ends at the end of the office day on Thursday.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import chinese_calendar

from .timeutil import SHANGHAI, isoformat

DEFAULT_OFFICE_DAY_END = time(17, 30)   # a local setting: the rules do not fix the hour
MAX_WORKDAYS = 3660


@dataclass(frozen=True)
class Day:
    day: date
    workday: bool
    source: str          # "override" | "chinesecalendar" | "estimate"
    note: str = ""

    @property
    def estimated(self) -> bool:
        return self.source == "estimate"


@dataclass(frozen=True)
class Deadline:
    at: datetime
    workdays: int
    start: datetime
    estimated: bool      # some day counted was a weekday estimate, not a published schedule
    estimated_days: tuple[date, ...] = ()

    def to_dict(self) -> dict:
        return {"due": isoformat(self.at), "workdays": self.workdays, "start": isoformat(self.start),
                "estimated": self.estimated,
                "note": "含估算日期（该年度放假安排尚未录入，按周一至周五估算）" if self.estimated else ""}


@lru_cache(maxsize=None)
def _library_covers(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


@lru_cache(maxsize=4096)
def _library_day(day: date) -> Day:
    """A day as chinesecalendar has it: a published schedule never changes, and looking it up is slow."""
    _, name = chinese_calendar.get_holiday_detail(day)
    return Day(day, chinese_calendar.is_workday(day), "chinesecalendar", _holiday_name(name))


class WorkdayCalendar:
    def __init__(self, overrides: dict[date, tuple[bool, str]] | None = None,
                 published_years: set[int] | frozenset[int] = frozenset(),
                 office_day_end: time = DEFAULT_OFFICE_DAY_END):
        self.overrides = overrides or {}
        self.published_years = frozenset(published_years)
        self.office_day_end = office_day_end
        # Every deadline counted with this calendar, by its ISO text: a step's inbox rows find the
        # basis (start, 工作日) of a due date its scripts or operators computed, so that an estimated
        # one is marked and can be counted again once the year's schedule is published.
        self.computed: dict[str, Deadline] = {}

    def day(self, day: date) -> Day:
        if day in self.overrides:
            workday, note = self.overrides[day]
            return Day(day, workday, "override", note)
        weekday = day.weekday() < 5
        if day.year in self.published_years:
            return Day(day, weekday, "override", "")
        if _library_covers(day.year):
            return _library_day(day)
        return Day(day, weekday, "estimate", "按周一至周五估算")

    def covers(self, year: int) -> bool:
        return year in self.published_years or _library_covers(year)

    def add_workdays(self, start: datetime, workdays: int) -> Deadline:
        """The end of the office day of the ``workdays``-th 工作日 after ``start``'s day."""
        if not 0 <= workdays <= MAX_WORKDAYS:
            raise ValueError(f"工作日数须在 0 到 {MAX_WORKDAYS} 之间")
        local = start.astimezone(SHANGHAI)
        day, counted, estimated = local.date(), 0, []
        while counted < workdays:
            day += timedelta(days=1)
            info = self.day(day)
            if info.estimated:
                estimated.append(day)
            if info.workday:
                counted += 1
        deadline = Deadline(self._end_of(day), workdays, local, bool(estimated), tuple(estimated))
        self.computed[isoformat(deadline.at)] = deadline
        return deadline

    def workdays_before(self, day: date, workdays: int) -> date:
        """The ``workdays``-th 工作日 before ``day`` (会前 2 个工作日 of a Thursday is the Tuesday)."""
        counted = 0
        while counted < workdays:
            day -= timedelta(days=1)
            counted += self.day(day).workday
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """工作日 after ``start`` up to and including ``end`` (0 when end <= start)."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.day(day).workday
        return count

    def _end_of(self, day: date) -> datetime:
        return datetime.combine(day, self.office_day_end, SHANGHAI)

    def year(self, year: int) -> list[Day]:
        day, days = date(year, 1, 1), []
        while day.year == year:
            days.append(self.day(day))
            day += timedelta(days=1)
        return days


_HOLIDAY_NAMES = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "抗战胜利纪念日",
}


def _holiday_name(name: str | None) -> str:
    return _HOLIDAY_NAMES.get(name, name or "")
