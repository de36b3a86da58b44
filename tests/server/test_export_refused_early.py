"""Exports refused before any job or input file is made: ``frames: "none"`` (annotations
only) with ``images`` or ``synthetic``, refused naming ``frames`` as ``tweenlab export --frames
none --images`` is; and images of a registered video whose file is gone (409 on ``video_id``,
where the job used to fail after the request had left its input behind)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.media.videos import make_video
from tests.server.conftest import CAR, Api
from tests.server.media_support import media_api, stamped, upload, wait_job
from tweenlab.store import Job

__all__ = ["media_api", "stamped"]  # fixtures


def _jobs(api: Api) -> int:
    with api.database.session() as db:
        return int(db.scalar(select(func.count()).select_from(Job)) or 0)


@pytest.mark.parametrize(
    "extra",
    [{"images": "jpg"}, {"images": "png", "synthetic": 1}],
    ids=["images", "synthetic"],
)
def test_frames_none_with_images_is_refused_naming_frames(
    media_api: Api, stamped: Path, extra: dict[str, Any]
) -> None:
    owner = media_api.account("owner@example.com")
    project = media_api.project(owner, schema=[CAR])["id"]
    base = f"/api/projects/{project}"
    video = upload(media_api, owner, project, stamped.read_bytes()).json()
    assert wait_job(media_api, owner, video["ingest_job_id"])["state"] == "succeeded"
    split = {"video_id": video["id"], "size": 60}
    assert media_api.client.post(f"{base}/tasks/split", json=split, headers=owner.headers)
    jobs = _jobs(media_api)

    body = {"video_id": video["id"], "format": "coco", "frames": "none", **extra}
    refused = media_api.client.post(f"{base}/exports", json=body, headers=owner.headers)

    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "frames" and "no images" in refused.text
    assert _jobs(media_api) == jobs  # the ingest alone
    assert not list((media_api.settings.data_dir / "exports").glob("input-*"))
    plain = {**body, "images": None, "synthetic": 0}  # annotations only: as before
    started = media_api.client.post(f"{base}/exports", json=plain, headers=owner.headers)
    assert started.status_code == 202, started.text


@dataclass(frozen=True)
class Gone:
    """A registered, ingested and split video whose file was then deleted."""

    owner: Any
    base: str
    root: Path
    video_id: int
    task_id: int


def _registered_then_gone(media_api: Api, name: str) -> Gone:
    owner = media_api.account("owner@example.com")
    project = media_api.project(owner, schema=[CAR])["id"]
    base = f"/api/projects/{project}"
    root = media_api.settings.media_root
    assert root is not None
    make_video(root / name, frames=12)
    video = media_api.client.post(
        f"{base}/videos/register", json={"path": name}, headers=owner.headers
    ).json()
    assert wait_job(media_api, owner, video["ingest_job_id"])["state"] == "succeeded"
    split = {"video_id": video["id"], "size": 12}
    tasks = media_api.client.post(f"{base}/tasks/split", json=split, headers=owner.headers)
    (root / name).unlink()
    return Gone(owner, base, root, video["id"], tasks.json()[0]["id"])


def test_images_of_a_registered_video_whose_file_is_gone_are_refused(media_api: Api) -> None:
    gone = _registered_then_gone(media_api, "gone.mp4")
    jobs = _jobs(media_api)

    body = {"video_id": gone.video_id, "format": "coco", "images": "jpg", "synthetic": 1}
    refused = media_api.client.post(f"{gone.base}/exports", json=body, headers=gone.owner.headers)

    assert refused.status_code == 409, refused.text
    assert refused.json()["field"] == "video_id" and str(gone.root) not in refused.text
    assert _jobs(media_api) == jobs
    assert not list((media_api.settings.data_dir / "exports").glob("input-*"))


def test_a_missing_video_file_is_named_without_the_servers_folders(media_api: Api) -> None:
    """The keyframes of a task whose video file is gone: an error naming the file, not the
    folders the server keeps its media in (any member, annotators included, reads it)."""
    gone = _registered_then_gone(media_api, "lost.mp4")

    answer = media_api.client.get(
        f"{gone.base}/tasks/{gone.task_id}/keyframes", headers=gone.owner.headers
    )

    assert 400 <= answer.status_code < 500, answer.text
    assert "lost.mp4" in answer.text and str(gone.root) not in answer.text


def test_frames_of_a_registered_video_whose_file_is_gone_are_404_naming_it(media_api: Api) -> None:
    """A frame, the codec and a chunk of such a video were 500s (the file's ``stat`` failed)."""
    gone = _registered_then_gone(media_api, "vanished.mp4")
    video = f"{gone.base}/videos/{gone.video_id}"
    for path in (f"{video}/frames/5", f"{video}/codec", f"{video}/chunks/0"):
        answer = media_api.client.get(path, headers=gone.owner.headers)
        assert answer.status_code == 404, (path, answer.text)
        assert "vanished.mp4: no such file" in answer.text and str(gone.root) not in answer.text
