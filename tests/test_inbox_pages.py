"""The staff's pages in a real browser: a document started, reviewed and signed (签发) from the inbox
by three people of 巴州区; deadlines shown red when overdue and amber within one 工作日."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from browser import shot
from govflow.store.models import Instance, Task
from govflow.work import admin
from helpers import complete, open_tasks, start
from test_document_process import People

RED, AMBER = "rgb(180, 35, 24)", "rgb(181, 71, 8)"      # --red and --amber of govflow.css


def open_task(page, title: str, tab: str = "mine"):
    page.goto(f"/inbox?view={tab}")
    page.click(f"table.inbox a:has-text('{title}')")
    page.wait_for_selector("form.task-form")


def test_a_document_is_started_reviewed_and_signed_from_the_inbox(browse, site):
    people = People("bazhou")
    sender = browse(people.sender)                                                     # 万文华, 司法局
    sender.click("text=发起")
    sender.click("tr:has-text('公文审批与签发') >> text=发起")
    sender.select_option("select[name='f.doc_type']", "请示")
    sender.fill("[name='f.title']", "关于申请城区排水管网改造资金的请示")
    sender.select_option("select[name='f.department']", people.own)                      # chosen by name
    sender.check("input[name='f.urgency'][value='一般']")
    sender.check("input[name='f.secrecy'][value='无']")
    sender.select_option("select[name='f.category']", label="政府一般事务")
    sender.check("input[name='f.issuer'][value='政府']")
    sender.fill("[name='f.body']", "现申请区级资金 300 万元用于城区排水管网改造。妥否，请批示。")
    sender.select_option("select[name='f.signoff.signer']", people.own_head)             # 本单位签发
    sender.fill("[name='f.signoff.meeting']", "局务会议纪要〔2026〕3号")
    sender.click("button:has-text('发起')")
    sender.wait_for_url("**/instances/*")
    with site.store.read() as db:
        instance = db.scalars(select(Instance)).one()
    assert instance.started_by == people.sender and instance.title == "关于申请城区排水管网改造资金的请示"

    clerk = browse(people.clerk)                                                       # 钟杰, 办公室
    clerk.goto("/inbox?view=group")
    assert clerk.locator("a[data-tab='group'] .count").inner_text() == "1"
    shot(clerk, "inbox")
    open_task(clerk, "排水管网", tab="group")
    clerk.click("button:has-text('提交')")                                              # nothing ticked
    assert "须勾选“纸质件与附件已收齐”" in clerk.locator("[data-path='received'] .field-error").inner_text()
    clerk.check("input[name='f.received']")
    clerk.click("button:has-text('提交')")
    assert "已提交：收文登记" in clerk.locator(".notice").inner_text()
    open_task(clerk, "排水管网", tab="group")
    clerk.check("input[name='f.decision'][value='拟办']")
    clerk.fill("[name='f.opinion']", "拟请分管副区长签发")
    clerk.click("button:has-text('提交')")
    assert "已提交：办公室审核" in clerk.locator(".notice").inner_text()

    head = browse(people.lead)                                                       # 汤建军, 分管副区长
    open_task(head, "排水管网")
    assert "签发" in head.locator("h1").inner_text()
    assert "拟请分管副区长签发" in head.locator("ol.opinions").inner_text()           # the office's opinion
    assert "司法局" in head.locator("dl.matter").inner_text()                         # the department by name
    head.check("input[name='f.decision'][value='同意']")
    head.fill("[name='f.opinion']", "同意印发")
    shot(head, "task")
    head.click("button:has-text('提交')")
    assert "已提交：签发" in head.locator(".notice").inner_text()
    assert [t.step_id for t in open_tasks(site, instance.id)] == ["publish"]
    signed = [t for t in _tasks(site, instance.id) if t.step_id == "signing"][0]
    assert signed.completed_by == people.lead and signed.state == "completed"


def _tasks(system, instance_id: int) -> list[Task]:
    with system.store.read() as db:
        return list(db.scalars(select(Task).where(Task.instance_id == instance_id)))


def test_overdue_tasks_are_red_and_those_due_within_a_workday_amber(browse, site):
    people = People("bazhou")
    instance_id = start(site, people.sender, "document_approval", people.document())
    complete(site, people.clerk, open_tasks(site, instance_id)[0].id, {"received": True})
    complete(site, people.clerk, open_tasks(site, instance_id)[0].id, {"decision": "拟办", "opinion": "拟办"})
    reply = open_tasks(site, instance_id)[0]             # 征求意见: 巴州 第三十一条, 3 工作日内答复
    assert reply.step_id == "reply_timed" and reply.assignee == people.other_head and reply.due_at is not None

    _set_clock(site, reply.due_at - timedelta(hours=2))
    head = browse(people.other_head)
    row = head.locator(f"tr[data-task='{reply.id}']")
    assert row.get_attribute("class") == "due_soon" and "即将到期" in row.locator("td.due").inner_text()
    assert row.locator("td.due").evaluate("cell => getComputedStyle(cell).color") == AMBER

    _set_clock(site, reply.due_at + timedelta(days=1))
    head = browse(people.other_head)                            # the earlier session lapsed with the clock
    row = head.locator(f"tr[data-task='{reply.id}']")
    assert row.get_attribute("class") == "overdue" and "已逾期" in row.locator("td.due").inner_text()
    assert row.locator("td.due").evaluate("cell => getComputedStyle(cell).color") == RED
    assert "其中逾期 1 件" in head.locator(".tabs").inner_text()
    head.goto("/inbox?due=overdue")
    assert head.locator("table.inbox tbody tr[data-task]").count() == 1
    shot(head, "inbox-overdue")


def _set_clock(system, at) -> None:
    with system.store.write() as db:
        admin.set_clock(system, db, at, True, "test")
