"""The benchmarks still run: ``bench/run_all.py --quick`` runs each with small arguments and its
summary carries each one's result lines (the figures themselves are for the full runs)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

RESULT_LINES = {   # bench -> lines its summary must carry
    "engine_overhead": [r"govflow / bare-sqlite +\d+\.\d\d +\(target >= 0\.5\)", r"govflow-http / govflow +\d+\.\d\d"],
    "inbox_scale": [r"my open tasks +p50 +[\d.]+ ms +p95 +[\d.]+ ms"],
    "inbox_page": [r"p95 [\d.]+ of the 200 ms target"],
    "history_growth": [r"step after 20 / after 2 +\d+\.\d\d +\(target <= 1\.5\)"],
    "storage": [r"target ≤ 4096 B per completed task: payload [\d.]+ × target",
                r"bytes per completed task: \d+ without files, \d+ with a 1 MB 附件 per document"],
    "scale_out": [r"2/1 workers: \d+\.\d\d", r"lost or duplicated completions: none"],
    "replay": [r"reexecute whole history +[\d.]+ +\d+ +[\d.]+ +[\d.]+"],
    "audit_export": [r"xes .*x the SELECT", r"ocel .*x the SELECT"],
    "http_roundtrip": [r"sqlite: completion / bare \+ serialize \+ durable commit +\d+\.\d\d +\(target <= 2\)",
                       r"sqlite: requests per instance +\d+\.\d +\(target <= 8\)"],
}


def summary(output: str) -> dict[str, tuple[str, str]]:
    """bench -> (its status line, its result lines) from the summary run_all prints last."""
    found, name = {}, None
    for line in output.split("\n== summary", 1)[1].splitlines()[1:]:
        if not line.startswith(" "):
            name, _, status = line.partition(": ")
            found[name] = (status, "")
        else:
            found[name] = (found[name][0], found[name][1] + line.strip() + "\n")
    return found


@pytest.mark.slow
def test_every_bench_runs_quick_and_reports_its_result_lines():
    run = subprocess.run([sys.executable, str(REPO / "bench" / "run_all.py"), "--quick"], cwd=REPO,
                         capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    found = summary(run.stdout)
    for name, patterns in RESULT_LINES.items():
        status, lines = found[name]
        if name == "scale_out" and status.startswith("skipped: PostgreSQL is not reachable"):
            continue                                # it measures PostgreSQL only; the reason is printed
        assert status.startswith("ok"), (name, status)
        for pattern in patterns:
            assert re.search(pattern, lines), (name, pattern, lines)


def test_http_roundtrip_runs_quick_and_a_client_needs_no_list_between_steps():
    """The HTTP bench on SQLite with small arguments: gunicorn serves the 7-task diagram, and the
    answers of a start and of each completion name the open tasks, so an instance takes 8 requests."""
    run = subprocess.run([sys.executable, str(REPO / "bench" / "http_roundtrip.py"), "--instances", "2",
                          "--open", "10", "--inbox-runs", "2", "--bare-instances", "2", "--clients", "1,2",
                          "--db", "sqlite"], cwd=REPO, capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert re.search(r"sqlite: completion / bare \+ serialize \+ durable commit +\d+\.\d\d +\(target <= 2\)",
                     run.stdout), run.stdout
    requests = re.search(r"sqlite: requests per instance +(\d+\.\d)", run.stdout)
    assert requests and float(requests.group(1)) <= 8, run.stdout
    assert re.search(r"inbox GET, 10 open, 100 a page: median +[\d.]+ ms", run.stdout), run.stdout
