"""重大行政决策 in a real browser, for 巴州区 and 大足区: the department flags the matter and the
办公室 checks it from the inbox, the research form refuses a missing assessment point with its
article, and after the 常务会议 the evaluation (后评估) is filed from the inbox; the designer opens
the diagram and finds nothing wrong with it."""
from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from browser import shot
from conftest import REPO, build_system
from helpers import complete, deploy_xml, holder, open_tasks, task
from procedures import People, approve, convened
from test_major_decision_process import POINTS, decision_row, hold_meeting, matter, step_data

ARTICLE = {"bazhou": "巴州区人民政府工作规则 第二十八条", "dazu": "重庆市大足区人民政府工作规则 第二十条"}


@pytest.fixture(params=["bazhou", "dazu"])
def site(request, sqlite_url):
    """The jurisdiction on SQLite with every diagram in ``processes/`` deployed, as the demo has it."""
    system = build_system(sqlite_url, request.param)
    for path in sorted((REPO / "processes").glob("*.bpmn")):
        deploy_xml(system, path.read_bytes(), path.name)
    system.pid = request.param
    yield system
    system.store.dispose()


def open_task(page, title: str, tab: str = "mine"):
    page.goto(f"/inbox?view={tab}")
    page.click(f"table.inbox a:has-text('{title}')")
    page.wait_for_selector("form.task-form")


def test_a_major_decision_is_flagged_checked_and_evaluated_from_the_inbox(browse, site):
    pid = site.pid
    people, org = People(pid), People(pid).org
    data = matter(pid, org, departments=[], lower=[], market=False)
    lead = data["department"]
    meeting_id, meeting_instance = convened(site, "2026-12-17T09:00:00+08:00")

    staff = browse(people.staff(lead))
    staff.goto("/processes/major_decision/start")
    staff.fill("[name='f.title']", data["title"])
    staff.select_option("select[name='f.department']", lead)
    staff.fill("[name='f.request']", data["request"])
    staff.fill("[name='f.scope_item']", data["scope_item"])
    staff.check("input[name='f.public_interest']")
    staff.click("button:has-text('发起')")
    staff.wait_for_url("**/instances/*")
    instance_id = int(staff.url.rstrip("/").split("/")[-1])

    clerk = browse(people.clerk)
    open_task(clerk, "老旧小区", tab="group")
    clerk.check("input[name='f.decision'][value='确认']")
    if pid == "dazu":                                   # 大足 names no legality reviewer: the office chooses
        clerk.select_option("select[name='f.legality_unit']", org.with_duty("合法性审查")[0].id)
    clerk.click("button:has-text('提交')")
    expect(clerk.locator(".notice")).to_contain_text("已提交：办公室核定")

    open_task(staff, "老旧小区")
    staff.fill("[name='f.research']", "走访12个社区")
    staff.select_option("select[name='f.assessment.0.point']", "合法性")
    staff.fill("[name='f.assessment.0.finding']", "合法")
    staff.click("button:has-text('提交')")
    expect(staff.locator("main")).to_contain_text("论证评估缺少：必要性、科学性、可行性、可控性")
    expect(staff.locator("main")).to_contain_text(ARTICLE[pid])        # M3, with its article
    shot(staff, f"major-research-refused-{pid}")
    for n, point in enumerate(POINTS[1:], 1):
        staff.click("[data-path='assessment'] button.add-row")
        staff.select_option(f"select[name='f.assessment.{n}.point']", point)
        staff.fill(f"[name='f.assessment.{n}.finding']", f"{point}论证充分")
    staff.click("button:has-text('提交')")
    expect(staff.locator(".notice")).to_contain_text("已提交：调查研究和论证评估")

    while rows := [t for t in open_tasks(site, instance_id) if t.step_id != "after_meeting"]:
        for row in rows:                                # the other steps as the service test does them
            complete(site, holder(site, row), row.id, step_data(pid, org, row.step_id))
    topic = decision_row(site, instance_id).topic_instance_id
    approve(site, topic)
    complete(site, people.staff(lead), task(site, topic, "prep").id, {"materials_changed": False})
    hold_meeting(site, org, topic, meeting_instance, lead)
    complete(site, people.staff(lead), task(site, instance_id, "after_meeting").id, {})
    complete(site, people.staff(lead), task(site, instance_id, "publish").id,
             {"published_on": "2026-12-18", "channel": "政府网站", "interpretation": "由承办单位解读"})

    staff = browse(people.staff(lead))    # the meeting moved the clock past the session's 12 hours
    staff.goto("/inbox")                  # the 督办 item of the minutes is in the inbox too
    staff.click(f"table.inbox a[href*='{task(site, instance_id, 'evaluate').id}']")
    expect(staff.locator("h1")).to_contain_text("跟踪评估")
    staff.fill("[name='f.tracking']", "已开工8个小区")
    staff.fill("[name='f.views']", "居民总体满意")
    staff.fill("[name='f.effect']", "达到预期")
    staff.check("input[name='f.adjustment'][value='无']")
    staff.click("button:has-text('提交')")
    expect(staff.locator(".notice")).to_contain_text("已提交：跟踪评估（后评估）")
    records = json.loads(decision_row(site, instance_id).records)
    assert records["evaluation"][-1]["effect"] == "达到预期" and records["meeting"][-1]["meeting_id"] == meeting_id


def test_the_designer_opens_the_major_decision_diagram_and_finds_no_problem(browse, site):
    if site.pid != "bazhou":
        pytest.skip("the diagram is the same for every jurisdiction")
    page = browse("qianze")
    page.click("#process-major_decision a:has-text('在建模器中打开')")
    expect(page.locator('[data-element-id="office_check"]')).to_be_visible()
    page.click("#validate")
    expect(page.locator("#status")).to_have_text("校验通过，没有发现问题")
    shot(page, "major-decision-modeler")
