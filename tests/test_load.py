"""bench/load.py kept runnable: a few clients for a few seconds against gunicorn with several workers
on a SQLite file (the full run, 50 clients for 60 s, is the script's default): every request is
answered, none with a 4xx or 5xx, tasks get completed, and afterwards every accepted write is in the
database, the chain verifies and every instance re-executes to its snapshot."""
from __future__ import annotations

import io
import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
import load  # noqa: E402  (bench/load.py)


def test_a_short_load_on_gunicorn_and_sqlite_has_no_server_errors():
    out = io.StringIO()
    tally = load.run("sqlite", clients=5, seconds=3, workers=3, out=out)
    assert not load.failed(tally), out.getvalue()
    assert tally.statuses["complete"][200] > 0 and tally.statuses["inbox"][200] > 0, out.getvalue()
    assert "p95" in out.getvalue()
    assert tally.accepted.completions and not tally.problems, out.getvalue()
    assert "accepted completions" in out.getvalue()


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
