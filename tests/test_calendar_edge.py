"""Deadlines across the end of the calendar's coverage, end to end: a 签发 that falls due in a year
chinesecalendar does not know yet is estimated, marked 推定 in the inbox, the API and the pages, and
its timer is set; the administrator loads the year's 放假安排 with `govflow calendar load-year`; the
deadline moves in the inbox row and in the workflow's timer, which then fires at the new time only.
A bad schedule file is refused in Chinese and changes nothing."""
from __future__ import annotations

import json
import re
from datetime import date, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select

from conftest import REPO, load_org
from govflow.app import create_app
from govflow.audit import replay
from govflow.cli import main
from govflow.config import Settings
from govflow.engine import spiff
from govflow.store import eventlog
from govflow.store.models import CalendarDay, CalendarYear, Event, Instance, Revision
from govflow.time.timeutil import SHANGHAI
from govflow.time.workdays import WorkdayCalendar
from govflow.work import admin, worker
from govflow.work.system import Govflow
from helpers import complete, deploy_xml, events, open_tasks, start, task, workflow
from procedures import People, by_hand
from test_followup_process import item_of, report

ORG = load_org("bazhou")
CLERK = next(p.id for p in ORG.with_post("office_clerk", ORG.office_id) if not p.roles)
DEPT = next(d for d in ORG.departments if ORG.portfolio_leader(d))
LEADER = ORG.portfolio_leader(DEPT).id
UNCOVERED = 2027
# The deadline of 签发 (3 工作日) from Tuesday 2026-12-29: 12-30, 12-31, then 2027-01-01, a Friday
# counted as a working day while 2027 is estimated, and 2027-01-04 once 元旦 is known to be a holiday.
ESTIMATED_DUE = datetime(2027, 1, 1, 17, 30, tzinfo=SHANGHAI)
PUBLISHED_DUE = datetime(2027, 1, 4, 17, 30, tzinfo=SHANGHAI)
SCHEDULE = {"year": 2027, "source": "国办发明电〔2026〕N号（测试用）",
            "holidays": ["2027-01-01", "2027-01-02", "2027-01-03", *[f"2027-02-{d:02}" for d in range(6, 14)]],
            "workdays": ["2027-02-14", "2027-02-20"]}


def test_the_library_does_not_cover_the_year_the_deadline_falls_in():
    # chinesecalendar ends at its last release year; if an upgrade covers 2027, move UNCOVERED on a year
    assert WorkdayCalendar().covers(UNCOVERED - 1) and not WorkdayCalendar().covers(UNCOVERED)


@pytest.fixture
def at_sign_off(system):
    return to_sign_off(system)


@pytest.fixture
def at_sign_off_sqlite(sqlite_system):
    return to_sign_off(sqlite_system)


def to_sign_off(system) -> int:
    """A dept_request waiting for 签发 by the 分管副区长, the step started on 2026-12-29."""
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    set_clock(system, datetime(2026, 12, 29, 9, 0, tzinfo=SHANGHAI))
    instance_id = start(system, CLERK, "dept_request", {"title": "关于年末追加防汛经费的请示", "department": DEPT,
                                                        "urgency": "一般"})
    complete(system, CLERK, task(system, instance_id, "office_review").id, {"decision": "拟办", "opinion": "拟同意"})
    complete(system, CLERK, task(system, instance_id, "office_check").id, {"decision": "同意"})
    complete(system, LEADER, task(system, instance_id, "leader_countersign").id, {"decision": "同意"})
    return instance_id


def set_clock(system, at: datetime) -> None:
    with system.store.write() as session:
        admin.set_clock(system, session, at, True, "test")


def govflow(system, *args: str):
    return CliRunner().invoke(main, ["--database-url", system.settings.database_url, *args],
                              env={"GOVFLOW_MODE": "test", "GOVFLOW_HOME": str(REPO)})


def timer_dues(system, instance_id: int) -> list[datetime]:
    return [spiff.timer_due(e.value) for e in workflow(system, instance_id).waiting_events()
            if e.event_type in spiff.TIMER_EVENT_TYPES]


def next_timer(system, instance_id: int) -> datetime:
    with system.store.read() as session:
        return session.get(Instance, instance_id).next_timer_at


def shown(system, instance_id: int) -> tuple[dict, str, str]:
    """The 签发 task as the leader sees it: the API's inbox row, the inbox page and the task page."""
    client = create_app(system=system).test_client()
    token = client.post("/api/v1/auth/token", json={"username": LEADER, "password": "demo"}).get_json()["token"]
    items = client.get("/api/v1/tasks", headers={"Authorization": f"Bearer {token}"}).get_json()["items"]
    row = next(i for i in items if i["instance_id"] == instance_id and i["step"] == "sign_off")
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(True)).group(1)
    client.post("/login", data={"csrf": csrf, "username": LEADER, "password": "demo"})
    inbox_row = re.search(r"<tr[^>]*>(?:(?!</tr>).)*关于年末追加防汛经费的请示.*?</tr>",
                          client.get("/inbox").get_data(True), re.S).group(0)
    return row, inbox_row, client.get(f"/tasks/{row['id']}").get_data(True)


def test_a_deadline_in_an_unpublished_year_is_estimated_then_moved_with_its_timer(system, at_sign_off, tmp_path):
    instance_id = at_sign_off
    signing = task(system, instance_id, "sign_off")
    assert signing.due_estimated and signing.due_at == ESTIMATED_DUE
    assert timer_dues(system, instance_id) == [ESTIMATED_DUE] and next_timer(system, instance_id) == ESTIMATED_DUE
    row, inbox_row, task_page = shown(system, instance_id)
    assert row["due_estimated"] is True and row["due_at"] == "2027-01-01T17:30:00+08:00"
    assert "2027年1月1日 17:30" in inbox_row and "（推定）" in inbox_row
    assert "推定：次年节假日安排未公布" in task_page

    schedule = tmp_path / "2027.json"
    schedule.write_text(json.dumps(SCHEDULE, ensure_ascii=False), encoding="utf-8")
    loaded = govflow(system, "calendar", "load-year", str(schedule))
    assert loaded.exit_code == 0, loaded.output
    assert "已录入 2027 年放假安排：11 天假日，2 天调休上班；1 个按估算得出的期限已重新计算" in loaded.output

    signing = task(system, instance_id, "sign_off")
    assert not signing.due_estimated and signing.due_at == PUBLISHED_DUE
    assert timer_dues(system, instance_id) == [PUBLISHED_DUE] and next_timer(system, instance_id) == PUBLISHED_DUE
    row, inbox_row, task_page = shown(system, instance_id)
    assert row["due_estimated"] is False and row["due_at"] == "2027-01-04T17:30:00+08:00"
    assert "2027年1月4日 17:30" in inbox_row and "推定" not in inbox_row and "推定" not in task_page
    [moved] = [json.loads(e.payload) for e in events(system, instance_id, "deadline_recomputed")]
    assert moved == {"step": "sign_off", "from": "2027-01-01T17:30:00+08:00", "to": "2027-01-04T17:30:00+08:00"}
    with system.store.read() as session:
        checked = eventlog.verify(session)
    assert checked.ok and checked.events == len(events(system))

    set_clock(system, datetime(2027, 1, 1, 18, 0, tzinfo=SHANGHAI))        # the estimated deadline has passed
    assert worker.run_once(system) == 0
    assert [t.step_id for t in open_tasks(system, instance_id)] == ["sign_off"]
    set_clock(system, datetime(2027, 1, 4, 18, 0, tzinfo=SHANGHAI))        # the published one has
    assert worker.run_once(system) == 1
    assert {t.step_id for t in open_tasks(system, instance_id)} == {"sign_off", "overdue_notice"}
    assert [json.loads(e.payload)["due"] for e in events(system, instance_id, "timer_fired")] == \
        ["2027-01-04T17:30:00+08:00"]


def test_a_followup_report_due_counted_by_an_operator_is_estimated_and_moved(make, tmp_path):
    """The 督办 report's due date comes from an operator (F-rules: every N 工作日), not from a
    diagram's workdays(): it is marked and moved all the same, in the inbox and in the round's data
    the report is judged by, and re-execution of the history agrees."""
    system, people = make("bazhou"), People("bazhou")
    set_clock(system, datetime(2026, 12, 21, 9, 0, tzinfo=SHANGHAI))
    instance_id = by_hand(system, people, "zjj", [], "2027-06-30")
    reporting = task(system, instance_id, "progress_report")
    # 10 工作日 from Monday 12-21: 12-22 … 12-31 are 8, the estimated 2027-01-01 and 01-04 make 10
    assert reporting.due_estimated and reporting.due_workdays == 10
    assert reporting.due_at == datetime(2027, 1, 4, 17, 30, tzinfo=SHANGHAI)
    schedule = tmp_path / "2027.json"
    schedule.write_text(json.dumps(SCHEDULE, ensure_ascii=False), encoding="utf-8")
    assert "1 个按估算得出的期限已重新计算" in govflow(system, "calendar", "load-year", str(schedule)).output
    reporting = task(system, instance_id, "progress_report")
    assert not reporting.due_estimated and reporting.due_at == datetime(2027, 1, 5, 17, 30, tzinfo=SHANGHAI)
    set_clock(system, datetime(2027, 1, 4, 18, 0, tzinfo=SHANGHAI))
    worker.run_once(system)
    assert not events(system, instance_id, "task_pressed")               # not late by the published calendar
    set_clock(system, datetime(2027, 1, 5, 10, 0, tzinfo=SHANGHAI))
    report(system, people, "zjj", instance_id)                           # F4 judges it by the moved deadline too
    assert item_of(system, instance_id).late_reports == 0
    with system.store.read() as session:
        assert [r.ok for r in replay.reexecute_all(system, session, instance_id)] == [True]


def bad(schedule: dict, **change) -> str:
    return json.dumps({**schedule, **change}, ensure_ascii=False)


BAD_FILES = [
    ('{"year": 2027, "holidays": ["2027-01-01"', "不是合法的 JSON（第 1 行第 41 列）"),
    (bad(SCHEDULE, year="明年"), "“年份（year）”应为整数"),
    (bad(SCHEDULE, holidays=["2027-01-32"]), "“放假日期”格式应为 日期"),
    (bad({k: v for k, v in SCHEDULE.items() if k != "source"}), "“依据（source）”为必填项"),
    (bad(SCHEDULE, holidays=[], workdays=[]), "2027 年放假安排中没有任何假日"),
    (bad(SCHEDULE, holidays=["2027-01-01", "2028-01-01"], workdays=["2026-12-26"]), "日期不属于 2027 年"),
    (bad(SCHEDULE, year=1900, holidays=["1900-01-01"], workdays=[]), "年份须在 2000 到 2100 之间"),
    (bad(SCHEDULE, workdays=["2027-01-01"]), "同一天不能既是假日又是工作日"),
]


def test_a_bad_schedule_file_is_refused_in_chinese_and_changes_nothing(sqlite_system, at_sign_off_sqlite, tmp_path):
    system = sqlite_system
    before = calendar_state(system)
    for number, (text, says) in enumerate(BAD_FILES):      # one instance for all: it takes a while to set up
        path = tmp_path / f"schedule-{number}.json"
        path.write_text(text, encoding="utf-8")
        result = govflow(system, "calendar", "load-year", str(path))
        assert result.exit_code == 2 and "错误：" in result.output and says in result.output, (text, result.output)
        assert "Traceback" not in result.output and "Error" not in result.output
        assert calendar_state(system) == before, text
    signing = task(system, at_sign_off_sqlite, "sign_off")
    assert signing.due_estimated and signing.due_at == ESTIMATED_DUE


def test_loading_the_year_again_completes_an_interrupted_recomputation(sqlite_system, at_sign_off_sqlite, tmp_path):
    system = sqlite_system
    with system.store.write() as session:     # the schedule committed, then the process died before recomputing
        admin.load_calendar_year(system, session, 2027, [date.fromisoformat(d) for d in SCHEDULE["holidays"]],
                                 [date.fromisoformat(d) for d in SCHEDULE["workdays"]], SCHEDULE["source"], "cli")
    assert task(system, at_sign_off_sqlite, "sign_off").due_estimated          # still shown 推定, not hidden
    schedule = tmp_path / "2027.json"
    schedule.write_text(json.dumps(SCHEDULE, ensure_ascii=False), encoding="utf-8")
    assert "1 个按估算得出的期限已重新计算" in govflow(system, "calendar", "load-year", str(schedule)).output
    assert task(system, at_sign_off_sqlite, "sign_off").due_at == PUBLISHED_DUE
    assert timer_dues(system, at_sign_off_sqlite) == [PUBLISHED_DUE]


def calendar_state(system) -> tuple:
    with system.store.read() as session:
        return (session.scalar(select(func.count()).select_from(CalendarDay)),
                session.scalar(select(func.count()).select_from(CalendarYear)),
                session.scalar(select(func.count()).select_from(Event)),
                system.calendar(session).day(date(2027, 1, 1)).source)


def test_a_day_changed_through_another_process_reaches_the_calendar_this_one_keeps(system, database_url):
    """Every process keeps the calendar's rows between steps; a change made through another app
    server or worker must still count from its commit on."""
    other = Govflow(Settings(database_url=database_url, mode="test", home=REPO, secret_key="test"))
    monday = date(2026, 12, 7)
    with system.store.read() as session:
        assert system.runtime(session).calendar.day(monday).workday       # read, and kept
    with other.store.write() as session:
        admin.set_calendar_day(other, session, monday, False, "临时调整", "test")
    with system.store.read() as session:
        assert not system.runtime(session).calendar.day(monday).workday
        assert system.calendar(session).day(monday).note == "临时调整"
    other.store.dispose()


def test_without_its_revision_row_the_calendar_is_read_every_time_and_a_change_writes_the_row(system, database_url):
    other = Govflow(Settings(database_url=database_url, mode="test", home=REPO, secret_key="test"))
    monday = date(2026, 12, 7)
    with system.store.write() as session:
        session.execute(delete(Revision))
    with system.store.read() as session:
        assert system.runtime(session).calendar.day(monday).workday
    with other.store.write() as session:
        admin.set_calendar_day(other, session, monday, False, "临时调整", "test")
    with system.store.read() as session:
        assert not system.runtime(session).calendar.day(monday).workday
        assert session.scalar(select(func.count()).select_from(Revision)) == 1
    other.store.dispose()
