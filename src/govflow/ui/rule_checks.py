"""The rule checks of a replayed instance in words: each with its rule id and name, 通过 or 不通过,
the articles it applied and what it decided, with people and departments by name — never the
operator's raw result and its code names."""
from __future__ import annotations

from dataclasses import dataclass

from ..engine import operators
from ..people.org import Organisation
from ..time.timeutil import chinese_moment, parse_moment

# What an operator's result holds, as the auditor reads it; a key not listed here is not shown.
FACTS = {
    "number": "编号", "signer": "签发人", "reviewers": "会签领导", "consult": "征求意见单位",
    "consult_days": "征求意见时限（工作日）", "days": "办理时限（工作日）", "sign_days": "签发时限（工作日）",
    "department": "承办单位", "assisting": "协办单位", "leader": "分管领导", "due_on": "办结时限",
    "report_due": "报告时限", "approvers": "审核人", "presenters": "汇报人", "legality_review": "需合法性审查",
    "fair_competition_review": "需公平竞争审查", "parallel": "领导同时审核", "silent": "逾期未复的单位",
    "attendance": "到会", "quorum": "应到会人数", "meeting_at": "会议时间", "placed": "排会",
}
PEOPLE = {"signer", "reviewers", "leader", "approvers", "presenters"}
DEPARTMENTS = {"department", "assisting", "consult", "silent"}
STATUS = {"assigned": "已交办", "in_progress": "办理中", "completed": "已办结", "closed": "已销号"}
# Rule texts and articles an operator writes beside its decision
NOTES = ("sign_rule", "silence_rule", "rule_text")


@dataclass(frozen=True)
class Check:
    seq: int
    rule: str               # RULES.md id, "" for a step that applies no rule
    name: str               # what the check is, from its operator
    passed: bool | None     # None: the step decides, nothing to pass
    problems: list[str]     # each violation or finding: its words and article
    articles: list[str]
    facts: list[tuple[str, str]]
    notes: list[str]

    @property
    def outcome(self) -> str:
        return {True: "通过", False: "不通过", None: "已办理"}[self.passed]


def readable(check: dict, org: Organisation) -> Check:
    result = check.get("result") if isinstance(check.get("result"), dict) else {}
    violations = check.get("violations") or []
    found = violations + [f for f in result.get("findings") or [] if isinstance(f, dict)]
    problems = [_problem(f) for f in found]
    articles = sorted({a for a in [*(f.get("article") for f in found),
                                   *(v for k, v in result.items() if k.endswith("article"))] if a})
    passed = False if violations else result.get("passed") if isinstance(result.get("passed"), bool) else None
    facts = [(label, _value(key, result[key], org)) for key, label in FACTS.items()
             if key in result and result[key] not in (None, "", [], {})]
    if result.get("status") in STATUS:
        facts.append(("状态", STATUS[result["status"]]))
    return Check(check["seq"], check.get("rule") or "", _name(check["operator"]), passed, problems, articles,
                 facts, [str(result[k]) for k in NOTES if result.get(k)])


def _name(operator: str | None) -> str:
    if operator is None:
        return "规则拦截（该步未能办理）"
    found = operators.registry().get(operator)
    return found.description.split("：")[0] if found else "系统处理"


def _problem(finding: dict) -> str:
    rule = f"{finding['rule']} " if finding.get("rule") else ""
    article = f"（{finding['article']}）" if finding.get("article") else ""
    return f"{rule}{finding.get('message') or finding.get('reason') or ''}{article}"


def _value(key: str, value, org: Organisation) -> str:
    items = value if isinstance(value, list) else [value]
    if key in PEOPLE:
        return "、".join(org.display_name(str(p)) for p in items)
    if key in DEPARTMENTS:
        return "、".join(org.departments[d].name if d in org.departments else str(d) for d in items)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str) and "T" in value and value[:4].isdigit():
        return chinese_moment(parse_moment(value))
    if isinstance(value, dict):
        return "、".join(f"{v}" for v in value.values() if isinstance(v, (str, int)))
    return "、".join(str(v) for v in items)
