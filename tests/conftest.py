"""Fixtures: a real database (SQLite file, and PostgreSQL when it runs), a real organisation, a
frozen clock. Every test that takes ``system`` runs once per database backend."""
from __future__ import annotations

import os
import secrets
import tempfile
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from govflow.app import create_app
from govflow.config import Settings
from govflow.people.org import Organisation
from govflow.time.timeutil import SHANGHAI
from govflow.work import admin
from govflow.work.system import Govflow

pytest_plugins = ["procedures", "browser", "profile_reads"]   # shared fixtures; profile reads (on demand)
REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
PG_URL = os.environ.get("GOVFLOW_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MONDAY_9AM = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)

# The event log's sealing key, in a file outside every test database (as production keeps it); the
# CLI reads it from the environment like production does.
if not os.environ.get("GOVFLOW_SEAL_KEY_FILE"):
    _key_dir = tempfile.mkdtemp(prefix="govflow-seal-")
    Path(_key_dir, "seal.key").write_text(secrets.token_hex(32), encoding="utf-8")
    os.environ["GOVFLOW_SEAL_KEY_FILE"] = str(Path(_key_dir, "seal.key"))
SEAL_KEY_FILE = os.environ["GOVFLOW_SEAL_KEY_FILE"]


# -- PostgreSQL: one migrated template per test session, one clone per test -------------------------------
@pytest.fixture(scope="session")
def pg_admin():
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as err:  # noqa: BLE001 - any failure to connect means: no PostgreSQL here
        engine.dispose()
        pytest.skip(f"PostgreSQL is not reachable at {PG_URL} ({type(err).__name__}); start it with "
                    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
                    "or set GOVFLOW_TEST_POSTGRES_URL")
    yield engine
    engine.dispose()


@pytest.fixture
def pg_database(pg_admin):
    """A fresh schema in the test database, first on the search path: isolated and quick to make."""
    schema = f"govflow_t_{uuid.uuid4().hex[:12]}"
    with pg_admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    yield url.render_as_string(hide_password=False)
    with pg_admin.connect() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


# -- the system under test --------------------------------------------------------------------------------
@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/govflow.db"
    return request.getfixturevalue("pg_database")


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path}/govflow.db"


def build_system(database_url: str, profile: str = "bazhou", now: datetime = MONDAY_9AM, **settings) -> Govflow:
    settings.setdefault("seal_key_file", SEAL_KEY_FILE)
    system = Govflow(Settings(database_url=database_url, mode="test", home=REPO, secret_key="test", **settings))
    system.store.migrate()
    with system.store.write() as session:
        admin.load_organisation(system, session, load_org(profile), "test")
        admin.set_clock(system, session, now, True, "test")
    return system


def load_org(profile: str) -> Organisation:
    return Organisation.from_toml((REPO / "orgs" / f"{profile}.toml").read_text(encoding="utf-8"))


@pytest.fixture
def system(database_url):
    built = build_system(database_url)
    yield built
    built.store.dispose()


@pytest.fixture
def sqlite_system(sqlite_url):
    built = build_system(sqlite_url)
    yield built
    built.store.dispose()


class Api:
    """A Flask test client that logs people in and returns parsed JSON."""

    def __init__(self, app):
        self.client = app.test_client()
        self.tokens: dict[str, str] = {}

    def login(self, person: str, password: str = "demo") -> str:
        response = self.client.post("/api/v1/auth/token", json={"username": person, "password": password})
        assert response.status_code == 201, response.get_json()
        self.tokens[person] = response.get_json()["token"]
        return self.tokens[person]

    def call(self, method: str, path: str, person: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {})
        if person:
            if person not in self.tokens:
                self.login(person)
            headers["Authorization"] = f"Bearer {self.tokens[person]}"
        return self.client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def get(self, path, person=None, **kw):
        return self.call("GET", path, person, **kw)

    def post(self, path, person=None, **kw):
        return self.call("POST", path, person, **kw)

    def put(self, path, person=None, **kw):
        return self.call("PUT", path, person, **kw)

    def delete(self, path, person=None, **kw):
        return self.call("DELETE", path, person, **kw)


@pytest.fixture
def api(system):
    return Api(create_app(system=system))
