"""Jurisdiction profiles: the numbers in which the five 政府工作规则 differ, each with its article.

A parameter the rules do not set is recorded as not set (``Param.is_set`` is False): rule checks
skip it rather than invent a value. The format is in docs/profile-format.md.

Layer 2: pure data; imports only ``time`` and the base modules (``errors``, ``config``).
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

PROFILE_IDS = ("dazu", "chongqing", "bazhou", "ziyang", "dongchang")

PARAMETERS = (
    "meeting_members", "quorum", "meeting_cadence", "materials_before_meeting",
    "topic_submission_deadline_wd", "topic_materials_deadline_wd", "agenda_frozen_on_approval",
    "late_topic", "consultation_window_wd", "silence_means_no_objection", "minutes_draft_wd",
    "signature_after_meeting_wd", "issue_after_meeting_wd", "party_committee_report_wd",
    "document_time_limited", "document_time_limit_wd", "top_urgent_leader_sign_wd",
    "submitter_lead_time_wd", "very_urgent_needs_reason", "legal_seat_at_meeting",
    "acting_head", "head_and_acting_not_both_away", "ab_roles", "both_ab_away",
    "dept_head_leave_approval", "leave_notice_days",
    # 公文审批与签发 (D1-D11)
    "single_channel_exceptions", "request_one_matter", "report_no_request", "no_skipping_levels",
    "department_matters_not_to_government", "countersign_departments", "internal_signoff", "office_review",
    "office_forwards_to_department", "clear_opinion_each_step", "head_signs", "several_portfolios",
    "major_to_head", "meeting_passed_executive_signs", "office_government_business_signer",
    "office_routine_signer", "circle_means_consent", "urgent_parallel_leaders", "repeat_limit", "no_republish",
    "annual_plan_required", "normative_legality_review", "normative_no_new_powers", "normative_validity_years",
    "normative_validity_required", "lower_government_wording",
    # 议题申报上会 (T1-T12)
    "topic_approval_chain", "not_for_meeting", "topic_coordination", "consult_reply_signers", "materials_always",
    "materials_major_decision", "materials_normative", "materials_market", "materials_draft_document",
    "materials_public_policy", "materials_towns", "incomplete_never_to_meeting", "presenters_rule",
    "materials_frozen_after_approval", "absence_leave_from", "recusal", "head_speaks_last", "minutes_signer",
    "minutes_countersign", "minutes_list_decisions", "emergency_actors", "emergency_report_next_meeting",
    # 议定事项督查督办 (F1-F8)
    "followup_assigners", "followup_organiser", "followup_first_responsible", "followup_reporting",
    "followup_quarterly_summary", "followup_pressing", "followup_performance_assessment", "followup_closure_check",
    "followup_major_change_to_meeting", "followup_disagreement",
    # 重大行政决策 (M1-M16, RULES-M.md)
    "major_scope", "major_steps", "major_assessment", "major_participation", "major_hearing_trigger",
    "major_risk_assessments", "major_legality_reviewer", "major_fair_competition", "major_consultation",
    "major_party_report", "major_publication", "major_evaluation", "major_accountability",
)


@dataclass(frozen=True)
class Param:
    key: str
    value: object = None
    article: str = ""
    quote: str = ""
    note: str = ""
    is_set: bool = False


@dataclass(frozen=True)
class Profile:
    id: str
    name: str
    seed: str
    level: str
    citation: str
    titles: dict
    params: dict

    def param(self, key: str) -> Param:
        if key not in self.params:
            raise KeyError(f"unknown profile parameter {key}")
        return self.params[key]

    def value(self, key: str, default=None):
        param = self.param(key)
        return param.value if param.is_set else default


class ProfileInvalid(ValueError):
    pass


def parse(document: dict) -> Profile:
    params, problems = {}, []
    for key in PARAMETERS:
        raw = document.get("params", {}).get(key)
        if raw is None:
            problems.append(f"{key}: missing (write `set = false` when the rules do not set it)")
        elif raw.get("set", True) is False:
            params[key] = Param(key, note=raw.get("note", ""))
        elif "value" not in raw or not raw.get("article"):
            problems.append(f"{key}: a set parameter needs value and article")
        else:
            params[key] = Param(key, raw["value"], raw["article"], raw.get("quote", ""), raw.get("note", ""), True)
    unknown = set(document.get("params", {})) - set(PARAMETERS)
    problems += [f"{key}: unknown parameter" for key in sorted(unknown)]
    if problems:
        raise ProfileInvalid(f"profile {document.get('id')}: " + "; ".join(problems))
    return Profile(document["id"], document["name"], document["seed"], document["level"],
                   document["citation"], dict(document.get("titles", {})), params)


@lru_cache(maxsize=None)
def load(profile_id: str) -> Profile:
    if profile_id not in PROFILE_IDS:
        raise KeyError(profile_id)
    text = resources.files(__name__).joinpath(f"{profile_id}.toml").read_text(encoding="utf-8")
    return parse(tomllib.loads(text))

