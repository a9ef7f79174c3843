"""What a 公文 carries, as the document procedure reads it from the process data.

The fields, and the values they may take (the fifteen 文种 of 党政机关公文处理工作条例 第八条, the
紧急程度, the attachments), are those of the start form ``forms/document_submit.json``; the data
stays flat so that lanes (``department``: the sending unit) and the inbox (``title``,
``urgency``) read it directly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

CATEGORIES = {
    "to_higher_government": "报上级政府", "party_group_request": "党组向党委请示",
    "bill_to_congress": "提请人大审议的议案", "report_to_cppcc": "向政协通报重大事项",
    "regulation": "规章、命令、决定", "normative_document": "行政规范性文件", "personnel_appointment": "人事任免",
    "major_matter": "其他重大事项", "comprehensive_deployment": "部署综合性或重要专项工作",
    "instruction_to_lower": "向下级政府行文", "government_business": "政府一般事务", "office_routine": "办公室日常事务",
}


@dataclass(frozen=True)
class Document:
    doc_type: str
    title: str
    department: str                      # the sending unit (承办单位)
    urgency: str
    secrecy: str
    category: str
    issuer: str                          # 政府 or 政府办公室: in whose name it is issued
    departments: tuple[str, ...] = ()    # the other departments concerned (征求意见/会签)
    attachments: tuple[str, ...] = ()
    body: str = ""
    higher_document: str = ""            # the text of its 上位文件, to measure repetition (D9)
    republishes: bool = False            # 翻印、转发 a higher-level document already published (D9)
    validity_years: int | None = None
    signoff: dict = field(default_factory=dict)      # the sending unit's own sign-off (D4)
    addressed_to_leader: str = ""        # a person id when sent to a leader directly (D1)
    direct_reason: str = ""
    within_department_authority: bool = False
    needed_by: date | None = None
    urgency_reason: str = ""
    passed_by_meeting: bool = False
    major_revision: bool = False
    major: bool = False
    in_annual_plan: bool = True
    plan_approval: str = ""

    @classmethod
    def from_data(cls, data: dict) -> "Document":
        needed = data.get("needed_by")
        return cls(
            doc_type=data["doc_type"], title=data["title"], department=data["department"], urgency=data["urgency"],
            secrecy=data.get("secrecy", "无"), category=data["category"], issuer=data.get("issuer", "政府"),
            departments=tuple(d for d in data.get("departments", []) if d != data["department"]),
            attachments=tuple(data.get("attachments", [])), body=data.get("body", ""),
            higher_document=data.get("higher_document", ""), republishes=bool(data.get("republishes")),
            validity_years=data.get("validity_years"),
            signoff=dict(data.get("signoff") or {}), addressed_to_leader=data.get("addressed_to_leader", ""),
            direct_reason=data.get("direct_reason", ""),
            within_department_authority=bool(data.get("within_department_authority")),
            needed_by=date.fromisoformat(needed) if needed else None, urgency_reason=data.get("urgency_reason", ""),
            passed_by_meeting=bool(data.get("passed_by_meeting")), major_revision=bool(data.get("major_revision")),
            major=bool(data.get("major")), in_annual_plan=bool(data.get("in_annual_plan", True)),
            plan_approval=data.get("plan_approval", ""))

    @property
    def provisional(self) -> bool:
        """暂行/试行 规定 have shorter validity limits (D10)."""
        return bool(re.search(r"暂行|试行", self.title))

    @property
    def urgent(self) -> bool:
        return self.urgency != "一般"
