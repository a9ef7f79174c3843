"""The event log exported as XES and OCEL 2.0 and read back by pm4py (a test dependency only: it is
AGPL, and govflow never imports it): counts, Chinese text and +08:00 times survive; a model is
discovered; and the log replays on the Petri nets pm4py makes of the three procedures' diagrams."""
from __future__ import annotations

import time
import xml.etree.ElementTree as ElementTree

import pytest
from click.testing import CliRunner

from conftest import REPO, Api, build_system
from govflow.app import create_app
from govflow.audit import exports
from govflow.cli import main
from helpers import complete, deploy_xml, holder, start, task
from procedures import DIAGRAMS, by_hand, scheduled_topic
from procedures import People as TopicPeople
from test_document_process import People as DocumentPeople

pm4py = pytest.importorskip("pm4py")

DOCUMENTS = 1000
STRAIGHT_THROUGH = (("receipt", {"received": True}), ("office_review", {"decision": "拟办", "opinion": "拟办"}),
                    ("signing", {"decision": "同意", "opinion": "同意"}),
                    ("publish", {"copies": 50, "distribution": "区级各部门，乡镇人民政府"}))
# What bazhou's straight-through document records as done, in order (scripts are not recorded); 正文复核
# is D12's check after 印发 that the 正文 was not changed since 签发.
DOCUMENT_STEPS = ["收文核验", "收文登记", "合规审查", "办公室审核", "拟办分送", "签发", "签发记录", "登记编号", "印发",
                  "正文复核"]
TOPICS = FOLLOWUPS = 20


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    """One database for the module: 1,000 straight-through documents, and topics and 督办事项 part
    of the way (approved and prepared; acknowledged)."""
    system = build_system(f"sqlite:///{tmp_path_factory.mktemp('exports')}/govflow.db", "bazhou")
    for name in ("document_approval", *DIAGRAMS):
        deploy_xml(system, (REPO / "processes" / f"{name}.bpmn").read_bytes(), f"{name}.bpmn")
    began, people = time.perf_counter(), DocumentPeople("bazhou")
    for _ in range(DOCUMENTS):
        instance_id = start(system, people.sender, "document_approval", people.document(departments=[]))
        for step, data in STRAIGHT_THROUGH:
            row = task(system, instance_id, step)
            complete(system, holder(system, row), row.id, data)
    print(f"\n{DOCUMENTS} straight-through documents in {time.perf_counter() - began:.1f} s")
    topic_people = TopicPeople("bazhou")
    for _ in range(TOPICS):
        scheduled_topic(system, topic_people.org)
    lead, assisting = sorted(d for d in topic_people.org.departments if d != topic_people.org.office_id)[-2:]
    for _ in range(FOLLOWUPS):
        by_hand(system, topic_people, lead, [assisting], "2027-03-31")
    yield system
    system.store.dispose()


def written(system, fmt: str, path, process_id: str | None = None) -> str:
    with system.store.read() as session:
        text = "".join(exports.export(session, fmt, system.organisation(session), process_id))
    path.write_text(text, encoding="utf-8")
    return text


@pytest.fixture(scope="module")
def xes_log(system, tmp_path_factory):
    """The documents' XES as pm4py reads it, its completions only (XES lifecycle: the schedule and
    assign events of the inbox say when a step was offered, not that it was done)."""
    path = tmp_path_factory.mktemp("xes") / "documents.xes"
    written(system, "xes", path, "document_approval")
    log = pm4py.read_xes(str(path))
    return log[log["lifecycle:transition"] == "complete"]


def test_pm4py_reads_the_xes_with_its_chinese_and_its_beijing_times(xes_log, tmp_path):
    assert xes_log["case:concept:name"].nunique() == DOCUMENTS
    assert len(xes_log) == DOCUMENTS * len(DOCUMENT_STEPS)
    first = xes_log[xes_log["case:concept:name"] == xes_log["case:concept:name"].iloc[0]]
    assert list(first["concept:name"]) == DOCUMENT_STEPS
    assert set(first["case:govflow:title"]) == {"关于申请城区排水管网改造资金的请示"}
    assert set(first["org:resource"]) >= {"system", "tangjianjun"}
    stamp = first["time:timestamp"].iloc[0]
    assert stamp.utcoffset() is None or stamp.utcoffset().total_seconds() in (0, 8 * 3600)
    assert stamp.tz_convert("Asia/Shanghai").isoformat() == "2026-11-23T09:00:00+08:00"


def test_the_xes_is_utf8_xml_with_offsets_and_escaped_text(system, tmp_path):
    text = written(system, "xes", tmp_path / "all.xes")
    assert "收文登记" in text and "\\u" not in text and 'value="2026-11-23T09:00:00+08:00"' in text
    root = ElementTree.fromstring(text.encode("utf-8"))
    traces = root.findall("{http://www.xes-standard.org/}trace")
    assert len(traces) == DOCUMENTS + TOPICS + FOLLOWUPS
    assert exports._xml('a<b & "c"') == "a&lt;b &amp; &quot;c&quot;"


def test_a_model_discovered_from_the_documents_replays_them_all(xes_log):
    net, im, fm = pm4py.discover_petri_net_inductive(xes_log)
    assert {t.label for t in net.transitions if t.label} == set(DOCUMENT_STEPS)
    assert pm4py.fitness_token_based_replay(xes_log, net, im, fm)["log_fitness"] == pytest.approx(1.0)


def diagram_net(name: str):
    """pm4py's Petri net of a diagram, made to say what BPMN says where pm4py's conversion does not:
    - script tasks leave nothing in the log (they are bookkeeping, not steps): silent;
    - a multi-instance activity runs once per item, zero times for none (分管领导审核会签 with no
      reviewers): pm4py converts it as exactly once, so it gets a silent skip and a silent redo."""
    root = ElementTree.parse(REPO / "processes" / f"{name}.bpmn").getroot()
    bpmn_ns = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
    scripts = {e.get("name") for e in root.iter(f"{bpmn_ns}scriptTask")}
    multi = {e.get("name") for e in root.iter() if e.find(f"{bpmn_ns}multiInstanceLoopCharacteristics") is not None}
    net, im, fm = pm4py.convert_to_petri_net(pm4py.read_bpmn(str(REPO / "processes" / f"{name}.bpmn")))
    for transition in list(net.transitions):
        if transition.label in scripts:
            transition.label = None
        elif transition.label in multi:
            _skip_and_redo(net, transition)
    return net, im, fm


def _skip_and_redo(net, transition) -> None:
    from pm4py.objects.petri_net.obj import PetriNet
    from pm4py.objects.petri_net.utils.petri_utils import add_arc_from_to
    (before,), (after,) = [a.source for a in transition.in_arcs], [a.target for a in transition.out_arcs]
    for name, source, target in (("skip", before, after), ("redo", after, before)):
        silent = PetriNet.Transition(f"{transition.name}_{name}", None)
        net.transitions.add(silent)
        add_arc_from_to(source, silent, net)
        add_arc_from_to(silent, target, net)


def test_a_thousand_straight_through_documents_conform_to_their_diagram(xes_log):
    net, im, fm = diagram_net("document_approval")
    fitness = pm4py.fitness_token_based_replay(xes_log, net, im, fm)
    print(f"\ndocument_approval: {fitness}")
    assert fitness["log_fitness"] >= 0.95


@pytest.mark.parametrize("process_id, bound", [
    ("topic_submission", 0.95),    # measured 0.96: 2 tokens of 52 left behind per trace
    ("decision_followup", 0.75),   # measured 0.80
])
def test_running_topics_and_followups_deviate_only_by_being_unfinished(system, tmp_path, process_id, bound):
    """Measured, not hidden. These instances are running (a topic approved and prepared for a
    meeting; a 督办事项 acknowledged), so each trace is a prefix: token replay fires every recorded
    step without a problem, and falls short of 1 only at the end, where the end event's token is
    missing and one is left where the instance waits.
    What pm4py's BPMN conversion cannot model, and these cases therefore do not exercise: boundary
    timers (答复时限, 限期报告 reminders: their branches have no trigger in the net, so a fired timer
    is a missing token), event-based waits, and multi-instance sub-processes (征求意见, 协办单位),
    converted as a single pass where diagram_net repairs only multi-instance tasks."""
    written(system, "xes", tmp_path / f"{process_id}.xes", process_id)
    log = pm4py.read_xes(str(tmp_path / f"{process_id}.xes"))
    log = log[log["lifecycle:transition"] == "complete"]
    net, im, fm = diagram_net(process_id)
    traces = pm4py.conformance_diagnostics_token_based_replay(log, net, im, fm)
    assert len(traces) == TOPICS
    assert all(not t["transitions_with_problems"] and t["missing_tokens"] == 1 for t in traces)
    fitness = pm4py.fitness_token_based_replay(log, net, im, fm)["log_fitness"]
    print(f"\n{process_id}: fitness {fitness:.3f}")
    assert bound <= fitness < 1


def test_pm4py_reads_the_ocel_with_its_objects_and_relations(system, tmp_path):
    text = written(system, "ocel", tmp_path / "log.jsonocel")
    assert "巴州区司法局" in text and "\\u" not in text
    ocel = pm4py.read_ocel2_json(str(tmp_path / "log.jsonocel"))
    types = set(ocel.objects["ocel:type"])
    assert {"公文", "议题", "督办事项", "部门"} <= types
    assert (ocel.objects["ocel:type"] == "公文").sum() == DOCUMENTS
    completed = ocel.events[ocel.events["ocel:activity"] == "收文登记"]
    assert len(completed) == DOCUMENTS
    related = ocel.relations[ocel.relations["ocel:eid"] == completed["ocel:eid"].iloc[0]]
    assert set(related["ocel:type"]) == {"公文", "部门"}
    assert ocel.events["ocel:timestamp"].iloc[0].tz_convert("Asia/Shanghai").hour == 9


def test_the_cli_writes_an_export_to_a_file(system, tmp_path, monkeypatch):
    monkeypatch.setenv("GOVFLOW_MODE", "test")
    monkeypatch.setenv("GOVFLOW_HOME", str(REPO))
    url = str(system.store.engine.url)
    out = tmp_path / "topics.xes"
    result = CliRunner().invoke(main, ["--database-url", url, "audit", "export", "--format", "xes",
                                       "--process", "topic_submission", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").count("<trace>") == TOPICS
    bad = CliRunner().invoke(main, ["--database-url", url, "audit", "export", "--format", "csv"])
    assert bad.exit_code != 0


def test_only_auditors_and_admins_export_and_bad_formats_are_refused(system):
    api, org = Api(create_app(system=system)), TopicPeople("bazhou").org
    auditor = next(p.id for p in org.people.values() if "auditor" in p.roles)
    clerk = TopicPeople("bazhou").clerk
    assert api.get("/audit/export?format=xes", clerk).status_code == 403
    bad = api.get("/audit/export?format=csv", auditor)
    assert bad.status_code == 422 and bad.get_json()["message"] == "导出格式须为 xes 或 ocel"
    response = api.get("/audit/export?format=ocel&process_id=decision_followup", auditor)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert 'filename="govflow-decision_followup.jsonocel"' in response.headers["Content-Disposition"]
    assert response.get_json()["objects"]
