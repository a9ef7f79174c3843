"""What a walk through the day's merged pages found, each fixed and kept fixed, in a real browser
(巴州区): the auditor's 越权记录 names the refused write in Chinese, and a 消息's title is in the
page's font. The matter is brought to its step through the services; the people act through pages."""
from __future__ import annotations

from types import SimpleNamespace

from browser import shot
from govflow.ui.refusals import refused_write
from helpers import open_tasks, start
from test_document_process import People

REFUSE = """async ([url, csrf]) => {
  const form = new FormData(); form.append('csrf', csrf); form.append('to', 'songyang'); form.append('reason', 'x');
  return (await fetch(url, {method: 'POST', body: form})).status }"""


def group_task(site) -> str:
    people = People("bazhou")
    instance_id = start(site, people.sender, "document_approval", people.document(departments=[]))
    return next(t.id for t in open_tasks(site, instance_id))


def csrf(page) -> str:
    return page.locator("input[name=csrf]").first.get_attribute("value")


def test_the_refused_writes_page_names_each_refused_action_in_chinese_not_its_endpoint(browse, site):
    task_id = group_task(site)                                   # offered to the office, not to the sender
    sender = browse("wanwenhua")
    assert sender.evaluate(REFUSE, [f"/tasks/{task_id}/transfer", csrf(sender)]) == 403
    assert sender.evaluate(REFUSE, [f"/tasks/{task_id}/claim", csrf(sender)]) == 403
    auditor = browse("xuxiaoling")
    assert auditor.evaluate(REFUSE, ["/processes/document_approval/start", csrf(auditor)]) == 403
    auditor.goto("/audit/refusals")
    writes = {cell.inner_text() for cell in auditor.locator("table.refusals td.write").all()}
    assert writes == {"页面：签收", "页面：发起事项"}    # one row a kind a day, named by its latest
    shown = auditor.locator("main").inner_text()
    assert "ui." not in shown and "task_action" not in shown and "start_process" not in shown
    shot(auditor, "walk-refusals")


def test_a_refused_write_of_an_unknown_or_odd_kind_is_still_named_in_chinese():
    def row(endpoint, target="/x"):
        return SimpleNamespace(endpoint=endpoint, target=target)
    assert refused_write(row("api.start_instance")) == "接口：发起事项"
    assert refused_write(row("ui.task_action", "/tasks/abc/press/")) == "页面：催办"
    assert refused_write(row("ui.task_action", "/tasks/abc/<script>")) == "页面：办理任务"
    assert refused_write(row("ui.something_added_later")) == "页面：其他修改操作"
    assert refused_write(row("", "")) == "页面：其他修改操作"
    assert refused_write(row(None, None)) == "页面：其他修改操作"


def test_a_messages_title_is_in_the_pages_font_not_the_browsers_button_font(browse, site):
    group_task(site)                                             # 收文登记 offered to the office: a 消息 to each
    clerk = browse("zhongjie")
    clerk.goto("/messages")
    title = clerk.locator("ol.messages button.link").first
    assert "待办" in title.inner_text()
    font, body = clerk.evaluate("""() => [
        getComputedStyle(document.querySelector('ol.messages button.link')).fontFamily,
        getComputedStyle(document.body).fontFamily]""")
    assert font == body
    title.click()
    clerk.wait_for_load_state()
    assert "收文登记" in clerk.locator("h1").inner_text()


def test_the_administrators_message_settings_say_when_no_robot_is_set_and_nothing_was_sent(browse, site):
    admin = browse("wangpeng")
    admin.goto("/messages/settings")
    assert admin.locator("table.robots").inner_text().strip().endswith("尚未设置部门群机器人")
    assert admin.locator("table.deliveries").inner_text().strip().endswith("尚无送达记录")


def test_no_opinions_yet_is_said_without_a_list_number(browse, site):
    task_id = group_task(site)                                   # 收文登记: nobody has given an opinion
    clerk = browse("zhongjie")
    clerk.goto(f"/tasks/{task_id}")
    empty = clerk.locator("ol.opinions > li.muted")
    assert empty.inner_text() == "尚无办理意见。"
    assert empty.evaluate("e => getComputedStyle(e).listStyleType") == "none"
    box, list_box = empty.bounding_box(), clerk.locator("ol.opinions").bounding_box()
    assert box["x"] <= list_box["x"] + 1                         # not indented as a numbered item


def test_a_step_that_takes_no_files_of_a_matter_without_any_shows_no_empty_files_section(browse, site):
    task_id = group_task(site)              # 收文登记 takes no files; this document was started without any
    clerk = browse("zhongjie")
    clerk.goto(f"/tasks/{task_id}")
    assert clerk.locator("section.files").count() == 0
    assert "尚无正文或附件" not in clerk.locator("main").inner_text()
