"""Faults answer in words and retries do not act twice: the database unreachable is a 503 with
Retry-After (a real PostgreSQL connection through a loopback relay that is then stopped), a full disk
a 507 (a SQLite file on a real 2 MB tmpfs, filled), the health endpoint says which; a write sent
again with the same Idempotency-Key is answered as the first time (API and form posts); two hand-
backs of one 委派 at once: the loser gets 409; production refuses to start without the settings
durability rests on (synchronous=FULL, synchronous_commit=on)."""
from __future__ import annotations

import re
import select as selectors
import shutil
import socket
import subprocess
import threading
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from conftest import REPO, SEAL_KEY_FILE, Api, build_system, load_org
from govflow.app import create_app
from govflow.cli import main
from govflow.config import Settings
from govflow.errors import ValidationFailed
from govflow.store.models import Event, Task
from govflow.work.system import Govflow
from helpers import complete, deploy_xml, start, task

ORG = load_org("bazhou")
CLERKS = [p.id for p in ORG.with_post("office_clerk", ORG.office_id) if not p.roles]
DEPT = next(d for d in ORG.departments if ORG.portfolio_leader(d))
LEADER = ORG.portfolio_leader(DEPT).id
REQUEST = {"title": "关于申请防汛物资的请示", "department": DEPT, "urgency": "一般"}
REVIEW = {"decision": "拟办", "opinion": "拟同意"}


def completions(system, task_id: str) -> int:
    with system.store.read() as session:
        return session.scalar(select(func.count()).select_from(Event).where(Event.type == "task_completed",
                                                                           Event.task_id == task_id))


@pytest.fixture
def review(system):
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    instance_id = start(system, CLERKS[0], "dept_request", REQUEST)
    return system, task(system, instance_id, "office_review")


# -- Idempotency-Key -------------------------------------------------------------------------------------
def test_a_completion_retried_with_its_key_is_done_once_and_answered_the_same(review):
    system, row = review
    api = Api(create_app(system=system))
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = api.post(f"/tasks/{row.id}/complete", CLERKS[0], json={"data": REVIEW}, headers=dict(key))
    again = api.post(f"/tasks/{row.id}/complete", CLERKS[0], json={"data": REVIEW}, headers=dict(key))
    assert first.status_code == again.status_code == 200, (first.get_json(), again.get_json())
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert completions(system, row.id) == 1
    without = api.post(f"/tasks/{row.id}/complete", CLERKS[0], json={"data": REVIEW})      # no key: acted on
    assert without.status_code == 409

    other = api.post(f"/tasks/{row.id}/complete", CLERKS[0], json={"data": {**REVIEW, "opinion": "改了"}},
                     headers=dict(key))
    assert other.status_code == 422 and "已用于另一个请求" in other.get_json()["message"]
    assert completions(system, row.id) == 1
    bad = api.post(f"/tasks/{row.id}/comments", CLERKS[0], json={"text": "意见"},
                   headers={"Idempotency-Key": "有 中文"})
    assert bad.status_code == 422 and "Idempotency-Key" in bad.get_json()["message"]


def test_the_same_key_of_another_person_is_their_own(review):
    system, row = review
    api = Api(create_app(system=system))
    key = {"Idempotency-Key": "shared-key"}
    assert api.post(f"/tasks/{row.id}/comments", CLERKS[0], json={"text": "甲"}, headers=dict(key)).status_code == 201
    assert api.post(f"/tasks/{row.id}/comments", CLERKS[1], json={"text": "甲"}, headers=dict(key)).status_code == 201
    with system.store.read() as session:
        assert session.scalar(select(func.count()).select_from(Event).where(Event.type == "comment")) == 2


def test_a_refused_write_keeps_no_answer_and_can_be_sent_again(review):
    system, row = review
    api = Api(create_app(system=system))
    key = {"Idempotency-Key": "refused-then-fixed"}
    refused = api.post(f"/tasks/{row.id}/complete", CLERKS[0], json={"data": {"decision": "?"}}, headers=dict(key))
    assert refused.status_code == 422
    fixed = api.post(f"/tasks/{row.id}/complete", CLERKS[0], json={"data": {"decision": "?"}}, headers=dict(key))
    assert fixed.status_code == 422 and "Idempotent-Replayed" not in fixed.headers      # nothing was stored
    assert completions(system, row.id) == 0


def test_a_task_form_posted_twice_is_done_once(review):
    system, row = review
    client = create_app(system=system).test_client()
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").get_data(True)).group(1)
    assert client.post("/login", data={"csrf": csrf, "username": CLERKS[0], "password": "demo"}).status_code == 302
    page = client.get(f"/tasks/{row.id}").get_data(True)
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    form = {"csrf": csrf, "idempotency_key": key, "f.decision": REVIEW["decision"], "f.opinion": REVIEW["opinion"]}
    first = client.post(f"/tasks/{row.id}", data=form)
    again = client.post(f"/tasks/{row.id}", data=form)
    assert first.status_code == again.status_code == 302, first.get_data(True)[:2000]
    assert again.headers["Location"] == first.headers["Location"]
    assert completions(system, row.id) == 1


# -- 委派 handed back twice at once ---------------------------------------------------------------------------
def test_two_hand_backs_of_one_delegation_at_once_the_loser_gets_409(system):
    deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
    instance_id = start(system, CLERKS[0], "dept_request", REQUEST)
    complete(system, CLERKS[0], task(system, instance_id, "office_review").id, REVIEW)
    complete(system, CLERKS[0], task(system, instance_id, "office_check").id, {"decision": "同意"})
    complete(system, LEADER, task(system, instance_id, "leader_countersign").id, {"decision": "同意"})
    row = task(system, instance_id, "sign_off")
    api = Api(create_app(system=system))
    assert api.post(f"/tasks/{row.id}/delegate", LEADER, json={"to": CLERKS[0]}).status_code == 200
    token = api.login(CLERKS[0])
    app, gate, answers = api.client.application, threading.Barrier(2), []

    def hand_back():
        client = app.test_client()
        gate.wait()
        answers.append(client.post(f"/api/v1/tasks/{row.id}/resolve", json={"note": "已核对"},
                                   headers={"Authorization": f"Bearer {token}"}))

    threads = [threading.Thread(target=hand_back) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) == [200, 409], [a.get_json() for a in answers]
    loser = next(a for a in answers if a.status_code == 409)
    assert "已被交回" in loser.get_json()["message"]
    with system.store.read() as session:
        returned = session.scalar(select(func.count()).select_from(Event).where(
            Event.type == "delegation_returned", Event.task_id == row.id))
        assert returned == 1 and session.get(Task, row.id).assignee == LEADER


# -- the database away: a relay to PostgreSQL, stopped ---------------------------------------------------------
class Relay:
    """TCP from a loopback port to PostgreSQL; ``stop`` closes the port and every connection, as a
    database host that went away does."""

    def __init__(self, host: str, port: int):
        self.target, self.listener = (host, port), socket.create_server(("127.0.0.1", 0))
        self.port, self.pairs, self.running = self.listener.getsockname()[1], [], True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.running:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                ready, _, _ = selectors.select([a, b], [], [], 0.5)
                for side in ready:
                    data = side.recv(65536)
                    if not data:
                        return
                    (b if side is a else a).sendall(data)
        except OSError:
            return
        finally:
            a.close()
            b.close()

    def stop(self) -> None:
        self.running = False
        try:
            self.listener.shutdown(socket.SHUT_RDWR)     # wakes the accept; close alone leaves it listening
        except OSError:
            pass
        self.listener.close()
        for a, b in self.pairs:
            for side in (a, b):
                try:
                    side.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                side.close()


@pytest.mark.postgres
def test_the_database_away_is_a_503_with_retry_after_and_the_health_check_says_so(pg_database):
    relay = Relay("127.0.0.1", make_url(pg_database).port or 5432)
    url = make_url(pg_database).set(port=relay.port).render_as_string(hide_password=False)
    system = build_system(url)
    try:
        deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
        api = Api(create_app(system=system))
        api.login(CLERKS[0])
        assert api.get("/health").status_code == 200
        relay.stop()
        health = api.get("/health")
        assert health.status_code == 503 and health.get_json()["status"] == "database_unavailable"
        started = api.post("/instances", CLERKS[0], json={"process_id": "dept_request", "data": REQUEST})
        assert started.status_code == 503, started.get_json()
        assert int(started.headers["Retry-After"]) > 0
        assert "数据库暂时无法访问" in started.get_json()["message"]
        page = api.client.get("/inbox")
        assert page.status_code in (302, 503)          # the page login is gone with the database: said in words
    finally:
        relay.stop()
        system.store.dispose()


# -- a full disk: SQLite on a real, small tmpfs --------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"a small tmpfs cannot be mounted here (needs root): {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory) -> None:
    """Write a file until the disk refuses (unbuffered: nothing is left to fail at close)."""
    with open(directory / "filler", "wb", buffering=0) as filler:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    filler.write(b"\0" * size)
            except OSError:
                pass


def test_a_full_disk_is_a_507_in_words_and_nothing_is_half_stored(small_disk):
    system = build_system(f"sqlite:///{small_disk}/govflow.db")
    try:
        deploy_xml(system, (REPO / "processes" / "dept_request.bpmn").read_bytes())
        api = Api(create_app(system=system))
        api.login(CLERKS[0])
        assert api.get("/health").status_code == 200
        fill(small_disk)
        refused = None
        for number in range(50):          # until the WAL can grow no more
            answer = api.post("/instances", CLERKS[0], json={"process_id": "dept_request",
                                                             "data": {**REQUEST, "title": f"第 {number} 件"}})
            if answer.status_code != 201:
                refused = answer
                break
        assert refused is not None and refused.status_code == 507, refused and refused.get_json()
        assert "磁盘已满" in refused.get_json()["message"]
        health = api.get("/health")
        assert health.status_code == 507 and health.get_json()["status"] == "storage_full"
        (small_disk / "filler").unlink()
        assert api.get("/health").status_code in (200, 507)       # the memory of the fault lasts a minute
        again = api.post("/instances", CLERKS[0], json={"process_id": "dept_request", "data": REQUEST})
        assert again.status_code == 201, again.get_json()          # back without a restart
        assert api.get("/audit/verify", "xuxiaoling").get_json()["ok"]
    finally:
        system.store.dispose()
        shutil.rmtree(small_disk, ignore_errors=True)


# -- durability settings, checked at start-up in production ---------------------------------------------------
def production(url: str):
    return Govflow(Settings(database_url=url, mode="production", home=REPO, secret_key="test",
                            seal_key_file=SEAL_KEY_FILE))


def test_production_refuses_to_start_on_sqlite_without_synchronous_full(sqlite_system):
    url = sqlite_system.settings.database_url
    create_app(system=production(url))                        # FULL, WAL: starts
    weakened = production(url)
    event.listen(weakened.store.engine, "connect",            # after govflow's own PRAGMAs
                 lambda connection, _record: connection.execute("PRAGMA synchronous=NORMAL"))
    with pytest.raises(ValidationFailed, match="synchronous 为 1.*生产模式拒绝启动"):
        create_app(system=weakened)
    weakened.store.dispose()
    refused = CliRunner().invoke(main, ["--database-url", url, "worker", "--once"],
                                 env={"GOVFLOW_MODE": "production", "GOVFLOW_HOME": str(REPO)})
    assert refused.exit_code == 0, refused.output              # the worker's check passes on a sound file


@pytest.mark.postgres
def test_production_refuses_to_start_on_postgres_without_synchronous_commit(pg_database):
    build_system(pg_database).store.dispose()
    create_app(system=production(pg_database)).extensions["govflow"].store.dispose()
    options = make_url(pg_database).query["options"]
    off = make_url(pg_database).update_query_dict({"options": f"{options} -csynchronous_commit=off"})
    off_url = off.render_as_string(hide_password=False)
    with pytest.raises(ValidationFailed, match="synchronous_commit 为 off"):
        create_app(system=production(off_url))
    refused = CliRunner().invoke(main, ["--database-url", off_url, "worker", "--once"],
                                 env={"GOVFLOW_MODE": "production", "GOVFLOW_HOME": str(REPO)})
    assert refused.exit_code == 2 and "生产模式拒绝启动" in refused.output and "Traceback" not in refused.output
