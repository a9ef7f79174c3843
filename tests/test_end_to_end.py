"""The whole core, as a government office would run it: the `govflow` command, a real server
process restarted between steps, two users over HTTP, a 工作日 timer fired by advancing the clock
and running the worker, and `govflow audit verify` — which must also catch a row edited behind
its back. Runs on SQLite and on PostgreSQL."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from conftest import REPO, load_org

GOVFLOW = str(Path(sys.executable).parent / "govflow")
ORG = load_org("bazhou")
CLERK = ORG.with_post("office_clerk", ORG.office_id)[0].id           # lane 办公室
DEPARTMENT = next(d for d in ORG.departments if ORG.portfolio_leader(d) and ORG.portfolio_leader(d).post == "deputy")
LEADER = ORG.portfolio_leader(DEPARTMENT).id                          # lane 分管副区长


class Server:
    def __init__(self, env: dict):
        self.env, self.process = env, None
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]

    def start(self):
        self.process = subprocess.Popen([GOVFLOW, "serve", "--port", str(self.port)], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/openapi.json", timeout=1)
                return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        raise AssertionError("server did not start")

    def restart(self):
        self.stop()
        self.start()

    def stop(self):
        if self.process:
            self.process.terminate()
            self.process.wait(timeout=10)

    def call(self, method: str, path: str, token: str | None = None, body: dict | None = None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/v1{path}", method=method,
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json",
                                                  **({"Authorization": f"Bearer {token}"} if token else {})})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())


def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([GOVFLOW, *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def server(database_url, tmp_path):
    env = {**os.environ, "GOVFLOW_DATABASE_URL": database_url, "GOVFLOW_MODE": "test", "GOVFLOW_HOME": str(REPO),
           "GOVFLOW_SECRET_KEY": "e2e"}
    for args in (["init", "--org", str(REPO / "orgs" / "bazhou.toml")],
                 ["clock", "set", "2026-11-23T09:00:00+08:00"],
                 ["deploy", str(REPO / "processes" / "dept_request.bpmn")]):
        done = cli(env, *args)
        assert done.returncode == 0, done.stderr
    running = Server(env)
    running.start()
    yield running, env
    running.stop()


def login(server, person: str) -> str:
    status, body = server.call("POST", "/auth/token", body={"username": person, "password": "demo"})
    assert status == 201, body
    return body["token"]


def open_task(server, token, view, step):
    status, inbox = server.call("GET", f"/tasks?view={view}", token)
    assert status == 200
    found = [t for t in inbox["items"] if t["step"] == step]
    assert found, f"{step} not in {view}: {[t['step'] for t in inbox['items']]}"
    return found[0]


def test_a_request_travels_through_two_lanes_a_countersign_and_a_working_day_timer(server, database_url):
    server, env = server
    clerk, leader = login(server, CLERK), login(server, LEADER)

    status, instance = server.call("POST", "/instances", clerk, {"process_id": "dept_request", "data": {
        "title": "关于申请城区排水改造资金的请示", "department": DEPARTMENT, "urgency": "加急"}})
    assert status == 201 and instance["current_steps"] == ["office_review"]

    review = open_task(server, clerk, "group", "office_review")
    assert server.call("POST", f"/tasks/{review['id']}/complete", clerk,
                       {"data": {"decision": "拟办", "opinion": "拟请分管副区长会签"}})[0] == 200
    server.restart()                                                    # the tokens survive: they are in the db
    check = open_task(server, clerk, "group", "office_check")           # the parallel 会签, office branch
    countersign = open_task(server, leader, "mine", "leader_countersign")  # and the leader's branch
    assert server.call("POST", f"/tasks/{check['id']}/complete", clerk, {"data": {"decision": "同意"}})[0] == 200
    server.restart()
    assert server.call("POST", f"/tasks/{countersign['id']}/complete", leader,
                       {"data": {"decision": "同意", "opinion": "同意"}})[0] == 200

    sign = open_task(server, leader, "mine", "sign_off")               # after the tally service task
    assert sign["due_at"] == "2026-11-26T17:30:00+08:00" and not sign["overdue"] and sign["urgency"] == "加急"
    assert server.call("GET", f"/instances/{instance['id']}", clerk)[1]["data"]["tally"]["passed"] is True

    assert cli(env, "clock", "advance", "--days", "4").returncode == 0   # Friday 09:00: one day late
    fired = cli(env, "worker", "--once")
    assert fired.returncode == 0 and "1 个定时器" in fired.stdout
    server.restart()
    assert server.call("GET", "/me", leader)[0] == 401                   # 4 days on, yesterday's login expired
    clerk, leader = login(server, CLERK), login(server, LEADER)
    assert open_task(server, leader, "mine", "sign_off")["overdue"] is True
    notice = open_task(server, clerk, "group", "overdue_notice")
    status, me = server.call("GET", "/me", leader)
    assert me["counts"] == {"mine": 1, "group": 0, "read": 0, "overdue": 1}
    assert server.call("POST", f"/tasks/{notice['id']}/complete", clerk, {"data": {"note": "已电话催办"}})[0] == 200
    assert server.call("POST", f"/tasks/{sign['id']}/complete", leader,
                       {"data": {"decision": "同意签发", "opinion": "同意"}})[0] == 200

    status, shown = server.call("GET", f"/instances/{instance['id']}", clerk)
    assert shown["status"] == "completed" and shown["current_steps"] == []
    kinds = [e["type"] for e in server.call("GET", f"/instances/{instance['id']}/events", clerk)[1]["items"]]
    assert kinds[0] == "instance_started" and kinds[-1] == "instance_ended"
    assert kinds.count("task_completed") == 5 and kinds.count("timer_fired") == 1 and "service_task" in kinds
    assert server.call("GET", "/tasks?view=mine", leader)[1]["total"] == 0

    verified = cli(env, "audit", "verify")
    assert verified.returncode == 0 and "事件链完整" in verified.stdout
    engine = create_engine(database_url)
    with engine.begin() as connection:                                   # an edit behind govflow's back
        seq = connection.execute(text("SELECT seq FROM event WHERE type = 'task_completed' ORDER BY seq LIMIT 1")
                                 ).scalar_one()
        connection.execute(text("UPDATE event SET payload = replace(payload, '拟办', '退文') WHERE seq = :s"),
                           {"s": seq})
    engine.dispose()
    caught = cli(env, "audit", "verify")
    assert caught.returncode == 1 and f"第 {seq} 条事件" in caught.stderr
