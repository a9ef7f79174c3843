"""What bench/crash.py and bench/load.py share: a seeded database (SQLite file or PostgreSQL database),
the real server and worker as separate processes on a free loopback port, and a small JSON client.

Each run gets a copy of one seeded template (the SQLite file copied, or ``CREATE DATABASE … TEMPLATE``),
so that migrating and deploying happen once per script, not once per run.
"""
from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from govflow.bpmn.deploy import deploy  # noqa: E402
from govflow.config import Settings  # noqa: E402
from govflow.people import auth  # noqa: E402
from govflow.people.org import Organisation  # noqa: E402
from govflow.time.timeutil import SHANGHAI  # noqa: E402
from govflow.work import admin  # noqa: E402
from govflow.work.system import Govflow  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BIN = Path(sys.executable).parent
MONDAY_9AM = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
DIAGRAMS = ("dept_request", "document_approval")
SECRET = "bench-harness"


def organisation() -> Organisation:
    return Organisation.from_toml((REPO / "orgs" / "bazhou.toml").read_text(encoding="utf-8"))


def open_system(url: str) -> Govflow:
    return Govflow(Settings(database_url=url, mode="test", home=REPO, secret_key=SECRET))


def seed(url: str) -> dict[str, str]:
    """Migrated, the bazhou organisation (password ``demo``), a frozen clock, both diagrams deployed;
    returns an API token of each person, valid for a year of the test clock (logging in is scrypt:
    slow on purpose, and not what is measured)."""
    system = open_system(url)
    system.store.migrate()
    org = organisation()
    with system.store.write() as session:
        admin.load_organisation(system, session, org, "bench")
        admin.set_clock(system, session, MONDAY_9AM, True, "bench")
        tokens = {p: auth.issue_token(session, p, MONDAY_9AM, 24 * 365)[0] for p in org.people}
    for name in DIAGRAMS:
        path = REPO / "processes" / f"{name}.bpmn"
        deploy(system, path.read_bytes(), path.name, "bench")
    system.store.dispose()
    return tokens


# -- databases ------------------------------------------------------------------------------------------------
class Databases:
    """Fresh seeded databases of one kind, each a copy of a template seeded once."""

    def __init__(self, kind: str, admin_url: str = ADMIN_URL):
        self.kind, self.admin_url, self.made, self.kept = kind, admin_url, [], []
        self.directory = Path(tempfile.mkdtemp(prefix="govflow-bench-"))     # SQLite files and the logs
        if kind == "sqlite":
            self.template = self.directory / "template.db"
            self.tokens = seed(f"sqlite:///{self.template}")
            return
        self.server = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with self.server.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as err:  # noqa: BLE001 - any failure to connect means: no PostgreSQL here
            self.server.dispose()
            raise SystemExit(f"PostgreSQL is not reachable at {admin_url} ({type(err).__name__})") from None
        self.prefix = f"govflow_bench_{os.getpid()}"
        self.template_name = f"{self.prefix}_template"
        self._create(self.template_name)
        self.tokens = seed(self._url(self.template_name))

    def fresh(self) -> str:
        """A new database seeded like the template: its URL."""
        number = len(self.made) + 1
        if self.kind == "sqlite":
            path = self.directory / f"run{number}.db"
            shutil.copyfile(self.template, path)
            self.made.append(path)
            return f"sqlite:///{path}"
        name = f"{self.prefix}_{number}"
        self._create(name, template=self.template_name)
        self.made.append(name)
        return self._url(name)

    def keep(self, url: str) -> None:
        """Left in place for a look after the script ends (a run that failed its checks)."""
        self.kept.append(url)

    def drop(self, url: str) -> None:
        if self.kind == "sqlite":
            path = Path(url.split("///", 1)[1])
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            return
        with self.server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))

    def close(self) -> None:
        if self.kind == "postgres":
            kept = {make_url(url).database for url in self.kept if url}
            with self.server.connect() as connection:
                for name in [*self.made, self.template_name]:
                    if name not in kept:
                        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.server.dispose()
        if not self.kept:
            shutil.rmtree(self.directory, ignore_errors=True)

    def _create(self, name: str, template: str | None = None) -> None:
        with self.server.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))

    def _url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)


# -- processes ------------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(url: str) -> dict:
    return {**os.environ, "GOVFLOW_DATABASE_URL": url, "GOVFLOW_MODE": "test", "GOVFLOW_HOME": str(REPO),
            "GOVFLOW_SECRET_KEY": SECRET, "GOVFLOW_TOKEN_HOURS": str(24 * 365)}


class Process:
    """A process of its own session, so that a kill takes it and anything it started."""

    def __init__(self, args: list[str], url: str, log: Path):
        self.args, self.url, self.log = args, url, log
        self.popen: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.popen = subprocess.Popen(self.args, env=environment(self.url), stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True, cwd=REPO)

    def kill(self) -> None:
        """SIGKILL: what a power cut or the OOM killer does — no handler runs, nothing is flushed."""
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)

    def _signal(self, sig: int) -> None:
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()
        self.popen = None


class Server(Process):
    """``govflow serve`` (one process, threaded) or gunicorn with ``workers`` processes."""

    def __init__(self, url: str, log: Path, workers: int = 0):
        self.port = free_port()
        if workers:
            args = [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--timeout", "120",
                    "govflow.app:create_app()"]
        else:
            args = [str(BIN / "govflow"), "serve", "--port", str(self.port)]
        super().__init__(args, url, log)

    def start(self, timeout: float = 60.0) -> None:
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise RuntimeError(f"the server exited with {self.popen.returncode}; see {self.log}")
            try:
                if Client(self.port).request("GET", "/api/v1/openapi.json", raw=True)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the server did not answer within {timeout:g} s; see {self.log}")


class Worker(Process):
    def __init__(self, url: str, log: Path, interval: float = 0.1):
        super().__init__([str(BIN / "govflow"), "worker", "--interval", str(interval)], url, log)


# -- a client ---------------------------------------------------------------------------------------------------
class Tokens:
    """One API token per person, shared by the client threads; logged in again when refused."""

    def __init__(self, port: int, tokens: dict[str, str] | None = None):
        self.port, self.tokens, self.lock = port, dict(tokens or {}), threading.Lock()

    def get(self, person: str, fresh: bool = False) -> str:
        with self.lock:
            if fresh or person not in self.tokens:
                status, body = Client(self.port).request("POST", "/api/v1/auth/token",
                                                         {"username": person, "password": "demo"})
                if status != 201:
                    raise RuntimeError(f"login of {person} answered {status}: {body}")
                self.tokens[person] = body["token"]
            return self.tokens[person]


class Client:
    """JSON over one keep-alive connection to 127.0.0.1 (one per thread)."""

    def __init__(self, port: int, tokens: Tokens | None = None, timeout: float = 60.0):
        self.port, self.tokens, self.timeout = port, tokens, timeout
        self.connection: http.client.HTTPConnection | None = None
        self.headers: http.client.HTTPMessage | None = None     # of the last response

    def request(self, method: str, path: str, payload=None, person: str | None = None,
                headers: dict | None = None, raw: bool = False) -> tuple[int, object]:
        """(status, parsed JSON or text). An OSError means no answer came: the outcome is unknown."""
        for attempt in (1, 2):
            sent = dict(headers or {})
            if person:
                sent["Authorization"] = f"Bearer {self.tokens.get(person, fresh=attempt == 2)}"
            status, body = self._send(method, path, payload, sent)
            if status != 401 or not person:
                break
        if raw:
            return status, body
        try:
            return status, json.loads(body) if body else None
        except ValueError:
            return status, body.decode("utf-8", "replace")

    def _send(self, method, path, payload, headers) -> tuple[int, bytes]:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        data = None
        if isinstance(payload, bytes):
            data = payload
        elif payload is not None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            headers = {**headers, "Content-Type": "application/json"}
        try:
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            self.headers = response.headers
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as err:
            self.close()
            raise OSError(f"{method} {path}: {type(err).__name__}: {err}") from err

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None
