"""The 工作日 calendar: holidays and 调休, the counting rule of 民法典 第二百零一条, overrides, and
years nobody has published yet (estimated, and marked so)."""
from __future__ import annotations

from datetime import date, datetime, time

import pytest

from govflow.time.timeutil import SHANGHAI
from govflow.time.workdays import WorkdayCalendar


def at(y, m, d, hh=9, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.mark.parametrize("start, days, due", [
    (at(2026, 11, 23), 3, date(2026, 11, 26)),    # Monday + 3 wd ends Thursday (the period starts next day)
    (at(2026, 9, 28), 7, date(2026, 10, 13)),     # RULES.md: over 国庆, with Saturday 10-10 a make-up day
    (at(2026, 11, 27), 1, date(2026, 11, 30)),    # Friday + 1 wd is Monday
    (at(2026, 11, 28, 22), 1, date(2026, 11, 30)),  # a Saturday night request: counting starts Sunday
])
def test_deadlines_count_working_days(start, days, due):
    deadline = WorkdayCalendar().add_workdays(start, days)
    assert deadline.at == datetime.combine(due, time(17, 30), SHANGHAI)
    assert deadline.estimated is False


def test_the_deadline_hour_is_the_local_office_day_end():
    deadline = WorkdayCalendar(office_day_end=time(18, 0)).add_workdays(at(2026, 11, 23), 1)
    assert deadline.at == at(2026, 11, 24, 18, 0)


def test_a_year_nobody_published_is_estimated_and_says_so():
    calendar = WorkdayCalendar()
    deadline = calendar.add_workdays(at(2026, 12, 29), 5)
    assert deadline.at.date() == date(2027, 1, 5)          # weekdays only: 12-30, 12-31, 1-1, 1-4, 1-5
    assert deadline.estimated and deadline.estimated_days[0] == date(2027, 1, 1)
    assert "估算" in deadline.to_dict()["note"]
    assert calendar.day(date(2027, 1, 1)).source == "estimate"


def test_loading_the_published_schedule_ends_the_estimate():
    holidays = {date(2027, 1, 1): (False, "元旦")}
    calendar = WorkdayCalendar(holidays, published_years={2027})
    deadline = calendar.add_workdays(at(2026, 12, 29), 5)
    assert deadline.at.date() == date(2027, 1, 6) and not deadline.estimated   # 元旦 no longer counted


def test_an_override_beats_the_library():
    calendar = WorkdayCalendar({date(2026, 11, 24): (False, "临时调整")})
    assert calendar.add_workdays(at(2026, 11, 23), 1).at.date() == date(2026, 11, 25)
    assert calendar.day(date(2026, 11, 24)).source == "override"


def test_every_deadline_falls_on_a_working_day():
    calendar = WorkdayCalendar()
    start = at(2026, 1, 1)
    for days in range(1, 250, 7):
        due = calendar.add_workdays(start, days).at.date()
        assert calendar.day(due).workday, due


def test_workdays_between_counts_after_the_start():
    calendar = WorkdayCalendar()
    assert calendar.workdays_between(date(2026, 9, 28), date(2026, 10, 13)) == 7


def test_bad_counts_are_refused():
    with pytest.raises(ValueError):
        WorkdayCalendar().add_workdays(at(2026, 1, 5), -1)


def test_working_days_before_a_meeting():
    calendar = WorkdayCalendar()
    assert calendar.workdays_before(date(2026, 11, 26), 2) == date(2026, 11, 24)      # Thursday → Tuesday
    assert calendar.workdays_before(date(2026, 10, 12), 2) == date(2026, 10, 9)       # over 国庆 and 10-10 调休
