"""A profile value that no rule check or routing decision reads is a promise broken silently.

The rule-check tests below run in a child pytest that records every ``Profile.param`` read
(tests/profile_reads.py); every parameter set in some profile must be read by them, for each
profile that sets it. The rule tests are pure (no database, no engine), so this stays quick."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import REPO
from govflow import profiles

RULE_TESTS = ["tests/test_document_rules.py", "tests/test_topic_rules.py", "tests/test_org.py",
              "tests/test_leave_rules.py"]


def test_every_profile_value_is_read_by_a_rule_check(tmp_path):
    target = tmp_path / "reads.json"
    env = {**os.environ, "GOVFLOW_PROFILE_READS": str(target)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
                          *RULE_TESTS], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]
    reads = {tuple(pair) for pair in json.loads(target.read_text(encoding="utf-8"))}
    unread = [f"{pid}.{key} ({profiles.load(pid).param(key).article})"
              for pid in profiles.PROFILE_IDS for key in profiles.PARAMETERS
              if profiles.load(pid).param(key).is_set and (pid, key) not in reads]
    assert not unread, "profile values no rule check reads: " + "; ".join(unread)
