"""bench/load.py kept runnable: a few clients for a few seconds against gunicorn with several workers
on a SQLite file (the full run, 50 clients for 60 s, is the script's default): every request is
answered, none with a 5xx, and tasks get completed."""
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
