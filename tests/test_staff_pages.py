"""Staff at work in a real browser (巴州区): 加签 and 委派 as the people asked see them, a refusal
in the service's own words, a returned task's reason, the meeting's steps and the words of the
inbox. Each step a person takes is taken through the pages; the matter is brought to that step
through the services."""
from __future__ import annotations

import json

from sqlalchemy import select

from browser import shot
from conftest import REPO
from govflow.people.org import Organisation
from govflow.store.models import Event, Task
from govflow.work import admin
from helpers import complete, open_tasks, start, task
from procedures import simple_topic
from test_document_process import People


def open_task(page, title: str, tab: str = "mine"):
    page.goto(f"/inbox?view={tab}")
    page.click(f"table.inbox a:has-text('{title}')")
    page.wait_for_selector("h1")


def act(page, action: str, fields: dict, selects: dict | None = None) -> None:
    """Opens the action's fold on the task page, fills it and sends it."""
    box = page.locator(f"details[data-action='{action}']")
    box.locator("summary").click()
    for name, value in (selects or {}).items():
        box.locator(f"select[name='{name}']").select_option(value)
    for name, value in fields.items():
        box.locator(f"[name='{name}']").fill(value)
    box.locator("form button").click()
    page.wait_for_load_state()


def received(system, people: People, **changes) -> int:
    instance_id = start(system, people.sender, "document_approval", people.document(departments=[], **changes))
    complete(system, people.clerk, task(system, instance_id, "receipt").id, {"received": True})
    return instance_id


def _events(system, kind: str) -> list[Event]:
    with system.store.read() as db:
        return list(db.scalars(select(Event).where(Event.type == kind).order_by(Event.seq)))


def test_an_added_signer_signs_under_his_own_name_and_the_holder_then_submits(browse, site):
    people = People("bazhou")
    instance_id = received(site, people)
    director = browse(people.clerk)                                                # 钟杰, 办公室
    open_task(director, "排水管网", tab="group")
    act(director, "addsign", {"note": "请常务副区长把关资金规模"}, {"to": "zengfei"})
    assert "已加签" in director.locator(".notice").inner_text()

    deputy = browse("zengfei")                                                     # 曾飞, 常务副区长
    row = deputy.locator("table.inbox tr[data-task]").filter(has_text="排水管网")
    assert "钟杰 加签" in row.inner_text() and "委派" not in row.inner_text()
    open_task(deputy, "排水管网")
    page_text = deputy.locator("main").inner_text()
    assert "钟杰请您对此件签署加签意见：请常务副区长把关资金规模" in page_text
    assert "此环节由" not in page_text and deputy.locator("details[data-action='resolve']").count() == 0
    deputy.check("input[name='f.decision'][value='不同意']")
    deputy.fill("[name='f.opinion']", "资金规模过大，建议压缩至200万元")
    shot(deputy, "addsign-form")
    deputy.click("form.task-form button:has-text('提交')")
    assert "已提交" in deputy.locator(".notice").inner_text()

    open_task(director, "排水管网", tab="group")
    opinions = director.locator("ol.opinions").inner_text()
    assert "曾飞" in opinions and "资金规模过大，建议压缩至200万元" in opinions and "不同意" in opinions
    director.check("input[name='f.decision'][value='拟办']")
    director.fill("[name='f.opinion']", "拟按常务副区长意见压缩资金后报签")
    director.click("form.task-form button:has-text('提交')")
    assert "已提交：办公室审核" in director.locator(".notice").inner_text()

    signed = _events(site, "addsign_completed")
    assert [e.actor for e in signed] == ["zengfei"]
    review = [e for e in _events(site, "task_completed") if json.loads(e.payload)["step"] == "office_review"]
    assert review[0].actor == people.clerk
    added = json.loads(review[0].payload)["data"]["added_signatures"]
    assert [(a["by"], a["decision"]) for a in added] == [("zengfei", "不同意")]
    assert task(site, instance_id, "signing").assignee == people.lead


def test_a_delegate_fills_the_form_and_hands_it_back_and_the_owner_submits_it(browse, site):
    people = People("bazhou")
    instance_id = received(site, people)
    complete(site, people.clerk, task(site, instance_id, "office_review").id, {"decision": "拟办", "opinion": "拟办"})
    lead = browse(people.lead)
    open_task(lead, "排水管网")
    act(lead, "delegate", {"note": "请先研提意见"}, {"to": "songchangping"})
    assert "已委派" in lead.locator(".notice").inner_text()

    delegate = browse("songchangping")                                             # 宋昌平, 办公室副主任
    row = delegate.locator("table.inbox tr[data-task]").filter(has_text="排水管网")
    assert "委派" in row.inner_text()
    open_task(delegate, "排水管网")
    text = delegate.locator("main").inner_text()
    assert "委派您办理此件" in text and "此环节由宋昌平办理" not in text
    delegate.check("input[name='f.decision'][value='同意']")
    delegate.fill("[name='f.opinion']", "经核，资金来源可行，建议同意")
    shot(delegate, "delegate-form")
    delegate.click("form.task-form button:has-text('办完交回')")
    assert "已交回委派人" in delegate.locator(".notice").inner_text()
    assert task(site, instance_id, "signing").assignee == people.lead

    open_task(lead, "排水管网")
    assert lead.locator("input[name='f.decision'][value='同意']").is_checked()       # the delegate's draft
    assert lead.locator("[name='f.opinion']").input_value() == "经核，资金来源可行，建议同意"
    assert "宋昌平" in lead.locator("ol.opinions").inner_text()
    lead.fill("[name='f.opinion']", "同意印发")
    lead.click("form.task-form button:has-text('提交')")
    assert "已提交：签发" in lead.locator(".notice").inner_text()
    returned = _events(site, "delegation_returned")
    assert [e.actor for e in returned] == ["songchangping"]
    assert json.loads(returned[0].payload)["data"]["opinion"] == "经核，资金来源可行，建议同意"
    assert [t.step_id for t in open_tasks(site, instance_id)] == ["publish"]
    with site.store.read() as db:
        signing = db.scalars(select(Task).where(Task.instance_id == instance_id, Task.step_id == "signing")).one()
    assert signing.completed_by == people.lead


def test_a_document_in_the_offices_name_passes_the_office_and_goes_to_its_leader(browse, site):
    people = People("bazhou")      # 钟杰 drafts for the 区政府办公室, signed off by its 主任 王鹏 (巴州 第五十条)
    instance_id = start(site, people.clerk, "document_approval", people.document(
        departments=[], department=people.org.office_id, issuer="政府办公室",
        signoff={"signer": "wangpeng", "meeting": "主任办公会议纪要〔2026〕5号"}))
    complete(site, people.clerk, task(site, instance_id, "receipt").id, {"received": True})
    clerk = browse("songyang")                                                     # 宋洋, 办公室
    open_task(clerk, "排水管网", tab="group")
    assert "D4" not in clerk.locator("main").inner_text()
    clerk.check("input[name='f.decision'][value='拟办']")
    clerk.fill("[name='f.opinion']", "拟请常务副区长签发")
    clerk.click("form.task-form button:has-text('提交')")
    assert "已提交：办公室审核" in clerk.locator(".notice").inner_text()
    assert task(site, instance_id, "signing").assignee == people.org.portfolio_leader(people.org.office_id).id


def test_a_refusal_about_no_field_of_the_form_reaches_the_page_in_the_services_words(browse, site):
    people = People("bazhou")
    instance_id = received(site, people)
    text = (REPO / "orgs" / "bazhou.toml").read_text(encoding="utf-8")
    staff = 'id = "wanwenhua"\nname = "万文华"\npost = "dept_staff"'
    assert staff in text
    with site.store.write() as db:     # the 司法局's only staff member becomes its deputy before the 退文
        admin.load_organisation(site, db, Organisation.from_toml(text.replace(staff, staff.replace(
            "dept_staff", "dept_deputy"))), "test")
    clerk = browse(people.clerk)
    open_task(clerk, "排水管网", tab="group")
    clerk.check("input[name='f.decision'][value='退文']")
    clerk.fill("[name='f.opinion']", "请补充资金测算依据")
    clerk.click("form.task-form button:has-text('提交')")
    banner = clerk.locator(".blocked").inner_text()
    assert "无法确定“承办单位”的办理人：组织机构中没有对应人员" in banner and "红字" not in banner
    assert clerk.locator("[name='f.opinion']").input_value() == "请补充资金测算依据"      # what was typed stays
    assert task(site, instance_id, "office_review").state == "open"
    clerk.fill("[name='f.opinion']", "")
    clerk.click("form.task-form button:has-text('提交')")
    assert "红字" in clerk.locator(".blocked").inner_text()                     # a field's own fault: beside it
    assert "为必填项" in clerk.locator("[data-path='opinion'] .field-error").inner_text()


def test_a_returned_task_tells_its_new_holder_why_and_the_inbox_row_says_so(browse, site):
    people = People("bazhou")
    instance_id = received(site, people)
    complete(site, people.clerk, task(site, instance_id, "office_review").id, {"decision": "拟办", "opinion": "拟办"})
    lead = browse(people.lead)
    open_task(lead, "排水管网")
    act(lead, "return", {"reason": "请办公室核实资金来源后再报"}, {"to": "office_review"})
    assert "已退回" in lead.locator(".notice").inner_text()

    clerk = browse(people.clerk)
    clerk.goto("/inbox?view=group")
    row = clerk.locator("table.inbox tr[data-task]").filter(has_text="排水管网")
    assert "已退回" in row.locator(".returned-mark").inner_text()
    open_task(clerk, "排水管网", tab="group")
    told = clerk.locator("p.returned").inner_text()
    assert "已退回" in told and "汤建军从“签发”退回：请办公室核实资金来源后再报" in told
    assert "请办公室核实资金来源后再报" in clerk.locator("ol.opinions").inner_text()
    shot(clerk, "task-returned")


def test_a_document_a_rule_check_sent_back_says_which_rule_and_article(browse, site):
    people = People("bazhou")      # signed off by a staff member, not the unit's head: D4, 巴州 第五十条
    instance_id = start(site, people.sender, "document_approval", people.document(
        departments=[], signoff={"signer": people.sender, "meeting": "局务会议纪要〔2026〕3号"}))
    complete(site, people.clerk, task(site, instance_id, "receipt").id, {"received": True})
    complete(site, people.clerk, task(site, instance_id, "office_review").id, {"decision": "拟办", "opinion": "拟办"})
    sender = browse(people.sender)
    row = sender.locator("table.inbox tr[data-task]").filter(has_text="排水管网")
    assert "修改后重新报送" in row.inner_text() and row.locator(".returned-mark").count() == 1
    open_task(sender, "排水管网")
    told = sender.locator("p.returned").inner_text()
    assert "规则检查未通过：D4 报送政府的公文须由本单位主要负责人签发" in told
    assert "巴州区人民政府工作规则 第五十条" in told
    assert sender.locator("[name='f.title']").input_value() == "关于申请城区排水管网改造资金的请示"


def test_a_topic_sent_back_for_revision_is_prefilled_and_says_why(browse, site):
    org = People("bazhou").org
    topic = simple_topic(org, background="新建两所小学")
    staff = org.with_post("dept_staff", topic["department"])[0].id
    instance_id = start(site, staff, "topic_submission", topic)
    review = task(site, instance_id, "review")
    approver = browse(review.assignee)
    open_task(approver, "学校建设资金")
    approver.check("input[name='f.decision'][value='退回修改']")
    approver.fill("[name='f.opinion']", "请补充资金测算表")
    approver.click("form.task-form button:has-text('提交')")

    proposer = browse(staff)
    open_task(proposer, "学校建设资金")
    assert "审核审批：退回修改——请补充资金测算表" in proposer.locator("p.returned").inner_text()
    assert proposer.locator("[name='f.title']").input_value() == "关于2027年城区学校建设资金安排的议题"
    assert proposer.locator("[name='f.request']").input_value() == "提请安排建设资金。"
    assert proposer.locator("[name='f.background']").input_value() == "新建两所小学"
    assert proposer.locator("input[name='f.materials'][value='依据文件']").is_checked()
    proposer.check("input[name='f.revise_action'][value='重新申报']")
    proposer.fill("[name='f.response']", "已补充资金测算表")
    proposer.click("form.task-form button:has-text('提交')")
    assert "已提交：修改后重新申报" in proposer.locator(".notice").inner_text()
    assert task(site, instance_id, "review").assignee == review.assignee
