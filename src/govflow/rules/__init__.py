"""Rule checks: pure functions over data that name their rule id (RULES.md) and quote the article
they enforce. They are plugged into diagrams as service-task operators (``engine.operators``).

Layer 8: imports only ``records`` and the layers below it; nothing here opens a transaction, reads
the clock or sees a request: the caller passes what a rule needs."""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import RuleBlocked


@dataclass(frozen=True)
class Violation:
    rule: str       # "T4"
    article: str    # "巴州常务会议规则 第十七条"
    message: str    # "未附合法性审查意见，议题不得提请常务会议审议"
    certain: bool = True    # False for a finding read from the text by a heuristic: a person confirms it

    def to_dict(self) -> dict:
        return {"rule": self.rule, "article": self.article, "message": self.message, "certain": self.certain}


def block_if(violations: list[Violation]) -> None:
    if violations:
        raise RuleBlocked(violations)
