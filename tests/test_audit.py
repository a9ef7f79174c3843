"""The event log is hash-chained: an edited, deleted, inserted or reordered row is found and named,
by the service and by `govflow audit verify`."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from conftest import REPO
from govflow.cli import main
from govflow.store import eventlog
from govflow.store.models import Event
from helpers import complete, deploy_xml, events, start, task


@pytest.fixture
def history(system):
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    instance_id = start(system, "zhongjie", "dept_request", {"title": "关于修缮办公楼的请示", "department": "czj",
                                                             "urgency": "一般"})
    complete(system, "zhongjie", task(system, instance_id, "office_review").id,
             {"decision": "拟办", "opinion": "拟同意"})
    assert len(events(system)) >= 8
    return system


def verify(system, instance_id=None):
    with system.store.read() as session:
        return eventlog.verify(session, instance_id)


def run_sql(system, sql: str, **params):
    with system.store.write() as session:
        session.execute(text(sql), params)


def test_an_untouched_log_verifies(history):
    result = verify(history)
    assert result.ok and result.events == result.head_seq == len(events(history))


def test_an_edited_row_is_named(history):
    target = events(history, type_="task_completed")[0]
    run_sql(history, "UPDATE event SET payload = :p WHERE seq = :s",
            p=target.payload.replace("拟同意", "不同意"), s=target.seq)
    result = verify(history)
    assert not result.ok and result.first_bad.seq == target.seq and "改动" in result.first_bad.reason


def test_a_deleted_row_is_named(history):
    run_sql(history, "DELETE FROM event WHERE seq = 5")
    result = verify(history)
    assert result.first_bad.seq == 5 and "缺失" in result.first_bad.reason


def test_a_deleted_last_row_is_found_by_the_chain_head(history):
    last = len(events(history))
    run_sql(history, "DELETE FROM event WHERE seq = :s", s=last)
    assert "链尾" in verify(history).first_bad.reason


def test_an_inserted_row_is_named(history):
    total = len(events(history))
    for seq in range(total, 4, -1):      # make room at 5, as a forger would
        run_sql(history, "UPDATE event SET seq = :n WHERE seq = :s", n=seq + 1, s=seq)
    forged = events(history)[0]
    run_sql(history, "INSERT INTO event (seq, at, type, actor, instance_id, instance_seq, task_id, payload, "
                     "prev_hash, hash) VALUES (5, :at, 'comment', 'forger', NULL, NULL, NULL, '{}', :prev, :h)",
            at=forged.at, prev=forged.hash, h="f" * 64)
    result = verify(history)
    assert result.first_bad.seq == 5


def swap(history, first: int, second: int) -> None:
    """Two events change places, each row keeping its seq."""
    rows = {e.seq: e for e in events(history)}
    a, b = rows[first], rows[second]
    for row, other in ((a, b), (b, a)):
        run_sql(history, "UPDATE event SET type = :t, payload = :p, actor = :a, hash = :h, prev_hash = :ph "
                         "WHERE seq = :s", t=other.type, p=other.payload, a=other.actor, h=other.hash,
                ph=other.prev_hash, s=row.seq)


def test_reordered_rows_are_named(history):
    swap(history, 4, 5)
    assert verify(history).first_bad.seq == 4


def test_one_instances_chain_can_be_checked_alone(history):
    instance_id = events(history, type_="instance_started")[0].instance_id
    assert verify(history, instance_id).ok
    with history.store.read() as session:
        seqs = list(session.scalars(select(Event.instance_seq).where(Event.instance_id == instance_id)
                                    .order_by(Event.seq)))
    assert seqs == list(range(1, len(seqs) + 1))


def test_recorded_payloads_are_canonical_json(history):
    started = events(history, type_="instance_started")[0]
    assert json.loads(started.payload)["data"]["title"] == "关于修缮办公楼的请示"
    assert started.payload == eventlog.canonical(json.loads(started.payload))


def test_the_cli_reports_the_first_bad_event_and_fails(history):
    runner = CliRunner()
    url = history.settings.database_url
    ok = runner.invoke(main, ["--database-url", url, "audit", "verify"])
    assert ok.exit_code == 0 and "事件链完整" in ok.output
    run_sql(history, "UPDATE event SET actor = 'someone' WHERE seq = 3")
    bad = runner.invoke(main, ["--database-url", url, "audit", "verify"])
    assert bad.exit_code == 1 and "第 3 条事件" in bad.output
