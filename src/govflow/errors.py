"""The few domain errors govflow raises. The API turns them into HTTP answers in one place (the
error handlers of ``govflow.api``); the CLI prints their message. Messages are Chinese: users
read them."""
from __future__ import annotations


class GovflowError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or []

    def to_dict(self) -> dict:
        body = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class ValidationFailed(GovflowError):
    """Input that cannot be accepted; ``details`` name each field (or BPMN element) and why."""
    status = 422
    code = "validation_failed"


class RuleBlocked(ValidationFailed):
    """A rule check refused the step; ``violations`` carry the rule id and the article."""
    code = "rule_blocked"

    def __init__(self, violations):
        self.violations = list(violations)
        details = [{"rule": v.rule, "article": v.article, "reason": v.message} for v in self.violations]
        super().__init__("规则检查未通过：" + "；".join(f"{v.message}（{v.article}）" for v in self.violations),
                         details)


class ProcessFailed(GovflowError):
    """The diagram's own code failed while running (a condition, a script, an operator): the
    step is refused and nothing is stored; a designer has to fix the diagram."""
    status = 422
    code = "process_error"


class Conflict(GovflowError):
    status = 409
    code = "conflict"


class Unauthorized(GovflowError):
    status = 401
    code = "unauthorized"


class Forbidden(GovflowError):
    status = 403
    code = "forbidden"


class NotFound(GovflowError):
    status = 404
    code = "not_found"


class TooManyAttempts(GovflowError):
    """Logins refused for a while after too many failures; ``retry_after``: seconds to wait."""
    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(GovflowError):
    """The database cannot be reached (or is locked past the wait): nothing was done; try again
    after ``retry_after`` seconds."""
    status = 503
    code = "database_unavailable"

    def __init__(self, message: str, retry_after: int = 5):
        super().__init__(message)
        self.retry_after = retry_after


class StorageFull(GovflowError):
    """The database's disk is full: nothing was stored."""
    status = 507
    code = "storage_full"


class Damaged(GovflowError):
    """A database file SQLite finds damaged (a page that is not one, a file cut short)."""
    status = 500
    code = "database_damaged"
