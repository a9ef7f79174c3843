"""请销假 (P3), for each of the five jurisdictions: how long ahead a department head asks, and who
approves. ``None``/[] in a table: the jurisdiction's rules do not say, so nothing is checked."""
from __future__ import annotations

from datetime import datetime

import pytest

from conftest import load_org
from govflow import profiles
from govflow.rules import leave as rules
from govflow.time.timeutil import SHANGHAI

PIDS = profiles.PROFILE_IDS
ORGS = {pid: load_org(pid) for pid in PIDS}
PROFILES = {pid: profiles.load(pid) for pid in PIDS}
ASKED = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)          # a Monday


def dept_head(pid: str) -> str:
    org = ORGS[pid]
    return next(p.id for p in org.with_post("dept_head") if org.portfolio_leader(p.department)
                and org.portfolio_leader(p.department).post == "deputy")


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize("pid, article", [
    ("dazu", "重庆市大足区人民政府工作规则 第五十二条"),     # 离足外出1天以上，应提前3天
    ("chongqing", "重庆市人民政府工作规则 第五十五条"),        # 應提前3天向市政府請假
    ("bazhou", None), ("ziyang", None), ("dongchang", None),
])
def test_a_department_head_asks_three_days_ahead_where_the_rules_say_so(pid, article):
    person = dept_head(pid)
    too_late = rules.notice_problems(person, at(25), ASKED, PROFILES[pid], ORGS[pid])
    assert [(v.rule, v.article) for v in too_late] == ([("P3", article)] if article else [])
    assert all("提前 3 天" in v.message and "2026-11-22" in v.message for v in too_late)
    assert rules.notice_problems(person, at(26), ASKED, PROFILES[pid], ORGS[pid]) == []   # 3 days ahead
    deputy = ORGS[pid].with_post("deputy")[0].id        # the article speaks of department heads only
    assert rules.notice_problems(deputy, at(24), ASKED, PROFILES[pid], ORGS[pid]) == []


@pytest.mark.parametrize("pid, one_day, three_days", [
    # 巴州 第八十三条: 1日以内报分管领导审批，2日及以上由分管领导审核后报区长审批
    ("bazhou", ["portfolio_leader"], ["portfolio_leader", "head"]),
    # 资阳 七十六: 应向市长和分管副市长请假
    ("ziyang", ["portfolio_leader", "head"], ["portfolio_leader", "head"]),
    ("dazu", [], []), ("chongqing", [], []), ("dongchang", [], []),
])
def test_who_approves_a_department_heads_leave(pid, one_day, three_days):
    org, person = ORGS[pid], dept_head(pid)
    ids = {"portfolio_leader": org.portfolio_leader(org.person(person).department).id, "head": org.head().id}
    assert rules.approvers(person, at(26, 8), at(26, 18), PROFILES[pid], org) == [ids[p] for p in one_day]
    assert rules.approvers(person, at(26, 8), at(28, 18), PROFILES[pid], org) == [ids[p] for p in three_days]
    refused = rules.needs_approval(person, PROFILES[pid], org)
    assert bool(refused) == bool(one_day) and all(v.rule == "P3" and "第" in v.article for v in refused)


def test_days_away_counts_each_calendar_day_touched():
    assert rules.days_away(at(26, 8), at(26, 18)) == 1
    assert rules.days_away(at(26, 8), at(27, 0)) == 1       # ends at midnight: still one day
    assert rules.days_away(at(26, 20), at(27, 8)) == 2
