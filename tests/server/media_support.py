"""Support for the video, job and frame API tests: an app with a media root, a small upload
limit and one job worker; helpers to upload a file and wait for a job."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.media.videos import make_video
from tests.server.conftest import Account, Api
from tweenlab.server import create_app
from tweenlab.settings import Settings
from tweenlab.store import Database

FINAL = {"succeeded", "failed", "cancelled"}
UPLOAD_LIMIT_MB = 1


def media_settings(migrated: Settings, tmp_path: Path, **extra: Any) -> Settings:
    """``migrated`` with a media root in ``tmp_path``, a 1 MiB upload limit and one worker."""
    root = tmp_path / "media-root"
    root.mkdir(exist_ok=True)
    update = {"media_root": root, "max_upload_mb": UPLOAD_LIMIT_MB, "job_workers": 1, **extra}
    return migrated.model_copy(update=update)


def running_app(settings: Settings) -> Iterator[Api]:
    """The application on ``settings``, started; stopped (executor and all) on leaving."""
    with TestClient(create_app(settings)) as client, Database(settings.database) as database:
        yield Api(client, settings, database)


@pytest.fixture
def media_api(migrated: Settings, tmp_path: Path) -> Iterator[Api]:
    """``api`` with a media root, a 1 MiB upload limit and a one-worker executor."""
    yield from running_app(media_settings(migrated, tmp_path))


@pytest.fixture(scope="session")
def stamped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-frame stamped H.264 MP4 (160x96, 25 fps, keyframe every 12 frames)."""
    return make_video(tmp_path_factory.mktemp("stamped") / "stamped.mp4", frames=60)


def upload(
    api: Api, who: Account, project_id: int, data: bytes, name: str | None = "clip.mp4"
) -> Any:
    """POST ``data`` as a video upload; returns the response."""
    return api.client.post(
        f"/api/projects/{project_id}/videos",
        content=data,
        params={"name": name} if name is not None else {},
        headers={**who.headers, "Content-Type": "application/octet-stream"},
    )


def wait_job(api: Api, who: Account, job_id: str, timeout: float = 120.0) -> dict[str, Any]:
    """Poll the job until it is final; returns its JSON."""
    deadline = time.monotonic() + timeout
    while True:
        answer = api.client.get(f"/api/jobs/{job_id}", headers=who.headers)
        assert answer.status_code == 200, answer.text
        job: dict[str, Any] = answer.json()
        if job["state"] in FINAL:
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['state']}"
        time.sleep(0.1)


def uploaded_files(settings: Settings) -> list[Path]:
    """Every file in the upload folder (temporary ones included)."""
    folder = settings.upload_dir
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
