"""Fuzz every operation of /api/v1 from its own OpenAPI document, with schemathesis.

    python bench/fuzz_api.py [--examples 200] [--seed 0] [--database-url URL]

巴州区 on a fresh SQLite database (or the given one) with every diagram in ``processes/`` deployed and a
部门请示 waiting at 办公室审核. For each operation schemathesis generates requests from the document —
``--examples`` that fit its schemas and as many that do not — and sends them through the WSGI app as
the 办公室主任 (an administrator: every operation is open to them), with a token of its own per request
(so that ``DELETE /auth/token`` or a clock set years ahead cannot lock the run out). Every answer is
checked: no 5xx, the status code and content type are ones the document declares, an error body fits
its schema, and a request the schemas forbid is not accepted. Prints the cases run and every failure.
tests/test_api_fuzz.py runs this with a few examples per operation. On PostgreSQL, pass an empty
schema: ``--database-url 'postgresql+psycopg://postgres@127.0.0.1:5432/test?options=-csearch_path%3Dfuzz'``
(after ``CREATE SCHEMA fuzz``) — some input fails there only (NUL characters, ids past 2^31).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import FailedHealthCheck, Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from govflow.app import create_app  # noqa: E402
from govflow.bpmn.deploy import deploy  # noqa: E402
from govflow.config import Settings  # noqa: E402
from govflow.people import auth  # noqa: E402
from govflow.people.org import Organisation  # noqa: E402
from govflow.time.timeutil import SHANGHAI  # noqa: E402
from govflow.work import admin  # noqa: E402
from govflow.work.system import Govflow  # noqa: E402

FUZZER = "wangpeng"          # 区政府办公室主任, an administrator
# The API ignores query parameters it does not know (as HTTP APIs do: a proxy's cache-buster must not
# break a call), so an unknown one is not "invalid data"; the token is sent with every request by
# ``_run`` (a request without one is answered 401 before anything else: test_api.py checks that).
CONFIG = SchemathesisConfig.from_dict({"generation": {"allow-extra-parameters": False,
                                                      "with-security-parameters": False}})
CHECKED_ELSEWHERE = [h for h in HealthCheck if h != HealthCheck.filter_too_much]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]


@dataclass
class Report:
    operations: int = 0
    cases: int = 0
    server_errors: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)     # every failed check, 5xx included


def seeded(database_url: str) -> Govflow:
    """巴州区 with every diagram deployed and one 部门请示 open."""
    system = Govflow(Settings(database_url=database_url, mode="test", home=REPO, secret_key="fuzz"))
    system.store.migrate()
    org = Organisation.from_toml((REPO / "orgs" / "bazhou.toml").read_text(encoding="utf-8"))
    with system.store.write() as session:
        admin.load_organisation(system, session, org, "fuzz")
        admin.set_clock(system, session, datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI), True, "fuzz")
    for path in sorted((REPO / "processes").glob("*.bpmn")):
        deploy(system, path.read_bytes(), path.name, "fuzz")
    client = create_app(system=system).test_client()
    headers = {"Authorization": f"Bearer {token(system)}"}
    started = client.post("/api/v1/instances", headers=headers, json={"process_id": "dept_request", "data": {
        "title": "关于采购应急物资的请示", "department": "czj", "urgency": "加急"}})
    assert started.status_code == 201, started.get_json()
    return system


def token(system: Govflow, person: str = FUZZER) -> str:
    with system.store.write() as session:
        issued, _ = auth.issue_token(session, person, system.now(session), system.settings.token_hours)
    return issued


def fuzz(system: Govflow, examples: int, seed: int = 0, paths: set[str] | None = None) -> Report:
    """Run ``examples`` positive and ``examples`` negative cases for every operation (or those of ``paths``)."""
    app = create_app(system=system)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)
    report = Report()
    for result in schema.get_all_operations():
        operation = result.ok()
        if paths and operation.path not in paths:
            continue
        report.operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _run(system, operation, mode, examples, seed, report)
    return report


def _run(system, operation, mode, examples: int, seed: int, report: Report) -> None:
    @hypothesis.seed(seed)
    @hypothesis.settings(max_examples=examples, deadline=None, database=None, derandomize=False,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=CHECKED_ELSEWHERE)
    @given(case=operation.as_strategy(generation_mode=mode))
    def send(case):
        report.cases += 1
        response = case.call(headers={"Authorization": f"Bearer {token(system)}"})
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as failed:
            failures = failed.exceptions if isinstance(failed, FailureGroup) else [failed]
            for failure in failures:
                what = (f"{case.method} {case.formatted_path} ({mode.value}) -> {response.status_code}: "
                        f"{failure.title}: {_first_line(failure)}")
                report.failures.append(what)
            if response.status_code >= 500:
                report.server_errors.append(what)

    try:
        send()
    except (Unsatisfiable, FailedHealthCheck):
        # nothing in the operation can be made invalid (GET /me: no parameters; free-text query
        # parameters): hypothesis gives up quickly on the health check instead of searching for seconds
        assert mode == GenerationMode.NEGATIVE, operation.label


def _first_line(failure: Failure) -> str:
    lines = [line.strip() for line in (failure.message or "").splitlines() if line.strip()]
    return " / ".join(lines[:4])[:400]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="cases per operation and mode")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        system = seeded(args.database_url or f"sqlite:///{tmp}/fuzz.db")
        began = time.monotonic()
        report = fuzz(system, args.examples, args.seed)
        took = time.monotonic() - began
        system.store.dispose()
    print(f"cases run: {report.cases} over {report.operations} operations in {took:.0f} s "
          f"(up to {args.examples} per operation and mode)")
    print(f"5xx found: {len(report.server_errors)}")
    print(f"failed checks: {len(report.failures)}")
    for line in report.failures:
        print("  " + line)
    sys.exit(1 if report.failures else 0)


if __name__ == "__main__":
    main()
