"""processes/document_approval.bpmn driven through the API and the service layer with the people of
the example organisations: 退文 and resubmission, 征求意见 (answered, and silent past the window),
会签 by the leaders with an AB角 acting, 签发, 发文字号, 印发, 催办 when late, and bad documents."""
from __future__ import annotations

import json
import threading
from datetime import timedelta
from uuid import UUID

import pytest
from sqlalchemy import select

from conftest import REPO, Api, build_system, load_org
from govflow.app import create_app
from govflow.errors import Conflict, RuleBlocked, ValidationFailed
from govflow.records.numbering import Numbering, format_number
from govflow.store.models import DocumentRegister, Instance
from govflow.work import admin, circulation, rewind, tasks, worker
from govflow.work.inbox import candidates
from helpers import actor, complete, count, deploy_xml, events, holder, instance, open_tasks, task, workflow
from helpers import start as start_instance

DIAGRAM = (REPO / "processes" / "document_approval.bpmn").read_bytes()


def system_for(database_url: str, profile: str):
    system = build_system(database_url, profile)
    deploy_xml(system, DIAGRAM, "document_approval.bpmn")
    return system


class People:
    """The people a document meets in one organisation."""

    def __init__(self, profile: str):
        org = self.org = load_org(profile)
        led = {d: org.portfolio_leader(d) for d in org.departments}
        self.own = next(d for d, p in led.items() if p and p.post == "deputy" and p.ab_partner)
        lead = led[self.own]
        # another deputy's department, whose leader is not the lead's AB partner
        self.other = next(d for d, p in led.items()
                          if p and p.post == "deputy" and p.id not in (lead.id, lead.ab_partner))
        self.clerk = org.with_post("office_clerk", org.office_id)[0].id
        self.sender = org.with_post("dept_staff", self.own)[0].id
        self.own_head = org.with_post("dept_head", self.own)[0].id
        self.other_head = org.with_post("dept_head", self.other)[0].id
        self.lead = org.portfolio_leader(self.own).id
        self.partner = org.person(self.lead).ab_partner
        self.second = org.portfolio_leader(self.other).id
        self.head = org.head().id
        self.director = org.with_post("office_director")[0].id

    def document(self, **changes) -> dict:
        data = {"doc_type": "请示", "title": "关于申请城区排水管网改造资金的请示", "department": self.own,
                "urgency": "一般", "secrecy": "无", "category": "government_business", "issuer": "政府",
                "departments": [self.other],
                "body": "现申请区级资金 300 万元用于城区排水管网改造。妥否，请批示。",
                "signoff": {"signer": self.own_head, "meeting": "局务会议纪要〔2026〕3号"}}
        data.update(changes)
        return data


@pytest.fixture
def dongchang(database_url):
    system = system_for(database_url, "dongchang")
    yield system
    system.store.dispose()


@pytest.fixture
def bazhou(database_url):
    system = system_for(database_url, "bazhou")
    yield system
    system.store.dispose()


def act(api: Api, person: str, step: str, data: dict, view: str = "mine") -> dict:
    inbox = api.get(f"/tasks?view={view}", person).get_json()["items"]
    found = [t for t in inbox if t["step"] == step]
    assert found, f"{step} not in {person}'s {view}: {[t['step'] for t in inbox]}"
    response = api.post(f"/tasks/{found[0]['id']}/complete", person, json={"data": data})
    assert response.status_code == 200, response.get_json()
    return found[0]


def test_a_document_from_submission_to_publication_through_the_api(dongchang):
    people, api = People("dongchang"), Api(create_app(system=dongchang))
    two_matters = people.document(body="请求拨付排水改造资金 300 万元。同时恳请增加编制 5 名。妥否，请批示。")
    started = api.post("/instances", people.sender, json={"process_id": "document_approval", "data": two_matters})
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    act(api, people.clerk, "receipt", {"received": True}, view="group")
    review = api.get(f"/instances/{instance_id}", people.clerk).get_json()["data"]["compliance"]
    first = review["findings"][0]
    assert not review["passed"] and first["rule"] == "D2" and "第二十七条" in first["article"]

    act(api, people.clerk, "office_review", {"decision": "退文", "opinion": "请示应一文一事，请修改后重新报送"},
        view="group")                                                                                       # 退文
    act(api, people.sender, "revise", {**people.document(), "revise_action": "重新报送", "response": "已删去编制事项"})
    act(api, people.clerk, "office_review", {"decision": "拟办", "opinion": "拟请有关领导会签后报区长签发"},
        view="group")
    consult = act(api, people.other_head, "reply_timed", {"decision": "同意", "opinion": "无意见"})          # 征求意见
    assert consult["due_at"] == "2026-12-02T17:30:00+08:00"                                      # 东昌 二十七: 7 工作日

    leave = api.post("/leave", people.director, json={"person": people.lead, "starts_at": "2026-11-23T08:00:00",
                                                      "ends_at": "2026-11-30T18:00:00", "reason": "外出学习"})
    assert leave.status_code == 201
    review_task = act(api, people.partner, "leader_review", {"decision": "同意", "opinion": "同意（代）"})   # AB角
    assert review_task["acting"]["principal"] == people.lead and review_task["acting"]["rule"] == "P2"
    act(api, people.second, "leader_review", {"decision": "同意", "opinion": "同意"})
    sign = act(api, people.head, "signing", {"decision": "同意", "opinion": "同意印发"})                     # 签发
    assert sign["due_at"] == "2026-12-11T17:30:00+08:00"                        # 东昌 二十八: 一般公文 14 工作日

    data = api.get(f"/instances/{instance_id}", people.clerk).get_json()["data"]
    assert data["signature"]["name"] == people.org.person(people.head).name
    assert data["signature"]["date"] == "2026年11月23日"
    assert data["registration"]["number"] == "东昌府发〔2026〕1号"
    with dongchang.store.write() as session:
        admin.advance_clock(dongchang, session, timedelta(days=21), "test")
    worker.run_once(dongchang)
    api.login(people.clerk)                                                  # yesterday's token has expired
    publish = [t for t in api.get("/tasks?view=group", people.clerk).get_json()["items"] if t["step"] == "publish"][0]
    assert publish["overdue"] and publish["pressed_count"] == 1                                             # 催办
    act(api, people.clerk, "publish", {"copies": 50, "distribution": "主送：各镇街、区级各部门"}, view="group")
    api.login(people.sender)
    shown = api.get(f"/instances/{instance_id}", people.sender).get_json()
    assert shown["status"] == "completed" and "issued" in shown["completed_steps"]
    kinds = [e["type"] for e in api.get(f"/instances/{instance_id}/events", people.clerk).get_json()["items"]]
    assert "substitution" in kinds and "task_pressed" in kinds and kinds[-1] == "instance_ended"


@pytest.mark.parametrize("change, field", [
    ({"doc_type": None}, "doc_type"), ({"doc_type": "便条"}, "doc_type"),
    ({"departments": ["nowhere"]}, "department"), ({"department": "nowhere"}, "department"),
    ({"body": "正" * (5 * 1024 * 1024 // 3)}, "data.body"),
])
def test_bad_documents_are_refused_and_leave_nothing(dongchang, change, field):
    people, api = People("dongchang"), Api(create_app(system=dongchang))
    document = {k: v for k, v in {**people.document(), **change}.items() if v is not None}
    before = (count(dongchang, Instance), len(events(dongchang)))
    response = api.post("/instances", people.sender, json={"process_id": "document_approval", "data": document})
    assert response.status_code in (413, 422) and response.get_json()["message"]
    if response.status_code == 422:
        assert any(d.get("field", "").endswith(field) for d in response.get_json()["details"])
    assert (count(dongchang, Instance), len(events(dongchang))) == before


def past_office_review(system, people: People, **changes) -> int:
    instance_id = start_instance(system, people.sender, "document_approval", people.document(**changes))
    complete(system, people.clerk, task(system, instance_id, "receipt").id, {"received": True})
    complete(system, people.clerk, task(system, instance_id, "office_review").id,
             {"decision": "拟办", "opinion": "拟办"})
    return instance_id


def test_a_consultation_left_unanswered_past_the_window_counts_as_no_objection(bazhou):
    people = People("bazhou")
    instance_id = past_office_review(bazhou, people)
    reply = task(bazhou, instance_id, "reply_timed")
    assert reply.assignee == people.other_head and reply.due_at.isoformat() == "2026-11-26T09:30:00+00:00"  # 3 wd
    with bazhou.store.write() as session:
        admin.advance_clock(bazhou, session, timedelta(days=4), "test")
    assert worker.run_once(bazhou) == 1
    consultation = workflow(bazhou, instance_id).last_task.data["consultation"]
    assert consultation["silent"] == [people.other] and "第四十九条" in consultation["silence_rule"]
    assert [t.step_id for t in open_tasks(bazhou, instance_id)] == ["leader_review"]   # 巴州: the other leader
    assert task(bazhou, instance_id, "leader_review").assignee == people.second


def test_an_urgent_document_goes_to_the_leaders_and_the_signer_at_once_in_dongchang(dongchang):
    people = People("dongchang")
    instance_id = past_office_review(dongchang, people, urgency="特急", urgency_reason="汛期抢险")
    complete(dongchang, people.other_head, task(dongchang, instance_id, "reply_timed").id, {"decision": "同意"})
    reviews = open_tasks(dongchang, instance_id)
    assert sorted(t.assignee for t in reviews) == sorted([people.lead, people.second, people.head])
    assert all(t.due_at.isoformat() == "2026-11-30T09:30:00+00:00" for t in reviews)       # 特急: 5 工作日
    for row in reviews:
        complete(dongchang, row.assignee, row.id, {"decision": "同意", "opinion": "同意"})
    data = workflow(dongchang, instance_id).last_task.data
    assert data["signature"]["meaning"] == "同意" and len(data["signature"]["opinions"]) == 3
    assert data["registration"]["number"] == "东昌府发〔2026〕1号"


def test_numbers_have_no_gaps_and_no_duplicates_with_concurrent_registrations(dongchang):
    people = People("dongchang")
    signing = []
    for _ in range(4):
        instance_id = past_office_review(dongchang, people, departments=[])
        signing.append(task(dongchang, instance_id, "signing"))
    barrier, errors = threading.Barrier(len(signing)), []

    def sign(row):
        barrier.wait()
        try:
            complete(dongchang, row.assignee, row.id, {"decision": "同意", "opinion": "同意"})
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)
    threads = [threading.Thread(target=sign, args=(row,)) for row in signing]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with dongchang.store.read() as session:
        numbers = sorted(session.scalars(select(DocumentRegister.sequence)))
    assert numbers == [1, 2, 3, 4]


def test_a_number_given_back_by_a_failed_step_is_taken_again(sqlite_system):
    with pytest.raises(RuntimeError):
        with sqlite_system.store.write() as session:
            assert Numbering(session).take("测府发", 2026) == 1
            raise RuntimeError("the step failed")
    with sqlite_system.store.write() as session:
        assert Numbering(session).take("测府发", 2026) == 1
    assert format_number("巴州府发", 2026, 12) == "巴州府发〔2026〕12号"


def test_send_back_to_the_office_review_with_a_reason(dongchang):
    people = People("dongchang")
    instance_id = past_office_review(dongchang, people, departments=[])
    review = task(dongchang, instance_id, "signing")
    with dongchang.store.read() as session:
        shown = rewind.returnable_steps(workflow(dongchang, instance_id), review.id)
    assert [s["step"] for s in shown] == ["office_review", "receipt"]
    with dongchang.store.write() as session:
        rewind.send_back(dongchang, session, actor(dongchang, people.lead), review.id, "office_review",
                         "请补充资金来源")
    reopened = task(dongchang, instance_id, "office_review")
    assert workflow(dongchang, instance_id).get_task_from_id(UUID(reopened.id)).data["returned"]["reason"] == \
        "请补充资金来源"
    assert [t.step_id for t in open_tasks(dongchang, instance_id)] == ["office_review"]
    with pytest.raises(ValidationFailed, match="只能退回"):
        with dongchang.store.write() as session:
            rewind.send_back(dongchang, session, actor(dongchang, holder(dongchang, reopened)), reopened.id,
                             "signing", "不行")


def test_the_sender_withdraws_before_the_next_person_acts(dongchang):
    people = People("dongchang")
    instance_id = start_instance(dongchang, people.sender, "document_approval", people.document(departments=[]))
    receipt = task(dongchang, instance_id, "receipt")
    complete(dongchang, people.clerk, receipt.id, {"received": True})
    with dongchang.store.write() as session:
        rewind.withdraw(dongchang, session, actor(dongchang, people.clerk), receipt.id, "登记有误")
    back = task(dongchang, instance_id, "receipt")
    assert back.assignee == people.clerk and [t.step_id for t in open_tasks(dongchang, instance_id)] == ["receipt"]
    complete(dongchang, people.clerk, back.id, {"received": True})
    office_review = task(dongchang, instance_id, "office_review")
    with dongchang.store.write() as session:
        tasks.comment(dongchang, session, actor(dongchang, people.clerk), office_review.id, "已阅，待审核")
    with pytest.raises(Conflict, match="已有人办理"):
        with dongchang.store.write() as session:
            rewind.withdraw(dongchang, session, actor(dongchang, people.clerk), back.id, "")


def test_an_added_countersigner_signs_before_the_signer_can(dongchang):
    people = People("dongchang")
    instance_id = past_office_review(dongchang, people, departments=[])
    signing = task(dongchang, instance_id, "signing")
    with dongchang.store.write() as session:
        added = tasks.add_signer(dongchang, session, actor(dongchang, signing.assignee), signing.id, people.director,
                                 "请办公室主任一并把关")
    with pytest.raises(Conflict, match="加签人尚未签署"):
        complete(dongchang, signing.assignee, signing.id, {"decision": "同意", "opinion": "同意"})
    complete(dongchang, people.director, added.id, {"decision": "同意", "opinion": "文字已核"})
    complete(dongchang, signing.assignee, signing.id, {"decision": "同意", "opinion": "同意"})
    sign = workflow(dongchang, instance_id).last_task.data["sign"]
    assert sign["added_signatures"][0]["by"] == people.director and sign["added_signatures"][0]["opinion"] == "文字已核"


def test_read_only_copies_show_in_the_readers_inbox_and_record_read(dongchang):
    people = People("dongchang")
    instance_id = start_instance(dongchang, people.sender, "document_approval", people.document(departments=[]))
    with dongchang.store.write() as session:
        copies = circulation.circulate(dongchang, session, actor(dongchang, people.clerk), instance_id,
                                       [people.head, people.director], "请阅知")
    api = Api(create_app(system=dongchang))
    inbox = api.get("/tasks?view=read", people.head).get_json()
    assert inbox["total"] == 1 and inbox["counts"]["read"] == 1 and inbox["items"][0]["step_name"] == "传阅"
    assert api.get("/tasks?view=mine", people.head).get_json()["total"] == 0
    read = api.post(f"/tasks/{copies[0].id}/read", people.head, json={"note": "已阅"})
    assert read.status_code == 200 and api.get("/tasks?view=read", people.head).get_json()["total"] == 0
    assert json.loads(events(dongchang, instance_id, "read")[0].payload)["note"] == "已阅"
    assert api.get(f"/instances/{instance_id}", people.director).status_code == 200        # a reader may see it
    again = api.post(f"/tasks/{copies[0].id}/read", people.head, json={})
    assert again.status_code == 409


def test_a_department_that_disagrees_makes_the_lead_unit_state_both_sides(dongchang):
    people = People("dongchang")
    instance_id = past_office_review(dongchang, people)
    complete(dongchang, people.other_head, task(dongchang, instance_id, "reply_timed").id,
             {"decision": "不同意", "opinion": "资金应由市级承担"})
    coordinate = task(dongchang, instance_id, "coordinate")
    assert coordinate.assignee == people.sender
    with pytest.raises(ValidationFailed):
        complete(dongchang, people.sender, coordinate.id, {"positions": [], "solution": "", "countersigned_by": []})
    complete(dongchang, people.sender, coordinate.id, {
        "positions": [{"department": people.other, "reason": "资金应由市级承担"},
                      {"department": people.own, "reason": "属区级事权"}],
        "solution": "区级先行垫付，同时向市级申请补助", "countersigned_by": [people.own_head, people.other_head]})
    assert {t.step_id for t in open_tasks(dongchang, instance_id)} == {"leader_review"}


# -- regressions: each names what went wrong ----------------------------------------------------------------
def test_when_asked_at_once_the_signers_own_refusal_decides_whoever_finishes_first(dongchang):
    people = People("dongchang")
    instance_id = past_office_review(dongchang, people, urgency="特急重要", urgency_reason="汛期抢险")
    complete(dongchang, people.other_head, task(dongchang, instance_id, "reply_timed").id, {"decision": "同意"})
    reviews = {t.assignee: t for t in open_tasks(dongchang, instance_id)}
    assert all(t.due_at.isoformat() == "2026-11-24T09:30:00+00:00" for t in reviews.values())   # 特急重要: 1 工作日
    complete(dongchang, people.head, reviews.pop(people.head).id, {"decision": "不同意", "opinion": "再研究"})
    for person, row in reviews.items():
        complete(dongchang, person, row.id, {"decision": "同意", "opinion": "同意"})
    data = workflow(dongchang, instance_id).last_task.data
    assert data["signature"]["meaning"] == "不同意"
    assert {o["by"]: o["decision"] for o in data["signature"]["opinions"]}[people.head] == "不同意"
    assert [t.step_id for t in open_tasks(dongchang, instance_id)] == ["revise"]                  # not numbered


def test_a_document_signed_again_keeps_its_number(dongchang):
    people = People("dongchang")
    instance_id = past_office_review(dongchang, people, departments=[])
    agree = {"decision": "同意", "opinion": "同意"}
    complete(dongchang, people.lead, task(dongchang, instance_id, "signing").id, agree)
    publish = task(dongchang, instance_id, "publish")
    with dongchang.store.write() as session:
        rewind.send_back(dongchang, session, actor(dongchang, holder(dongchang, publish)), publish.id, "signing",
                         "印发前请再核对")
    complete(dongchang, people.lead, task(dongchang, instance_id, "signing").id, agree)
    with dongchang.store.read() as session:
        assert list(session.scalars(select(DocumentRegister.number))) == ["东昌府发〔2026〕1号"]


def test_replies_in_a_round_and_finished_processes_cannot_be_withdrawn(dongchang):
    people = People("dongchang")
    instance_id = past_office_review(dongchang, people)
    reply = task(dongchang, instance_id, "reply_timed")
    complete(dongchang, people.other_head, reply.id, {"decision": "不同意", "opinion": "不同意"})
    with pytest.raises(Conflict, match="不能撤回"):
        with dongchang.store.write() as session:
            rewind.withdraw(dongchang, session, actor(dongchang, people.other_head), reply.id)
    objection = workflow(dongchang, instance_id).last_task.data["consultation"]["objections"][0]
    assert objection["department"] == people.other                                     # who objected


def test_send_back_is_for_the_holder_of_a_process_task(dongchang):
    people = People("dongchang")
    instance_id = past_office_review(dongchang, people, departments=[])
    signing = task(dongchang, instance_id, "signing")
    with dongchang.store.write() as session:
        added = tasks.add_signer(dongchang, session, actor(dongchang, people.lead), signing.id, people.director)
    with pytest.raises(Conflict, match="加签"):
        with dongchang.store.write() as session:
            rewind.send_back(dongchang, session, actor(dongchang, people.lead), signing.id, "office_review", "补充")
    api = Api(create_app(system=dongchang))
    refused = api.post(f"/tasks/{added.id}/return", people.director, json={"to": "office_review", "reason": "x"})
    assert refused.status_code == 409
    complete(dongchang, people.director, added.id, {"decision": "同意"})
    with dongchang.store.write() as session:
        tasks.delegate(dongchang, session, actor(dongchang, people.lead), signing.id, people.clerk, "请核")
    with pytest.raises(Conflict, match="委派"):
        with dongchang.store.write() as session:
            rewind.send_back(dongchang, session, actor(dongchang, people.clerk), signing.id, "office_review", "不行")


def test_a_resubmission_is_checked_again_and_keeps_its_sending_unit(dongchang):
    people = People("dongchang")
    instance_id = start_instance(dongchang, people.sender, "document_approval", people.document(departments=[]))
    complete(dongchang, people.clerk, task(dongchang, instance_id, "receipt").id, {"received": True})
    complete(dongchang, people.clerk, task(dongchang, instance_id, "office_review").id,
             {"decision": "退文", "opinion": "请补充说明"})
    revise = task(dongchang, instance_id, "revise")
    for change in ({"departments": ["nowhere"]}, {"department": people.other}):
        with pytest.raises(ValidationFailed):
            complete(dongchang, people.sender, revise.id, {**people.document(**change), "revise_action": "重新报送"})
    assert task(dongchang, instance_id, "revise").state == "open"


def test_the_office_may_pass_a_heuristic_finding_it_has_checked(bazhou):
    people = People("bazhou")
    two = people.document(departments=[], body="请求拨付资金 300 万元。同时恳请增加编制。妥否，请批示。")
    instance_id = start_instance(bazhou, people.sender, "document_approval", two)
    complete(bazhou, people.clerk, task(bazhou, instance_id, "receipt").id, {"received": True})
    compliance = workflow(bazhou, instance_id).last_task.data["compliance"]
    assert not compliance["passed"] and not compliance["blocking"]                  # 一文一事 is read from the text
    complete(bazhou, people.clerk, task(bazhou, instance_id, "office_review").id,
             {"decision": "拟办", "opinion": "经核，两项属同一事项的组成部分"})
    assert [t.step_id for t in open_tasks(bazhou, instance_id)] == ["signing"]


@pytest.fixture
def ziyang(database_url):
    system = system_for(database_url, "ziyang")
    yield system
    system.store.dispose()


def test_ziyang_forwards_a_matter_within_a_departments_scope_to_that_department(ziyang):
    # 资阳 四十七: 由市政府秘书长、副秘书长批示后直接转交有关部门办理，主办部门应及时办理并反馈结果
    people = People("ziyang")
    instance_id = start_instance(ziyang, people.sender, "document_approval", people.document(departments=[]))
    complete(ziyang, people.clerk, task(ziyang, instance_id, "receipt").id, {"received": True})
    complete(ziyang, people.clerk, task(ziyang, instance_id, "office_review").id,
             {"decision": "转部门办理", "opinion": "属有关部门职责，拟转办", "forward_to": people.other})
    instruction = task(ziyang, instance_id, "forward_approve")
    with ziyang.store.read() as session:
        offered = set(candidates(session, instruction.id))
    assert instruction.assignee is None and offered == {
        p.id for post in ("secretary_general", "deputy_secretary_general") for p in people.org.with_post(post)}
    deputy = people.org.with_post("deputy_secretary_general")[0].id
    complete(ziyang, deputy, instruction.id, {"decision": "转交有关部门办理", "opinion": "请市住建局研处并反馈"})
    handle = task(ziyang, instance_id, "department_handle")
    staff = people.org.with_post("dept_staff", people.other)[0].id
    complete(ziyang, staff, handle.id, {"result": "已答复报送单位"})
    assert instance(ziyang, instance_id).status == "completed" and open_tasks(ziyang, instance_id) == []
    assert workflow(ziyang, instance_id).data["feedback"] == {"result": "已答复报送单位"}


def test_where_the_rules_have_no_forwarding_the_office_review_may_not_forward(bazhou):
    people = People("bazhou")
    instance_id = start_instance(bazhou, people.sender, "document_approval", people.document(departments=[]))
    complete(bazhou, people.clerk, task(bazhou, instance_id, "receipt").id, {"received": True})
    review = task(bazhou, instance_id, "office_review")
    with pytest.raises(RuleBlocked) as refused:
        complete(bazhou, people.clerk, review.id,
                 {"decision": "转部门办理", "opinion": "拟转办", "forward_to": people.other})
    [violation] = refused.value.violations
    assert violation.rule == "D5" and "第五十条" in violation.article and "转交有关部门办理" in violation.message
    assert task(bazhou, instance_id, "office_review").id == review.id           # nothing moved
