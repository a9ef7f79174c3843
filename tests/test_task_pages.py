"""The inbox, start and task pages without a browser: forms read back into the JSON their schema
describes, a blocking rule shown with its article and nothing stored, CSRF, who may see a task, the
inbox's filters, and the hand-over actions (转办, 传阅, 已阅)."""
from __future__ import annotations

import json
import re

from werkzeug.datastructures import MultiDict

from conftest import REPO
from govflow.app import create_app
from govflow.engine import forms
from govflow.store.models import Event, Task
from govflow.ui import schema_form
from helpers import complete, count, open_tasks, start, task
from procedures import People as Procedure
from procedures import by_hand, lead_and_other
from test_document_process import People
from test_followup_process import report


def logged_in(system, person: str):
    client = create_app(system=system).test_client()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(True)).group(1)
    assert client.post("/login", data={"csrf": csrf, "username": person, "password": "demo"}).status_code == 302
    return client, csrf


def schema(name: str) -> dict:
    return json.loads((REPO / "forms" / name).read_text(encoding="utf-8"))


def test_posted_fields_become_the_json_the_form_describes(site):
    minutes = schema("meeting_minutes.json")["properties"]["decisions"]
    form = {"type": "object", "properties": {"decisions": minutes}}
    posted = MultiDict([("f.decisions.0.task", "整治城区占道经营"), ("f.decisions.0.lead_unit", "sfj"),
                        ("f.decisions.0.due_on", "2026-12-31"), ("f.decisions.0.agenda_item", "2"),
                        ("f.decisions.3.task", "编制排水规划"), ("f.decisions.3.lead_unit", "zjj"),   # a row removed
                        ("f.decisions.3.assisting_units", "sfj"), ("f.decisions.3.assisting_units", "sthjj"),
                        ("f.decisions.3.due_on", "2027-01-15"), ("f.decisions.4.task", "")])            # left blank
    data = schema_form.read(form, posted)
    assert data == {"decisions": [
        {"task": "整治城区占道经营", "lead_unit": "sfj", "due_on": "2026-12-31", "agenda_item": 2},
        {"task": "编制排水规划", "lead_unit": "zjj", "assisting_units": ["sfj", "sthjj"], "due_on": "2027-01-15"}]}
    forms.validate(forms.validator(form), data)


def test_a_value_of_the_wrong_type_is_named_next_to_its_field(site):
    form = schema("document_publish.json")
    data = schema_form.read(form, MultiDict([("f.copies", "五十"), ("f.distribution", "")]))
    assert data == {"copies": "五十"}                         # kept as text, so that the validator names it
    try:
        forms.validate(forms.validator(form), data)
    except forms.ValidationFailed as failed:
        errors = schema_form.error_map(failed.details)
    client, _ = logged_in(site, "zhongjie")
    with client.application.test_request_context():
        html = str(schema_form.render(form, data, errors))
    assert re.search(r'data-path="copies".*?应为整数', html, re.S)
    assert re.search(r'data-path="distribution".*?为必填项', html, re.S)


def test_a_rule_that_blocks_shows_its_article_and_stores_nothing(site):
    people = Procedure("bazhou")
    lead, _ = lead_and_other(people.org)
    instance_id = by_hand(site, people, lead, [], "2026-12-31")
    report(site, people, lead, instance_id, action="申请销号", evidence="整治点位照片 12 张")
    verify = task(site, instance_id, "verify")
    checker = people.duty("督查")
    client, csrf = logged_in(site, checker)
    before = count(site, Event)
    page = client.post(f"/tasks/{verify.id}", data={"csrf": csrf, "f.result": "退回整改"})
    text = page.get_data(True)
    assert page.status_code == 422 and "规则检查未通过" in text and "巴州区人民政府工作规则 第六十二条" in text
    assert task(site, instance_id, "verify").state == "open"
    assert count(site, Event) == before + 1                     # the refusal itself, and nothing else


def test_a_post_without_the_pages_token_changes_nothing(site):
    people = People("bazhou")
    instance_id = start(site, people.sender, "document_approval", people.document(departments=[]))
    receipt = open_tasks(site, instance_id)[0]
    client, _ = logged_in(site, people.clerk)
    assert client.post(f"/tasks/{receipt.id}", data={"f.received": "1"}).status_code == 400
    assert client.post(f"/tasks/{receipt.id}/claim").status_code == 400
    assert open_tasks(site, instance_id)[0].assignee is None and open_tasks(site, instance_id)[0].state == "open"


def test_a_task_is_shown_only_to_those_with_business_in_it(site):
    people = People("bazhou")
    instance_id = start(site, people.sender, "document_approval", people.document(departments=[]))
    receipt = open_tasks(site, instance_id)[0]
    outsider, _ = logged_in(site, people.other_head)                 # another department, not consulted
    assert outsider.get(f"/tasks/{receipt.id}").status_code == 403
    clerk, _ = logged_in(site, people.clerk)
    page = clerk.get(f"/tasks/{receipt.id}").get_data(True)
    assert "收文登记" in page and "纸质件与附件已收齐" in page and "巴州区司法局" in page


def test_the_inbox_filters_by_urgency_title_and_deadline(site):
    people = People("bazhou")
    start(site, people.sender, "document_approval", people.document(departments=[]))
    start(site, people.sender, "document_approval",
          people.document(departments=[], title="关于防汛物资采购的请示", urgency="加急", urgency_reason="汛期临近"))
    clerk, _ = logged_in(site, people.clerk)

    def titles(query: str) -> list[str]:
        page = clerk.get(f"/inbox?view=group&{query}")
        assert page.status_code == 200
        return re.findall(r'<a href="/tasks/[^"]+">([^<]+)</a>', page.get_data(True))
    assert len(titles("")) == 2
    assert titles("urgency=加急") == ["关于防汛物资采购的请示"]
    assert titles("q=排水") == ["关于申请城区排水管网改造资金的请示"]
    assert titles("due=overdue") == []
    assert clerk.get("/inbox?view=everything").status_code == 400
    assert clerk.get("/inbox?page=0").status_code == 400


def test_hand_over_and_circulate_from_the_task_page(site):
    people = People("bazhou")
    instance_id = start(site, people.sender, "document_approval", people.document(departments=[]))
    complete(site, people.clerk, open_tasks(site, instance_id)[0].id, {"received": True})
    complete(site, people.clerk, open_tasks(site, instance_id)[0].id, {"decision": "拟办", "opinion": "拟办"})
    signing = open_tasks(site, instance_id)[0]
    leader, csrf = logged_in(site, people.lead)
    sent = leader.post(f"/tasks/{signing.id}/circulate", data=MultiDict(
        [("csrf", csrf), ("to", people.director), ("to", people.head), ("note", "请阅知")]))
    assert sent.status_code == 302
    reader, reader_csrf = logged_in(site, people.director)
    tab = reader.get("/inbox?view=read").get_data(True)
    copy = re.search(r'data-task="([^"]+)"', tab).group(1)
    assert "关于申请城区排水管网改造资金的请示" in tab
    assert reader.post(f"/tasks/{copy}/read", data={"csrf": reader_csrf}).status_code == 302
    assert _state(site, copy) == "completed"

    refused = leader.post(f"/tasks/{signing.id}/transfer", data={"csrf": csrf, "to": "nobody"})
    assert refused.status_code == 422 and "转交对象不存在" in refused.get_data(True)
    moved = leader.post(f"/tasks/{signing.id}/transfer", data={"csrf": csrf, "to": people.partner, "reason": "出差"})
    assert moved.status_code == 302 and task(site, instance_id, "signing").assignee == people.partner


def _state(system, task_id: str) -> str:
    with system.store.read() as db:
        return db.get(Task, task_id).state


def test_a_schema_with_anything_goes_parts_renders_them_as_text(site):
    form = {"type": "object", "properties": {"a": True, "b": {"type": "array", "items": [{"type": "string"}]}}}
    client, _ = logged_in(site, "zhongjie")
    with client.application.test_request_context():
        html = str(schema_form.render(form))
    assert 'name="f.a"' in html and 'name="f.b"' in html
    assert schema_form.read(form, MultiDict([("f.a", "x"), ("f.b", "一\n二")])) == {"a": "x", "b": ["一", "二"]}
