"""The editor's timeline marks over HTTP: a track's per-frame confidence and suggested next
keyframes after "fill in between" (the least confident frame of a filled span is what fill
suggested; a span across a scene cut suggests both sides of it), and the task's scene cuts and
suggested keyframes from the video's keyframe analysis, clipped to the task's frames."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.propagation import Box, cut_video
from tests.server.conftest import Account, Api
from tests.server.media_support import media_settings, running_app, upload, wait_job
from tweenlab.settings import Settings

FRAMES, CUT = 40, 20


def box(values: Box) -> dict[str, Any]:
    x, y, w, h = values
    return {"kind": "box", "x": x, "y": y, "w": w, "h": h}


class World:
    """A project with the cut video ingested."""

    def __init__(self, api: Api, tmp_path: Path) -> None:
        self.api = api
        self.owner = api.account("o@example.com")
        self.project = api.project(self.owner, schema=[{"name": "square", "kinds": ["box"]}])["id"]
        video, self.truth = cut_video(tmp_path / "cut.mp4", frames=FRAMES, cut=CUT)
        uploaded = upload(api, self.owner, self.project, video.read_bytes())
        assert uploaded.status_code == 201, uploaded.text
        job = wait_job(api, self.owner, uploaded.json()["ingest_job_id"])
        assert job["state"] == "succeeded", job
        self.video = uploaded.json()["id"]

    def split(self, size: int) -> list[int]:
        """The video split into tasks of ``size`` frames; their ids."""
        split = {"video_id": self.video, "size": size}
        return [t["id"] for t in self.call(self.owner, "POST", "/tasks/split", 201, json=split)]

    def call(self, who: Account, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        headers = {**who.headers, **kwargs.pop("headers", {})}
        answer = self.api.client.request(
            method, f"/api/projects/{self.project}{path}", headers=headers, **kwargs
        )
        assert answer.status_code == status, f"{method} {path}: {answer.text}"
        return answer.json()


@pytest.fixture
def analysed(migrated: Settings, tmp_path: Path) -> Iterator[World]:
    for api in running_app(media_settings(migrated, tmp_path)):
        yield World(api, tmp_path)


@pytest.fixture
def unanalysed(migrated: Settings, tmp_path: Path) -> Iterator[World]:
    settings = media_settings(migrated, tmp_path, ingest_keyframes=False)
    for api in running_app(settings):
        yield World(api, tmp_path)


def test_fill_confidence_and_suggestions_are_the_servers_per_frame(analysed: World) -> None:
    world, owner = analysed, analysed.owner
    (task,) = world.split(FRAMES)
    base = f"/tasks/{task}"
    keyframes = [{"frame": f, "shape": box(world.truth[f])} for f in (0, 12, 30)]
    track = {"track": {"label": "square", "keyframes": keyframes}, "base_revision": 0}
    world.call(owner, "PUT", f"{base}/tracks/1", json=track)
    empty = world.call(owner, "GET", f"{base}/tracks/1/confidence")
    assert [s["confidence"] for s in empty["spans"]] == [None, None]  # nothing filled yet
    assert empty["suggested"] == [CUT - 1, CUT]  # the span across the cut: both sides of it

    filled = world.call(
        owner, "POST", f"{base}/tracks/1/fill", json={}, headers={"If-Match": '"1"'}
    )
    answer = world.call(owner, "GET", f"{base}/tracks/1/confidence")
    assert answer["revision"] == 2 and answer["number"] == 1
    assert answer["suggested"] == filled["suggested"]  # the fill's own suggestions
    motion, across = answer["spans"]
    assert (motion["first"], motion["last"], motion["across_cut"]) == (0, 12, False)
    assert (across["first"], across["last"], across["across_cut"]) == (12, 30, True)
    assert across["confidence"] is None and across["suggested"] == [CUT - 1, CUT]
    stored = {i["frame"]: i["confidence"] for i in filled["track"]["track"]["inbetween"]}
    assert motion["confidence"] == [stored[f] for f in range(1, 12)]
    assert all(0.0 <= c <= 1.0 for c in motion["confidence"])
    lowest = min(motion["confidence"])
    assert motion["suggested"] == [1 + motion["confidence"].index(lowest)]

    moved = {**filled["track"]["track"]}
    moved["keyframes"] = [*moved["keyframes"]]
    moved["keyframes"][0] = {**moved["keyframes"][0], "shape": box((1.0, 1.0, 10.0, 10.0))}
    world.call(owner, "PUT", f"{base}/tracks/1", json={"track": moved, "base_revision": 2})
    edited = world.call(owner, "GET", f"{base}/tracks/1/confidence")
    # its shapes went with the edit and were computed again for the moved keyframe (the flow
    # is cached), with a confidence of their own: the keyframe is now off the object
    again = edited["spans"][0]["confidence"]
    assert again is not None and len(again) == 11 and again != motion["confidence"]
    assert min(again) < lowest
    assert edited["suggested"] == sorted({1 + again.index(min(again)), CUT - 1, CUT})


def test_the_tasks_cuts_and_suggestions_are_clipped_to_its_frames(analysed: World) -> None:
    world = analysed
    tasks = world.split(CUT)
    first, second = (world.call(world.owner, "GET", f"/tasks/{t}/keyframes") for t in tasks)
    assert first["analysed"] and second["analysed"]
    assert first["cuts"] == [] and second["cuts"] == [CUT]
    assert first["suggested"] and all(0 <= f < CUT for f in first["suggested"])
    assert CUT in second["suggested"] and all(CUT <= f < FRAMES for f in second["suggested"])
    stranger = world.api.account("s@example.com")
    world.api.add(world.owner, world.project, stranger, "annotator")  # not assigned this task
    world.call(stranger, "GET", f"/tasks/{tasks[0]}/keyframes", 404)
    world.call(stranger, "GET", f"/tasks/{tasks[0]}/tracks/1/confidence", 404)


def test_a_video_not_yet_analysed_has_no_marks(unanalysed: World) -> None:
    (task,) = unanalysed.split(FRAMES)
    answer = unanalysed.call(unanalysed.owner, "GET", f"/tasks/{task}/keyframes")
    assert answer == {"analysed": False, "cuts": [], "transitions": [], "suggested": []}
