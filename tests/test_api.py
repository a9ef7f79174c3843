"""The JSON API: documented by its OpenAPI file, token login, role checks, Chinese errors with field
details, and no 5xx for anything a user can send."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from conftest import REPO, SEAL_KEY_FILE, Api, load_org
from govflow.api.openapi import PATHS, document
from govflow.app import create_app
from govflow.config import Settings
from govflow.work import admin
from govflow.work.system import Govflow

ORG = load_org("bazhou")
CLERK = ORG.with_post("office_clerk", ORG.office_id)[0].id
DIRECTOR = ORG.with_post("office_director")[0].id          # admin
AUDITOR = next(p.id for p in ORG.people.values() if "auditor" in p.roles)
OUTSIDER = next(p.id for p in ORG.with_post("dept_staff") if p.department == "nyj")
DEPUTY = next(p for p in ORG.with_post("deputy") if p.ab_partner)


def started(api, person=CLERK, department="czj") -> dict:
    api.post("/processes", DIRECTOR, data=(REPO / "processes" / "dept_request.bpmn").read_bytes(),
             headers={"Content-Type": "application/xml"})
    response = api.post("/instances", person, json={"process_id": "dept_request", "data": {
        "title": "关于采购应急物资的请示", "department": department, "urgency": "加急"}})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_every_route_is_documented_and_every_documented_route_exists(api):
    app = api.client.application
    routes: dict[str, set] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
            routes.setdefault(path, set()).update(rule.methods)
    assert set(routes) == set(PATHS)
    for path, methods in routes.items():
        documented = {m.upper() for m in PATHS[path]}
        assert documented == methods - {"HEAD", "OPTIONS"}, path
    assert api.get("/openapi.json").get_json() == document()


def test_login_errors_are_in_chinese_and_field_by_field(api):
    missing = api.post("/auth/token", json={"username": CLERK})
    assert missing.status_code == 422 and missing.get_json()["details"] == [{"field": "password",
                                                                               "reason": "“密码”为必填项"}]
    wrong = api.post("/auth/token", json={"username": CLERK, "password": "wrong"})
    assert wrong.status_code == 401 and wrong.get_json()["message"] == "用户名或密码错误"
    nobody = api.post("/auth/token", json={"username": "nobody", "password": "demo"})
    assert nobody.status_code == 401
    assert api.get("/me").status_code == 401


def test_tokens_expire_and_can_be_revoked(api, system):
    api.login(CLERK)
    assert api.get("/me", CLERK).status_code == 200
    with system.store.write() as session:
        admin.advance_clock(system, session, timedelta(hours=13), "test")
    expired = api.get("/me", CLERK)
    assert expired.status_code == 401 and "失效" in expired.get_json()["message"]
    api.login(CLERK)
    assert api.delete("/auth/token", CLERK).status_code == 204
    assert api.get("/me", CLERK).status_code == 401


def test_an_instance_is_visible_to_those_involved_and_to_auditors(api):
    instance = started(api)
    assert api.get(f"/instances/{instance['id']}", CLERK).status_code == 200
    assert api.get(f"/instances/{instance['id']}", AUDITOR).status_code == 200
    refused = api.get(f"/instances/{instance['id']}", OUTSIDER)
    assert refused.status_code == 403 and "无权" in refused.get_json()["message"]
    assert api.get("/instances", OUTSIDER).get_json()["total"] == 0
    assert api.get("/instances", AUDITOR).get_json()["total"] == 1
    events = api.get(f"/instances/{instance['id']}/events", AUDITOR).get_json()["items"]
    assert [e["instance_seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "instance_started" and events[0]["at"].endswith("+08:00")


def test_the_task_page_carries_its_form_and_its_history(api):
    instance = started(api)
    inbox = api.get("/tasks?view=group", CLERK).get_json()
    assert inbox["counts"]["group"] == 1
    task_id = inbox["items"][0]["id"]
    shown = api.get(f"/tasks/{task_id}", CLERK).get_json()
    assert shown["form"]["title"] == "办公室审核" and shown["may_act"] and shown["instance_id"] == instance["id"]
    assert api.get(f"/tasks/{task_id}", OUTSIDER).status_code == 403
    bad = api.post(f"/tasks/{task_id}/complete", CLERK, json={"data": {"decision": 3}})
    assert bad.status_code == 422 and {d["field"] for d in bad.get_json()["details"]} == {"decision", "opinion"}
    done = api.post(f"/tasks/{task_id}/complete", CLERK, json={"data": {"decision": "拟办", "opinion": "拟同意"}})
    assert done.status_code == 200 and done.get_json()["state"] == "completed"
    again = api.post(f"/tasks/{task_id}/complete", CLERK, json={"data": {"decision": "拟办", "opinion": "拟同意"}})
    assert again.status_code == 409 and "办理完毕" in again.get_json()["message"]
    history = api.get(f"/tasks/{task_id}", CLERK).get_json()["history"]
    assert history[0]["type"] == "task_completed" and history[0]["data"]["opinion"] == "拟同意"


def test_leave_recorded_through_the_api_shows_who_acts(api):
    department = DEPUTY.portfolio[0]
    instance = started(api, department=department)
    review = api.get("/tasks?view=group", CLERK).get_json()["items"][0]["id"]
    api.post(f"/tasks/{review}/complete", CLERK, json={"data": {"decision": "拟办", "opinion": "拟同意"}})
    leave = api.post("/leave", DIRECTOR, json={"person": DEPUTY.id, "starts_at": "2026-11-23T08:00:00",
                                               "ends_at": "2026-11-25T18:00:00", "reason": "外出学习"})
    assert leave.status_code == 201
    partner = api.get("/tasks?view=mine", DEPUTY.ab_partner).get_json()
    item = next(i for i in partner["items"] if i["instance_id"] == instance["id"])
    assert item["acting"]["rule"] == "P2" and item["acting"]["principal"] == DEPUTY.id and item["away"]
    assert api.get("/me", DEPUTY.ab_partner).get_json()["acting_for"][0]["principal"] == DEPUTY.id
    refused = api.post("/leave", OUTSIDER, json={"person": DEPUTY.id, "starts_at": "2026-11-23T08:00:00",
                                                 "ends_at": "2026-11-24T08:00:00"})
    assert refused.status_code == 403
    backwards = api.post("/leave", DIRECTOR, json={"person": DEPUTY.id, "starts_at": "2026-11-25T08:00:00",
                                                   "ends_at": "2026-11-24T08:00:00"})
    assert backwards.status_code == 422 and backwards.get_json()["details"][0]["field"] == "ends_at"


def test_the_calendar_is_shown_and_edited_by_administrators(api):
    year = api.get("/calendar/2027", CLERK).get_json()
    assert year["covered"] is False and "估算" in year["note"]
    empty = {"holidays": [], "workdays": [], "source": "x"}
    assert api.put("/calendar/years/2027", CLERK, json=empty).status_code == 403
    loaded = api.put("/calendar/years/2027", DIRECTOR, json={"holidays": ["2027-01-01"], "workdays": [],
                                                             "source": "国办发明电〔2026〕N号"})
    assert loaded.status_code == 200
    assert api.get("/calendar/2027", CLERK).get_json()["covered"] is True
    due = api.get("/calendar/deadline?start=2026-12-29T09:00:00&workdays=5", CLERK).get_json()
    assert due == {**due, "due": "2027-01-06T17:30:00+08:00", "estimated": False}
    wrong_year = api.put("/calendar/years/2027", DIRECTOR, json={"holidays": ["2028-01-01"], "workdays": [],
                                                                 "source": "x"})
    assert wrong_year.status_code == 422
    assert api.put("/calendar/days/2026-13-01", DIRECTOR, json={"workday": True}).status_code == 422


def test_the_clock_moves_only_in_test_and_demo_mode(api, tmp_path):
    moved = api.post("/clock/advance", DIRECTOR, json={"days": 1})
    assert moved.status_code == 200 and moved.get_json()["now"].startswith("2026-11-24T09:00")
    assert api.post("/clock/advance", CLERK, json={"days": 1}).status_code == 403
    production = Govflow(Settings(database_url=f"sqlite:///{tmp_path}/prod.db", mode="production", home=REPO,
                                  seal_key_file=SEAL_KEY_FILE))
    production.store.migrate()
    with production.store.write() as session:
        admin.load_organisation(production, session, ORG, "test")
    prod_api = Api(create_app(system=production))
    refused = prod_api.put("/clock", DIRECTOR, json={"now": "2030-01-01T00:00:00"})
    assert refused.status_code == 403 and "测试或演示" in refused.get_json()["message"]


def test_unknown_routes_and_methods_answer_in_json(api):
    assert api.get("/nothing", CLERK).get_json()["message"] == "没有这个接口"
    assert api.call("PATCH", "/tasks", CLERK).status_code == 405


BODIES = [None, b"", b"null", b"[]", b"{", b'{"data": []}', b'{"x": 1}', b'{"data": {"__proto__": 1}}',
          ('{"data": {"title": "' + "长" * 300_000 + '"}}').encode(), b'{"now": 12, "days": -1, "to": null}']


@pytest.mark.parametrize("path, method", [(p, m) for p, ops in PATHS.items() for m in ops])
def test_no_route_answers_5xx_to_malformed_input(api, path, method):
    started(api)
    concrete = (path.replace("{task_id}", "00000000-0000-0000-0000-000000000000").replace("{instance_id}", "1")
                .replace("{process_id}", "dept_request").replace("{version}", "1").replace("{year}", "2026")
                .replace("{day}", "2026-11-23").replace("{leave_id}", "999"))
    for body in BODIES:
        response = api.call(method.upper(), concrete, DIRECTOR, data=body,
                            headers={"Content-Type": "application/json"})
        assert response.status_code < 500, (method, concrete, body[:40] if body else body, response.get_json())
        if response.status_code >= 400:
            assert re.search(r"[\u4e00-\u9fff]", response.get_json()["message"])


def test_a_start_and_a_completion_answer_what_is_open_next_so_no_list_is_needed(api):
    """Issue 25: a client goes from step to step on the answers alone (8 requests for 7 tasks)."""
    instance = started(api)
    [review] = instance["open_tasks"]
    assert review["step"] == "office_review" and review["assignee"] is None and CLERK in review["candidates"]
    assert [t["id"] for t in instance["next"]] == [review["id"]]
    done = api.post(f"/tasks/{review['id']}/complete", CLERK, json={"data": {"decision": "拟办", "opinion": "拟同意"}})
    answer = done.get_json()
    assert done.status_code == 200 and answer["state"] == "completed"
    assert answer["instance"]["id"] == instance["id"] and answer["instance"]["status"] == "running"
    opened = {t["step"]: t for t in answer["instance"]["open_tasks"]}
    assert set(opened) == {"office_check", "leader_countersign"}            # the 会签 branches, in parallel
    leader = ORG.portfolio_leader("czj").id
    assert opened["leader_countersign"]["assignee"] == leader
    assert [t["step"] for t in answer["next"]] == ["office_check"]          # the clerk's own, not the leader's
    listed = api.get("/tasks?view=group", CLERK).get_json()["items"]
    assert {i["id"] for i in listed if i["instance_id"] == instance["id"]} == {opened["office_check"]["id"]}
    theirs = api.post(f"/tasks/{opened['leader_countersign']['id']}/complete", leader,
                      json={"data": {"decision": "同意", "opinion": "同意"}}).get_json()
    assert theirs["next"] == [] and {t["step"] for t in theirs["instance"]["open_tasks"]} == {"office_check"}
