"""The five jurisdiction profiles: every parameter of RULES.md present, each value set by an
article whose words are really in the seed, nothing invented where the seed is silent."""
from __future__ import annotations

import re
import tomllib
from importlib import resources

import pytest

from govflow import profiles

SEEDS = __import__("conftest").DATA / "seeds"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.mark.parametrize("profile_id", profiles.PROFILE_IDS)
def test_every_parameter_is_set_with_its_article_or_recorded_as_not_set(profile_id):
    profile = profiles.load(profile_id)
    assert set(profile.params) == set(profiles.PARAMETERS)
    seed = squash((SEEDS / profile.seed).read_text(encoding="utf-8"))
    for param in profile.params.values():
        if param.is_set:
            assert param.article and param.value is not None, param.key
            assert squash(param.quote) in seed, f"{profile_id}.{param.key}: quote not in the seed"
        else:
            assert param.value is None and not param.article, param.key


@pytest.mark.parametrize("profile_id, key, value", [
    ("bazhou", "topic_submission_deadline_wd", 2),      # 巴州常务会议规则 第十三条
    ("bazhou", "topic_materials_deadline_wd", 1),
    ("ziyang", "topic_submission_deadline_wd", 10),     # 资阳 三十八
    ("bazhou", "consultation_window_wd", 3),            # 巴州 第四十九条
    ("dongchang", "consultation_window_wd", 7),         # 东昌 二十七
    ("dongchang", "document_time_limit_wd", {"一般": 14, "加急": 7, "特急": 5, "特急重要": 3}),
    ("bazhou", "minutes_draft_wd", 2),
    ("bazhou", "both_ab_away", "head_decides"),
    ("ziyang", "both_ab_away", "executive_deputy_acts"),
])
def test_the_numbers_of_the_table(profile_id, key, value):
    assert profiles.load(profile_id).value(key) == value


@pytest.mark.parametrize("profile_id, key", [
    ("dazu", "consultation_window_wd"), ("chongqing", "quorum"), ("chongqing", "ab_roles"),
    ("dongchang", "quorum"), ("dazu", "document_time_limit_wd"), ("chongqing", "topic_submission_deadline_wd"),
])
def test_what_the_seed_does_not_say_is_not_set(profile_id, key):
    param = profiles.load(profile_id).param(key)
    assert not param.is_set and profiles.load(profile_id).value(key, "default") == "default"


def test_a_profile_missing_a_parameter_is_refused():
    text = resources.files("govflow.profiles").joinpath("dazu.toml").read_text(encoding="utf-8")
    document = tomllib.loads(text)
    del document["params"]["quorum"]
    with pytest.raises(profiles.ProfileInvalid, match="quorum"):
        profiles.parse(document)
