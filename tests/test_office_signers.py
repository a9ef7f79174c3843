"""重庆 第五十一条（三）: who signs a document in the 市政府办公厅's name — the 秘书长 for the office's
government documents, the 分管副秘书长 (or, without the post, the 厅副主任) for its 事务性 documents —
and the other four profiles, whose seeds say otherwise, unchanged."""
from __future__ import annotations

import re

import pytest

from conftest import REPO, load_org
from govflow import profiles
from govflow.people.org import Organisation
from govflow.records.documents import Document
from govflow.rules import document as rules

ORGS = {pid: load_org(pid) for pid in profiles.PROFILE_IDS}
PROFILES = {pid: profiles.load(pid) for pid in profiles.PROFILE_IDS}


def office_document(pid, category, org=None):
    org = org or ORGS[pid]
    head = org.with_post("office_director", org.office_id)[0].id
    return Document(doc_type="通知", title="关于做好年末安全生产检查工作的通知", department=org.office_id,
                    urgency="一般", secrecy="无", category=category, issuer="政府办公室",
                    body="请各部门做好年末安全生产检查工作。", signoff={"signer": head, "meeting": "办公会议纪要"})


def test_chongqing_an_office_government_document_is_signed_by_the_secretary_general():
    org = ORGS["chongqing"]
    routing = rules.routing(office_document("chongqing", "government_business"), PROFILES["chongqing"], org)
    assert org.person(routing.signer).post == "secretary_general"
    assert routing.reviewers == ()
    assert "第五十一条" in routing.article
    assert "由市政府秘書長簽發" in routing.rule and "市政府秘书长签发" in routing.rule


def test_chongqing_a_routine_office_document_is_signed_by_the_deputy_secretary_general():
    org = ORGS["chongqing"]
    routing = rules.routing(office_document("chongqing", "office_routine"), PROFILES["chongqing"], org)
    assert org.person(routing.signer).post == "deputy_secretary_general"
    assert "第五十一条" in routing.article and "分管副秘書長或廳副主任簽發" in routing.rule


def test_chongqing_without_a_deputy_secretary_general_the_offices_deputy_director_signs():
    text = (REPO / "orgs" / "chongqing.toml").read_text(encoding="utf-8")
    text, removed = re.subn(r'\[\[people\]\]\nid = "yuhaitao"\n(?:[^\[\n][^\n]*\n)*', "", text)
    assert removed == 1
    org = Organisation.from_toml(text)
    assert not org.with_post("deputy_secretary_general")
    routing = rules.routing(office_document("chongqing", "office_routine", org), PROFILES["chongqing"], org)
    assert org.person(routing.signer).post == "office_deputy_director"
    assert "市政府办公厅副主任" in routing.rule


def test_chongqing_the_heads_categories_still_come_first_for_the_office():
    """第五十一条 itself gives the 市长 the 规范性文件 issued in the 办公厅's name."""
    org = ORGS["chongqing"]
    doc = office_document("chongqing", "normative_document")
    doc = Document(**{**doc.__dict__, "attachments": ("合法性审查意见",)})
    assert rules.routing(doc, PROFILES["chongqing"], org).signer == org.head().id


@pytest.mark.parametrize("pid", ["dazu", "bazhou", "ziyang", "dongchang"])
def test_elsewhere_an_office_government_document_still_goes_to_the_portfolio_leader(pid):
    """Their seeds give the office's government documents to the 分管领导: nothing changes there."""
    org = ORGS[pid]
    doc = office_document(pid, "government_business")
    own = next(d for d in org.departments if (p := org.portfolio_leader(d)) is not None and p.post == "deputy")
    doc = Document(**{**doc.__dict__, "department": own})
    routing = rules.routing(doc, PROFILES[pid], org)
    assert routing.signer == org.portfolio_leader(own).id
    assert routing.article == PROFILES[pid].param("office_government_business_signer").article
    assert "秘书长" not in routing.rule
