"""What one completion asks of the database (issue 8's engine overhead): the statements a step runs
are few and fixed, so a change that adds a query to every step — or brings back the ORM's unit of
work for the rows every step writes — fails here, not only in the benchmark."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from conftest import REPO, load_org
from govflow.work import tasks
from helpers import actor, complete, deploy_xml, holder, start, task

REQUEST = (REPO / "processes" / "dept_request.bpmn").read_bytes()
ORG = load_org("bazhou")
CLERK = next(p.id for p in ORG.with_post("office_clerk", ORG.office_id) if not p.roles)
DEPT = next(d for d in ORG.departments if ORG.portfolio_leader(d))
ANSWERS = {"office_review": {"decision": "拟办", "opinion": "拟同意"}, "office_check": {"decision": "同意"},
           "leader_countersign": {"decision": "同意"}}
BUDGET = 16      # statements of one completion's transaction on SQLite, BEGIN included: 15 when written


@pytest.fixture
def system(sqlite_system):
    deploy_xml(sqlite_system, REQUEST, "dept_request.bpmn")
    return sqlite_system


def statements_of(system, run) -> list[str]:
    seen: list[str] = []

    def record(_connection, _cursor, statement, *_):
        seen.append(" ".join(statement.split()))

    event.listen(system.store.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(system.store.engine, "before_cursor_execute", record)
    return seen


def answer(system, instance_id: int, step: str) -> list[str]:
    """The statements of completing ``step``, the one whose completion opens 签发 and counts its
    3 工作日 deadline (a boundary timer of ``workdays(3)``)."""
    row = task(system, instance_id, step)
    person = actor(system, holder(system, row))

    def completion():
        with system.store.write() as session:
            tasks.complete(system, session, person, row.id, ANSWERS[step])

    return statements_of(system, completion)


def to_countersign(system) -> int:
    instance_id = start(system, CLERK, "dept_request", {"title": "关于申请专项资金的请示", "department": DEPT,
                                                         "urgency": "一般"})
    for step in ("office_review", "office_check"):
        row = task(system, instance_id, step)
        complete(system, holder(system, row), row.id, ANSWERS[step])
    return instance_id


def test_a_completion_that_counts_a_deadline_runs_a_fixed_handful_of_statements(system):
    answer(system, to_countersign(system), "leader_countersign")       # the calendar is read once, and kept
    seen = answer(system, to_countersign(system), "leader_countersign")
    writes = [s for s in seen if s.startswith(("UPDATE", "INSERT", "DELETE"))]
    assert len(seen) <= BUDGET, "\n".join(seen)
    assert sum(s.startswith("UPDATE instance") for s in writes) == 1       # the snapshot, once
    assert sum(s.startswith("UPDATE task") for s in writes) == 1           # the completed row, once
    assert not any("calendar_day" in s or "calendar_year" in s for s in seen)
    assert [s for s in seen if "clock_setting" in s] == [s for s in seen if "organisation" in s]  # read together
