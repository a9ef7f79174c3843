"""A problem found in a BPMN file: which element, and what the designer should do about it."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    element: str          # the BPMN element id, or "(文件)" for the file as a whole
    reason: str           # Chinese, actionable
    line: int | None = None
    severity: str = "error"   # "error" rejects the file; "warning" is reported and deployed

    def to_dict(self) -> dict:
        body = {"element": self.element, "reason": self.reason, "severity": self.severity}
        if self.line:
            body["line"] = self.line
        return body
