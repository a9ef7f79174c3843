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
              "tests/test_leave_rules.py", "tests/test_major_decision_rules.py"]


# Known debt, listed so that it can only shrink: a key here that the rule tests come to read fails
# the test until it is taken off, and any other unread key fails it at once.
# Read only inside operators, lanes or pages that only the procedure tests (engine + database) reach:
# they need a pure table test per profile.
READ_ONLY_IN_PROCEDURES = {
    "meeting_cadence", "minutes_signer", "minutes_draft_wd", "consult_reply_signers", "agenda_frozen_on_approval",
    "emergency_report_next_meeting", "materials_frozen_after_approval", "topic_materials_deadline_wd",
    "urgent_parallel_leaders", "head_and_acting_not_both_away", "followup_assigners", "followup_closure_check",
    "followup_disagreement", "followup_quarterly_summary",
}
# Read by no code: the check they promise is missing (or is made without citing the profile).
NOT_ENFORCED = {
    "meeting_members", "materials_before_meeting", "legal_seat_at_meeting", "document_time_limited",
    "no_skipping_levels", "minutes_list_decisions", "followup_organiser", "followup_first_responsible",
    "followup_reporting", "followup_pressing", "followup_performance_assessment",
}


def test_every_profile_value_is_read_by_a_rule_check(tmp_path):
    target = tmp_path / "reads.json"
    env = {**os.environ, "GOVFLOW_PROFILE_READS": str(target)}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
                          *RULE_TESTS], cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:]
    reads = {tuple(pair) for pair in json.loads(target.read_text(encoding="utf-8"))}
    unread = {(pid, key) for pid in profiles.PROFILE_IDS for key in profiles.PARAMETERS
              if profiles.load(pid).param(key).is_set and (pid, key) not in reads}
    debt = READ_ONLY_IN_PROCEDURES | NOT_ENFORCED
    broken = [f"{pid}.{key} ({profiles.load(pid).param(key).article})"
              for pid, key in sorted(unread) if key not in debt]
    assert not broken, "profile values no rule check reads: " + "; ".join(broken)
    paid = debt - {key for _, key in unread}
    assert not paid, f"now read by the rule tests, take them off the debt lists: {sorted(paid)}"
