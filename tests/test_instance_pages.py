"""The instance pages, the 常务会议 and the 发文登记簿 as people see them: the diagram of an
instance with its done and current steps and the path taken highlighted, its open tasks with
their deadlines, the timeline and the opinions in Chinese; lists and pages that show each person
only what they may see."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import update

from browser import shot
from govflow.app import create_app
from govflow.errors import RuleBlocked
from govflow.rules import Violation
from govflow.store.models import Instance
from govflow.time.timeutil import SHANGHAI, parse_moment
from govflow.work import instances
from helpers import complete, start, task
from procedures import People as MeetingPeople
from procedures import by_hand, convened, lead_and_other, scheduled_topic, set_clock, to_sign_in
from test_document_process import People

OUTSIDER = "zengjun"          # 卫生健康局 staff: no part in any document, topic or meeting below


def in_consultation(system, people: People) -> int:
    """A document received, reviewed (拟办) and answered by the consulted department: at the leaders' review."""
    instance_id = start(system, people.sender, "document_approval", people.document())
    complete(system, people.clerk, task(system, instance_id, "receipt").id, {"received": True})
    complete(system, people.clerk, task(system, instance_id, "office_review").id,
             {"decision": "拟办", "opinion": "拟请分管领导会签后报区长签发"})
    complete(system, people.other_head, task(system, instance_id, "reply_timed").id,
             {"decision": "同意", "opinion": "无不同意见"})
    return instance_id


def signed(system, people: People, **changes) -> int:
    """A document concerning no other department, 签发 by its 分管领导 (巴州 第五十一条): numbered, to be printed."""
    instance_id = start(system, people.sender, "document_approval", people.document(departments=[], **changes))
    complete(system, people.clerk, task(system, instance_id, "receipt").id, {"received": True})
    complete(system, people.clerk, task(system, instance_id, "office_review").id,
             {"decision": "拟办", "opinion": "拟办"})
    signing = task(system, instance_id, "signing")
    assert signing.assignee == people.lead
    complete(system, people.lead, signing.id, {"decision": "同意", "opinion": "同意印发"})
    return instance_id


def logged_in(system, person: str):
    client = create_app(system=system).test_client()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"csrf": csrf, "username": person, "password": "demo"}).status_code == 302
    return client


def page_of(client, path: str) -> tuple[int, str]:
    response = client.get(path)
    return response.status_code, response.get_data(as_text=True)


# -- the instance page in the browser -------------------------------------------------------------------------------
def test_the_instance_page_highlights_the_path_and_tells_the_story_in_chinese(site, browse):
    people = People("bazhou")
    instance_id = in_consultation(site, people)
    page = browse(people.clerk)
    page.goto(f"/instances/{instance_id}")
    page.wait_for_selector("#diagram[data-state=ready]")
    assert page.locator('[data-element-id="leader_review"].current').count() == 1
    for step in ("receipt", "office_review", "consult", "reply_timed", "tally"):
        assert page.locator(f'[data-element-id="{step}"].done').count() == 1, step
    for flow in ("f_accept", "f_consulted", "f_to_leaders"):
        assert page.locator(f'[data-element-id="{flow}"].taken').count() == 1, flow
    assert page.locator('[data-element-id="f_return"].taken').count() == 0
    assert page.locator('[data-element-id="revise"].done, [data-element-id="revise"].current').count() == 0
    timeline = page.locator("ol.timeline").inner_text()
    assert all(word in timeline for word in ("发起", "生成待办", "办理", "办公室审核", "答复意见（限时）"))
    opinions = page.locator("table.opinions").inner_text()
    assert "拟请分管领导会签后报区长签发" in opinions and "无不同意见" in opinions
    row = page.locator("table.open-tasks tr[data-step=leader_review]")
    assert people.org.person(people.second).name in row.inner_text()
    assert row.locator("a").get_attribute("href") == f"/tasks/{row.get_attribute('data-task')}"
    path = shot(page, "instance")
    assert path.stat().st_size > 20_000


# -- the instance list and page: who sees what ---------------------------------------------------------------------
def test_the_list_shows_a_person_the_instances_they_take_part_in_with_filters(site):
    people = People("bazhou")
    document = in_consultation(site, people)
    lead, _ = lead_and_other(people.org)
    followup = by_hand(site, MeetingPeople("bazhou"), lead, [], "2027-03-31")
    client = logged_in(site, people.clerk)
    _, listed = page_of(client, "/instances")
    assert f'data-instance="{document}"' in listed and f'data-instance="{followup}"' not in listed
    assert all(text in listed for text in ("公文审批与签发", "办理中", "万文华", "2026年11月23日 09:00"))
    supervisor = logged_in(site, MeetingPeople("bazhou").duty("督查"))
    _, theirs = page_of(supervisor, "/instances?business_key=督办〔2026〕1")
    assert f'data-instance="{followup}"' in theirs and "巴州督办〔2026〕1号" in theirs
    assert f'data-instance="{followup}"' not in page_of(supervisor, "/instances?status=completed")[1]
    assert f'data-instance="{followup}"' not in page_of(supervisor, "/instances?process_id=document_approval")[1]
    assert page_of(client, "/instances?status=lost")[0] == 400
    outsider = logged_in(site, OUTSIDER)
    _, nothing = page_of(outsider, "/instances")
    assert "data-instance=" not in nothing and "没有符合条件的流程实例" in nothing
    assert page_of(outsider, f"/instances/{document}")[0] == 403
    assert page_of(outsider, f"/instances/{document}/diagram.bpmn")[0] == 403
    assert page_of(client, "/instances/999999")[0] == 404
    status, xml = page_of(client, f"/instances/{document}/diagram.bpmn")
    assert status == 200 and 'id="document_approval"' in xml


def test_a_snapshot_that_fails_its_check_leaves_the_history_readable(site):
    people = People("bazhou")
    instance_id = in_consultation(site, people)
    with site.store.write() as session:
        session.execute(update(Instance).where(Instance.id == instance_id).values(snapshot_hash="0" * 64))
    status, shown = page_of(logged_in(site, people.clerk), f"/instances/{instance_id}")
    assert status == 200 and "无法显示办理进度：流程实例" in shown and "校验值不符" in shown
    assert "data-markers=\"{}\"" in shown and "拟请分管领导会签后报区长签发" in shown


def test_the_list_pages_newest_first(site, monkeypatch):
    monkeypatch.setattr("govflow.ui.instances.PAGE_SIZE", 1)
    people = People("bazhou")
    first, second = in_consultation(site, people), signed(site, people)
    client = logged_in(site, people.clerk)
    _, one = page_of(client, "/instances?process_id=document_approval")
    assert re.findall(r'data-instance="(\d+)"', one) == [str(second)] and "第 1/2 页" in one
    assert 'href="?process_id=document_approval&amp;page=2">下一页' in one
    _, two = page_of(client, "/instances?process_id=document_approval&page=2")
    assert re.findall(r'data-instance="(\d+)"', two) == [str(first)] and "上一页" in two and "下一页" not in two
    assert page_of(client, "/instances?page=0")[0] == 400


def test_open_tasks_show_their_holder_and_turn_amber_then_red_and_rule_violations_show_the_article(site):
    people = People("bazhou")
    instance_id = start(site, people.sender, "document_approval", people.document())
    receipt = task(site, instance_id, "receipt")
    blocked = RuleBlocked([Violation("D2", "巴州区人民政府工作规则 第二十七条", "请示应当一文一事")])
    instances.record_violation(site, people.clerk, blocked, instance_id, receipt.id)
    _, shown = page_of(logged_in(site, people.sender), f"/instances/{instance_id}")
    row = re.search(r'<tr class="" data-task="[^"]+" data-step="receipt">(.*?)</tr>', shown, re.S).group(1)
    assert "待签收：" in row and "钟杰" in row
    assert "规则拦截" in shown and "D2 巴州区人民政府工作规则 第二十七条：请示应当一文一事" in shown
    complete(site, people.clerk, receipt.id, {"received": True})
    complete(site, people.clerk, task(site, instance_id, "office_review").id, {"decision": "拟办", "opinion": "拟办"})
    assert task(site, instance_id, "reply_timed").due_at.astimezone(SHANGHAI).isoformat() == "2026-11-26T17:30:00+08:00"
    for now, marked in (("2026-11-24T09:00", ""), ("2026-11-25T09:00", "due_soon"), ("2026-11-26T18:00", "overdue")):
        set_clock(site, parse_moment(now))
        _, shown = page_of(logged_in(site, people.sender), f"/instances/{instance_id}")
        assert re.search(rf'<tr class="{marked}" data-task="[^"]+" data-step="reply_timed">', shown), now
    assert "2026年11月26日 17:30（已逾期）" in shown


# -- the 常务会议 ------------------------------------------------------------------------------------------------------
@pytest.fixture
def signed_meeting(site):
    return held_and_signed(site)


def held_and_signed(site) -> tuple[int, int, int]:
    """A meeting held with one topic, its minutes drafted and signed with two decisions: (meeting,
    meeting instance, topic instance)."""
    people = MeetingPeople("bazhou")
    org = people.org
    meeting_id, meeting_instance = convened(site, "2026-11-26T09:00:00+08:00")
    topic = scheduled_topic(site, org)
    lead, _ = lead_and_other(org)
    to_sign_in(site, org, meeting_instance)
    complete(site, people.clerk, task(site, meeting_instance, "sign_in").id, {"present": people.members, "absent": []})
    decisions = [{"task": "编制学校建设资金分年度安排方案", "lead_unit": lead, "assisting_units": ["czj"],
                  "due_on": "2026-12-31"},
                 {"task": "落实建设资金", "lead_unit": "czj", "assisting_units": [], "due_on": "2027-01-15"}]
    complete(site, people.clerk, task(site, topic, "hearing").id,
             {"outcome": "通过", "conclusion": "原则同意", "presenters_present": [people.dept_head(lead)],
              "decisions": decisions})
    complete(site, people.clerk, task(site, meeting_instance, "hold").id, {"closed": True})
    complete(site, people.clerk, task(site, meeting_instance, "draft_minutes").id,
             {"summary": "会议听取了区教育局关于学校建设资金安排的汇报。", "decisions": decisions})
    complete(site, people.head, task(site, meeting_instance, "sign").id, {"decision": "签发", "opinion": "抓紧落实"})
    return meeting_id, meeting_instance, topic


def test_a_signed_meeting_shows_its_agenda_minutes_and_decisions_with_the_ledger_link(site, signed_meeting):
    meeting_id, meeting_instance, topic = signed_meeting
    client = logged_in(site, MeetingPeople("bazhou").clerk)
    _, listed = page_of(client, "/meetings")
    row = re.search(rf'<tr data-meeting="{meeting_id}" class="signed">(.*?)</tr>', listed, re.S).group(1)
    assert all(text in row for text in ("2026年第1次", "2026年11月26日 09:00", "1 项", "纪要已签发"))
    _, shown = page_of(client, f"/meetings/{meeting_id}")
    assert f'href="/instances/{topic}">关于2027年城区学校建设资金安排的议题</a>' in shown
    assert f'href="/instances/{meeting_instance}"' in shown
    assert "<strong>通过</strong>：原则同意" in shown and "巴州区教育局" in shown
    assert "会议听取了区教育局关于学校建设资金安排的汇报。" in shown
    assert "段海涛于2026年11月26日 09:00签发，批示：抓紧落实" in shown     # signed on the meeting's day
    decisions = re.search(r'<table class="decisions">(.*?)</table>', shown, re.S).group(1)
    assert all(text in decisions for text in ("编制学校建设资金分年度安排方案", "巴州区财政局", "2026年12月31日",
                                              "巴州督办〔2026〕1号", "巴州督办〔2026〕2号"))
    assert f'href="/ledger?meeting={meeting_id}"' in shown
    assert page_of(client, "/meetings?status=over")[0] == 400 and page_of(client, "/meetings/999")[0] == 404


def test_someone_without_business_sees_the_decisions_but_not_the_minutes_or_the_instances(site, signed_meeting):
    meeting_id, meeting_instance, topic = signed_meeting
    outsider = logged_in(site, OUTSIDER)
    status, shown = page_of(outsider, f"/meetings/{meeting_id}")
    assert status == 200 and "落实建设资金" in shown                          # the decisions, as the API shows them
    assert f'href="/instances/{topic}"' not in shown and f'href="/instances/{meeting_instance}"' not in shown
    assert "会议听取了区教育局" not in shown and "抓紧落实" not in shown
    assert page_of(outsider, f"/instances/{topic}")[0] == 403


# -- the 发文登记簿 ----------------------------------------------------------------------------------------------------
def test_the_register_lists_numbered_documents_by_year_to_those_who_may_see_them(site):
    people = People("bazhou")
    first = signed(site, people)
    second = signed(site, people, title="关于做好冬季安全生产工作的请示", urgency="加急", secrecy="秘密")
    start(site, people.sender, "document_approval", people.document(title="尚未签发的请示"))
    client = logged_in(site, people.clerk)
    _, book = page_of(client, "/register")
    rows = re.findall(r'<tr data-number="([^"]+)">(.*?)</tr>', book, re.S)
    assert [number for number, _ in rows] == ["巴州府发〔2026〕1号", "巴州府发〔2026〕2号"]
    assert f'href="/instances/{first}">关于申请城区排水管网改造资金的请示</a>' in rows[0][1]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", rows[1][1], re.S)
    assert cells[0] == "巴州府发〔2026〕2号" and f"/instances/{second}" in cells[1]
    assert cells[2:] == ["请示", "汤建军", "2026年11月23日", "加急", "秘密"]
    assert "尚未签发的请示" not in book and "2026年共登记 2 件" in book
    _, earlier = page_of(client, "/register?year=2025")
    assert "data-number=" not in earlier and "2025年尚无您可查看的已编号公文" in earlier
    assert page_of(client, "/register?year=20x6")[0] == 400
    outsider = logged_in(site, OUTSIDER)
    assert "data-number=" not in page_of(outsider, "/register")[1]


def test_a_resubmission_after_return_updates_the_registered_urgency(site):
    people = People("bazhou")
    instance_id = start(site, people.sender, "document_approval", people.document(departments=[]))
    complete(site, people.clerk, task(site, instance_id, "receipt").id, {"received": True})
    complete(site, people.clerk, task(site, instance_id, "office_review").id, {"decision": "退文", "opinion": "请改"})
    complete(site, people.sender, task(site, instance_id, "revise").id,
             {**people.document(departments=[], urgency="加急"), "revise_action": "重新报送", "response": "已改"})
    complete(site, people.clerk, task(site, instance_id, "office_review").id, {"decision": "拟办", "opinion": "拟办"})
    complete(site, people.lead, task(site, instance_id, "signing").id, {"decision": "同意"})
    client = logged_in(site, people.sender)
    row = re.search(r'<tr data-number="巴州府发〔2026〕1号">(.*?)</tr>', page_of(client, "/register")[1], re.S).group(1)
    assert re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)[-2:] == ["加急", "无"]
