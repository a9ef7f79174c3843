"""The designer's pages: the list of process versions, the bpmn-js modeler with govflow's own
properties panel, validation that stores nothing, deploy as a new version with the forms edited
on the page, and the form preview. Only designers and admins get in; every POST needs its CSRF token."""
from __future__ import annotations

import json
import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from browser import shot
from conftest import REPO
from govflow.app import create_app
from govflow.store.models import Blob, Instance, ProcessVersion

DEPT_REQUEST = (REPO / "processes" / "dept_request.bpmn").read_text(encoding="utf-8")
RETURN_CONDITION = '<bpmn:conditionExpression>office_review["decision"] == "退文"</bpmn:conditionExpression>'
UNCONDITIONED = DEPT_REQUEST.replace(RETURN_CONDITION, "")
DESIGNER_POSTS = ["/designer/validate", "/designer/deploy", "/designer/forms/preview"]


def logged_in(system, person: str):
    client = create_app(system=system).test_client()
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"csrf": csrf, "username": person, "password": "demo"})
    assert response.status_code == 302
    return client, csrf


def post(client, csrf: str, url: str, body: dict):
    return client.post(url, json=body, headers={"X-CSRF-Token": csrf})


def stored(system) -> tuple[int, int]:
    """How many versions and blobs the database holds."""
    with system.store.read() as db:
        return tuple(db.scalar(select(func.count()).select_from(model)) for model in (ProcessVersion, Blob))


def page_data(html: str) -> dict:
    """What the modeler page hands its JavaScript."""
    found = re.search(r'<script id="designer-data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_only_designers_and_admins_reach_the_designer_pages_and_endpoints(site):
    for person in ("songyang", "xuxiaoling"):
        client, csrf = logged_in(site, person)
        for url in ["/designer", "/designer/dept_request/1", "/designer/new?process_id=x&name=x",
                    "/designer/forms/sign_off.json"]:
            assert client.get(url).status_code == 403, (person, url)
        for url in DESIGNER_POSTS:
            assert post(client, csrf, url, {"xml": DEPT_REQUEST, "text": "{}"}).status_code == 403, (person, url)
    admin, _ = logged_in(site, "wangpeng")
    assert admin.get("/designer").status_code == 200 and admin.get("/designer/dept_request/1").status_code == 200
    client, _ = logged_in(site, "qianze")
    listing = client.get("/designer").get_data(as_text=True)
    assert listing.count("在建模器中打开") == len(list((REPO / "processes").glob("*.bpmn")))
    assert "部门请示办理（示例）" in listing and "2026年11月23日 09:00" in listing and "新建流程" in listing


def test_the_modeler_page_carries_the_versions_diagram_and_forms(site):
    client, csrf = logged_in(site, "qianze")
    response = client.get("/designer/dept_request/1")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "第 1 版" in html and "校验" in html and "部署为新版本" in html
    data = page_data(html)
    with site.store.read() as db:
        version = db.scalars(select(ProcessVersion).where(ProcessVersion.process_id == "dept_request")).one()
        assert data["xml"] == db.get(Blob, version.bpmn_hash).content and data["csrf"] == csrf
    assert set(data["forms"]) == {"request_start.json", "office_review.json", "countersign.json", "sign_off.json",
                                  "press_record.json"}
    assert "办公室" in data["lanes"] and "countersign.tally" in {op["name"] for op in data["operators"]}
    assert client.get("/designer/dept_request/9").status_code == 404


def test_validate_names_each_problem_and_its_element_and_stores_nothing(site):
    client, csrf = logged_in(site, "qianze")
    before = stored(site)
    clean = post(client, csrf, "/designer/validate", {"xml": DEPT_REQUEST, "filename": "dept_request.bpmn"})
    assert clean.status_code == 200 and clean.get_json() == {"passed": True, "problems": []}
    broken = post(client, csrf, "/designer/validate", {"xml": UNCONDITIONED}).get_json()
    assert not broken["passed"]
    assert [(p["element"], p["severity"]) for p in broken["problems"]] == [("flow_return", "error")]
    assert "的分支 flow_return 没有条件，也不是默认分支" in broken["problems"][0]["reason"]
    assert stored(site) == before


def test_deploy_of_a_bad_diagram_answers_its_problems_and_stores_nothing(site):
    client, csrf = logged_in(site, "qianze")
    before = stored(site)
    xxe = ('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&x;</bpmn:definitions>')
    cases = [(UNCONDITIONED, "flow_return", "没有条件，也不是默认分支"),
             ("这不是流程图", "(文件)", "不是合法的 XML"),
             (xxe, "(文件)", "不接受 DOCTYPE 或实体声明"),
             (DEPT_REQUEST + " " * (5 * 1024 * 1024), "(文件)", "文件过大")]
    for xml, element, reason in cases:
        response = post(client, csrf, "/designer/deploy", {"xml": xml, "filename": "dept_request.bpmn"})
        answer = response.get_json()
        assert response.status_code == 422 and "流程图未通过检查" in answer["message"]
        assert any(p["element"] == element and reason in p["reason"] for p in answer["problems"]), answer
    bad_form = post(client, csrf, "/designer/deploy", {"xml": DEPT_REQUEST, "forms": {"office_review.json": "{"}})
    assert bad_form.status_code == 422
    assert any(p["element"] == "office_review" and "office_review.json 不是合法的 JSON" in p["reason"]
               for p in bad_form.get_json()["problems"])
    assert post(client, csrf, "/designer/deploy", {"forms": []}).status_code == 422
    assert stored(site) == before


def test_deploy_stores_a_new_version_with_the_forms_edited_on_the_page(site):
    client, csrf = logged_in(site, "qianze")
    form = (REPO / "forms" / "office_review.json").read_text(encoding="utf-8").replace("拟办意见或退文理由", "审核意见")
    renamed = DEPT_REQUEST.replace('name="办公室审核"', 'name="办公室初审"')
    response = post(client, csrf, "/designer/deploy", {"xml": renamed, "filename": "dept_request.bpmn",
                                                       "forms": {"office_review.json": form}})
    answer = response.get_json()
    assert response.status_code == 201 and answer["message"] == "部门请示办理（示例）已部署为第 2 版"
    assert answer["versions"][0]["url"] == "/designer/dept_request/2"
    with site.store.read() as db:
        version = db.scalars(select(ProcessVersion).where(ProcessVersion.process_id == "dept_request",
                                                          ProcessVersion.version == 2)).one()
        assert version.deployed_by == "qianze"
        assert 'name="办公室初审"' in db.get(Blob, version.bpmn_hash).content
        assert db.get(Blob, json.loads(version.forms)["office_review.json"]).content == form
    listing = client.get("/designer").get_data(as_text=True)
    assert "第 2 版" in listing and "钱泽" in listing


def test_posts_without_the_csrf_token_are_refused(site):
    client, _ = logged_in(site, "qianze")
    before = stored(site)
    for url in DESIGNER_POSTS:
        response = client.post(url, json={"xml": DEPT_REQUEST, "text": "{}"})
        assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    assert stored(site) == before


def test_the_form_preview_renders_the_schema_as_a_task_page_would(site):
    client, csrf = logged_in(site, "qianze")
    text = client.get("/designer/forms/sign_off.json").get_json()["text"]
    preview = post(client, csrf, "/designer/forms/preview", {"name": "sign_off.json", "text": text})
    html = preview.get_json()["html"]
    assert preview.status_code == 200 and "签发意见" in html and "批示" in html and "同意签发" in html
    not_json = post(client, csrf, "/designer/forms/preview", {"name": "x.json", "text": "{"}).get_json()
    assert not_json["message"].startswith("表单 x.json 不是合法的 JSON：第 1 行")
    not_object = post(client, csrf, "/designer/forms/preview", {"name": "x.json", "text": '{"type": "string"}'})
    assert not_object.status_code == 422 and "顶层 type 须为 object" in not_object.get_json()["message"]
    missing = client.get("/designer/forms/nothing.json")
    assert missing.status_code == 404 and "不存在" in missing.get_json()["message"]
    assert client.get("/designer/forms/..%2Fpyproject.toml").status_code == 404


def test_a_new_process_starts_as_a_minimal_diagram_that_passes_the_checks(site):
    client, csrf = logged_in(site, "qianze")
    assert client.get("/designer/new?process_id=1x&name=请假").status_code == 400
    taken = client.get("/designer/new?process_id=dept_request&name=请假")
    assert taken.status_code == 400 and "已被使用" in taken.get_data(as_text=True)
    data = page_data(client.get("/designer/new?process_id=leave_request&name=请假审批<b>").get_data(as_text=True))
    assert 'name="请假审批&lt;b&gt;"' in data["xml"] and list(data["forms"]) == ["leave_request_handle.json"]
    body = {"xml": data["xml"], "filename": data["filename"], "forms": data["forms"]}
    assert post(client, csrf, "/designer/validate", body).get_json() == {"passed": True, "problems": []}
    deployed = post(client, csrf, "/designer/deploy", body)
    assert deployed.status_code == 201 and deployed.get_json()["versions"][0]["version"] == 1


# -- in the browser --------------------------------------------------------------------------------------------------
def test_a_designer_renames_a_task_fixes_a_branch_deploys_and_starts_version_2(browse, site):
    page = browse("qianze")
    expect(page.locator("h1")).to_have_text("流程设计")
    page.click("#process-dept_request a:has-text('在建模器中打开')")
    task = page.locator('[data-element-id="office_review"]')
    panel = page.locator("#properties")

    task.click()
    expect(panel.locator("input[name=formJsonSchemaFilename]")).to_have_value("office_review.json")
    panel.locator("input[name=name]").fill("办公室初审")
    panel.locator("input[name=name]").press("Tab")
    expect(task).to_contain_text("办公室初审")
    shot(page, "modeler")

    panel.locator("button:has-text('编辑此表单')").click()
    editor = page.locator("#form-text")
    expect(editor).to_have_value(re.compile("拟办意见或退文理由"))
    editor.fill(editor.input_value().replace("拟办意见或退文理由", "审核意见"))
    page.click("#form-check")
    expect(page.locator("#form-preview")).to_contain_text("审核意见")

    page.click('[data-element-id="flow_return_label"]')
    panel.locator("textarea[name=condition]").fill("")
    panel.locator("textarea[name=condition]").press("Tab")
    page.click("#validate")
    badge = page.locator('.djs-overlays[data-container-id="flow_return"] .problem-badge')
    expect(badge).to_contain_text("的分支 flow_return 没有条件，也不是默认分支")
    expect(page.locator("#status")).to_have_text("发现 1 处问题，修改后请再校验")
    shot(page, "modeler-problem")

    page.click("#problems li[data-element=flow_return] button")
    panel.locator("textarea[name=condition]").fill('office_review["decision"] == "退文"')
    panel.locator("textarea[name=condition]").press("Tab")
    page.click("#validate")
    expect(page.locator("#status")).to_have_text("校验通过，没有发现问题")
    expect(page.locator(".problem-badge")).to_have_count(0)

    page.click("#deploy")
    expect(page.locator("#status")).to_contain_text("已部署为第 2 版")
    page.click("#status a:has-text('打开第 2 版')")
    expect(page.locator("main")).to_contain_text("第 2 版，2026年11月23日 09:00 由钱泽部署")
    with site.store.read() as db:
        version = db.scalars(select(ProcessVersion).where(ProcessVersion.process_id == "dept_request",
                                                          ProcessVersion.version == 2)).one()
        xml = db.get(Blob, version.bpmn_hash).content
        form = db.get(Blob, json.loads(version.forms)["office_review.json"]).content
    assert 'name="办公室初审"' in xml and 'office_review["decision"] == "退文"' in xml and "审核意见" in form

    page.goto("/processes/dept_request/start")
    page.fill("[name='f.title']", "关于修缮办公楼的请示")
    page.fill("[name='f.department']", "czj")
    page.click("button:has-text('发起')")
    page.wait_for_load_state()
    with site.store.read() as db:
        started = db.scalars(select(Instance).where(Instance.process_id == "dept_request")).one()
    assert started.process_version_id == version.id


def test_a_diagram_over_the_size_limit_comes_back_to_the_modeler_as_json_in_chinese(site):
    client, csrf = logged_in(site, "qianze")
    huge = DEPT_REQUEST.replace("</bpmn:definitions>", "<!--" + "x" * (9 * 1024 * 1024) + "--></bpmn:definitions>")
    for url in ("/designer/validate", "/designer/deploy"):
        response = post(client, csrf, url, {"xml": huge})
        assert response.status_code == 413 and response.is_json, (url, response.content_type)
        assert "过大" in response.get_json()["message"] and "8 MB" in response.get_json()["message"]


def test_a_refusal_to_a_page_script_comes_back_in_its_own_words_as_json(site):
    client, csrf = logged_in(site, "qianze")
    expired = client.post("/designer/validate", json={"xml": DEPT_REQUEST})       # no CSRF token
    assert expired.status_code == 400 and expired.get_json()["message"] == "页面已过期，请刷新后重试"
    wrong = post(client, csrf, "/designer/validate", {"xml": 3})
    assert wrong.status_code == 422 and "须提交流程图的 XML 文本" in wrong.get_json()["message"]
    staff, staff_csrf = logged_in(site, "songyang")
    assert post(staff, staff_csrf, "/designer/validate", {"xml": DEPT_REQUEST}).get_json()["message"] == \
        "您没有权限进行此操作"
    client.post("/logout", data={"csrf": csrf})
    gone = post(client, csrf, "/designer/validate", {"xml": DEPT_REQUEST})
    assert gone.status_code == 401 and "登录已过期" in gone.get_json()["message"]


def test_a_form_json_syntax_error_is_said_wholly_in_chinese_with_line_and_column(site):
    client, csrf = logged_in(site, "qianze")
    text = '{\n  "type": "object",\n  "properties": {"a": {"type": "string"},}\n}'
    answer = post(client, csrf, "/designer/forms/preview", {"name": "x.json", "text": text}).get_json()
    assert answer["message"] == ("表单 x.json 不是合法的 JSON：第 3 行第 42 列："
                                 "字段名须用英文双引号括起（或最后一项后多了逗号）")
    bad_type = '{"type": "object", "properties": {"a": {"type": "strin"}}}'
    answer = post(client, csrf, "/designer/forms/preview", {"name": "x.json", "text": bad_type}).get_json()
    assert "properties/a/type 的值 \"strin\"" in answer["message"]
    assert not re.search(r"[A-Za-z]{5,}", answer["message"].replace("JSON Schema", "").replace("string", "")
                         .replace("number", "").replace("integer", "").replace("boolean", "").replace("object", "")
                         .replace("array", "").replace("properties", "").replace("strin", "")), answer["message"]
