"""Which profile values the rule checks read while tests run (tests/test_profile_enforced.py).

Active only when ``GOVFLOW_PROFILE_READS`` names a file: every ``Profile.param`` call records
(profile id, key), and the set is written there as JSON when the session ends."""
from __future__ import annotations

import json
import os

from govflow.profiles import Profile

_READS: set[tuple[str, str]] = set()


def pytest_configure(config):
    if not os.environ.get("GOVFLOW_PROFILE_READS"):
        return
    original = Profile.param

    def recording(self, key):
        _READS.add((self.id, key))
        return original(self, key)

    Profile.param = recording       # Profile.value reads through param


def pytest_sessionfinish(session, exitstatus):
    target = os.environ.get("GOVFLOW_PROFILE_READS")
    if target:
        with open(target, "w", encoding="utf-8") as out:
            json.dump(sorted(_READS), out)
