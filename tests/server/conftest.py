"""Every store and server test runs on SQLite and on PostgreSQL, each time on a clean database.

``database_url`` is parametrized: ``sqlite`` is a fresh file in the test's folder;
``postgresql`` is a fresh schema (``CREATE SCHEMA`` + ``search_path`` in the URL) on the server
``TWEENLAB_TEST_DATABASE_URL`` names, dropped afterwards. Without that variable, or when the
server does not answer, the PostgreSQL case skips and says why.

``api`` is a running application on a migrated database with helpers to make accounts (with an
API token each) and sign in through the cookie.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from tweenlab.server import create_app
from tweenlab.services import accounts
from tweenlab.settings import Settings
from tweenlab.store import Database, upgrade

PASSWORD = "correct horse battery"
CHEAP_ARGON2 = {"TWEENLAB_ARGON2_MEMORY_KIB": "64", "TWEENLAB_ARGON2_TIME_COST": "1"}


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database (SQLite file, or a fresh PostgreSQL schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tweenlab.db'}"
        return
    yield from postgres_schema("PostgreSQL case")


def postgres_schema(what: str) -> Iterator[str]:
    """A fresh schema on ``TWEENLAB_TEST_DATABASE_URL``'s server, dropped afterwards; a loud
    skip naming ``what`` needs it where the variable is unset or the server is unreachable."""
    base = os.environ.get("TWEENLAB_TEST_DATABASE_URL")
    if not base:
        pytest.skip(f"{what}: TWEENLAB_TEST_DATABASE_URL is not set (.ci/run sets it)")
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(base, connect_args={"connect_timeout": 5})
    try:
        with admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as error:
        admin.dispose()
        pytest.skip(f"{what}: PostgreSQL at {base} is not reachable: {error.orig}")
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def server_settings(
    settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    """Settings on ``database_url`` with cheap password hashing (also in the environment)."""
    monkeypatch.setenv("TWEENLAB_DATABASE_URL", database_url)
    for name, value in CHEAP_ARGON2.items():
        monkeypatch.setenv(name, value)
    return Settings(
        data_dir=settings.data_dir,
        database_url=database_url,
        argon2_memory_kib=64,
        argon2_time_cost=1,
    )


@dataclass
class Account:
    """A test account: its id, e-mail and the headers that authenticate with its API token."""

    id: int
    email: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Api:
    """A running app on a migrated database, and helpers around it."""

    client: TestClient
    settings: Settings
    database: Database

    def account(self, email: str, *, admin: bool = False) -> Account:
        """Create an account with an API token (through the services, not the API)."""
        with self.database.session() as db:
            user = accounts.create_user(db, self.settings, email, PASSWORD, admin=admin)
            _, secret = accounts.create_token(db, user, "tests")
            return Account(user.id, user.email, {"Authorization": f"Bearer {secret}"})

    def browser(self, email: str, password: str = PASSWORD) -> tuple[TestClient, str]:
        """A new client signed in through the cookie, and its CSRF token."""
        browser = TestClient(self.client.app)
        answer = browser.post("/api/auth/login", json={"email": email, "password": password})
        assert answer.status_code == 200, answer.text
        return browser, answer.json()["csrf_token"]

    def project(self, owner: Account, name: str = "cars", **extra: Any) -> dict[str, Any]:
        """Create a project owned by ``owner``; returns its JSON."""
        answer = self.client.post(
            "/api/projects", json={"name": name, **extra}, headers=owner.headers
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    def add(self, by: Account, project_id: int, who: Account, role: str) -> None:
        """Make ``who`` a member of the project in ``role``."""
        answer = self.client.post(
            f"/api/projects/{project_id}/members",
            json={"email": who.email, "role": role},
            headers=by.headers,
        )
        assert answer.status_code == 201, answer.text


@pytest.fixture
def migrated(server_settings: Settings) -> Settings:
    """``server_settings`` on a database migrated to the newest revision."""
    upgrade(server_settings.database)
    return server_settings


@pytest.fixture
def api(migrated: Settings) -> Iterator[Api]:
    """The application, started (its lifespan entered) on a migrated database."""
    with TestClient(create_app(migrated)) as client, Database(migrated.database) as database:
        yield Api(client, migrated, database)


CAR = {"name": "car", "kinds": ["box"]}
CREW = ("owner", "manager", "reviewer", "annotator", "annotator2", "outsider")


@dataclass
class Crew:
    """A project (id ``project``, labels ``car``) with one member per role, a second annotator
    and an outsider (owner of another project)."""

    api: Api
    people: dict[str, Account]
    project: int

    def __getitem__(self, who: str) -> Account:
        return self.people[who]

    def url(self, path: str) -> str:
        """``/api/projects/<project><path>``."""
        return f"/api/projects/{self.project}{path}"

    def call(self, who: str, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request as ``who`` to ``url(path)``; returns the response."""
        return self.api.client.request(
            method,
            self.url(path),
            headers={**self[who].headers, **kwargs.pop("headers", {})},
            **kwargs,
        )

    def split(self, frame_count: int = 250, size: int = 100, overlap: int = 10) -> list[Any]:
        """Split video 1 into tasks as the manager; returns their JSON."""
        body = {"video_id": 1, "frame_count": frame_count, "size": size, "overlap": overlap}
        answer = self.call("manager", "POST", "/tasks/split", json=body)
        assert answer.status_code == 201, answer.text
        return list(answer.json())

    def assign(self, task: int, annotator: str = "annotator", reviewer: str = "reviewer") -> None:
        """Assign a task as the manager."""
        body = {"assignee_id": self[annotator].id, "reviewer_id": self[reviewer].id}
        answer = self.call("manager", "POST", f"/tasks/{task}/assign", json=body)
        assert answer.status_code == 200, answer.text

    def act(self, who: str, task: int, action: str, status: int = 200, note: str = "") -> Any:
        """Take an action on a task as ``who``, expecting ``status``; returns the JSON."""
        answer = self.call(who, "POST", f"/tasks/{task}/actions/{action}", json={"note": note})
        assert answer.status_code == status, answer.text
        return answer.json()


@pytest.fixture
def crew(api: Api) -> Crew:
    """The ``Crew`` of a fresh project ``cars``."""
    people = {who: api.account(f"{who}@example.com") for who in CREW}
    project = api.project(people["owner"], schema=[CAR])["id"]
    for who in ("manager", "reviewer", "annotator", "annotator2"):
        api.add(people["owner"], project, people[who], who.rstrip("2"))
    api.project(people["outsider"], "other")
    return Crew(api, people, project)
