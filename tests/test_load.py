"""bench/load.py kept runnable: a few clients for a few seconds against gunicorn with several workers
on a SQLite file (the full run, 50 clients for 60 s, is the script's default): every request is
answered, none with a 4xx or 5xx, tasks get completed, and afterwards every accepted write is in the
database, the chain verifies and every instance re-executes to its snapshot."""
from __future__ import annotations

import re
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import load  # noqa: E402  (bench/load.py)


def test_the_quick_load_on_gunicorn_and_sqlite_passes_its_checks(capsys):
    assert load.main(["--quick"]) == 0, capsys.readouterr().out
    report = capsys.readouterr().out
    assert "5 clients for 3 s" in report and "p95" in report, report
    completed = re.search(r"afterwards: (\d+) accepted completions", report)
    assert completed and int(completed.group(1)) > 0, report
    assert "5xx: 0, unexpected 4xx: 0" in report, report


def test_an_unexpected_4xx_or_a_missing_write_fails_the_run():
    refused = load.Tally()
    refused.add("complete", 409, 0.01, "conflict")
    assert load.failed(refused)
    lost = load.Tally()
    lost.add("complete", 200, 0.01)
    lost.problems.append("(a) accepted completion of office_review is not in its task row")
    assert load.failed(lost)
    fine = load.Tally()
    fine.add("complete", 200, 0.01)
    assert not load.failed(fine)
