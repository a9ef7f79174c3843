"""What each printed paper says, read from an instance's data and its events (never from the engine's
task data, which later steps may have changed: SpiffWorkflow trap 4). Pure: the caller hands in the
data, the events and the organisation, so a paper printed today from the log says what it said on
the day.

- ``docket``: the 办文单 (收文/报送处理单) — 来文单位, 文号, 标题, 紧急程度, 密级 and every opinion
  (拟办, 批示, 办理) with its author's name and full date, in the order given;
- ``draft_sheet``: the 发文稿纸 — 标题, 主送, 抄送, 拟稿/核稿/会签/签发 with names and dates, 印发份数;
- ``issued``: the document as issued at 印发, the elements of GB/T 9704-2012 in their order.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from ...people.org import Organisation
from ...time.timeutil import SHANGHAI, parse_moment

# Which steps of the document procedure give which kind of opinion on the 办文单; every other step's
# opinion is 办理. 拟办: the office proposes (D5); 批示: the leaders decide (D6, D7).
OPINION_KIND = {"office_review": "拟办", "forward_approve": "批示", "leader_review": "批示", "signing": "批示"}
VERDICT_FIELDS = ("decision", "outcome", "result", "conclusion", "revise_action", "action")
TEXT_FIELDS = ("opinion", "response", "solution", "statement", "progress", "note", "reason")
OPINION_EVENTS = ("task_completed", "addsign_completed", "comment", "task_returned", "delegation_returned")
# 上行文 carry 签发人 (GB/T 9704-2012 7.2.4): what a government sends up, and every 请示 and 报告.
UPWARD_CATEGORIES = ("to_higher_government", "party_group_request", "bill_to_congress", "report_to_cppcc")
UPWARD_TYPES = ("请示", "报告")
# 紧急程度 as GB/T 9704 marks it (7.2.3: 特急, 加急); 一般 is not marked.
URGENCY_MARK = {"加急": "加急", "特急": "特急", "特急重要": "特急"}


def full_date(day: date) -> str:
    """成文日期 as GB/T 9704-2012 7.3.5.1 has it: Arabic numerals, the full year, no zero padding."""
    return f"{day.year}年{day.month}月{day.day}日"


def local_day(moment: str | datetime) -> date:
    moment = parse_moment(moment) if isinstance(moment, str) else moment
    return moment.astimezone(SHANGHAI).date()


@dataclass(frozen=True)
class Recorded:
    """One event of the instance, as stored (``at`` is the +08:00 text that was hashed)."""
    seq: int
    at: str
    type: str
    actor: str
    payload: dict
    hash: str = ""

    @classmethod
    def of(cls, event) -> "Recorded":
        return cls(event.seq, event.at, event.type, event.actor, json.loads(event.payload), event.hash)


@dataclass(frozen=True)
class Opinion:
    kind: str        # 拟办 | 批示 | 办理
    step: str
    by: str
    on: str          # 2026年7月1日
    verdict: str
    text: str


@dataclass(frozen=True)
class Signed:
    """A name and the full date of what they did (拟稿, 核稿, 会签, 签发), with their words."""
    role: str
    by: str
    on: str
    words: str = ""


@dataclass(frozen=True)
class Docket:
    organisation: str
    title: str
    source: str          # 来文单位
    number: str          # 文号
    doc_type: str
    urgency: str
    secrecy: str
    received_on: str
    business_key: str
    opinions: tuple[Opinion, ...]


@dataclass(frozen=True)
class DraftSheet:
    organisation: str
    title: str
    number: str
    doc_type: str
    urgency: str
    secrecy: str
    drafting_unit: str
    addressees: str      # 主送
    copied_to: str       # 抄送
    drafted: Signed | None
    checked: tuple[Signed, ...]       # 核稿
    countersigned: tuple[Signed, ...]  # 会签
    signed: Signed | None
    copies: str          # 印发份数


@dataclass(frozen=True)
class Issued:
    """GB/T 9704-2012 elements in their order: 版头 (7.2), 主体 (7.3), 版记 (7.4)."""
    secrecy: str         # 密级 (7.2.2), empty when 无
    urgency: str         # 紧急程度 (7.2.3)
    issuer_mark: str     # 发文机关标志 (7.2.4), printed in red
    number: str          # 发文字号 (7.2.5)
    signer: str          # 签发人 (7.2.6), on 上行文 only
    title: str           # 标题 (7.3.1)
    addressees: str      # 主送机关 (7.3.2)
    body: tuple[str, ...]                 # 正文 (7.3.3), one paragraph each
    attachments: tuple[str, ...]          # 附件说明 (7.3.4)
    issuer: str          # 发文机关署名 (7.3.5)
    written_on: str      # 成文日期 = the date of 签发 (7.3.5.1)
    annotation: str      # 附注 (7.3.7)
    copied_to: str       # 抄送机关 (7.4.2)
    printer: str         # 印发机关 (7.4.3)
    printed_on: str      # 印发日期 (7.4.3)
    extra: dict = field(default_factory=dict)


class Reading:
    """An instance's data and events, with the organisation to name people and units."""

    def __init__(self, org: Organisation, data: dict, events: list[Recorded], title: str = "",
                 business_key: str = ""):
        self.org, self.data, self.events = org, data, events
        self.title = _text(data.get("title")) or title
        self.business_key = business_key or ""

    def person(self, person_id: str | None) -> str:
        return "系统" if person_id == "system" else self.org.display_name(person_id)

    def unit(self, department_id: str | None) -> str:
        found = self.org.departments.get(department_id or "")
        return found.name if found else _text(department_id)

    def completed(self, *steps: str) -> list[Recorded]:
        return [e for e in self.events if e.type == "task_completed" and e.payload.get("step") in steps]

    def organisation(self) -> str:
        """The name the papers are printed in: the government, or its office for office documents."""
        if self.data.get("issuer") == "政府办公室":
            return self.unit(self.org.office_id)
        return self.org.name

    def number(self) -> str:
        registration = self.data.get("registration")
        return _text(registration.get("number")) if isinstance(registration, dict) else ""

    def publication(self) -> Recorded | None:
        done = self.completed("publish")
        return done[-1] if done else None


def docket(reading: Reading) -> Docket:
    data = reading.data
    started = next((e for e in reading.events if e.type == "instance_started"), None)
    return Docket(
        organisation=reading.organisation(), title=reading.title, source=reading.unit(data.get("department")
                                                                                   or data.get("lead_unit")),
        number=_text(data.get("source_number")) or _text(data.get("source_ref")) or reading.number(),
        doc_type=_text(data.get("doc_type")),
        urgency=_text(data.get("urgency")), secrecy=_text(data.get("secrecy")) or "无",
        received_on=full_date(local_day(started.at)) if started else "", business_key=reading.business_key,
        opinions=tuple(opinions(reading)))


def opinions(reading: Reading) -> list[Opinion]:
    found = []
    for event in reading.events:
        if event.type not in OPINION_EVENTS:
            continue
        p, step = event.payload, _text(event.payload.get("name")) or _text(event.payload.get("step"))
        by = reading.person(event.actor)
        if p.get("acting_for"):
            by = f"{by}（代{reading.person(p['acting_for'])}）"
        on = full_date(local_day(event.at))
        kind = OPINION_KIND.get(p.get("step") or "", "办理")
        if event.type == "comment":
            verdict, text = "", _text(p.get("text"))
        elif event.type == "task_returned":
            verdict, text = f"退回至“{_text(p.get('to'))}”", _text(p.get("reason"))
        else:
            verdict, text = _first(p.get("data"), VERDICT_FIELDS), _first(p.get("data"), TEXT_FIELDS)
            if event.type == "addsign_completed":
                step, kind = f"{step}（加签）", OPINION_KIND.get(p.get("step") or "", "办理")
            if event.type == "delegation_returned":
                step, text = f"{step}（委派办理）", text or _text(p.get("note"))
        if verdict or text:
            found.append(Opinion(kind, step, by, on, verdict, text))
    return found


def draft_sheet(reading: Reading) -> DraftSheet:
    data = reading.data
    started = next((e for e in reading.events if e.type == "instance_started"), None)
    drafted = Signed("拟稿", reading.person(started.actor), full_date(local_day(started.at))) if started else None
    checked = tuple(_signed(reading, e, "核稿") for e in reading.completed("office_review")
                    if (e.payload.get("data") or {}).get("decision") == "拟办")
    countersigned = tuple(
        Signed("会签", _countersigner(reading, e), full_date(local_day(e.at)),
               _joined(_first(e.payload.get("data"), VERDICT_FIELDS), _first(e.payload.get("data"), TEXT_FIELDS)))
        for e in reading.events
        if (e.type == "task_completed" and e.payload.get("step") in ("reply", "reply_timed", "leader_review"))
        or e.type == "addsign_completed")
    signing = reading.completed("signing")
    signed = _signed(reading, signing[-1], "签发") if signing else None
    addressees, copied_to, copies = _distribution(reading)
    return DraftSheet(
        organisation=reading.organisation(), title=reading.title, number=reading.number(),
        doc_type=_text(data.get("doc_type")), urgency=_text(data.get("urgency")),
        secrecy=_text(data.get("secrecy")) or "无", drafting_unit=reading.unit(data.get("department")),
        addressees=addressees, copied_to=copied_to, drafted=drafted, checked=checked,
        countersigned=countersigned, signed=signed, copies=copies)


def issued(reading: Reading) -> Issued | None:
    """The document as issued, or None before 印发 (its number, 签发 and 印发 all recorded)."""
    data, published, signing = reading.data, reading.publication(), reading.completed("signing")
    if published is None or not signing or not reading.number():
        return None
    signature = data.get("signature") if isinstance(data.get("signature"), dict) else {}
    signed_on = date.fromisoformat(signature["signed_on"]) if signature.get("signed_on") else local_day(signing[-1].at)
    upward = data.get("category") in UPWARD_CATEGORIES or data.get("doc_type") in UPWARD_TYPES
    addressees, copied_to, _ = _distribution(reading)
    organisation = reading.organisation()
    return Issued(
        secrecy=_text(data.get("secrecy")) if data.get("secrecy") not in (None, "", "无") else "",
        urgency=URGENCY_MARK.get(data.get("urgency") or "", ""),
        issuer_mark=organisation if data.get("doc_type") == "函" else f"{organisation}文件",
        number=reading.number(),
        signer=(_text(signature.get("name")) or reading.person(signing[-1].actor)) if upward else "",
        title=reading.title, addressees=addressees,
        body=tuple(p.strip() for p in re.split(r"\r?\n", _text(data.get("body"))) if p.strip()),
        attachments=tuple(_text(a) for a in data.get("attachments") or () if _text(a)),
        issuer=organisation, written_on=full_date(signed_on),
        annotation=_text((published.payload.get("data") or {}).get("annotation")),
        copied_to=copied_to, printer=reading.unit(reading.org.office_id),
        printed_on=full_date(local_day(published.at)))


# -- helpers --------------------------------------------------------------------------------------------------
def _distribution(reading: Reading) -> tuple[str, str, str]:
    """主送, 抄送 and 印发份数 from the 印发 form: its own fields, or the one text "主送：…；抄送：…"."""
    published = reading.publication()
    given = (published.payload.get("data") or {}) if published else {}
    addressees, copied_to = _text(given.get("addressees")), _text(given.get("copied_to"))
    text = _text(given.get("distribution"))
    if text and not (addressees or copied_to):
        main = re.search(r"主送[:：]\s*(.*?)(?=[；;。\n]?\s*抄送[:：]|$)", text, re.S)
        copy = re.search(r"抄送[:：]\s*(.*)$", text, re.S)
        addressees = main.group(1).strip(" ；;。\n") if main else ("" if copy else text)
        copied_to = copy.group(1).strip(" ；;。\n") if copy else ""
    copies = given.get("copies")
    # the paper adds the 主送's colon and the 抄送's full stop itself (7.3.2, 7.4.2)
    addressees, copied_to = addressees.rstrip(" ：:；;，,。"), copied_to.rstrip(" ：:；;，,。")
    return addressees, copied_to, str(copies) if isinstance(copies, int) and not isinstance(copies, bool) else ""


def _signed(reading: Reading, event: Recorded, role: str) -> Signed:
    data = event.payload.get("data") or {}
    by = reading.person(event.actor)
    if event.payload.get("acting_for"):
        by = f"{by}（代{reading.person(event.payload['acting_for'])}）"
    return Signed(role, by, full_date(local_day(event.at)),
                  _joined(_first(data, VERDICT_FIELDS), _first(data, TEXT_FIELDS)))


def _countersigner(reading: Reading, event: Recorded) -> str:
    by = reading.person(event.actor)
    person = reading.org.person(event.actor)
    department = person.department if person and event.payload.get("step") in ("reply", "reply_timed") else None
    if event.payload.get("acting_for"):
        by = f"{by}（代{reading.person(event.payload['acting_for'])}）"
    return f"{reading.unit(department)} {by}" if department else by


def _first(data, fields: tuple[str, ...]) -> str:
    if not isinstance(data, dict):
        return ""
    return next((data[f].strip() for f in fields if isinstance(data.get(f), str) and data[f].strip()), "")


def _joined(*parts: str) -> str:
    return "：".join(p for p in parts if p)


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else ""
