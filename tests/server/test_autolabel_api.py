"""Auto-labelling over HTTP: a manager runs a labeler on a task as a job; its tracks arrive as
predictions (``source: "auto"`` with a score) beside people's tracks, which it never touches;
running it again replaces only untouched predictions; the annotator accepts or rejects them;
a labeler that cannot run is refused before a job starts, and a job that fails writes nothing.

The labeler is the real ``motion`` built-in (background subtraction) on a generated video of a
square circling over a static textured background, run in the server's worker process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.propagation import circle_video
from tests.server.conftest import Account, Api
from tests.server.media_support import media_api, upload, wait_job

__all__ = ["media_api"]  # the fixture used here

FRAMES = 40


def box(x: float, y: float, w: float, h: float) -> dict[str, Any]:
    return {"kind": "box", "x": x, "y": y, "w": w, "h": h}


class Task:
    """One task of a 40-frame circling-square video, with its annotator started on it."""

    def __init__(self, api: Api, tmp_path: Path) -> None:
        self.api = api
        self.owner = api.account("o@example.com")
        self.annotator = api.account("a@example.com")
        self.project = api.project(self.owner, schema=[{"name": "square", "kinds": ["box"]}])["id"]
        api.add(self.owner, self.project, self.annotator, "annotator")
        video, self.truth = circle_video(tmp_path / "circle.mp4", frames=FRAMES)
        uploaded = upload(api, self.owner, self.project, video.read_bytes())
        assert uploaded.status_code == 201, uploaded.text
        job = wait_job(api, self.owner, uploaded.json()["ingest_job_id"])
        assert job["state"] == "succeeded", job["error"]
        split = {"video_id": uploaded.json()["id"], "frame_count": FRAMES, "size": FRAMES}
        self.id = self.call(self.owner, "POST", "/tasks/split", json=split).json()[0]["id"]
        assigned = {"assignee_id": self.annotator.id}
        assert self.call(self.owner, "POST", f"/tasks/{self.id}/assign", json=assigned).is_success
        assert self.call(
            self.annotator, "POST", f"/tasks/{self.id}/actions/start", json={}
        ).is_success

    def call(self, who: Account, method: str, path: str, **kwargs: Any) -> Any:
        url = f"/api/projects/{self.project}{path}"
        return self.api.client.request(method, url, headers=who.headers, **kwargs)

    def autolabel(self, **body: Any) -> dict[str, Any]:
        started = self.call(self.owner, "POST", f"/tasks/{self.id}/autolabel", json=body)
        assert started.status_code == 202, started.text
        return wait_job(self.api, self.owner, started.json()["id"])

    def put_person_track(self) -> None:
        person = {"label": "square", "keyframes": [{"frame": 3, "shape": box(1, 1, 5, 5)}]}
        body = {"track": person, "base_revision": 0}
        put = self.call(self.annotator, "PUT", f"/tasks/{self.id}/tracks/1", json=body)
        assert put.status_code == 200, put.text

    def tracks(self) -> dict[int, dict[str, Any]]:
        answer = self.call(self.annotator, "GET", f"/tasks/{self.id}/annotations").json()
        return {t["number"]: t for t in answer["tracks"]}


@pytest.fixture
def task(media_api: Api, tmp_path: Path) -> Task:
    return Task(media_api, tmp_path)


MOTION = {"labeler": "motion", "every": 1, "min_iou": 0.8, "label_map": {"moving": "square"}}


def test_predictions_arrive_beside_people_tracks_and_are_replaced_alone(task: Task) -> None:
    person = {"label": "square", "keyframes": [{"frame": 3, "shape": box(1, 1, 5, 5)}]}
    put = task.call(
        task.annotator,
        "PUT",
        f"/tasks/{task.id}/tracks/1",
        json={"track": person, "base_revision": 0},
    )
    assert put.status_code == 200, put.text

    job = task.autolabel(**MOTION)
    assert job["state"] == "succeeded", job["error"]
    result = job["result"]
    assert result["labeler"] == "motion" and result["frames"] == FRAMES
    tracks = task.tracks()
    predicted = {n: t for n, t in tracks.items() if t["track"]["source"] == "auto"}
    assert (
        tracks[1]["track"] == {**tracks[1]["track"], "source": "manual"}
        and tracks[1]["revision"] == 1
    )
    assert predicted and sorted(predicted) == result["tracks"]
    best = max(predicted.values(), key=lambda t: len(t["track"]["keyframes"]))
    assert 0 < best["track"]["score"] <= 1 and best["label"] == "square"
    # the square circles: a box on a late frame lies near the truth
    late = [k for k in best["track"]["keyframes"] if not k["outside"]][-1]
    x, y, w, h = task.truth[late["frame"]]
    shape = late["shape"]
    assert abs(shape["x"] - x) < 8 and abs(shape["y"] - y) < 8, (shape, (x, y, w, h))

    again = task.autolabel(**MOTION)
    assert again["state"] == "succeeded"
    after = task.tracks()
    assert after[1] == tracks[1]  # the person's track untouched
    assert not set(predicted) & {n for n, t in after.items() if t["track"]["source"] == "auto"}


def test_accept_turns_predictions_into_tracks_and_reject_deletes_them(task: Task) -> None:
    assert task.autolabel(**MOTION)["state"] == "succeeded"
    numbers = sorted(task.tracks())
    first, rest = numbers[0], numbers[1:]
    accepted = task.call(
        task.annotator, "POST", f"/tasks/{task.id}/predictions/accept", json={"tracks": [first]}
    )
    assert accepted.status_code == 200 and accepted.json() == {"tracks": [first]}
    track = task.tracks()[first]
    assert track["track"]["source"] == "manual" and "score" not in track["track"]
    rejected = task.call(task.annotator, "POST", f"/tasks/{task.id}/predictions/reject", json={})
    assert rejected.json() == {"tracks": rest}
    assert sorted(task.tracks()) == [first]
    journal = task.call(task.annotator, "GET", f"/tasks/{task.id}/journal").json()
    assert [e["op"] for e in journal].count("delete") == len(rest)

    # accepted work survives another run
    assert task.autolabel(**MOTION)["state"] == "succeeded"
    assert task.tracks()[first] == track

    unknown = task.call(
        task.annotator, "POST", f"/tasks/{task.id}/predictions/accept", json={"tracks": [first]}
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "tracks"


@pytest.mark.parametrize(
    ("body", "field_or_text"),
    [
        ({"labeler": "nope"}, "no plugin named 'nope'"),
        ({"labeler": "onnx"}, "needs a model file"),
        ({"labeler": "onnx", "model": "../etc/passwd"}, "model"),
        ({"labeler": "onnx", "model": "missing.onnx"}, "model"),
        ({"labeler": "motion", "every": 0}, "every"),
        ({"labeler": "motion", "label_map": {"moving": "nope"}}, "label_map.moving"),
    ],
    ids=["unknown-labeler", "no-model", "path-in-model", "missing-model", "every-0", "map"],
)
def test_a_labeler_that_cannot_run_is_refused_before_any_job(
    task: Task, body: dict[str, Any], field_or_text: str
) -> None:
    refused = task.call(task.owner, "POST", f"/tasks/{task.id}/autolabel", json=body)
    assert refused.status_code == 422, refused.text
    assert field_or_text in refused.text


def test_only_managers_run_labelers(task: Task) -> None:
    refused = task.call(task.annotator, "POST", f"/tasks/{task.id}/autolabel", json=MOTION)
    assert refused.status_code == 403


def test_a_failing_job_writes_nothing(task: Task) -> None:
    person = {"label": "square", "keyframes": [{"frame": 3, "shape": box(1, 1, 5, 5)}]}
    task.call(
        task.annotator,
        "PUT",
        f"/tasks/{task.id}/tracks/1",
        json={"track": person, "base_revision": 0},
    )
    before = task.tracks()
    # an endpoint the server was not told it may send frames to: refused before any job (any
    # project manager could make the server post to its own network, a cloud's metadata too)
    for url in ("http://127.0.0.1:9/", "http://169.254.169.254/latest/"):
        refused = task.call(
            task.owner,
            "POST",
            f"/tasks/{task.id}/autolabel",
            json={"labeler": "http", "url": url, "every": 5},
        )
        assert refused.status_code == 422 and refused.json()["field"] == "url", refused.text
        assert "TWEENLAB_LABELER_URLS" in refused.text
    assert task.tracks() == before


@pytest.mark.parametrize(
    ("allowed", "url", "ok"),
    [
        ("http://models:8000/", "http://models:8000/detect", True),
        ("http://models:8000/v1", "http://models:8000/v1/detect", True),
        ("http://models:8000/v1", "http://models:8000/v10/detect", False),
        ("http://models:8000", "http://models:8000.evil.example/", False),
        ("http://models:8000", "https://models:8000/", False),
        ("http://a:1/, http://models:8000/", "http://models:8000/x", True),
        ("", "http://models:8000/", False),
    ],
)
def test_labeler_urls_allow_their_endpoints_only(allowed: str, url: str, ok: bool) -> None:
    from tweenlab.errors import FieldError
    from tweenlab.services.predictions import check_labeler_url
    from tweenlab.settings import Settings

    settings = Settings(labeler_urls=allowed)
    if ok:
        check_labeler_url(settings, url)
    else:
        with pytest.raises(FieldError, match="TWEENLAB_LABELER_URLS"):
            check_labeler_url(settings, url)


def test_a_video_is_prelabelled_task_by_task(task: Task) -> None:
    video = task.call(task.owner, "GET", f"/tasks/{task.id}").json()["video_id"]
    started = task.call(task.owner, "POST", f"/videos/{video}/autolabel", json=MOTION)
    assert started.status_code == 202, started.text
    (job,) = started.json()
    assert wait_job(task.api, task.owner, job["id"])["state"] == "succeeded"
    assert any(t["track"]["source"] == "auto" for t in task.tracks().values())
    missing = task.call(task.owner, "POST", "/videos/999/autolabel", json=MOTION)
    assert missing.status_code == 404


def test_classes_the_project_has_no_label_for_are_dropped_and_counted(task: Task) -> None:
    job = task.autolabel(**{**MOTION, "label_map": {}})
    assert job["state"] == "succeeded", job["error"]
    assert job["result"]["tracks"] == [] and job["result"]["dropped"]["moving"] >= 1
    assert task.tracks() == {}
