"""A process keeps the workflows it wrote (workflow_cache.py): the next step continues one only while
the stored snapshot is the one it wrote, and a step that fails leaves nothing of itself behind."""
from __future__ import annotations

import pytest
from sqlalchemy import update

from conftest import REPO, load_org
from govflow.config import Settings
from govflow.errors import ProcessFailed, ValidationFailed
from govflow.store.models import Instance
from govflow.work.system import Govflow
from helpers import complete, deploy_xml, holder, instance, open_tasks, start, task

REQUEST = (REPO / "processes" / "dept_request.bpmn").read_bytes()
START = {"title": "关于申请专项资金的请示", "department": "czj", "urgency": "一般"}


@pytest.fixture
def system(sqlite_system):
    deploy_xml(sqlite_system, REQUEST, "dept_request.bpmn")
    return sqlite_system


def started(system) -> int:
    org = load_org("bazhou")
    return start(system, org.with_post("office_clerk", org.office_id)[0].id, "dept_request", START)


def review(system, instance_id: int, data: dict) -> None:
    row = task(system, instance_id, "office_review")
    complete(system, holder(system, row), row.id, data)


def kept(system, instance_id: int):
    row = instance(system, instance_id)
    found = system.workflows.take(instance_id, row.snapshot_hash, row.snapshot)
    if found is not None:
        system.workflows.keep(instance_id, row.snapshot_hash, row.snapshot, found)
    return found


def test_the_workflow_a_step_wrote_is_kept_for_the_next_step(system):
    instance_id = started(system)
    first = kept(system, instance_id)
    assert first is not None
    review(system, instance_id, {"decision": "拟办", "opinion": "拟同意"})
    assert kept(system, instance_id) is first                 # the same object went on
    assert {t.step_id for t in open_tasks(system, instance_id)} == {"office_check", "leader_countersign"}


def test_a_step_that_fails_takes_its_workflow_out_and_the_next_one_restores_it(system):
    instance_id = started(system)
    with pytest.raises(ValidationFailed):
        review(system, instance_id, {"decision": "不是选项"})
    assert kept(system, instance_id) is None
    review(system, instance_id, {"decision": "拟办", "opinion": "拟同意"})
    assert {t.step_id for t in open_tasks(system, instance_id)} == {"office_check", "leader_countersign"}


def test_a_step_written_by_another_process_is_not_continued_from_the_old_workflow(system, sqlite_url):
    instance_id = started(system)
    other = Govflow(Settings(database_url=sqlite_url, mode="test", home=REPO, secret_key="test"))  # another server
    review(other, instance_id, {"decision": "拟办", "opinion": "拟同意"})
    assert kept(system, instance_id) is None                      # ours is stale: the snapshot changed
    row = task(system, instance_id, "office_check")               # and ours restores what the other wrote
    complete(system, holder(system, row), row.id, {"decision": "同意"})
    assert {t.step_id for t in open_tasks(system, instance_id)} == {"leader_countersign"}
    other.store.dispose()


def test_an_edited_snapshot_is_refused_even_when_the_workflow_is_kept(system):
    instance_id = started(system)
    with system.store.write() as session:
        session.execute(update(Instance).where(Instance.id == instance_id)
                        .values(snapshot=instance(system, instance_id).snapshot.replace("czj", "jyj")))
    with pytest.raises(ProcessFailed, match="校验值不符"):
        review(system, instance_id, {"decision": "拟办", "opinion": "拟同意"})


def test_an_edited_snapshot_hash_is_refused_even_when_the_workflow_is_kept(system):
    instance_id = started(system)
    with system.store.write() as session:
        session.execute(update(Instance).where(Instance.id == instance_id).values(snapshot_hash="0" * 64))
    with pytest.raises(ProcessFailed, match="校验值不符"):
        review(system, instance_id, {"decision": "拟办", "opinion": "拟同意"})
