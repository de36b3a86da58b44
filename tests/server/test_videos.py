"""Videos: upload (streamed, limited, probed, stored under a generated name), registration under
the media root, ingest as a job, listing and deletion by role; bad uploads leave nothing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from tests.media.videos import (
    make_empty_file,
    make_text_as_mp4,
    make_truncated_data_cut,
    make_truncated_no_moov,
)
from tests.server.conftest import Api
from tests.server.media_support import (
    UPLOAD_LIMIT_MB,
    media_api,
    stamped,
    upload,
    uploaded_files,
    wait_job,
)
from tweenlab.services.videos import VIDEO_SUFFIXES

__all__ = ["media_api", "stamped"]  # fixtures used here


def test_an_upload_is_stored_under_a_generated_name_and_ingested(
    media_api: Api, stamped: Path
) -> None:
    owner = media_api.account("owner@x.io")
    project = media_api.project(owner)
    answer = upload(media_api, owner, project["id"], stamped.read_bytes(), name="../../My clip.mp4")
    assert answer.status_code == 201, answer.text
    video = answer.json()
    assert video["name"] == "My clip.mp4" and video["origin"] == "upload"
    assert (video["frame_count"], video["width"], video["height"]) == (60, 160, 96)
    assert video["fps"] == "25/1" and video["duration"] == pytest.approx(2.4)
    assert video["size_bytes"] == stamped.stat().st_size
    job = wait_job(media_api, owner, video["ingest_job_id"])
    assert job["state"] == "succeeded", job
    assert job["kind"] == "ingest" and job["project_id"] == project["id"]
    assert job["done"] == job["total"] > 0
    assert job["result"]["frame_count"] == 60 and "keyframes" in job["result"]
    again = media_api.client.get(
        f"/api/projects/{project['id']}/videos/{video['id']}", headers=owner.headers
    )
    assert again.json()["status"] == "ready"
    [stored] = uploaded_files(media_api.settings)
    assert stored.name != "My clip.mp4" and stored.suffix in VIDEO_SUFFIXES
    assert stored.read_bytes() == stamped.read_bytes()
    listed = media_api.client.get(f"/api/projects/{project['id']}/videos", headers=owner.headers)
    assert [v["id"] for v in listed.json()] == [video["id"]]


BAD: dict[str, Callable[[Path, Path], Path]] = {
    "empty": lambda d, _: make_empty_file(d / "empty.mp4"),
    "text_as_mp4": lambda d, _: make_text_as_mp4(d / "text.mp4"),
    "truncated_no_moov": lambda d, s: make_truncated_no_moov(s, d / "no_moov.mp4"),
    "truncated_data_cut": lambda d, s: make_truncated_data_cut(s, d / "cut.mp4"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_a_bad_upload_is_refused_and_leaves_no_file(
    media_api: Api, stamped: Path, tmp_path: Path, kind: str
) -> None:
    owner = media_api.account("owner@x.io")
    project = media_api.project(owner)
    bad = BAD[kind](tmp_path, stamped)
    answer = upload(media_api, owner, project["id"], bad.read_bytes())
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]
    assert uploaded_files(media_api.settings) == []
    derived = media_api.settings.derived_dir
    assert not derived.exists() or list(derived.iterdir()) == []
    listed = media_api.client.get(f"/api/projects/{project['id']}/videos", headers=owner.headers)
    assert listed.json() == []


def test_an_upload_over_the_limit_is_refused_with_413(media_api: Api) -> None:
    owner = media_api.account("owner@x.io")
    project = media_api.project(owner)
    too_big = os.urandom(UPLOAD_LIMIT_MB * 1024 * 1024 + 1)
    assert upload(media_api, owner, project["id"], too_big).status_code == 413

    def chunks() -> object:  # no Content-Length: the limit holds while streaming
        for start in range(0, len(too_big), 65536):
            yield too_big[start : start + 65536]

    answer = media_api.client.post(
        f"/api/projects/{project['id']}/videos",
        content=chunks(),  # type: ignore[arg-type]
        headers={**owner.headers, "Content-Type": "application/octet-stream"},
    )
    assert answer.status_code == 413, answer.text
    assert uploaded_files(media_api.settings) == []


def test_a_multipart_upload_is_refused_with_415(media_api: Api, stamped: Path) -> None:
    owner = media_api.account("owner@x.io")
    project = media_api.project(owner)
    answer = media_api.client.post(
        f"/api/projects/{project['id']}/videos",
        files={"file": ("clip.mp4", stamped.read_bytes(), "video/mp4")},
        headers=owner.headers,
    )
    assert answer.status_code == 415
    assert uploaded_files(media_api.settings) == []


def test_an_interrupted_upload_leaves_no_file(media_api: Api, stamped: Path) -> None:
    owner = media_api.account("owner@x.io")
    project = media_api.project(owner)
    data = stamped.read_bytes()
    messages = iter(
        [
            {"type": "http.request", "body": data[:1000], "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        return next(messages)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/api/projects/{project['id']}/videos",
        "raw_path": f"/api/projects/{project['id']}/videos".encode(),
        "query_string": b"name=clip.mp4",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", owner.headers["Authorization"].encode()),
            (b"content-type", b"application/octet-stream"),
            (b"content-length", str(len(data)).encode()),
        ],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
        "state": {},
    }
    app = media_api.client.app

    async def call() -> None:
        await app(scope, receive, send)  # type: ignore[arg-type]

    anyio.run(call)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert starts and starts[0]["status"] == 400
    assert uploaded_files(media_api.settings) == []
    listed = media_api.client.get(f"/api/projects/{project['id']}/videos", headers=owner.headers)
    assert listed.json() == []


def test_registration_takes_files_under_the_media_root_only(
    media_api: Api, stamped: Path, tmp_path: Path
) -> None:
    owner = media_api.account("owner@x.io")
    project = media_api.project(owner)
    root = media_api.settings.media_root
    assert root is not None
    (root / "cams").mkdir()
    inside = root / "cams" / "a.mp4"
    inside.write_bytes(stamped.read_bytes())
    outside = tmp_path / "outside.mp4"
    outside.write_bytes(stamped.read_bytes())
    (root / "sneaky.mp4").symlink_to(outside)
    url = f"/api/projects/{project['id']}/videos/register"

    def register(path: str) -> tuple[int, dict[str, object]]:
        answer = media_api.client.post(url, json={"path": path}, headers=owner.headers)
        return answer.status_code, answer.json()

    for refused in ("../outside.mp4", str(outside), "sneaky.mp4", "cams/../../outside.mp4", "."):
        status, body = register(refused)
        assert status == 422, (refused, body)
    assert register("cams/missing.mp4")[0] == 404
    text = root / "notes.mp4"
    make_text_as_mp4(text)
    assert register("notes.mp4")[0] == 422
    status, video = register("cams/a.mp4")
    assert status == 201, video
    assert video["origin"] == "register" and video["name"] == "a.mp4"
    assert video["frame_count"] == 60
    job = wait_job(media_api, owner, str(video["ingest_job_id"]))
    assert job["state"] == "succeeded"
    # deleting a registered video keeps its file
    gone = media_api.client.delete(
        f"/api/projects/{project['id']}/videos/{video['id']}", headers=owner.headers
    )
    assert gone.status_code == 204 and inside.exists()


def test_roles_and_visibility(media_api: Api, stamped: Path) -> None:
    owner = media_api.account("owner@x.io")
    annotator = media_api.account("annotator@x.io")
    manager = media_api.account("manager@x.io")
    stranger = media_api.account("stranger@x.io")
    project = media_api.project(owner)
    media_api.project(stranger, name="theirs")
    media_api.add(owner, project["id"], annotator, "annotator")
    media_api.add(owner, project["id"], manager, "manager")
    base = f"/api/projects/{project['id']}/videos"
    assert upload(media_api, annotator, project["id"], stamped.read_bytes()).status_code == 403
    assert upload(media_api, stranger, project["id"], stamped.read_bytes()).status_code == 404
    answer = upload(media_api, manager, project["id"], stamped.read_bytes())
    assert answer.status_code == 201
    video = answer.json()
    wait_job(media_api, owner, video["ingest_job_id"])
    one = f"{base}/{video['id']}"
    assert media_api.client.get(one, headers=annotator.headers).status_code == 200
    assert media_api.client.get(base, headers=annotator.headers).json()[0]["id"] == video["id"]
    for path in (base, one, f"{one}/frames/0", f"{one}/codec"):
        assert media_api.client.get(path, headers=stranger.headers).status_code == 404, path
    job = f"/api/jobs/{video['ingest_job_id']}"
    assert media_api.client.get(job, headers=stranger.headers).status_code == 404
    assert media_api.client.get(job, headers=annotator.headers).status_code == 200
    assert media_api.client.delete(one, headers=annotator.headers).status_code == 403
    assert media_api.client.delete(one, headers=stranger.headers).status_code == 404
    assert media_api.client.delete(one, headers=manager.headers).status_code == 204
    assert media_api.client.get(one, headers=owner.headers).status_code == 404
    assert uploaded_files(media_api.settings) == []
    # a video id of another project is not found through this one
    theirs = media_api.client.get("/api/projects", headers=stranger.headers).json()[0]["id"]
    other = upload(media_api, stranger, theirs, stamped.read_bytes()).json()
    assert media_api.client.get(f"{base}/{other['id']}", headers=owner.headers).status_code == 404
