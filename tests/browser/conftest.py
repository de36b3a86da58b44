"""Browser tests: the server running for real (uvicorn on a loopback port, SQLite) and Debian's
Chromium driven by Playwright for Python (``executable_path``; a browser is never downloaded).

Every test here carries the ``browser`` marker. Where Chromium or Playwright is missing the tests
skip, saying which (``.ci/run`` installs both). Screenshots go to ``build/test-artifacts/``
(``TWEENLAB_ARTIFACTS`` to change it), so a failure can be looked at after the run.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.conftest import REPO
from tweenlab.server.app import create_app
from tweenlab.services import accounts
from tweenlab.settings import Settings
from tweenlab.store import Database, upgrade

expect = pytest.importorskip(
    "playwright.sync_api", reason="needs Playwright for Python: pip install -e '.[test]'"
).expect

PASSWORD = "correct horse battery staple"
CHROMIUM = os.environ.get("TWEENLAB_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
ARTIFACTS = Path(os.environ.get("TWEENLAB_ARTIFACTS", REPO / "build" / "test-artifacts"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


@dataclass
class Person:
    """An account of the live server: id, e-mail and the bearer headers for set-up calls."""

    id: int
    email: str
    headers: dict[str, str]


@dataclass
class Live:
    """A running server: its base URL, settings and database, and set-up helpers."""

    url: str
    settings: Settings
    database: Database

    def person(self, email: str, *, admin: bool = False) -> Person:
        """An account (password ``PASSWORD``) with an API token, made through the services."""
        with self.database.session() as db:
            user = accounts.create_user(db, self.settings, email, PASSWORD, admin=admin)
            _, secret = accounts.create_token(db, user, "set-up")
            return Person(user.id, user.email, {"Authorization": f"Bearer {secret}"})

    def call(self, who: Person, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        """A set-up request as ``who`` to ``/api<path>``; returns the JSON."""
        answer = httpx.request(
            method, f"{self.url}/api{path}", headers=who.headers, timeout=60, **kwargs
        )
        assert answer.status_code == status, f"{method} {path}: {answer.text}"
        return answer.json() if answer.content else None

    def upload(self, who: Person, project: int, clip: Path) -> dict[str, Any]:
        """Upload ``clip`` (its bytes as the body), wait for its ingest; the video as stored."""
        answer = httpx.post(
            f"{self.url}/api/projects/{project}/videos",
            params={"name": clip.name},
            content=clip.read_bytes(),
            headers={**who.headers, "Content-Type": "application/octet-stream"},
            timeout=120,
        )
        assert answer.status_code == 201, answer.text
        video = answer.json()
        self.wait_for_job(who, video["ingest_job_id"])
        return dict(self.call(who, "GET", f"/projects/{project}/videos/{video['id']}"))

    def wait_for_job(self, who: Person, job: int, timeout: float = 120) -> dict[str, Any]:
        """Poll a job until it is done; fails the test naming its state otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.call(who, "GET", f"/jobs/{job}")
            if state["state"] in {"succeeded", "failed", "cancelled"}:
                assert state["state"] == "succeeded", state
                return dict(state)
            time.sleep(0.2)
        raise AssertionError(f"job {job} still {state['state']} after {timeout} s")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def live(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Live]:
    """``tweenlab serve`` in a thread on a free loopback port, on a fresh SQLite database."""
    import uvicorn

    monkeypatch.setenv("TWEENLAB_ARGON2_MEMORY_KIB", "64")
    monkeypatch.setenv("TWEENLAB_ARGON2_TIME_COST", "1")
    settings = settings.model_copy(update={"argon2_memory_kib": 64, "argon2_time_cost": 1})
    upgrade(settings.database)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    with Database(settings.database) as database:
        yield Live(f"http://127.0.0.1:{port}", settings, database)
    server.should_exit = True
    thread.join(30)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright, shared by a module's tests. Not by the session's:
    Playwright's sync API keeps an event loop running in the main thread while it is started,
    and later tests that run their own loop (anyio.run) would fail."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip(f"needs Chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does)")
    from playwright.sync_api import sync_playwright

    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def context(chromium: Any, live: Live, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (its own cookies and storage) on the live server; a screenshot of
    each of its pages goes to the artifacts folder when the test ends."""
    made = chromium.new_context(base_url=live.url, viewport={"width": 1400, "height": 900})
    made.set_default_timeout(15_000)
    yield made
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for index, page in enumerate(made.pages):
        name = f"{request.node.name}-{index}.png".replace("/", "_")
        try:
            page.screenshot(path=str(ARTIFACTS / name), full_page=True)
        except Exception as error:
            print(f"no screenshot of page {index}: {error}")
    made.close()


@pytest.fixture
def page(context: Any) -> Any:
    """A page of ``context``; console errors fail the test at the end."""
    made = context.new_page()
    errors: list[str] = []
    made.on("pageerror", lambda error: errors.append(str(error)))
    yield made
    assert not errors, f"errors in the page: {errors}"


def sign_in(page: Any, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and wait for the projects page."""
    page.goto("/#/login")
    page.fill("[data-testid=login] input[name=email]", email)
    page.fill("[data-testid=login] input[name=password]", password)
    page.click("[data-testid=login] button[type=submit]")
    page.wait_for_selector("[data-testid=user]")
