"""Sending notifications out: email over SMTP and the group robots of 企业微信 and 钉钉, each message
in the robot's own JSON (markdown, with a link back to the task).

The worker reads the outbox (``notification`` rows the steps wrote) in three moves, each its own
transaction so that nothing a step does waits on a channel:
1. ``plan``: each new notification becomes one delivery per channel the person chose and has a target
   for (their own address or robot, or their department's robot), due now or when their quiet hours
   end; a delivery's ``key`` (the notification, or the event for a shared robot) is unique, so a
   department robot hears of a group task once.
2. ``claim``: due deliveries are leased (``next_at`` moves past the send's time limit) and committed
   before anything is sent; several workers skip each other's rows (``FOR UPDATE SKIP LOCKED``).
3. each is sent with a time limit and its attempt recorded: sent, or due again after a backoff, or
   given up after ``MAX_ATTEMPTS``. A worker killed between 2 and 3 leaves the lease to run out and
   the delivery is sent again: at least once, each time with the same idempotency key (the email's
   Message-ID, the webhook's ``X-Govflow-Notification`` header), by which a receiver drops repeats.

A 秘密/机密 matter's message says only "您有一件涉密待办" and the link: its title and content never
leave govflow.
"""
from __future__ import annotations

import ipaddress
import json
import logging
import re
import smtplib
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from ..errors import ValidationFailed
from ..store.models import DeliveryAttempt, Notification, NotificationDelivery, NotifyChannel, NotifyPreference
from ..time.timeutil import SHANGHAI
from .notifications import SECRET_TEXT
from .system import Govflow

log = logging.getLogger(__name__)
CHANNELS = {"email": "电子邮件", "wecom": "企业微信群机器人", "dingtalk": "钉钉群机器人"}
ROBOTS = ("wecom", "dingtalk")
MAX_ATTEMPTS = 8
BACKOFF = timedelta(minutes=1)        # doubled after each failure, up to MAX_BACKOFF
MAX_BACKOFF = timedelta(hours=6)
_EMAIL = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")
_QUIET = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


# -- targets: checked when they are set, and again before each send ----------------------------------------
def check_target(channel: str, target: str, mode: str) -> str:
    target = (target or "").strip()
    if channel not in CHANNELS:
        raise ValidationFailed(f"未知的通知渠道：{channel}", [{"field": "channel", "reason": channel}])
    if channel == "email":
        if not _EMAIL.match(target):
            raise ValidationFailed(f"电子邮件地址格式不正确：{target[:100]}",
                                   [{"field": "target", "reason": "格式不正确"}])
        return target
    check_url(target, mode)
    return target


def check_url(url: str, mode: str) -> None:
    """A robot's webhook: http(s) only, and in production never this machine or a link-local address
    (a webhook must not reach the server's own services or the cloud's metadata address)."""
    def refuse(reason: str):
        raise ValidationFailed(f"群机器人地址不可用：{reason}", [{"field": "target", "reason": reason}])
    if len(url) > 500:
        refuse("地址过长（上限 500 个字符）")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        refuse("只能使用 http:// 或 https:// 地址")
    if not parts.hostname:
        refuse("地址缺少主机名")
    if mode != "production":
        return
    try:
        found = socket.getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
        addresses = {info[4][0] for info in found}
    except (socket.gaierror, UnicodeError):
        refuse(f"无法解析主机名 {parts.hostname}")
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
            refuse(f"{parts.hostname} 指向本机、链路本地或保留地址（{ip}），生产模式下不允许")


def check_quiet(text: str, field: str) -> str:
    text = (text or "").strip()
    if text and not _QUIET.match(text):
        raise ValidationFailed(f"免打扰时间格式应为 HH:MM：{text[:20]}", [{"field": field, "reason": "格式不正确"}])
    return text


# -- settings -----------------------------------------------------------------------------------------------
def preference(session: Session, person: str) -> NotifyPreference:
    return session.get(NotifyPreference, person) or NotifyPreference(person_id=person, channels="email,wecom,dingtalk",
                                                                      quiet_from="", quiet_to="")


def set_preference(session: Session, person: str, channels: list[str], quiet_from: str, quiet_to: str) -> None:
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown:
        raise ValidationFailed(f"未知的通知渠道：{'、'.join(unknown)[:100]}", [{"field": "channels", "reason": "未知"}])
    quiet_from, quiet_to = check_quiet(quiet_from, "quiet_from"), check_quiet(quiet_to, "quiet_to")
    if bool(quiet_from) != bool(quiet_to):
        raise ValidationFailed("免打扰时段须同时填写开始和结束时间", [{"field": "quiet_to", "reason": "不完整"}])
    row = session.get(NotifyPreference, person) or NotifyPreference(person_id=person)
    row.channels, row.quiet_from, row.quiet_to = ",".join(dict.fromkeys(channels)), quiet_from, quiet_to
    session.add(row)


def set_channel(session: Session, scope: str, owner: str, channel: str, target: str, mode: str) -> NotifyChannel | None:
    """Set (or, with an empty target, remove) the person's or department's target of a channel."""
    if scope == "department" and channel == "email":
        raise ValidationFailed("部门只能配置群机器人", [{"field": "channel", "reason": channel}])
    row = session.scalars(select(NotifyChannel).where(NotifyChannel.scope == scope, NotifyChannel.owner == owner,
                                                      NotifyChannel.channel == channel)).first()
    if not (target or "").strip():
        if row is not None:
            session.delete(row)
        return None
    target = check_target(channel, target, mode)
    row = row or NotifyChannel(scope=scope, owner=owner, channel=channel)
    row.target = target
    session.add(row)
    return row


def channels_of(session: Session, scope: str, owner: str) -> dict[str, str]:
    return {c.channel: c.target for c in session.scalars(select(NotifyChannel).where(
        NotifyChannel.scope == scope, NotifyChannel.owner == owner))}


# -- 1. plan ------------------------------------------------------------------------------------------------
def plan(gf: Govflow, batch: int = 200) -> int:
    with gf.store.write() as session:
        now = gf.now(session)
        rows = session.scalars(select(Notification).where(Notification.dispatched.is_(False))
                               .order_by(Notification.created_at).limit(batch).with_for_update(skip_locked=True)).all()
        if not rows:
            return 0
        org = gf.organisation(session)
        planned = []
        for n in rows:
            n.dispatched = True
            prefs = preference(session, n.person_id)
            chosen = set(filter(None, prefs.channels.split(",")))
            own = channels_of(session, "person", n.person_id)
            person = org.person(n.person_id)
            shared = channels_of(session, "department", person.department) if person and person.department else {}
            due = _after_quiet(now, prefs.quiet_from, prefs.quiet_to)
            for channel in CHANNELS:
                if channel not in chosen:
                    continue
                if channel in own:
                    planned.append(_delivery(f"{n.id}:{channel}", n, channel, own[channel], due))
                elif channel in shared:     # the department's robot: once per event, whoever it was for
                    planned.append(_delivery(f"{n.event_key}:{channel}:{person.department}", n, channel,
                                             shared[channel], due))
        if planned:
            insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
            session.execute(insert(NotificationDelivery).values(planned).on_conflict_do_nothing(index_elements=["key"]))
        return len(planned)


def _delivery(key: str, n: Notification, channel: str, target: str, due: datetime) -> dict:
    return {"key": key, "notification_id": n.id, "channel": channel, "target": target, "state": "pending",
            "attempts": 0, "next_at": due, "sent_at": None, "last_error": ""}


def _after_quiet(now: datetime, start: str, end: str) -> datetime:
    """``now``, or the end of the person's quiet hours when now is inside them (a window may pass midnight)."""
    if not start or not end or start == end:
        return now
    local = now.astimezone(SHANGHAI)
    clock = local.strftime("%H:%M")
    inside = start <= clock < end if start < end else (clock >= start or clock < end)
    if not inside:
        return now
    hour, minute = map(int, end.split(":"))
    ends = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends


# -- 2. claim and 3. send -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outgoing:
    delivery_id: int
    key: str
    channel: str
    target: str
    title: str
    body: str
    url: str
    person_id: str


def claim(gf: Govflow, batch: int = 50) -> list[Outgoing]:
    lease = timedelta(seconds=gf.settings.notify_timeout * 3 + 30)
    with gf.store.write() as session:
        now = gf.now(session)
        rows = session.scalars(select(NotificationDelivery).where(
            NotificationDelivery.state == "pending", NotificationDelivery.next_at <= now)
            .order_by(NotificationDelivery.next_at).limit(batch).with_for_update(skip_locked=True)).all()
        notes = {n.id: n for n in session.scalars(select(Notification).where(
            Notification.id.in_([r.notification_id for r in rows])))} if rows else {}
        out = []
        for row in rows:
            row.next_at, row.attempts = now + lease, row.attempts + 1
            n = notes[row.notification_id]
            url = gf.settings.base_url.rstrip("/") + (n.link or "/messages")
            title, body = (SECRET_TEXT, "") if n.secret else (n.title, n.body)
            out.append(Outgoing(row.id, row.key, row.channel, row.target, title, body, url, n.person_id))
        return out


def send_due(gf: Govflow, batch: int = 50) -> tuple[int, int]:
    """Send what is due; return (sent, failed attempts)."""
    sent = failed = 0
    for item in claim(gf, batch):
        started = time.monotonic()
        try:
            SENDERS[item.channel](gf, item)
            error = ""
        except Exception as err:  # noqa: BLE001 - a channel's failure is recorded, never raised into a round
            error = _reason(err)
        _record(gf, item, error, int((time.monotonic() - started) * 1000))
        sent, failed = sent + (not error), failed + bool(error)
    return sent, failed


def _record(gf: Govflow, item: Outgoing, error: str, milliseconds: int) -> None:
    with gf.store.write() as session:
        now = gf.now(session)
        row = session.get(NotificationDelivery, item.delivery_id, with_for_update=True)
        session.add(DeliveryAttempt(delivery_id=row.id, at=now, ok=not error, error=error[:500],
                                    milliseconds=milliseconds))
        if row.state != "pending":
            return
        if not error:
            row.state, row.sent_at, row.last_error = "sent", now, ""
        elif row.attempts >= MAX_ATTEMPTS:
            row.state, row.last_error = "failed", error[:500]
        else:
            row.next_at, row.last_error = now + min(BACKOFF * 2 ** (row.attempts - 1), MAX_BACKOFF), error[:500]
        if error:
            log.warning("notification %s via %s failed (attempt %s): %s", item.key, item.channel, row.attempts, error)


def _reason(err: Exception) -> str:
    if isinstance(err, ValidationFailed):
        return err.message
    if isinstance(err, (socket.timeout, TimeoutError)) or "timed out" in str(err):
        return "连接超时"
    if isinstance(err, urllib.error.HTTPError):
        return f"对方返回 HTTP {err.code}"
    if isinstance(err, urllib.error.URLError):
        return f"无法连接：{err.reason}"
    if isinstance(err, (ConnectionError, OSError)):
        return f"无法连接：{err}"
    return f"{type(err).__name__}: {err}"


# -- the channels ---------------------------------------------------------------------------------------------
def send_email(gf: Govflow, item: Outgoing) -> None:
    if not gf.settings.smtp:
        raise ValidationFailed("未配置邮件服务器（GOVFLOW_SMTP）")
    host, _, port = gf.settings.smtp.rpartition(":")
    message = EmailMessage()
    message["Subject"] = item.title
    message["From"] = formataddr(("govflow", gf.settings.mail_from))
    message["To"] = item.target
    message["Message-ID"] = f"<{item.key.replace(':', '.')}@govflow>"
    message["X-Govflow-Notification"] = item.key
    message.set_content("\n\n".join(filter(None, [item.title, item.body, f"查看详情：{item.url}"])))
    with smtplib.SMTP(host or "localhost", int(port or 25), timeout=gf.settings.notify_timeout) as smtp:
        smtp.send_message(message)


def wecom_message(item: Outgoing) -> dict:
    lines = [f"**{item.title}**", *([f"> {item.body}"] if item.body else []), f"[查看详情]({item.url})"]
    return {"msgtype": "markdown", "markdown": {"content": "\n".join(lines)}}


def dingtalk_message(item: Outgoing) -> dict:
    lines = [f"#### {item.title}", *([f"> {item.body}"] if item.body else []), f"[查看详情]({item.url})"]
    return {"msgtype": "markdown", "markdown": {"title": item.title, "text": "\n\n".join(lines)}}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):     # a redirect could lead past the address checks
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _post_robot(gf: Govflow, item: Outgoing, message: dict) -> None:
    check_url(item.target, gf.settings.mode)      # again: the name may resolve elsewhere by now
    request = urllib.request.Request(item.target, data=json.dumps(message, ensure_ascii=False).encode("utf-8"),
                                     method="POST", headers={"Content-Type": "application/json; charset=utf-8",
                                                             "X-Govflow-Notification": item.key})
    with _OPENER.open(request, timeout=gf.settings.notify_timeout) as response:
        answer = response.read(65536)
    try:
        code = json.loads(answer or b"{}").get("errcode", 0)
    except (ValueError, AttributeError):
        code = 0
    if code:
        raise ValidationFailed(f"群机器人拒收（errcode {code}）")


SENDERS = {"email": send_email, "wecom": lambda gf, item: _post_robot(gf, item, wecom_message(item)),
           "dingtalk": lambda gf, item: _post_robot(gf, item, dingtalk_message(item))}


def run_once(gf: Govflow) -> tuple[int, int]:
    """One round of the outbox: plan the new notifications, send what is due."""
    plan(gf)
    return send_due(gf)


def deliveries(session: Session, limit: int = 100) -> list[dict]:
    """The latest deliveries with their attempts, for the administrator's page."""
    rows = session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id.desc()).limit(limit)).all()
    return [{"id": r.id, "channel": CHANNELS[r.channel], "target": r.target, "state": r.state, "attempts": r.attempts,
             "last_error": r.last_error, "sent_at": r.sent_at} for r in rows]
