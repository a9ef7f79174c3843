"""Notifications, delivered for real: a step's events leave their messages in the step's own
transaction (the outbox), the worker sends them to a real SMTP server (aiosmtpd) and a real HTTP
receiver on loopback in the JSON of 企业微信 and 钉钉, a 机密 matter's message says nothing of it, and
a channel that is down, slow or refused never touches a step."""
from __future__ import annotations

import json
import re
import socket
import threading
import time
from datetime import timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from bpmn_builder import chain, diagram, end, start, user
from browser import shot
from conftest import MONDAY_9AM, REPO, SEAL_KEY_FILE, Api, build_system, load_org
from govflow.app import create_app
from govflow.config import Settings
from govflow.errors import ValidationFailed
from govflow.store.models import DeliveryAttempt, Notification, NotificationDelivery
from govflow.work import admin, circulation, delivery, notifications, rewind, tasks, worker
from govflow.work.system import Govflow
from helpers import actor, complete, deploy_xml, open_tasks, task
from helpers import start as start_instance
from procedures import People, convened, to_sign_in

ORG = load_org("bazhou")
CLERKS = sorted(p.id for p in ORG.with_post("office_clerk", ORG.office_id) if not p.roles)
SECRET_TITLE = "关于某涉密项目选址的请示"


# -- the receivers --------------------------------------------------------------------------------------------
class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def mailbox():
    box = Mailbox()
    with socket.socket() as probe:           # aiosmtpd checks its port by connecting to it: name one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.address = f"127.0.0.1:{port}"
    yield box
    controller.stop()


class Receiver:
    """An HTTP server on loopback that records every POST; ``status`` and ``delay`` make it fail or lag."""

    def __init__(self):
        self.calls, self.status, self.delay = [], 200, 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's hook name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                time.sleep(receiver.delay)
                receiver.calls.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
                answer = json.dumps({"errcode": 0, "errmsg": "ok"}).encode()
                self.send_response(receiver.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def on(self, path: str) -> list[dict]:
        return [c for c in self.calls if c["path"] == path]


@pytest.fixture
def receiver():
    made = Receiver()
    yield made
    made.server.shutdown()
    made.server.server_close()


@pytest.fixture
def notified(database_url, mailbox):
    system = build_system(database_url, smtp=mailbox.address, base_url="https://oa.example.gov.cn",
                          notify_timeout=1.0)
    deploy_xml(system, (REPO / "processes" / "document_approval.bpmn").read_bytes(), "document_approval.bpmn")
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    yield system
    system.store.dispose()


def document(title: str, secrecy: str = "无") -> dict:
    return {"doc_type": "请示", "title": title, "department": "jyj", "urgency": "特急", "secrecy": secrecy,
            "category": "government_business", "issuer": "政府", "departments": [], "body": "妥否，请批示。",
            "urgency_reason": "汛期将至",
            "signoff": {"signer": "liangxiaodong", "meeting": "局务会议纪要〔2026〕3号"}}


def channels(system, person: str, **targets) -> None:
    with system.store.write() as session:
        for channel, target in targets.items():
            delivery.set_channel(session, "person", person, channel, target, system.settings.mode)


def messages(system, person: str | None = None) -> list[Notification]:
    with system.store.read() as session:
        query = select(Notification).order_by(Notification.created_at, Notification.kind)
        return list(session.scalars(query.where(Notification.person_id == person) if person else query))


def op(system, name, person, *args):
    with system.store.write() as session:
        return getattr(tasks, name)(system, session, actor(system, person), *args)


def receipt(system, secrecy: str = "无", title: str = "关于追加防汛经费的请示") -> tuple[int, str]:
    instance_id = start_instance(system, "shenkai", "document_approval", document(title, secrecy))
    return instance_id, open_tasks(system, instance_id)[0].id


# -- the outbox -----------------------------------------------------------------------------------------------
def test_a_group_task_tells_each_of_the_group_in_the_steps_own_transaction(notified):
    _, task_id = receipt(notified)
    told = messages(notified)
    assert {n.person_id for n in told} >= set(CLERKS) and {n.kind for n in told} == {"offered"}
    assert all(n.task_id == task_id and n.link == f"/tasks/{task_id}" and "【特急】" in n.title for n in told)
    assert len({n.event_key for n in told}) == 1          # one event, one message per person


def test_a_step_that_fails_leaves_no_message(notified):
    _, task_id = receipt(notified)
    before = len(messages(notified))
    with pytest.raises(RuntimeError):
        with notified.store.write() as session:
            tasks.press(notified, session, actor(notified, "wangpeng"), task_id, "请尽快登记")
            assert session.scalar(select(func.count()).select_from(Notification)) > before   # written with it
            raise RuntimeError("the step fails after its events")
    assert len(messages(notified)) == before
    with pytest.raises(ValidationFailed):
        op(notified, "claim", CLERKS[0], task_id)
        op(notified, "transfer", CLERKS[0], task_id, "nobody-such")
    assert [n.kind for n in messages(notified) if n.kind != "offered"] == []


def test_handing_over_sending_back_and_circulating_tell_the_people_they_reach(notified):
    instance_id, task_id = receipt(notified)
    clerk, other = CLERKS[0], CLERKS[1]
    op(notified, "claim", clerk, task_id)
    op(notified, "transfer", clerk, task_id, other, "请代为登记")
    assert [(n.kind, n.body) for n in messages(notified, other) if n.kind == "transferred"] == [
        ("transferred", "“收文登记”已转办给您：请代为登记")]
    op(notified, "delegate", other, task_id, clerk, "")
    assert "delegated" in [n.kind for n in messages(notified, clerk)]
    op(notified, "resolve", clerk, task_id, "已核")
    assert "delegation_back" in [n.kind for n in messages(notified, other)]
    op(notified, "add_signer", other, task_id, "jiangjianguo", "请会签")
    assert [n.kind for n in messages(notified, "jiangjianguo")] == ["addsign"]
    with notified.store.write() as session:
        circulation.circulate(notified, session, actor(notified, other), instance_id, ["zhouguoqiang"], "请阅")
    assert [(n.kind, n.link) for n in messages(notified, "zhouguoqiang")] == [("circulated", "/inbox?view=read")]
    assert not [n for n in messages(notified, other) if n.kind == "delegated"]   # nobody is told of their own acts
    assert not [n for n in messages(notified, clerk) if n.kind in ("transferred", "delegation_back")]


def test_a_task_due_within_a_workday_and_an_overdue_task_are_told_by_the_worker(notified):
    work = user("work", name="报送材料", form="press_record.json").replace(
        "</spiffworkflow:properties>", '<spiffworkflow:property name="dueDate" value="workdays(2)"/>'
        "</spiffworkflow:properties>")
    deploy_xml(notified, diagram("due_test", start(), work, end(), chain("start", "work", "end"),
                                 lanes={"办公室": ["start", "work", "end"]}))
    instance_id = start_instance(notified, CLERKS[0], "due_test", {"title": "报送年度总结"})
    task_id = open_tasks(notified, instance_id)[0].id
    op(notified, "claim", CLERKS[0], task_id)
    with notified.store.read() as session:
        due = session.get(notifications.Task, task_id).due_at
    with notified.store.write() as session:
        admin.set_clock(notified, session, due - timedelta(hours=2), True, "test")
    worker.run_once(notified, deliver=False)
    worker.run_once(notified, deliver=False)          # told once per deadline
    assert [n.kind for n in messages(notified, CLERKS[0])].count("due_soon") == 1
    with notified.store.write() as session:
        admin.set_clock(notified, session, due + timedelta(days=1), True, "test")
    worker.run_once(notified, deliver=False)
    overdue = [n for n in messages(notified, CLERKS[0]) if n.kind == "overdue"]
    assert len(overdue) == 1 and "已逾期" in overdue[0].body


# -- delivery -------------------------------------------------------------------------------------------------
def test_a_press_arrives_by_email_and_as_a_wecom_markdown_message_once(notified, mailbox, receiver):
    _, task_id = receipt(notified)
    clerk = CLERKS[0]
    op(notified, "claim", clerk, task_id)
    channels(notified, clerk, email="clerk@example.gov.cn", wecom=f"{receiver.url}/wecom")
    delivery.run_once(notified)      # what was there before the channels: the group task
    mailbox.messages.clear(), receiver.calls.clear()
    op(notified, "press", "wangpeng", task_id, "今天下班前登记")
    for _ in range(3):
        delivery.run_once(notified)
    assert len(mailbox.messages) == 1
    to, mail = mailbox.messages[0]
    assert to == ["clerk@example.gov.cn"] and mail["Subject"] == "催办：【特急】关于追加防汛经费的请示"
    assert f"https://oa.example.gov.cn/tasks/{task_id}" in mail.get_content()
    assert mail["X-Govflow-Notification"] and mail["Message-ID"]
    [call] = receiver.on("/wecom")
    assert set(call["json"]) == {"msgtype", "markdown"} and call["json"]["msgtype"] == "markdown"
    content = call["json"]["markdown"]["content"]
    assert "催办：【特急】关于追加防汛经费的请示" in content and "今天下班前登记" in content
    assert f"[查看详情](https://oa.example.gov.cn/tasks/{task_id})" in content
    assert call["headers"]["X-Govflow-Notification"] == mail["X-Govflow-Notification"].replace(":email", ":wecom")
    with notified.store.read() as session:
        attempts = session.scalars(select(DeliveryAttempt)).all()
    assert attempts and all(a.ok for a in attempts)


def test_a_dingtalk_robot_gets_its_own_markdown_format(notified, receiver):
    _, task_id = receipt(notified)
    op(notified, "claim", CLERKS[0], task_id)
    channels(notified, "jiangjianguo", dingtalk=f"{receiver.url}/ding")
    op(notified, "add_signer", CLERKS[0], task_id, "jiangjianguo", "")
    delivery.run_once(notified)
    [call] = receiver.on("/ding")
    body = call["json"]
    assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"title", "text"}
    assert body["markdown"]["title"] == "加签：【特急】关于追加防汛经费的请示"
    assert "[查看详情](https://oa.example.gov.cn/tasks/" in body["markdown"]["text"]


def test_a_department_robot_hears_of_a_group_task_once(notified, receiver):
    with notified.store.write() as session:
        delivery.set_channel(session, "department", ORG.office_id, "wecom", f"{receiver.url}/office", "test")
    receipt(notified)
    delivery.run_once(notified)
    delivery.run_once(notified)
    assert len(receiver.on("/office")) == 1


def test_a_classified_matters_message_carries_no_title_outside_govflow(notified, mailbox, receiver):
    clerk = CLERKS[0]
    channels(notified, clerk, email="clerk@example.gov.cn", wecom=f"{receiver.url}/wecom")
    channels(notified, CLERKS[1], dingtalk=f"{receiver.url}/ding")
    _, task_id = receipt(notified, "机密", SECRET_TITLE)
    delivery.run_once(notified)
    [(_, mail)] = mailbox.messages
    assert mail["Subject"] == "您有一件涉密待办" and SECRET_TITLE not in mail.get_content()
    assert "收文登记" not in mail.get_content() and f"/tasks/{task_id}" in mail.get_content()
    sent = json.dumps([c["json"] for c in receiver.calls], ensure_ascii=False)
    assert len(receiver.calls) == 2 and SECRET_TITLE not in sent and "收文登记" not in sent and "特急" not in sent
    assert all("您有一件涉密待办" in json.dumps(c["json"], ensure_ascii=False) for c in receiver.calls)
    assert SECRET_TITLE in messages(notified, clerk)[0].title      # the in-app message, inside govflow, has it


def test_a_channel_that_is_down_fails_no_step_and_is_retried_with_backoff(notified, receiver):
    clerk = CLERKS[0]
    channels(notified, clerk, wecom=f"{receiver.url}/wecom", email="clerk@example.gov.cn")
    notified.store.dispose()
    down = build_system(notified.settings.database_url, smtp="127.0.0.1:9", notify_timeout=1.0)  # nothing listens
    receiver.status = 500
    _, task_id = receipt(down)
    op(down, "claim", clerk, task_id)                # the steps go on
    delivery.run_once(down)
    with down.store.read() as session:
        rows = session.scalars(select(NotificationDelivery).where(NotificationDelivery.target.like("%wecom"))).all()
        mail = session.scalars(select(NotificationDelivery).where(NotificationDelivery.channel == "email")).one()
    assert [(r.state, r.attempts) for r in rows] == [("pending", 1)] and "HTTP 500" in rows[0].last_error
    assert mail.state == "pending" and "无法连接" in mail.last_error
    now = MONDAY_9AM
    delivery.run_once(down)
    assert len(receiver.on("/wecom")) == 1           # not yet due again: backoff
    receiver.status = 200
    with down.store.write() as session:
        admin.set_clock(down, session, now + timedelta(minutes=2), True, "test")
    delivery.run_once(down)
    with down.store.read() as session:
        row = session.get(NotificationDelivery, rows[0].id)
        attempts = session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.delivery_id == row.id)).all()
    assert (row.state, row.attempts) == ("sent", 2) and [a.ok for a in attempts] == [False, True]
    down.store.dispose()


def test_a_slow_robot_times_out_and_the_step_does_not_wait(notified, receiver):
    receiver.delay = 3.0
    channels(notified, CLERKS[0], wecom=f"{receiver.url}/slow")
    started = time.monotonic()
    receipt(notified)
    assert time.monotonic() - started < 2.5           # the step never called the robot
    delivery.run_once(notified)
    with notified.store.read() as session:
        row = session.scalars(select(NotificationDelivery)).one()
    assert row.state == "pending" and row.last_error == "连接超时"


def test_quiet_hours_hold_a_message_until_they_end(notified, receiver):
    clerk = CLERKS[0]
    channels(notified, clerk, wecom=f"{receiver.url}/wecom")
    with notified.store.write() as session:
        delivery.set_preference(session, clerk, ["wecom"], "08:00", "10:00")   # the clock says 09:00
    receipt(notified)
    delivery.run_once(notified)
    assert receiver.on("/wecom") == []
    with notified.store.write() as session:
        admin.set_clock(notified, session, MONDAY_9AM + timedelta(hours=1, minutes=1), True, "test")
    delivery.run_once(notified)
    assert len(receiver.on("/wecom")) == 1


def test_a_killed_sender_loses_nothing_and_sends_again_with_the_same_key(notified, receiver):
    channels(notified, CLERKS[0], wecom=f"{receiver.url}/wecom")
    receipt(notified)
    delivery.plan(notified)
    claimed = delivery.claim(notified)               # leased and committed, then the worker dies before sending
    assert len(claimed) == 1 and delivery.claim(notified) == []
    with notified.store.write() as session:
        admin.set_clock(notified, session, MONDAY_9AM + timedelta(minutes=5), True, "test")
    delivery.run_once(notified)                      # the lease ran out: sent by the next round
    [call] = receiver.on("/wecom")
    assert call["headers"]["X-Govflow-Notification"] == claimed[0].key


# -- bad input ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("url, mode, reason", [
    ("ftp://robot.example.com/hook", "test", "只能使用 http:// 或 https:// 地址"),
    ("javascript:alert(1)", "test", "只能使用 http:// 或 https:// 地址"),
    ("file:///etc/passwd", "production", "只能使用 http:// 或 https:// 地址"),
    ("http:///nohost", "test", "地址缺少主机名"),
    ("http://127.0.0.1:8000/hook", "production", "指向本机"),
    ("http://localhost/hook", "production", "指向本机"),
    ("http://[::1]/hook", "production", "指向本机"),
    ("http://169.254.169.254/latest/meta-data", "production", "链路本地"),
    ("https://qyapi.weixin.qq.com/" + "x" * 600, "test", "地址过长"),
])
def test_a_robot_address_that_is_not_http_or_points_inside_is_refused_in_chinese(url, mode, reason):
    with pytest.raises(ValidationFailed) as refused:
        delivery.check_target("wecom", url, mode)
    assert reason in refused.value.message and refused.value.message.startswith("群机器人地址不可用")


def test_loopback_is_allowed_outside_production_and_bad_emails_and_hours_are_refused():
    delivery.check_target("wecom", "http://127.0.0.1:8000/hook", "test")
    for bad in ("not-an-address", "a@b", "x@y.z\r\nBcc: evil@example.com"):
        with pytest.raises(ValidationFailed, match="电子邮件地址格式不正确"):
            delivery.check_target("email", bad, "test")
    with pytest.raises(ValidationFailed, match="HH:MM"):
        delivery.check_quiet("25:00", "quiet_from")


# -- the 消息 API ---------------------------------------------------------------------------------------------
def test_the_message_list_counts_unread_and_marks_read_only_ones_own(notified):
    api = Api(create_app(system=notified))
    receipt(notified)
    clerk = CLERKS[0]
    answer = api.get("/notifications", clerk).get_json()
    assert answer["unread"] == 1 and answer["items"][0]["kind_name"] == "组待办"
    mine = answer["items"][0]["id"]
    other = messages(notified, CLERKS[1])[0].id
    assert api.post(f"/notifications/{other}/read", clerk).status_code == 404
    assert api.post(f"/notifications/{mine}/read", clerk).status_code == 200
    assert api.get("/notifications", clerk).get_json()["unread"] == 0
    assert api.get("/notifications?unread=true", CLERKS[1]).get_json()["unread"] == 1
    assert api.post("/notifications/read-all", CLERKS[1]).get_json() == {"marked": 1}
    assert api.get("/notifications").status_code == 401


# -- in the browser -------------------------------------------------------------------------------------------
@pytest.fixture
def site(sqlite_url, mailbox):
    """巴州区 with every diagram, sending mail to the test's SMTP server (browser.py's ``served`` serves it)."""
    system = build_system(sqlite_url, smtp=mailbox.address, base_url="https://oa.example.gov.cn", notify_timeout=1.0)
    for path in sorted((REPO / "processes").glob("*.bpmn")):
        deploy_xml(system, path.read_bytes(), path.name)
    yield system
    system.store.dispose()


def test_a_press_in_the_browser_reaches_mail_and_wecom_and_the_message_list_counts_it(site, browse, mailbox,
                                                                                        receiver):
    clerk = CLERKS[0]
    _, task_id = receipt(site)
    receipt(site, "机密", SECRET_TITLE)
    page = browse(clerk)
    assert page.locator("#unread-count").inner_text() == "2"
    page.goto("/messages/settings")
    page.fill("input[name=wecom]", "ftp://robot.example.com/hook")
    page.click("form.settings >> text=保存")
    assert "群机器人地址不可用：只能使用 http:// 或 https:// 地址" in page.locator("[role=alert]").inner_text()
    page.fill("input[name=email]", "clerk@example.gov.cn")
    page.fill("input[name=wecom]", f"{receiver.url}/wecom")
    page.click("form.settings >> text=保存")
    assert "已保存" in page.locator("[role=status]").inner_text()
    op(site, "claim", clerk, task_id)
    delivery.run_once(site)       # the two group tasks, now that the clerk has channels
    mailbox.messages.clear(), receiver.calls.clear()

    with site.store.write() as session:     # the press comes later than the tasks: listed first
        admin.set_clock(site, session, MONDAY_9AM + timedelta(hours=1), True, "test")
    office = browse("shenkai")    # the 公文's sender presses the clerk
    office.goto(f"/tasks/{task_id}")
    office.click("details[data-action=press] summary")
    office.fill("details[data-action=press] input[name=note]", "请今天登记")
    office.click("details[data-action=press] button")
    assert "已催办" in office.locator("[role=status]").inner_text()
    delivery.run_once(site)
    [(_, mail)] = mailbox.messages
    assert mail["Subject"] == "催办：【特急】关于追加防汛经费的请示"
    [call] = receiver.on("/wecom")
    assert call["json"]["msgtype"] == "markdown" and "请今天登记" in call["json"]["markdown"]["content"]

    page.goto("/messages")
    assert page.locator("#unread-count").inner_text() == "3"
    items = page.locator("ol.messages li")
    assert items.count() == 3 and "催办：【特急】关于追加防汛经费的请示" in items.first.inner_text()
    assert SECRET_TITLE in page.locator("ol.messages").inner_text()      # inside govflow the clerk sees it
    shot(page, "messages")
    items.first.locator("button.link").click()
    page.wait_for_url(f"**/tasks/{task_id}")
    assert page.locator("#unread-count").inner_text() == "2"
    page.goto("/messages?view=unread")
    page.click("text=全部标为已读")
    assert page.locator("#unread-count").count() == 0


def test_a_followup_item_tells_its_lead_unit_and_a_settled_agenda_tells_the_meetings_members(notified):
    people = People("bazhou")
    deploy_xml(notified, (REPO / "processes" / "decision_followup.bpmn").read_bytes(), "decision_followup.bpmn")
    deploy_xml(notified, (REPO / "processes" / "standing_meeting.bpmn").read_bytes(), "standing_meeting.bpmn")
    item = start_instance(notified, people.duty("督查"), "decision_followup", {
        "source": "领导批示", "source_ref": "区长批示件〔2026〕12号", "task": "整治城区占道经营", "lead_unit": "jyj",
        "assisting_units": [], "due_on": "2027-03-31"})
    acknowledge = task(notified, item, "acknowledge")
    told = [n for n in messages(notified) if n.task_id == acknowledge.id]
    assert told and {n.kind for n in told} == {"followup"} and told[0].body.startswith("督办事项已交办您单位")
    assert {n.person_id for n in told} <= {p.id for p in ORG.people.values() if p.department == "jyj"}
    _, meeting = convened(notified, "2026-11-27T09:00:00+08:00")
    to_sign_in(notified, ORG, meeting)
    invited = {n.person_id for n in messages(notified) if n.kind == "meeting"}
    assert invited == set(ORG.meeting_members) - {ORG.head().id}      # the head settled it: not told of it


def test_a_task_sent_back_tells_the_one_who_does_it_again(notified):
    instance_id, task_id = receipt(notified)
    clerk = CLERKS[0]
    complete(notified, clerk, task_id, {"received": True})
    review = task(notified, instance_id, "office_review")
    reviewer = review.assignee or CLERKS[1]
    with notified.store.write() as session:
        rewind.send_back(notified, session, actor(notified, reviewer), review.id, "receipt", "登记信息有误")
    back = [n for n in messages(notified) if n.kind == "returned"]
    assert back and back[0].body == "“收文登记”已退回您重新办理：登记信息有误"


def test_the_admin_page_refuses_a_loopback_robot_in_production_and_shows_a_timed_out_delivery(sqlite_url, receiver):
    seeded = build_system(sqlite_url, notify_timeout=0.5)
    deploy_xml(seeded, (REPO / "processes" / "document_approval.bpmn").read_bytes(), "document_approval.bpmn")
    receiver.delay = 2.0
    with seeded.store.write() as session:
        delivery.set_channel(session, "person", CLERKS[0], "wecom", f"{receiver.url}/slow", "test")
    receipt(seeded)
    delivery.run_once(seeded)
    seeded.store.dispose()
    production = Govflow(Settings(database_url=sqlite_url, mode="production", home=REPO, secret_key="test",
                                  seal_key_file=SEAL_KEY_FILE))
    client = create_app(system=production).test_client()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"csrf": csrf, "username": "wangpeng", "password": "demo"}).status_code == 302
    page = client.get("/messages/settings").get_data(as_text=True)
    assert "连接超时" in page and "待发送" in page          # the slow robot's delivery, waiting for its retry
    for url, said in (("http://127.0.0.1:9/hook",
                       "127.0.0.1 指向本机、链路本地或保留地址（127.0.0.1），生产模式下不允许"),
                      ("http://169.254.169.254/latest", "指向本机、链路本地或保留地址（169.254.169.254）"),
                      ("gopher://robot.example.com/", "只能使用 http:// 或 https:// 地址")):
        answer = client.post("/messages/settings", data={"csrf": csrf, "scope": "department", "department": "jyj",
                                                         "channel": "wecom", "target": url})
        assert answer.status_code == 422 and said in answer.get_data(as_text=True)
    with production.store.read() as session:
        assert delivery.channels_of(session, "department", "jyj") == {}
    production.store.dispose()


def test_odd_requests_to_the_message_api_are_answered_in_words_never_a_500(notified):
    api = Api(create_app(system=notified))
    clerk = CLERKS[0]
    assert api.post(f"/notifications/{'x' * 10000}/read", clerk).status_code == 404
    assert api.post("/notifications/%27%20OR%201=1--/read", clerk).status_code == 404
    for query in ("limit=0", "limit=abc", "offset=-1", "unread=maybe"):
        answer = api.get(f"/notifications?{query}", clerk)
        assert answer.status_code == 422 and answer.get_json()["message"], query
    assert api.post("/notifications/read-all", "xuxiaoling").status_code == 403     # auditors change nothing


def test_two_senders_never_claim_the_same_delivery(notified, receiver):
    for clerk in CLERKS:
        channels(notified, clerk, wecom=f"{receiver.url}/{clerk}")
    for n in range(4):
        receipt(notified, title=f"关于第{n}批防汛物资的请示")
    delivery.plan(notified)
    claimed, barrier = [], threading.Barrier(2)

    def sender():
        barrier.wait()
        claimed.append([item.delivery_id for item in delivery.claim(notified, batch=5)])

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = claimed
    assert first and second and not set(first) & set(second)       # FOR UPDATE SKIP LOCKED / BEGIN IMMEDIATE
