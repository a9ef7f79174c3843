"""The day's work walked through the pages only, as its people would, in Debian's chromium (巴州区):
a clerk's 公文 from 发起 to 印发 and the 发文登记簿 (传阅, 转办, 退回, 催办 on the way); a topic taken
to the 常务会议, its signed 纪要 and the 督办事项 made from it, reported on and 销号; a designer who
opens a diagram with a bad element, sees the element and the reason on the diagram, fixes it and
deploys; an auditor who replays a history from its first event and verifies the chain. What the
people do is done on the pages, never through the API or the services: between two steps a test
only moves the clock (the meeting's day) or runs the timer worker once, as the server's worker
would; only the auditor's history to read is made beforehand through the services.

Each journey runs on a desk (1440×900) and on a phone (390×844, as 政务微信/钉钉 open links): on the
phone every page a step passes is checked for a page wider than the screen, and the button the
person presses must lie within the screen's width."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from browser import shot
from conftest import REPO
from govflow.bpmn.deploy import deploy
from govflow.store.models import Blob, Meeting, ProcessVersion
from govflow.work import worker
from helpers import complete, start, task
from procedures import set_clock
from test_document_process import People
from test_instance_pages import logged_in

PHONE = {"width": 390, "height": 844}
VIEWPORTS = {"desk": None, "phone": PHONE}


@pytest.fixture(params=list(VIEWPORTS))
def viewport(request):
    return request.param


class Walk:
    """One person's browser at the journey's viewport; every page it lands on is checked on a phone."""

    def __init__(self, browse, viewport: str):
        self.browse, self.viewport, self.pages = browse, viewport, {}

    def person(self, who: str):
        if who not in self.pages:
            page = self.browse(who)
            if VIEWPORTS[self.viewport]:
                page.set_viewport_size(VIEWPORTS[self.viewport])
                page.reload()
            self.pages[who] = page
        self.fits(self.pages[who])
        return self.pages[who]

    def later(self, site, at) -> None:
        """The clock moved on: a login lasts a working day, so everyone logs in again."""
        set_clock(site, at)
        self.pages.clear()

    def fits(self, page, what: str = "") -> None:
        """On a phone: nothing wider than the screen (the page does not scroll sideways)."""
        if not VIEWPORTS[self.viewport]:
            return
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{page.url} {what}: the page is {width} px wide on a 390 px phone"

    def press(self, page, button) -> None:
        """The button is within the screen's width once scrolled to (reachable without sideways
        scrolling), then pressed; the page it leads to is checked too."""
        button.scroll_into_view_if_needed()
        if VIEWPORTS[self.viewport]:
            box = button.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], \
                f"{page.url}: the button {button.inner_text()!r} is off the screen ({box})"
        button.click()
        page.wait_for_load_state()
        self.fits(page, "after pressing")

    def act(self, page, action: str, fields: dict, selects: dict | None = None) -> None:
        """An action of the task page (退回, 转办, 传阅…): its fold opened, filled and sent."""
        box = page.locator(f"details[data-action='{action}']")
        self.press(page, box.locator("summary"))
        for name, value in (selects or {}).items():
            box.locator(f"select[name='{name}']").select_option(value)
        for name, value in fields.items():
            box.locator(f"[name='{name}']").fill(value)
        self.press(page, box.locator("form button"))

    def open_task(self, who: str, title: str, step: str):
        """The task from the person's inbox (their own, else their group's), by its title and step."""
        page = self.person(who)
        for view in ("mine", "group"):
            page.goto(f"/inbox?view={view}")
            self.fits(page, "inbox")
            row = page.locator("table.inbox tr[data-task]").filter(has_text=title).filter(has_text=step)
            if row.count():
                self.press(page, row.first.locator("a").first)
                assert step in page.locator("h1").inner_text()
                return page
        raise AssertionError(f"{who} has no {step} of {title} in the inbox")

    def submit(self, page, label: str = "提交") -> str:
        self.press(page, page.locator(f"form.task-form button:has-text('{label}')"))
        return page.locator("main").inner_text()


# -- a clerk's 公文 from 发起 to 印发 -------------------------------------------------------------------------
TITLE = "关于申请城区排水管网改造资金的请示"


def test_a_document_goes_from_its_start_form_to_the_register_through_the_pages(browse, site, viewport):
    people, walk = People("bazhou"), Walk(browse, viewport)
    sender = walk.person(people.sender)
    walk.press(sender, sender.locator("a.start-link"))
    walk.press(sender, sender.locator("tr[data-process='document_approval'] a").first)
    sender.select_option("[name='f.doc_type']", "请示")
    sender.fill("[name='f.title']", TITLE)
    sender.select_option("[name='f.department']", people.own)
    sender.check("input[name='f.urgency'][value='特急']")
    sender.check("input[name='f.secrecy'][value='无']")
    sender.select_option("[name='f.category']", "government_business")
    sender.check("input[name='f.issuer'][value='政府']")
    sender.fill("[name='f.body']", "现申请区级资金 300 万元用于城区排水管网改造。妥否，请批示。")
    sender.select_option("[name='f.signoff.signer']", people.own_head)
    sender.fill("[name='f.signoff.meeting']", "局务会议纪要〔2026〕3号")
    walk.press(sender, sender.locator("form button:has-text('发起')"))
    assert f"已发起：{TITLE}" in sender.locator(".notice").inner_text()
    matter = sender.url

    clerk = walk.open_task(people.clerk, TITLE, "收文登记")
    assert "特急" in clerk.locator("dl.facts").inner_text()
    walk.act(clerk, "circulate", {"note": "特急件，请阅知"}, {"to": [people.head]})           # 传阅 to the 区长
    assert "已传阅" in clerk.locator(".notice").inner_text()
    clerk.check("[name='f.received']")
    assert "已提交：收文登记" in walk.submit(clerk)

    head = walk.person(people.head)
    head.goto("/inbox?view=read")
    row = head.locator("table.inbox tr[data-task]").filter(has_text=TITLE)
    assert "特急" in row.inner_text() and "传阅" in row.inner_text() and "委派" not in row.inner_text()
    walk.press(head, row.locator("a").first)
    assert "传阅此件，请阅知" in head.locator("main").inner_text()
    walk.act(head, "read", {"note": "已阅"})
    assert "已阅" in head.locator(".notice").inner_text()

    clerk = walk.open_task(people.clerk, TITLE, "办公室审核")                              # 转办 to a colleague
    walk.act(clerk, "transfer", {"reason": "请宋洋办理"}, {"to": "songyang"})
    assert "已转办" in clerk.locator(".notice").inner_text()
    colleague = walk.open_task("songyang", TITLE, "办公室审核")
    assert "宋洋" in colleague.locator("dl.facts").inner_text()
    colleague.check("input[name='f.decision'][value='拟办']")
    colleague.fill("[name='f.opinion']", "拟请分管副区长审核")
    assert "已提交：办公室审核" in walk.submit(colleague)

    lead = walk.open_task(people.lead, TITLE, "签发")                                      # 退回 for a fuller 拟办
    walk.act(lead, "return", {"reason": "请补充资金来源说明"}, {"to": "office_review"})
    assert "已退回" in lead.locator(".notice").inner_text()
    colleague = walk.open_task("songyang", TITLE, "办公室审核")
    assert "请补充资金来源说明" in colleague.locator(".returned").inner_text()
    colleague.check("input[name='f.decision'][value='拟办']")
    colleague.fill("[name='f.opinion']", "拟请分管副区长审核；资金来源为区级财政预备费")
    assert "已提交：办公室审核" in walk.submit(colleague)

    # the sender presses the leader from the matter's page (催办), who then signs
    sender.goto(matter)
    walk.fits(sender, "instance")
    walk.press(sender, sender.locator("a:has-text('去办理')").first)
    box = sender.locator("details[data-action='press']")
    walk.press(sender, box.locator("summary"))
    box.locator("[name='note']").fill("资金需在年底前下达，请尽快签发")
    walk.press(sender, box.locator("form button"))
    assert "已催办" in sender.locator(".notice").inner_text()

    lead = walk.open_task(people.lead, TITLE, "签发")
    assert "已催办 1 次" in lead.locator("dl.facts").inner_text()
    said = lead.locator("ol.opinions > li")
    assert "资金来源为区级财政预备费" in lead.locator("ol.opinions").inner_text()
    assert "请补充资金来源说明" in lead.locator("ol.opinions").inner_text()
    lead.check("input[name='f.decision'][value='同意']")
    lead.fill("[name='f.opinion']", "同意")
    on_task = said.count()
    assert "已提交：签发" in walk.submit(lead)

    clerk = walk.open_task(people.clerk, TITLE, "印发")
    clerk.fill("[name='f.copies']", "30")
    clerk.fill("[name='f.distribution']", "主送：区财政局；抄送：区住建局")
    assert "已提交：印发" in walk.submit(clerk)

    # 归档: the matter is done, numbered, and in the 发文登记簿 under its number
    clerk.goto(matter)
    walk.fits(clerk, "instance")
    facts = clerk.locator("dl.facts").inner_text()
    assert "已办结" in facts and "（无）" not in facts
    assert clerk.locator("table.opinions tbody tr").count() == on_task + 1        # the same opinions, and 签发
    number = clerk.locator("dl.facts div:has(dt:text-is('业务编号')) dd").inner_text().strip()
    assert number.startswith("巴州府") and number.endswith("号")
    walk.press(clerk, clerk.locator("header nav a:has-text('发文登记簿')"))
    row = clerk.locator("table tr").filter(has_text=TITLE)
    assert row.count() == 1 and number in row.inner_text()
    shot(clerk, f"journey-document-{viewport}")


# -- a topic to the 常务会议 and on to its signed 纪要 -------------------------------------------------------------
TOPIC = "关于2027年城区学校建设资金安排的议题"


def test_a_topic_goes_to_the_meeting_its_minutes_are_signed_and_its_decision_is_closed_through_the_pages(
        browse, site, viewport):
    people, walk = People("bazhou"), Walk(browse, viewport)
    org = people.org
    lead_unit = next(d for d in org.departments if (p := org.portfolio_leader(d)) and p.post == "deputy"
                     and not org.departments[d].duties)
    staff, dept_head = (org.with_post(post, lead_unit)[0].id for post in ("dept_staff", "dept_head"))
    members = list(org.meeting_members)

    sender = walk.person(staff)
    walk.press(sender, sender.locator("a.start-link"))
    walk.press(sender, sender.locator("tr[data-process='topic_submission'] a").first)
    sender.fill("[name='f.title']", TOPIC)
    sender.fill("[name='f.request']", "提请安排2027年城区学校建设资金。")
    sender.select_option("[name='f.department']", lead_unit)
    sender.check("input[name='f.categories'][value='重大投资资金']")
    sender.check("input[name='f.materials'][value='依据文件']")
    walk.press(sender, sender.locator("form button:has-text('发起')"))
    assert f"已发起：{TOPIC}" in sender.locator(".notice").inner_text()
    topic = sender.url

    for approver in (people.director, org.with_post("executive_deputy")[0].id, people.head):    # 巴州 规则十三
        page = walk.open_task(approver, TOPIC, "审核审批")
        page.check("input[name='f.decision'][value='同意']")
        page.fill("[name='f.opinion']", "同意提请常务会议审议")
        assert "已提交：审核审批" in walk.submit(page)
    page = walk.open_task(staff, TOPIC, "报送上会材料")
    assert "已提交" in walk.submit(page)
    worker.run_once(site)            # the server's worker convenes the meeting the topic was placed on

    clerk = walk.open_task(people.clerk, "常务会议", "拟定议程")
    panel = clerk.locator("section.meeting-panel")
    assert TOPIC in panel.locator("ol.agenda").inner_text()                         # the agenda, not a bare box
    meeting_title, meeting_id = panel.locator("h2 a").inner_text(), panel.get_attribute("data-meeting")
    clerk.check("[name='f.confirmed']")
    assert "已提交：拟定议程" in walk.submit(clerk)
    head = walk.open_task(people.head, meeting_title, "审定议程")
    assert TOPIC in head.locator("section.meeting-panel").inner_text()
    head.check("input[name='f.decision'][value='同意']")
    assert "已提交：审定议程" in walk.submit(head)

    # 会议签到: the 组成人员 only, and not before the meeting's day
    clerk = walk.open_task(people.clerk, meeting_title, "会议签到")
    assert "meeting-" not in clerk.locator("main").inner_text()                     # no key of the system's own
    header = clerk.locator("fieldset[data-path=absent] thead").inner_text()
    assert "姓名" in header and "person" not in header
    present = clerk.locator("input[name='f.present']")
    assert present.count() == len(members) < len(org.people)
    assert clerk.locator("input[name='f.present']:checked").count() == len(members)
    away = members[-1]
    clerk.uncheck(f"input[name='f.present'][value='{away}']")
    clerk.select_option("[name='f.absent.0.person']", away)
    clerk.fill("[name='f.absent.0.reason']", "赴省参加会议")
    text = walk.submit(clerk)
    assert "会议当天方可签到" in text and "已提交" not in text
    with site.store.read() as db:
        at = db.scalars(select(Meeting.scheduled_at).where(Meeting.title == meeting_title)).one()
    walk.later(site, at)                                                            # the meeting's morning
    clerk = walk.open_task(people.clerk, meeting_title, "会议签到")
    clerk.uncheck(f"input[name='f.present'][value='{away}']")
    clerk.select_option("[name='f.absent.0.person']", away)
    clerk.fill("[name='f.absent.0.reason']", "赴省参加会议")
    assert "已提交：会议签到" in walk.submit(clerk)

    # the topic heard: outcome, presenter, a member's recusal, a decision for the minutes
    clerk = walk.open_task(people.clerk, TOPIC, "会议审议")
    assert "召开中" in clerk.locator("section.meeting-panel").inner_text()
    clerk.select_option("[name='f.outcome']", "通过")
    clerk.fill("[name='f.conclusion']", "原则同意，由区教育局会同区财政局落实")
    clerk.check(f"input[name='f.presenters_present'][value='{dept_head}']")
    recused = members[2]
    assert clerk.locator("[name='f.recused.0.person'] option").count() == len(members)      # those present, and 请选择
    clerk.select_option("[name='f.recused.0.person']", recused)
    clerk.fill("[name='f.recused.0.reason']", "近亲属任职于承建单位")
    clerk.fill("[name='f.decisions.0.task']", "编制学校建设资金分年度安排方案")
    clerk.select_option("[name='f.decisions.0.lead_unit']", lead_unit)
    clerk.fill("[name='f.decisions.0.due_on']", "2026-12-31")
    assert "已提交：会议审议" in walk.submit(clerk)

    clerk = walk.open_task(people.clerk, meeting_title, "会议审议")
    agenda = clerk.locator("section.meeting-panel ol.agenda").inner_text()
    assert "通过" in agenda and "回避" in agenda and org.display_name(recused) in agenda
    clerk.check("[name='f.closed']")
    assert "已提交：会议审议" in walk.submit(clerk)

    # 起草会议纪要: the meeting in view, the 议定事项 carried over under their topic by name
    clerk = walk.open_task(people.clerk, meeting_title, "起草会议纪要")
    panel = clerk.locator("section.meeting-panel").inner_text()
    assert TOPIC in panel and "请假" in panel and "赴省参加会议" in panel
    assert clerk.locator("[name='f.decisions.0.task']").input_value() == "编制学校建设资金分年度安排方案"
    chosen = clerk.locator("label:has(input[name='f.decisions.0.agenda_item']:checked)")      # one topic: a radio
    assert chosen.inner_text().strip() == TOPIC
    clerk.fill("[name='f.summary']", "会议听取了区教育局关于学校建设资金安排的汇报，原则同意。")
    assert "已提交：起草会议纪要" in walk.submit(clerk)

    head = walk.open_task(people.head, meeting_title, "签发纪要")
    head.check("input[name='f.decision'][value='签发']")
    head.fill("[name='f.opinion']", "抓紧落实")
    assert "已提交：签发纪要" in walk.submit(head)

    # 督办 to 销号: the decision became a 督办事项 of the lead unit (F1)
    unit = walk.open_task(staff, "编制学校建设资金分年度安排方案", "签收交办通知")
    unit.fill("[name='f.responsible']", "分管副局长张某，经办人李某")
    unit.fill("[name='f.plan']", "12月20日前报送方案")
    assert "已提交：签收交办通知" in walk.submit(unit)
    unit = walk.open_task(staff, "编制学校建设资金分年度安排方案", "报告办理情况")
    unit.fill("[name='f.progress']", "分年度安排方案已编制完成并报区政府")
    unit.select_option("[name='f.action']", "申请销号")
    unit.fill("[name='f.evidence']", "巴州教〔2026〕88号")
    assert "已提交：报告办理情况" in walk.submit(unit)
    supervision = org.with_duty("督查")[0].id
    supervisor = next(p.id for p in org.people.values()
                      if p.department == supervision and p.post in ("dept_staff", "office_clerk"))
    check = walk.open_task(supervisor, "编制学校建设资金分年度安排方案", "核查复核")
    sent = check.locator("dl.sent").inner_text()                                   # the report checked, whole
    assert "巴州教〔2026〕88号" in sent and "申请销号" in sent
    check.check("input[name='f.result'][value='通过']")
    check.fill("[name='f.opinion']", "经核查，方案已报送，同意销号")
    assert "已提交：核查复核" in walk.submit(check)
    walk.press(check, check.locator("header nav a:has-text('督办台账')"))
    row = check.locator("table tr").filter(has_text="编制学校建设资金分年度安排方案")
    assert "已销号" in row.inner_text()
    # the meeting's page: attendance, the recusal, the signed minutes and the 督办 item made from them
    walk.press(head, head.locator("header nav a:has-text('常务会议')"))
    walk.press(head, head.locator(f"table.meetings tr[data-meeting='{meeting_id}'] a"))
    page = head.locator("main").inner_text()
    assert "纪要已签发" in page and "抓紧落实" in page and "编制学校建设资金分年度安排方案" in page
    assert "赴省参加会议" in page and org.display_name(recused) in page
    shot(head, f"journey-meeting-{viewport}")
    sender = walk.person(staff)
    sender.goto(topic)
    walk.fits(sender, "the topic")
    assert "已办结" in sender.locator("dl.facts").inner_text()


# -- a designer: a bad element seen on the diagram with its reason, fixed, deployed ---------------------------
def test_a_designer_sees_a_bad_element_and_its_reason_fixes_it_and_deploys_through_the_pages(browse, site,
                                                                                          viewport):
    walk = Walk(browse, viewport)
    page = walk.person("qianze")
    walk.press(page, page.locator("#process-dept_request a:has-text('在建模器中打开')"))
    page.locator('[data-element-id="office_review"]').click()
    due = page.locator("#properties input[name=dueDate]")
    due.fill("workdays(3")                                        # a bracket left open
    due.press("Tab")
    walk.press(page, page.locator("#validate"))
    badge = page.locator('.djs-overlays[data-container-id="office_review"] .problem-badge')
    expect(badge).to_be_visible()
    problem = page.locator("#problems li[data-element=office_review]")
    expect(problem).to_contain_text("workdays(3)")                # the reason, with what it should look like
    expect(page.locator("#status")).to_contain_text("发现 1 处问题")
    shot(page, f"journey-designer-problem-{viewport}")

    walk.press(page, problem.locator("button"))                   # to the element
    due.fill("workdays(3)")
    due.press("Tab")
    walk.press(page, page.locator("#validate"))
    expect(page.locator("#status")).to_have_text("校验通过，没有发现问题")
    expect(page.locator(".problem-badge")).to_have_count(0)
    walk.press(page, page.locator("#deploy"))
    expect(page.locator("#status")).to_contain_text("已部署为第 2 版")
    walk.press(page, page.locator("#status a:has-text('打开第 2 版')"))
    expect(page.locator("main")).to_contain_text("第 2 版，2026年11月23日 09:00 由钱泽部署")
    walk.fits(page, "version 2")
    with site.store.read() as db:
        version = db.scalars(select(ProcessVersion).where(ProcessVersion.process_id == "dept_request",
                                                          ProcessVersion.version == 2)).one()
        assert 'value="workdays(3)"' in db.get(Blob, version.bpmn_hash).content


# -- an auditor: 回放 from the first event, the chain verified, an anchor ----------------------------------------
def test_an_auditor_replays_a_history_from_its_first_event_and_verifies_the_chain(browse, site, viewport):
    people, walk = People("bazhou"), Walk(browse, viewport)
    instance_id = start(site, people.sender, "document_approval", people.document(departments=[]))    # a history
    complete(site, people.clerk, task(site, instance_id, "receipt").id, {"received": True})
    complete(site, people.clerk, task(site, instance_id, "office_review").id,
             {"decision": "拟办", "opinion": "拟请分管副区长审核"})

    auditor = walk.person("xuxiaoling")
    assert auditor.locator("a.start-link").count() == 0
    walk.press(auditor, auditor.locator(f"a[href='/instances/{instance_id}']").first)
    walk.press(auditor, auditor.locator("a:has-text('回放（从第一条事件起）')"))
    position = auditor.locator(".replay-position")
    total = int(position.inner_text().split("/")[1].split("条")[0])
    assert position.inner_text().startswith("第 1 /") and total > 3
    assert auditor.locator("a[rel=prev]").count() == 0 and auditor.locator("a[rel=first]").count() == 0
    walk.press(auditor, auditor.locator("a[rel=next]"))
    assert position.inner_text().startswith("第 2 /")
    walk.press(auditor, auditor.locator("a[rel=last]"))
    assert position.inner_text() == f"第 {total} / {total} 条"
    checks = auditor.locator("table.rule-checks").inner_text()
    assert "通过" in checks and "{" not in checks and "依据" in checks          # in words, not JSON
    open_now = auditor.locator("table.open-tasks").inner_text()
    assert "签发" in open_now and people.org.display_name(people.lead) in open_now
    walk.press(auditor, auditor.locator("a[rel=first]"))
    assert position.inner_text().startswith("第 1 /")
    shot(auditor, f"journey-replay-{viewport}")

    walk.press(auditor, auditor.locator("header nav a:has-text('审计')"))
    expect(auditor.locator("[data-chain=ok]")).to_contain_text("事件链完整")
    auditor.fill("input[name=instance_id]", str(instance_id))
    walk.press(auditor, auditor.locator("form.filters button:has-text('校验')"))
    expect(auditor.locator("[data-instance-chain=ok]")).to_contain_text("的事件完整")
    with auditor.expect_download() as download:
        walk.press(auditor, auditor.locator("a:has-text('下载锚点')"))
    anchor = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert str(instance_id) in json.dumps(anchor)

    auditor.goto("/processes/document_approval/start")                      # 发起 is not an auditor's
    walk.fits(auditor, "refusal")
    assert "审计人员只能查阅，不能发起事项" in auditor.locator("main").inner_text()


# -- words -----------------------------------------------------------------------------------------------------
def test_what_the_demo_or_the_command_line_deployed_is_not_shown_as_a_person(site):
    for actor, said in (("demo", "由演示程序部署"), ("cli", "由命令行部署")):
        xml = (REPO / "processes" / "dept_request.bpmn").read_bytes()
        version = deploy(site, xml, "dept_request.bpmn", actor,
                         {"office_review.json": (REPO / "forms" / "office_review.json").read_text(encoding="utf-8")
                          .replace("拟办意见", f"拟办意见（{actor}）")})
        number = version["versions"][0]["version"]
        shown = logged_in(site, "qianze").get(f"/designer/dept_request/{number}").get_data(as_text=True)
        assert said in shown and f"由{actor}部署" not in shown
