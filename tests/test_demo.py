"""`govflow demo` starts with a week of work in flight, made by running the procedures (so every
instance re-executes to its snapshot and the chain verifies), prints the database it uses, and the
other `govflow` commands run in the same directory find that database."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from conftest import REPO
from govflow import cli
from govflow.audit import replay
from govflow.store import eventlog
from govflow.store.models import AgendaItem, Event, FollowupItem, Instance, Meeting, Task


@pytest.fixture
def demo_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GOVFLOW_HOME", str(REPO))
    monkeypatch.delenv("GOVFLOW_DATABASE_URL", raising=False)
    return tmp_path


@pytest.mark.parametrize("profile", ["bazhou", "dongchang"])
def test_the_demo_starts_with_a_week_of_work_made_by_running_the_procedures(demo_dir, profile):
    system, org, made = cli.prepare_demo(profile)
    try:
        with system.store.read() as session:
            now = system.now(session)
            open_rows = list(session.scalars(select(Task).where(Task.state == "open")))
            steps = {(row.process_id, row.step_id) for row in open_rows}
            assert {p for p, _ in steps} >= {"document_approval", "topic_submission", "standing_meeting",
                                            "decision_followup"}, steps
            assert len(steps) >= 6, steps                                      # matters at several steps
            assert any(row.due_at and row.due_at.replace(tzinfo=now.tzinfo) < now for row in open_rows)   # overdue
            assert session.scalar(select(func.count()).select_from(Task).where(Task.state == "returned")) == 1
            meeting = session.scalars(select(Meeting).where(Meeting.instance_id.is_not(None))
                                      .order_by(Meeting.scheduled_at)).first()
            agenda = session.scalars(select(AgendaItem).where(AgendaItem.topic_instance_id.is_not(None))).all()
            assert meeting is not None and agenda and meeting.scheduled_at.replace(tzinfo=now.tzinfo) > now
            assert session.scalar(select(func.count()).select_from(FollowupItem)) == 2      # 督办 items
            # the work was done by people, step by step, and the history holds it
            completed = session.scalar(select(func.count()).select_from(Event).where(Event.type == "task_completed"))
            assert completed >= 8 and eventlog.verify(session).ok
            for instance in session.scalars(select(Instance)):
                assert replay.reexecute(system, session, instance).ok, instance.id
        assert any("已逾期" in line for line in made) and len(made) == len(open_rows)
        assert all(org.display_name(row.assignee) in "".join(made) for row in open_rows if row.assignee)
    finally:
        system.store.dispose()


def test_the_other_commands_find_the_demo_database(demo_dir):
    system, _, _ = cli.prepare_demo("bazhou")
    with system.store.read() as session:
        shown = system.now(session).isoformat(timespec="minutes")
    system.store.dispose()
    answer = CliRunner().invoke(cli.main, ["clock", "show"])
    assert answer.exit_code == 0 and answer.stdout.startswith(shown[:13]), answer.output
    assert "使用演示库 sqlite:///" in answer.stderr and "demo-bazhou.db" in answer.stderr
    verified = CliRunner().invoke(cli.main, ["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    other = CliRunner().invoke(cli.main, ["--database-url", f"sqlite:///{demo_dir}/other.db", "init"])
    assert "other.db" in other.stdout and "演示库" not in other.stderr
