"""Splitting a stored video into tasks: its length comes from its row, and ``scenes: "detected"``
cuts at the shot boundaries its ingest found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.propagation import cut_video
from tests.server.conftest import Api
from tests.server.media_support import media_api, upload, wait_job

__all__ = ["media_api"]  # the fixture used here


def test_a_stored_video_is_split_by_its_own_length_and_detected_scenes(
    media_api: Api, tmp_path: Path
) -> None:
    owner = media_api.account("o@example.com")
    project = media_api.project(owner, schema=[{"name": "square", "kinds": ["box"]}])["id"]
    video, _ = cut_video(tmp_path / "cut.mp4", frames=40, cut=20)
    stored = upload(media_api, owner, project, video.read_bytes()).json()
    assert wait_job(media_api, owner, stored["ingest_job_id"])["state"] == "succeeded"

    def split(**body: Any) -> Any:
        return media_api.client.post(
            f"/api/projects/{project}/tasks/split",
            json={"video_id": stored["id"], **body},
            headers=owner.headers,
        )

    wrong = split(frame_count=41, size=10)
    assert wrong.status_code == 422 and wrong.json()["field"] == "frame_count"
    scenes = split(scenes="detected")
    assert scenes.status_code == 201, scenes.text
    assert [(t["start"], t["stop"]) for t in scenes.json()] == [(0, 20), (20, 40)]
    again = split(size=10)
    assert again.status_code == 409  # a video is split into normal tasks once
    unknown = media_api.client.post(
        f"/api/projects/{project}/tasks/split",
        json={"video_id": 999, "size": 10},
        headers=owner.headers,
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "frame_count"
    nothing = media_api.client.post(
        f"/api/projects/{project}/tasks/split",
        json={"video_id": 999, "frame_count": 30, "scenes": "detected"},
        headers=owner.headers,
    )
    assert nothing.status_code == 422 and nothing.json()["field"] == "scenes"
