""" "Fill in between" over HTTP: a task's track filled by motion as in-between shapes written as
the next revision (keyframes untouched), a stale base refused with 409, and an edit of a
keyframe dropping the in-between shapes of its spans."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.propagation import Box, circle_video, exit_video
from tests.server.conftest import Api
from tests.server.media_support import media_api, upload, wait_job
from tweenlab.services import track_fill

__all__ = ["media_api"]  # the fixture used here

FRAMES = 40


def iou(a: Box, b: Box) -> float:
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return iw * ih / (a[2] * a[3] + b[2] * b[3] - iw * ih)


def box(values: Box) -> dict[str, Any]:
    x, y, w, h = values
    return {"kind": "box", "x": x, "y": y, "w": w, "h": h}


def test_a_track_is_filled_by_motion_as_its_next_revision(media_api: Api, tmp_path: Path) -> None:
    owner, annotator = media_api.account("o@example.com"), media_api.account("a@example.com")
    project = media_api.project(owner, schema=[{"name": "square", "kinds": ["box"]}])["id"]
    media_api.add(owner, project, annotator, "annotator")
    video, truth = circle_video(tmp_path / "circle.mp4", frames=FRAMES)
    uploaded = upload(media_api, owner, project, video.read_bytes())
    assert uploaded.status_code == 201, uploaded.text
    assert wait_job(media_api, owner, uploaded.json()["ingest_job_id"])["state"] == "succeeded"
    base = f"/api/projects/{project}"

    def call(who: Any, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**who.headers, **kwargs.pop("headers", {})}
        return media_api.client.request(method, base + path, headers=headers, **kwargs)

    split = {"video_id": uploaded.json()["id"], "frame_count": FRAMES, "size": FRAMES}
    task = call(owner, "POST", "/tasks/split", json=split).json()[0]["id"]
    assert call(
        owner, "POST", f"/tasks/{task}/assign", json={"assignee_id": annotator.id}
    ).is_success
    assert call(annotator, "POST", f"/tasks/{task}/actions/start", json={}).is_success
    keyframes = [{"frame": f, "shape": box(truth[f])} for f in (0, FRAMES - 1)]
    track = {"label": "square", "keyframes": keyframes}
    put = call(
        annotator, "PUT", f"/tasks/{task}/tracks/1", json={"track": track, "base_revision": 0}
    )
    assert put.status_code == 200, put.text

    filled = call(
        annotator, "POST", f"/tasks/{task}/tracks/1/fill", json={}, headers={"If-Match": '"1"'}
    )
    assert filled.status_code == 200, filled.text
    answer = filled.json()
    assert answer["track"]["revision"] == 2 and filled.headers["ETag"] == '"2"'
    assert answer["filled"] == FRAMES - 2 and len(answer["suggested"]) == 1
    data = answer["track"]["track"]
    assert [k["frame"] for k in data["keyframes"]] == [0, FRAMES - 1]  # keyframes untouched
    shapes = {item["frame"]: item["shape"] for item in data["inbetween"]}
    assert sorted(shapes) == list(range(1, FRAMES - 1))
    guided = np.mean([iou(tuple(shapes[f][k] for k in "xywh"), truth[f]) for f in shapes])  # type: ignore[arg-type]
    assert guided > 0.8, guided
    journal = call(annotator, "GET", f"/tasks/{task}/journal").json()
    assert [entry["op"] for entry in journal] == ["create", "update"]

    stale = call(
        annotator, "POST", f"/tasks/{task}/tracks/1/fill", json={}, headers={"If-Match": '"1"'}
    )
    assert stale.status_code == 409 and stale.json()["current_revision"] == 2

    edited = {**data, "keyframes": [*data["keyframes"], {"frame": 20, "shape": box(truth[20])}]}
    edited["keyframes"].sort(key=lambda k: k["frame"])
    again = call(
        annotator, "PUT", f"/tasks/{task}/tracks/1", json={"track": edited, "base_revision": 2}
    )
    assert again.status_code == 200, again.text
    # both spans of the new keyframe changed: computed again for it in the same revision (the
    # flow is cached since the fill), so the track stays filled while it is edited
    assert again.json()["revision"] == 3
    refilled = again.json()["track"]
    assert [k["frame"] for k in refilled["keyframes"]] == [0, 20, FRAMES - 1]
    shapes = {item["frame"]: item["shape"] for item in refilled["inbetween"]}
    assert sorted(shapes) == [f for f in range(1, FRAMES - 1) if f != 20]
    guided = np.mean([iou(tuple(shapes[f][k] for k in "xywh"), truth[f]) for f in shapes])  # type: ignore[arg-type]
    assert guided > 0.8, guided
    journal = call(annotator, "GET", f"/tasks/{task}/journal").json()
    assert [entry["op"] for entry in journal] == ["create", "update", "update"]

    plain = {**refilled, "inbetween": []}  # the same keyframes, in-between shapes left out
    cleared = call(
        annotator, "PUT", f"/tasks/{task}/tracks/1", json={"track": plain, "base_revision": 3}
    )
    assert cleared.status_code == 200 and "inbetween" not in cleared.json()["track"]
    part = call(
        annotator,
        "POST",
        f"/tasks/{task}/tracks/1/fill",
        json={"first": 25, "last": 30},
        headers={"If-Match": '"4"'},
    )
    assert part.status_code == 200, part.text
    frames = sorted(item["frame"] for item in part.json()["track"]["track"]["inbetween"])
    assert frames == list(range(25, 31))
    other = call(
        annotator,
        "POST",
        f"/tasks/{task}/tracks/1/fill",
        json={"first": 5, "last": 8},
        headers={"If-Match": '"5"'},
    )
    assert other.status_code == 200, other.text
    frames = sorted(item["frame"] for item in other.json()["track"]["track"]["inbetween"])
    assert frames == [*range(5, 9), *range(25, 31)]  # the earlier range's shapes are kept
    outside = call(
        annotator,
        "POST",
        f"/tasks/{task}/tracks/1/fill",
        json={"first": 30, "last": 99},
        headers={"If-Match": '"6"'},
    )
    assert outside.status_code == 422 and outside.json()["field"] == "first"
    assert f"(0..{FRAMES - 1})" in outside.text  # the task's frames, to correct the request
    backwards = call(
        annotator,
        "POST",
        f"/tasks/{task}/tracks/1/fill",
        json={"first": 10, "last": 5},
        headers={"If-Match": '"6"'},
    )
    assert backwards.status_code == 422 and backwards.json()["field"] == "first"
    assert "frame 10 is after last (5)" in backwards.text
    tracked = call(
        annotator,
        "POST",
        f"/tasks/{task}/tracks/1/fill",
        json={"method": "tracker"},
        headers={"If-Match": '"6"'},
    )
    assert tracked.status_code == 200, tracked.text
    assert tracked.json()["filled"] == FRAMES - 3  # both spans, by the tracker
    unknown = call(
        annotator,
        "POST",
        f"/tasks/{task}/tracks/1/fill",
        json={"method": "magic"},
        headers={"If-Match": '"7"'},
    )
    assert unknown.status_code == 422 and "method" in unknown.text


def test_fill_carries_a_track_past_its_keyframe_until_the_object_leaves(
    media_api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One keyframe on a square that crosses the picture and leaves it (in the picture up to
    frame 23, gone from 29): the fill carries it back to frame 0 and on until it leaves, the
    states say outside from there, and a keyframe added later drops the carried tail."""
    owner = media_api.account("o@example.com")
    project = media_api.project(owner, schema=[{"name": "square", "kinds": ["box"]}])["id"]
    video, truth = exit_video(tmp_path / "leaving.mp4", frames=FRAMES)
    uploaded = upload(media_api, owner, project, video.read_bytes())
    assert uploaded.status_code == 201, uploaded.text
    assert wait_job(media_api, owner, uploaded.json()["ingest_job_id"])["state"] == "succeeded"
    base = f"/api/projects/{project}"

    def call(method: str, path: str, **kwargs: Any) -> Any:
        headers = {**owner.headers, **kwargs.pop("headers", {})}
        return media_api.client.request(method, base + path, headers=headers, **kwargs)

    split = {"video_id": uploaded.json()["id"], "frame_count": FRAMES, "size": FRAMES}
    task = call("POST", "/tasks/split", json=split).json()[0]["id"]
    track = {"label": "square", "keyframes": [{"frame": 10, "shape": box(truth[10])}]}
    put = call("PUT", f"/tasks/{task}/tracks/1", json={"track": track, "base_revision": 0})
    assert put.status_code == 200, put.text

    filled = call("POST", f"/tasks/{task}/tracks/1/fill", json={}, headers={"If-Match": '"1"'})
    assert filled.status_code == 200, filled.text
    answer = filled.json()
    leaves = answer["leaves"]
    assert 24 <= leaves <= 29 and answer["filled"] == 0
    assert answer["extended"] == leaves - 1  # 0..9 and 11..leaves-1
    data = answer["track"]["track"]
    assert data["leaves"] == leaves and [k["frame"] for k in data["keyframes"]] == [10]
    shapes = {item["frame"]: item["shape"] for item in data["inbetween"]}
    assert sorted(shapes) == [f for f in range(leaves) if f != 10]
    for frame in range(min(leaves, 24)):
        assert iou(tuple(shapes.get(frame, box(truth[10]))[k] for k in "xywh"), truth[frame]) > 0.7  # type: ignore[arg-type]

    states = call("GET", f"/tasks/{task}/tracks/1/states?first=0&last={FRAMES - 1}").json()
    shown = [s["frame"] for s in states["states"] if not s["outside"]]
    assert shown == list(range(leaves))
    assert all(s["outside"] for s in states["states"] if s["frame"] >= leaves)

    # a refill that fails (a damaged flow file, say) never fails the save: it goes in unfilled
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("flow file damaged")

    with monkeypatch.context() as patch:
        patch.setattr(track_fill, "fill_annotations", broken)
        moved = {**data, "keyframes": [{"frame": 10, "shape": box(truth[10])}]}
        moved["keyframes"][0]["shape"]["x"] += 1
        saved = call("PUT", f"/tasks/{task}/tracks/1", json={"track": moved, "base_revision": 2})
    assert saved.status_code == 200, saved.text
    assert "inbetween" not in saved.json()["track"] and "leaves" not in saved.json()["track"]
    data = {**data, "keyframes": [{"frame": 10, "shape": box(truth[10])}]}
    restored = call("PUT", f"/tasks/{task}/tracks/1", json={"track": data, "base_revision": 3})
    assert restored.status_code == 200 and "inbetween" not in restored.json()["track"]
    refilled = call("POST", f"/tasks/{task}/tracks/1/fill", json={}, headers={"If-Match": '"4"'})
    assert refilled.status_code == 200
    data = refilled.json()["track"]["track"]

    # an editor sends back what it was given, with a keyframe added after the object left
    edited = {**data, "keyframes": [*data["keyframes"], {"frame": 35, "shape": box(truth[20])}]}
    again = call("PUT", f"/tasks/{task}/tracks/1", json={"track": edited, "base_revision": 5})
    assert again.status_code == 200, again.text
    kept = again.json()["track"]
    assert "leaves" not in kept  # the carried tail went with the old last keyframe's span ...
    frames = sorted(item["frame"] for item in kept["inbetween"])
    assert frames == [f for f in range(35) if f != 10]  # ... and 10..35 was filled again
