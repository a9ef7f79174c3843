"""What the instance page highlights: the steps done, the steps an instance stands at, and the
flows it took — read from the task tree of real instances, with SpiffWorkflow's own specs (Start,
End, *.EndJoin, *.BoundaryEventSplit), sub-processes, multi-instance steps, armed deadline timers,
parallel joins and 退文 loops."""
from __future__ import annotations

import pytest

from conftest import REPO
from govflow.bpmn.xml import read
from govflow.work.progress import Progress, diagram, progress
from helpers import complete, deploy_xml, holder, open_tasks, start, task, workflow
from test_document_process import People

DOCUMENT = (REPO / "processes" / "document_approval.bpmn").read_bytes()
REQUEST = (REPO / "processes" / "dept_request.bpmn").read_bytes()


def marks(system, instance_id: int, xml: bytes) -> Progress:
    return progress(workflow(system, instance_id), diagram(read(xml)))


@pytest.fixture
def documents(sqlite_system):
    deploy_xml(sqlite_system, DOCUMENT, "document_approval.bpmn")
    return sqlite_system


def submitted(system, people: People) -> int:
    instance_id = start(system, people.sender, "document_approval", people.document())
    complete(system, people.clerk, task(system, instance_id, "receipt").id, {"received": True})
    return instance_id


def test_the_diagram_names_its_shapes_and_each_flow_by_its_ends():
    drawn = diagram(read(DOCUMENT))
    assert drawn.flows["f_accept"] == ("gw_review", "route") and drawn.flows["fi_timed"] == ("gw_window", "reply_timed")
    assert {"consult", "reply_timed", "reply_late", "f_accept", "document_approval_participant"} <= drawn.shapes
    assert "Start" not in drawn.shapes and "consult.EndJoin" not in drawn.shapes


def test_a_document_in_consultation_stands_in_the_subprocess_and_not_at_its_deadline_timer(documents):
    people = People("bazhou")
    instance_id = submitted(documents, people)
    complete(documents, people.clerk, task(documents, instance_id, "office_review").id,
             {"decision": "拟办", "opinion": "拟办"})
    shown = marks(documents, instance_id, DOCUMENT)
    assert shown.current == {"consult", "reply_timed"}                       # reply_late: armed, not current
    assert {"start", "intake", "receipt", "check", "office_review", "gw_review", "route", "reply_start",
            "gw_window"} <= shown.done
    assert {"f_start", "f_intake", "f_receipt", "f_check", "f_reviewed", "f_accept", "f_consult",
            "fi_start", "fi_timed"} <= shown.taken
    assert not {"f_return", "f_no_consult", "fi_plain", "fi_late"} & shown.taken
    drawn = diagram(read(DOCUMENT)).shapes
    assert shown.done | shown.current | shown.taken <= drawn                  # no Start, End, *.EndJoin


def test_after_the_reply_the_subprocess_is_done_and_the_leaders_review_is_current(documents):
    people = People("bazhou")
    instance_id = submitted(documents, people)
    complete(documents, people.clerk, task(documents, instance_id, "office_review").id,
             {"decision": "拟办", "opinion": "拟办"})
    complete(documents, people.other_head, task(documents, instance_id, "reply_timed").id, {"decision": "同意"})
    shown = marks(documents, instance_id, DOCUMENT)
    assert shown.current == {"leader_review"}                                 # the multi-instance step
    assert {"consult", "reply_timed", "replied", "tally", "gw_objection", "gw_reviewers"} <= shown.done
    assert {"fi_reply", "f_consulted", "f_tallied", "f_agreed", "f_to_leaders"} <= shown.taken
    assert "reply_late" not in shown.done | shown.current                    # its timer was cancelled


def test_a_returned_document_takes_the_loop_and_its_review_is_current_again(documents):
    people = People("bazhou")
    instance_id = submitted(documents, people)
    complete(documents, people.clerk, task(documents, instance_id, "office_review").id,
             {"decision": "退文", "opinion": "请补充资金测算"})
    complete(documents, people.sender, task(documents, instance_id, "revise").id,
             {**people.document(), "revise_action": "重新报送", "response": "已补充"})
    shown = marks(documents, instance_id, DOCUMENT)
    assert shown.current == {"office_review"} and "office_review" not in shown.done
    assert {"revise", "gw_resubmit"} <= shown.done
    assert {"f_return", "f_revised", "f_resubmit"} <= shown.taken and "f_accept" not in shown.taken


def test_a_parallel_split_waits_at_its_join_until_both_branches_arrive(sqlite_system):
    deploy_xml(sqlite_system, REQUEST, "dept_request.bpmn")
    instance_id = start(sqlite_system, "zhongjie", "dept_request",
                        {"title": "关于修缮办公楼的请示", "department": "czj", "urgency": "一般"})
    complete(sqlite_system, "zhongjie", task(sqlite_system, instance_id, "office_review").id,
             {"decision": "拟办", "opinion": "拟同意"})
    leader = task(sqlite_system, instance_id, "leader_countersign")
    complete(sqlite_system, leader.assignee, leader.id, {"decision": "同意"})
    waiting = marks(sqlite_system, instance_id, REQUEST)
    assert waiting.current == {"office_check", "join_countersign"}
    assert "flow_leader_countersigned" in waiting.taken and "flow_office_checked" not in waiting.taken
    check = open_tasks(sqlite_system, instance_id)[0]
    complete(sqlite_system, holder(sqlite_system, check), check.id, {"decision": "同意"})
    joined = marks(sqlite_system, instance_id, REQUEST)
    assert joined.current == {"sign_off"}                                    # sign_deadline: armed, not current
    assert {"flow_office_checked", "flow_leader_countersigned", "flow_joined", "flow_agreed"} <= joined.taken
    assert joined.to_dict()["current"] == ["sign_off"]
