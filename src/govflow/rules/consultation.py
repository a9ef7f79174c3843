"""征求意见: the departments concerned reply within the jurisdiction's window; where the rules say
so, silence after the window counts as 无不同意见 (巴州 第四十九条: 3 工作日, 东昌 二十七: 7 工作日).
Shared by the topic and the document procedures."""
from __future__ import annotations

from ..engine.operators import OperatorContext, operator
from ..profiles import Profile


def consultation_window(profile: Profile) -> int | None:
    """工作日 for a consulted department to reply, after which silence counts as 无不同意见 — only
    where the rules set both."""
    window, silence = profile.param("consultation_window_wd"), profile.param("silence_means_no_objection")
    return int(window.value) if window.is_set and silence.is_set else None


def consultation(opinions: list[dict], profile: Profile) -> dict:
    silence = profile.param("silence_means_no_objection")
    objections = [o for o in opinions if o.get("decision") == "不同意"]
    silent = [o.get("department") for o in opinions if o.get("silent")]
    return {"objections": objections, "silent": silent, "agreed": len(opinions) - len(objections),
            "silence_rule": silence.article if silence.is_set else ""}


@operator("consultation.tally", "征求意见汇总：逾期未复的按规则视为无不同意见", rule="D3")
def tally_operator(ctx: OperatorContext, opinions: list) -> dict:
    return consultation(opinions, ctx.runtime.profile)
