"""A 督办 item reported on round after round keeps a task tree of the same size (engine/compaction.py):
the history before the last irreversible registration is cut from the snapshot, and yet the item
re-executes without a difference, its diagram still shows every step it went through, and nothing
goes back past what the ledger recorded."""
from __future__ import annotations

import json

import pytest

from conftest import REPO
from govflow.audit import replay
from govflow.bpmn.xml import read
from govflow.errors import Conflict
from govflow.store.models import Instance
from govflow.work import instances, rewind
from govflow.work.progress import diagram, progress
from helpers import actor, task, workflow
from procedures import People, by_hand, lead_and_other
from test_followup_process import report

FOLLOWUP = read((REPO / "processes" / "decision_followup.bpmn").read_bytes())


@pytest.fixture
def item(make):
    system = make("bazhou")
    people = People("bazhou")
    lead, other = lead_and_other(people.org)
    return system, people, lead, by_hand(system, people, lead, [other], "2029-12-31")


def tree_size(system, instance_id: int) -> int:
    return len(workflow(system, instance_id).tasks)


def test_the_task_tree_and_the_snapshot_stay_the_same_size_however_many_rounds_are_reported(item):
    system, people, lead, instance_id = item
    sizes = []
    for _ in range(12):
        report(system, people, lead, instance_id)
        with system.store.read() as session:
            snapshot = session.get(Instance, instance_id).snapshot
        sizes.append((tree_size(system, instance_id), len(snapshot)))
    assert sizes[-1][0] == sizes[2][0] < 60                             # bounded, not 12 rounds' worth
    assert sizes[-1][1] < 1.1 * sizes[2][1]
    assert json.loads(snapshot)["trail"]["dropped"] > 100                # the earlier rounds were cut


def test_a_cut_history_re_executes_without_a_difference_and_shows_every_step_done(item):
    system, people, lead, instance_id = item
    for _ in range(4):
        report(system, people, lead, instance_id)
    with system.store.read() as session:
        result = replay.reexecute(system, session, session.get(Instance, instance_id))
    assert result.ok, result.to_dict()
    marks = progress(workflow(system, instance_id), diagram(FOLLOWUP))
    assert {"register", "acknowledge", "acknowledged", "join_round", "record"} <= marks.done
    assert marks.current == {"contribute", "progress_report"}
    drawn = diagram(FOLLOWUP)
    flows = {drawn.flows[f] for f in marks.taken}
    assert ("register", "prepare") in flows and ("acknowledge", "acknowledged") in flows    # before the cut
    assert ("gw_action", "next_round") in flows


def test_the_api_lists_steps_done_before_the_cut(item):
    system, people, lead, instance_id = item
    for _ in range(3):
        report(system, people, lead, instance_id)
    with system.store.read() as session:
        shown = instances.show(system, session, session.get(Instance, instance_id))
    assert {"register", "acknowledge", "progress_report", "record"} <= set(shown["completed_steps"])


def test_nothing_goes_back_to_a_step_cut_off_behind_a_registration(item):
    system, people, lead, instance_id = item
    for _ in range(3):
        report(system, people, lead, instance_id)
    assert "acknowledge" not in {t.task_spec.bpmn_id for t in workflow(system, instance_id).tasks.values()}
    report_row = task(system, instance_id, "progress_report")
    with system.store.write() as session, pytest.raises(Conflict) as refused:
        rewind.send_back(system, session, actor(system, people.staff(lead)), report_row.id, "acknowledge", "重新签收")
    assert refused.value.message == "“报告登记”已登记，不能退回或撤回到此前的步骤"
