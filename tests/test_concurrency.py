"""Many clients at once on the same tasks, through the whole HTTP stack (each thread its own client
and its own database session), on SQLite and PostgreSQL: completing, claiming and 转办-ing one task
at once leaves exactly one winner; everyone else gets 409 with a Chinese message, never a 500; no
event is recorded twice; the chain verifies; documents registered at once get distinct 发文字号."""
from __future__ import annotations

import json
import re
import sys
import threading
from collections import Counter

from sqlalchemy import select

from conftest import REPO, Api
from govflow.store import eventlog
from govflow.store.models import DocumentRegister, Event
from helpers import complete, deploy_xml, open_tasks, start, task

sys.path.insert(0, str(REPO / "bench"))
from harness import Client, Databases, Server, Tokens, open_system  # noqa: E402  (bench/harness.py)

CLERKS = ("qianze", "songyang", "zhongjie")        # the 办公室 group of bazhou
LEADER = "zengfei"                                 # 分管副区长 of czj
DEPUTIES = ("liubing", "tangjianjun", "kongxiaoming", "wangpeng")
REQUEST = {"title": "关于申请专项资金的请示", "department": "czj", "urgency": "一般"}
REVIEWED = {"data": {"decision": "拟办", "opinion": "拟同意"}}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def at_once(api: Api, calls: list[tuple[str, str, dict]]) -> list[tuple[int, dict]]:
    """POST every (person, path, body) from its own thread and client, released together."""
    for person in {person for person, _, _ in calls}:
        if person not in api.tokens:
            api.login(person)
    app, barrier, answers = api.client.application, threading.Barrier(len(calls)), [None] * len(calls)

    def send(number: int, person: str, path: str, payload: dict) -> None:
        client = app.test_client()
        barrier.wait()
        reply = client.post(f"/api/v1{path}", json=payload, headers={"Authorization": f"Bearer {api.tokens[person]}"})
        answers[number] = (reply.status_code, reply.get_json())
    threads = [threading.Thread(target=send, args=(n, *call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


def one_winner(answers: list[tuple[int, dict]]) -> None:
    statuses = Counter(status for status, _ in answers)
    assert statuses == {200: 1, 409: len(answers) - 1}, answers
    for status, body in answers:
        if status == 409:
            assert body["error"] == "conflict" and CHINESE.search(body["message"]), body


def requests_at(system, step: str, count: int) -> list[int]:
    """``count`` dept_request instances waiting at ``step``."""
    ids = [start(system, CLERKS[0], "dept_request", REQUEST) for _ in range(count)]
    for instance_id in ids:
        if step == "sign_off":
            complete(system, CLERKS[0], task(system, instance_id, "office_review").id,
                     {"decision": "拟办", "opinion": "拟同意"})
            complete(system, CLERKS[0], task(system, instance_id, "office_check").id, {"decision": "同意"})
            complete(system, LEADER, task(system, instance_id, "leader_countersign").id, {"decision": "同意"})
    return ids


def kinds_per_task(system, task_ids) -> dict[str, Counter]:
    with system.store.read() as session:
        rows = session.execute(select(Event.task_id, Event.type).where(Event.task_id.in_(task_ids))).all()
    found: dict[str, Counter] = {t: Counter() for t in task_ids}
    for task_id, kind in rows:
        found[task_id][kind] += 1
    return found


def chain_verifies(system) -> None:
    with system.store.read() as session:
        checked = eventlog.verify(session)
    assert checked.ok, checked.first_bad


def test_many_people_completing_the_same_tasks_at_once_leave_one_completion_each(system, api):
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    ids = requests_at(system, "office_review", 3)
    rows = [task(system, i, "office_review") for i in ids]
    calls = [(clerk, f"/tasks/{row.id}/complete", {"data": {"decision": "拟办", "opinion": f"拟同意（{clerk}）"}})
             for row in rows for clerk in CLERKS * 2]
    answers = at_once(api, calls)
    for row in rows:
        one_winner([a for a, call in zip(answers, calls, strict=True) if row.id in call[1]])
    for row_kinds in kinds_per_task(system, [r.id for r in rows]).values():
        assert row_kinds == {"task_created": 1, "task_claimed": 1, "task_completed": 1}
    for instance_id in ids:       # the next steps were opened once
        assert sorted(t.step_id for t in open_tasks(system, instance_id)) == ["leader_countersign", "office_check"]
    chain_verifies(system)


def test_many_claims_of_one_group_task_leave_one_claimant(system, api):
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    row = task(system, requests_at(system, "office_review", 1)[0], "office_review")
    answers = at_once(api, [(clerk, f"/tasks/{row.id}/claim", {}) for clerk in CLERKS * 3])
    one_winner(answers)
    assert all("签收" in body["message"] for status, body in answers if status == 409)
    winner = next(body["assignee"] for status, body in answers if status == 200)
    assert kinds_per_task(system, [row.id])[row.id] == {"task_created": 1, "task_claimed": 1}
    assert task(system, row.instance_id, "office_review").assignee == winner
    chain_verifies(system)


def test_many_handovers_of_one_task_leave_one_new_holder(system, api):
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    row = task(system, requests_at(system, "sign_off", 1)[0], "sign_off")
    answers = at_once(api, [(LEADER, f"/tasks/{row.id}/transfer", {"to": to, "reason": "出差，请代为签发"})
                            for to in DEPUTIES * 2])
    one_winner(answers)
    winner = next(body["assignee"] for status, body in answers if status == 200)
    kinds = kinds_per_task(system, [row.id])[row.id]
    assert kinds["task_transferred"] == 1
    assert task(system, row.instance_id, "sign_off").assignee == winner
    chain_verifies(system)


def test_claim_complete_and_handover_of_one_task_at_once_have_one_winner(system, api):
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    rows = [task(system, i, "office_review") for i in requests_at(system, "office_review", 4)]
    calls = []
    for row in rows:
        calls += [(CLERKS[0], f"/tasks/{row.id}/claim", {}),
                  (CLERKS[1], f"/tasks/{row.id}/complete", {"data": {"decision": "拟办", "opinion": "拟同意"}}),
                  (CLERKS[2], f"/tasks/{row.id}/transfer", {"to": "wangpeng", "reason": "请主任审核"})]
    answers = at_once(api, calls)
    for row in rows:
        mine = [a for a, call in zip(answers, calls, strict=True) if row.id in call[1]]
        one_winner(mine)
    for row_kinds in kinds_per_task(system, [r.id for r in rows]).values():
        changes = row_kinds["task_completed"] + row_kinds["task_transferred"] + (
            row_kinds["task_claimed"] - row_kinds["task_completed"])      # a completion claims as it goes
        assert changes == 1, row_kinds
    chain_verifies(system)


DOCUMENT = {"doc_type": "请示", "title": "关于申请城区排水管网改造资金的请示", "department": "sfj", "urgency": "一般",
            "secrecy": "无", "category": "government_business", "issuer": "政府", "departments": [],
            "body": "现申请区级资金 300 万元用于城区排水管网改造。妥否，请批示。",
            "signoff": {"signer": "xuexin", "meeting": "局务会议纪要〔2026〕3号"}}
DOCUMENT_STEPS = {"receipt": {"received": True}, "office_review": {"decision": "拟办", "opinion": "拟办"},
                  "leader_review": {"decision": "同意", "opinion": "同意"}}


def test_documents_signed_at_once_get_distinct_numbers_without_gaps(system, api):
    deploy_xml(system, (REPO / "processes" / "document_approval.bpmn").read_bytes(), "document_approval.bpmn")
    signing = []
    for _ in range(8):
        instance_id = start(system, "wanwenhua", "document_approval", DOCUMENT)
        while (row := open_tasks(system, instance_id)[0]).step_id != "signing":
            complete(system, row.assignee or CLERKS[0], row.id, DOCUMENT_STEPS[row.step_id])
        signing.append(row)
    signed = {"data": {"decision": "同意", "opinion": "同意"}}
    answers = at_once(api, [(row.assignee, f"/tasks/{row.id}/complete", signed) for row in signing])
    assert [status for status, _ in answers] == [200] * len(signing), answers
    with system.store.read() as session:
        register = session.scalars(select(DocumentRegister)).all()
        numbered = session.scalars(select(Event).where(Event.type == "service_task")).all()
    assert sorted(r.sequence for r in register) == list(range(1, len(signing) + 1))
    assert len({r.number for r in register}) == len({r.instance_id for r in register}) == len(signing)
    registrations = [e for e in numbered if json.loads(e.payload)["operator"] == "document.register"]
    assert len(registrations) == len(signing)
    chain_verifies(system)


def test_completions_racing_across_gunicorn_worker_processes_on_sqlite(tmp_path):
    """The same race between processes: three gunicorn workers on one SQLite file, where only the
    file lock (BEGIN IMMEDIATE) keeps two writers apart."""
    databases = Databases("sqlite")
    url = databases.fresh()
    system = open_system(url)
    try:
        rows = [task(system, i, "office_review") for i in requests_at(system, "office_review", 3)]
        server = Server(url, tmp_path / "gunicorn.log", workers=3)
        server.start()
        try:
            tokens, answers = Tokens(server.port, databases.tokens), {}
            barrier = threading.Barrier(len(rows) * 6)

            def send(row, clerk, number):
                client = Client(server.port, tokens)
                barrier.wait()
                answers[(row.id, number)] = client.request("POST", f"/api/v1/tasks/{row.id}/complete", REVIEWED, clerk)
            threads = [threading.Thread(target=send, args=(row, clerk, n))
                       for row in rows for n, clerk in enumerate(CLERKS * 2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=120)
        finally:
            server.stop()
        for row in rows:
            one_winner([a for (task_id, _), a in answers.items() if task_id == row.id])
        for row_kinds in kinds_per_task(system, [r.id for r in rows]).values():
            assert row_kinds == {"task_created": 1, "task_claimed": 1, "task_completed": 1}
        chain_verifies(system)
    finally:
        system.store.dispose()
        databases.close()
