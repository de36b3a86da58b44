"""A prepared world for the role matrix and the schemathesis run: ``build_world(folder)`` makes
a SQLite database (a file, so each test can copy it) holding a project ``cars`` with one member
per role, a second annotator, a registered and ingested video (and its finished ingest job),
tasks (one assigned and started, with a track of two keyframes; one under review with an open
issue), and an outsider who owns a project of their own; each account has an API token."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from tests.media.videos import make_video
from tests.server.conftest import CAR, PASSWORD
from tweenlab.server import create_app
from tweenlab.services import accounts
from tweenlab.settings import Settings
from tweenlab.store import Database, upgrade

ROLES = ("annotator", "reviewer", "manager", "owner")


def track(*frames: int) -> dict[str, Any]:
    keyframes = [
        {"frame": f, "shape": {"kind": "box", "x": f, "y": 5, "w": 20, "h": 10}} for f in frames
    ]
    return {"label": "car", "keyframes": keyframes}


@dataclass
class World:
    """The prepared database file, the settings to copy, each caller's headers and the ids."""

    database: Path
    settings: Settings
    headers: dict[str, dict[str, str]]
    tokens: dict[str, int]
    ids: dict[str, int | str]


def _account(
    db_settings: Settings, database: Database, email: str, *, admin: bool = False
) -> tuple[int, int, str]:
    with database.session() as db:
        user = accounts.create_user(db, db_settings, email, PASSWORD, admin=admin)
        token, secret = accounts.create_token(db, user, "tests")
        return user.id, token.id, secret


def _ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if answer.content else None


def _wait(call: Any, job: str) -> None:
    deadline = time.monotonic() + 60
    while call("manager", "GET", f"/api/jobs/{job}")["state"] != "succeeded":
        assert time.monotonic() < deadline, f"job {job} did not finish"
        time.sleep(0.05)


def build_world(root: Path) -> World:
    media = root / "media"
    media.mkdir()
    make_video(media / "clip.mp4", frames=24)
    settings = Settings(
        data_dir=root / "data",
        database_url=f"sqlite:///{root / 'template.db'}",
        argon2_memory_kib=64,
        argon2_time_cost=1,
        media_root=media,
        job_workers=1,
    )
    upgrade(settings.database)
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    tokens: dict[str, int] = {}
    ids: dict[str, int | str] = {}
    with TestClient(create_app(settings)) as client, Database(settings.database) as database:
        for who in (*ROLES, "annotator2", "outsider", "admin", "spare"):
            user, token, secret = _account(
                settings, database, f"{who}@example.com", admin=who == "admin"
            )
            ids[who], tokens[who] = user, token
            headers[who] = {"Authorization": f"Bearer {secret}"}

        def call(who: str, method: str, url: str, status: int = 200, **kwargs: Any) -> Any:
            return _ok(client.request(method, url, headers=headers[who], **kwargs), status)

        project = call(
            "owner", "POST", "/api/projects", 201, json={"name": "cars", "schema": [CAR]}
        )
        ids["project"] = project["id"]
        base = f"/api/projects/{project['id']}"
        for who in (*ROLES[:3], "annotator2"):
            member = {"email": f"{who}@example.com", "role": who.rstrip("2")}
            call("owner", "POST", f"{base}/members", 201, json=member)
        call("outsider", "POST", "/api/projects", 201, json={"name": "other"})
        video = call("manager", "POST", f"{base}/videos/register", 201, json={"path": "clip.mp4"})
        ids["video"], ids["job"] = video["id"], video["ingest_job_id"]
        _wait(call, str(ids["job"]))
        split = {"video_id": video["id"], "frame_count": 24, "size": 12, "overlap": 0}
        tasks = call("manager", "POST", f"{base}/tasks/split", 201, json=split)
        ids["task"], ids["reviewed"] = tasks[0]["id"], tasks[1]["id"]
        for task in (ids["task"], ids["reviewed"]):
            assign = {"assignee_id": ids["annotator"], "reviewer_id": ids["reviewer"]}
            call("manager", "POST", f"{base}/tasks/{task}/assign", json=assign)
            call("annotator", "POST", f"{base}/tasks/{task}/actions/start", json={"note": ""})
        put = {"track": track(0, 10), "base_revision": 0}
        call("annotator", "PUT", f"{base}/tasks/{ids['task']}/tracks/1", json=put)
        reviewed = f"{base}/tasks/{ids['reviewed']}"
        call("annotator", "POST", f"{reviewed}/actions/submit", json={"note": ""})
        call("reviewer", "POST", f"{reviewed}/actions/take_review", json={"note": ""})
        export = {"video_id": video["id"], "format": "native"}
        ids["export"] = call("manager", "POST", f"{base}/exports", 202, json=export)["id"]
        _wait(call, str(ids["export"]))
        issue = {"frame": 13, "region": {"x": 1, "y": 2, "w": 3, "h": 4}, "text": "missed"}
        ids["issue"] = call("reviewer", "POST", f"{reviewed}/issues", 201, json=issue)["id"]
    return World(root / "template.db", settings, headers, tokens, ids)


def copy_of(world: World, folder: Path) -> Iterator[TestClient]:
    """The application, started, on a private copy of the world's database in ``folder``."""
    copy = folder / "copy.db"
    shutil.copyfile(world.database, copy)
    settings = world.settings.model_copy(
        update={"database_url": f"sqlite:///{copy}", "data_dir": folder / "data"}
    )
    with TestClient(create_app(settings)) as client:
        yield client
