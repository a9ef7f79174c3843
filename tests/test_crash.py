"""Crash consistency, a few runs of bench/crash.py on each database (the script itself does 200):
the server and the worker are real processes, killed with SIGKILL while clients complete tasks and
timers fire; after the restart nothing accepted is missing, every instance re-executes to its
snapshot, the inbox is what the snapshots say, the chain verifies and nothing was done twice."""
from __future__ import annotations

import re
import sys

import pytest
from sqlalchemy import update

from conftest import PG_URL, REPO
from govflow.store.models import Task
from helpers import deploy_xml, start

sys.path.insert(0, str(REPO / "bench"))
import crash  # noqa: E402  (bench/crash.py)


def accepted_completions(report: str) -> int:
    return int(re.search(r"(\d+) accepted completions", report).group(1))


def test_killed_server_and_worker_lose_nothing_on_sqlite(capsys):
    assert crash.main(["--quick", "--seed", "11"]) == 0, capsys.readouterr().out
    report = capsys.readouterr().out
    assert "sqlite: 2 runs, 2 ok, 0 failed" in report and accepted_completions(report) > 10, report


@pytest.mark.postgres
def test_killed_server_and_worker_lose_nothing_on_postgres(pg_admin, capsys):
    assert crash.main(["--quick", "--db", "postgres", "--seed", "12", "--admin-url", PG_URL]) == 0, \
        capsys.readouterr().out
    report = capsys.readouterr().out
    assert "postgres: 2 runs, 2 ok, 0 failed" in report and accepted_completions(report) > 10, report


def test_sqlite_commits_are_on_disk_before_the_answer(sqlite_system):
    """A SIGKILL cannot tell NORMAL from FULL; a power cut can: with NORMAL, WAL's last commits may be
    lost, and with them completions whose success was answered."""
    with sqlite_system.store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2        # FULL
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_the_checks_find_a_lost_completion(sqlite_system):
    """The check is not vacuous: a completion the client saw succeed, but whose row and event are not
    in the database, is reported."""
    result = crash.RunResult(1, "server", 1.0, crash.Accepted(
        completions=[{"task": "00000000-0000-0000-0000-000000000000", "instance": 1, "person": "qianze",
                      "step": "office_review"}]))
    crash.check(sqlite_system.settings.database_url, result)
    assert [p[:3] for p in result.problems] == ["(a)", "(a)"]


def test_the_checks_find_an_inbox_that_left_its_snapshot(sqlite_system):
    deploy_xml(sqlite_system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    instance_id = start(sqlite_system, "zhongjie", "dept_request", crash.REQUEST)
    with sqlite_system.store.write() as session:       # a task closed behind the engine's back
        session.execute(update(Task).where(Task.instance_id == instance_id).values(state="completed"))
    result = crash.RunResult(1, "server", 1.0, crash.Accepted())
    crash.check(sqlite_system.settings.database_url, result)
    assert any(p.startswith("(b)") and "READY" in p for p in result.problems), result.problems
    assert any(p.startswith("(d)") and "without its event" in p for p in result.problems), result.problems
