"""涉密 documents (密级 秘密, 机密): seen only by those who handle them, those on their 分发范围 and
auditors (whose reading is logged) — in the API, the instance and task pages, the inbox, the
发文登记簿 (「涉密文件」 to the rest of the department) and the exports."""
from __future__ import annotations

import re

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, select

from conftest import REPO, Api, build_system
from govflow.app import create_app
from govflow.store.database import MIGRATIONS
from govflow.store.models import DocumentRegister, Instance
from helpers import complete, deploy_xml, events, holder, open_tasks, task
from helpers import start as start_instance

SECRET, PLAIN = "关于干部任免的请示（机密）", "关于校舍维修的请示"
# 沈凯 drafts for 教育局 (jyj); the 分发范围 names 财政局 (czj, 乔慧) and 周波 of 市场监管局.
SEEN = {            # person: (sees the 机密 document, sees the plain one)
    "shenkai": (True, True),          # its drafter
    "songyang": (True, True),         # an office clerk: a candidate of its 收文登记
    "qiaohui": (True, False),         # 财政局: a department on the 分发范围
    "zhoubo": (True, False),          # a person on the 分发范围
    "jiangjianguo": (False, True),    # 教育局 too, but not on the 分发范围
    "zhouguoqiang": (False, True),    # 分管 教育局, no task yet
    "shuitianming": (False, False),   # another department
    "wangpeng": (False, True),        # the administrator
    "xuxiaoling": (True, True),       # the auditor
}
STEPS = {"office_review": {"decision": "拟办", "opinion": "拟办"},
         "leader_review": {"decision": "同意", "opinion": "同意"},
         "signing": {"decision": "同意", "opinion": "同意"}, "receipt": {"received": True}}


def document(title: str, secrecy: str = "无", **more) -> dict:
    return {"doc_type": "请示", "title": title, "department": "jyj", "urgency": "一般", "secrecy": secrecy,
            "category": "government_business", "issuer": "政府", "departments": [], "body": "妥否，请批示。",
            "signoff": {"signer": "liangxiaodong", "meeting": "局务会议纪要〔2026〕3号"}, **more}


def secret(system) -> int:
    return start_instance(system, "shenkai", "document_approval", document(
        SECRET, "机密", distribution={"departments": ["czj"], "people": ["zhoubo"]}))


def built(url: str):
    system = build_system(url)
    deploy_xml(system, (REPO / "processes" / "document_approval.bpmn").read_bytes(), "document_approval.bpmn")
    return system


@pytest.fixture
def documents(sqlite_url):
    system = built(sqlite_url)
    yield system
    system.store.dispose()


@pytest.fixture
def on_each_database(database_url):
    system = built(database_url)
    yield system
    system.store.dispose()


def test_a_classified_document_is_seen_by_its_handlers_its_distribution_and_auditors_only(on_each_database):
    documents = on_each_database
    api = Api(create_app(system=documents))
    hidden, plain = secret(documents), start_instance(documents, "shenkai", "document_approval", document(PLAIN))
    receipts = {i: open_tasks(documents, i)[0].id for i in (hidden, plain)}
    for person, sees in SEEN.items():
        listed = {i["id"] for i in api.get("/instances?limit=500", person).get_json()["items"]}
        for instance_id, expected in zip((hidden, plain), sees, strict=True):
            code = 200 if expected else 403
            assert api.get(f"/instances/{instance_id}", person).status_code == code, (person, instance_id)
            assert api.get(f"/instances/{instance_id}/events", person).status_code == code, person
            assert api.get(f"/tasks/{receipts[instance_id]}", person).status_code == code, person
            assert (instance_id in listed) == expected, (person, instance_id)
    everything = [t["instance_id"] for t in api.get("/tasks?view=all", "wangpeng").get_json()["items"]]
    assert plain in everything and hidden not in everything
    read = [e for e in events(documents, type_="audit_viewed") if e.actor == "xuxiaoling"]
    assert f'"instance_id":{hidden}' in "".join(e.payload for e in read)


def test_whoever_gets_a_task_of_it_sees_it_and_keeps_seeing_it(documents):
    api, hidden = Api(create_app(system=documents)), secret(documents)
    assert api.get(f"/instances/{hidden}", "zhouguoqiang").status_code == 403
    drive(documents, hidden, until="signing")
    signing = task(documents, hidden, "signing")
    assert signing.assignee == "zhouguoqiang"                       # the 分管领导 signs 教育局's request (D6)
    assert api.get(f"/instances/{hidden}", "zhouguoqiang").status_code == 200       # now with a task
    complete(documents, "zhouguoqiang", signing.id, STEPS["signing"])
    assert api.get(f"/instances/{hidden}", "zhouguoqiang").status_code == 200       # and after completing it
    assert api.get(f"/instances/{hidden}", "liubing").status_code == 403


def test_the_office_and_other_leaders_cannot_press_or_circulate_what_they_may_not_see(documents):
    api, hidden = Api(create_app(system=documents)), secret(documents)
    receipt = open_tasks(documents, hidden)[0].id
    assert api.post(f"/tasks/{receipt}/press", "wangpeng", json={}).status_code == 403      # 办公室主任, admin
    assert api.post(f"/tasks/{receipt}/press", "liubing", json={}).status_code == 403       # another 副区长
    assert api.post(f"/instances/{hidden}/circulate", "wangpeng", json={"to": ["jiangjianguo"]}).status_code == 403
    assert api.get(f"/instances/{hidden}", "jiangjianguo").status_code == 403
    # a handler may circulate it, but only within its 分发范围 (issue 18 point 5)
    assert api.post(f"/instances/{hidden}/circulate", "songyang", json={"to": ["jiangjianguo"]}).status_code == 403
    assert api.get(f"/instances/{hidden}", "jiangjianguo").status_code == 403
    assert api.post(f"/instances/{hidden}/circulate", "songyang", json={"to": ["zhoubo"]}).status_code == 201


def test_a_resubmission_marked_无_does_not_declassify_it(sqlite_url):
    system = built(sqlite_url)
    hidden = secret(system)
    complete(system, "songyang", task(system, hidden, "receipt").id, {"received": True})
    complete(system, "songyang", task(system, hidden, "office_review").id, {"decision": "退文", "opinion": "请修改"})
    complete(system, "shenkai", task(system, hidden, "revise").id,
             {**document(SECRET, "无", distribution={"people": []}), "revise_action": "重新报送", "response": "已改"})
    api = Api(create_app(system=system))
    with system.store.read() as session:
        assert session.get(Instance, hidden).secrecy == "机密"
    assert api.get(f"/instances/{hidden}", "jiangjianguo").status_code == 403
    assert api.get(f"/instances/{hidden}", "zhoubo").status_code == 403           # no longer on the 分发范围
    system.store.dispose()


def test_the_register_and_the_exports_hide_a_classified_document_from_others(sqlite_url):
    system = built(sqlite_url)
    hidden, plain = secret(system), start_instance(system, "shenkai", "document_approval", document(PLAIN))
    for instance_id in (hidden, plain):
        drive(system, instance_id, until=None)
    with system.store.read() as session:
        assert len(session.scalars(select(DocumentRegister)).all()) == 2
    rows = {person: register_rows(system, person) for person in ("shenkai", "jiangjianguo", "shuitianming")}
    assert SECRET in rows["shenkai"] and PLAIN in rows["shenkai"]
    assert "涉密文件" in rows["jiangjianguo"] and SECRET not in rows["jiangjianguo"] and PLAIN in rows["jiangjianguo"]
    assert f"/instances/{hidden}" not in rows["jiangjianguo"] and f"/instances/{plain}" in rows["jiangjianguo"]
    assert "巴州府发" not in rows["shuitianming"]
    api = Api(create_app(system=system))
    by_admin = api.get("/audit/export?format=xes", "wangpeng").get_data(True)
    by_auditor = api.get("/audit/export?format=xes", "xuxiaoling").get_data(True)
    assert PLAIN in by_admin and SECRET not in by_admin and SECRET in by_auditor
    assert api.get(f"/instances/{hidden}/replay", "wangpeng").status_code == 403
    system.store.dispose()


def test_the_instance_and_task_pages_follow_the_same_rule(sqlite_url):
    system = built(sqlite_url)
    hidden = secret(system)
    receipt = open_tasks(system, hidden)[0].id
    for person, code in (("jiangjianguo", 403), ("qiaohui", 200)):
        client = page_client(system, person)
        assert client.get(f"/instances/{hidden}").status_code == code, person
        assert client.get(f"/tasks/{receipt}").status_code == code, person
        assert (SECRET in client.get("/instances").get_data(True)) == (code == 200), person
    form = page_client(system, "shenkai").get("/processes/document_approval/start").get_data(True)
    assert "分发范围" in form and "分发单位" in form and "分发人员" in form and "巴州区财政局" in form
    system.store.dispose()


def test_documents_started_before_the_upgrade_are_restricted_by_it(sqlite_url):
    system = built(sqlite_url)
    hidden = secret(system)
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    plain = create_engine(sqlite_url)        # SQLite rebuilds a table to drop a column: without govflow's FK pragma
    with plain.begin() as connection:        # back to before 0006, then up again
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
        command.upgrade(config, "head")
    plain.dispose()
    with system.store.read() as session:
        assert (session.get(Instance, hidden).secrecy, session.get(Instance, hidden).department) == ("机密", "jyj")
    api = Api(create_app(system=system))
    assert api.get(f"/instances/{hidden}", "jiangjianguo").status_code == 403
    assert api.get(f"/instances/{hidden}", "songyang").status_code == 200
    system.store.dispose()


def drive(system, instance_id: int, until: str | None) -> None:
    """Complete the document's open tasks, agreeing, until ``until`` is open (None: until it has a number)."""
    for _ in range(20):
        with system.store.read() as session:
            if until is None and session.scalar(select(DocumentRegister.number)
                                                .where(DocumentRegister.instance_id == instance_id)):
                return
        rows = open_tasks(system, instance_id)
        if until is not None and any(r.step_id == until for r in rows):
            return
        row = rows[0]
        complete(system, holder(system, row), row.id, STEPS[row.step_id])
    raise AssertionError(f"did not reach {until or 'a number'}: {[r.step_id for r in open_tasks(system, instance_id)]}")


def page_client(system, person: str):
    client = create_app(system=system).test_client()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(True)).group(1)
    assert client.post("/login", data={"csrf": csrf, "username": person, "password": "demo"}).status_code == 302
    return client


def register_rows(system, person: str) -> str:
    return page_client(system, person).get("/register?year=2026").get_data(True)
