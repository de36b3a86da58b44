"""Videos on S3 through the server (``TWEENLAB_STORAGE_URL``, a real moto server): an upload goes
into the bucket and leaves the server's disk, its ingest job runs from the key and publishes the
derived files, an export's zip is stored there, and a second server with an empty data folder
(the first one's deleted) serves exactly frame n, the codec and chunks from them and hands out
the zip; deleting the video empties the bucket of it. A failed put leaves nothing behind
either."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.media.videos import read_stamp
from tests.s3_support import open_s3, s3_endpoint, s3_url
from tests.server.conftest import CAR, Account, Api
from tests.server.media_support import (
    media_settings,
    running_app,
    stamped,
    upload,
    uploaded_files,
    wait_job,
)
from tweenlab.errors import StorageError
from tweenlab.media import S3Storage
from tweenlab.settings import Settings
from tweenlab.store import Job

__all__ = ["s3_endpoint", "stamped"]  # fixtures used here

DERIVED = ("filmstrip.jpg", "index.npz", "keyframes.npz", "proxy-index.npz", "proxy.mp4")


def _upload_and_ingest(api: Api, video: Path) -> tuple[Account, str, dict[str, Any]]:
    """Upload ``video`` into a new project (with the label ``car``) and wait for its ingest;
    the owner, the video's URL and the ingest job."""
    owner = api.account("owner@x.io")
    project = api.project(owner, schema=[CAR])
    answer = upload(api, owner, project["id"], video.read_bytes())
    assert answer.status_code == 201, answer.text
    made = answer.json()
    job = wait_job(api, owner, made["ingest_job_id"])
    assert job["state"] == "succeeded", job
    assert job["result"]["proxy"] is True and job["result"]["frame_count"] == 60
    return owner, f"/api/projects/{project['id']}/videos/{made['id']}", job


def _export(api: Api, owner: Account, video_url: str) -> tuple[int, str]:
    """One task over the video with one car track, exported as COCO with JPEG images; the
    task's id and the export job's once it succeeded."""
    project, video_id = video_url.removeprefix("/api/projects/").split("/videos/")
    base = f"/api/projects/{project}"
    split = {"video_id": int(video_id), "frame_count": 60, "size": 60, "overlap": 0}
    [task] = api.client.post(f"{base}/tasks/split", json=split, headers=owner.headers).json()
    keys = [
        {"frame": f, "shape": {"kind": "box", "x": 10 + f, "y": 20, "w": 30, "h": 20}}
        for f in (0, 59)
    ]
    body = {"track": {"label": "car", "keyframes": keys}, "base_revision": 0}
    put = api.client.put(f"{base}/tasks/{task['id']}/tracks/1", json=body, headers=owner.headers)
    assert put.status_code == 200, put.text
    request = {"video_id": int(video_id), "format": "coco", "frames": "all", "images": "jpg"}
    started = api.client.post(f"{base}/exports", json=request, headers=owner.headers)
    assert started.status_code == 202, started.text
    job = wait_job(api, owner, started.json()["id"])
    assert job["state"] == "succeeded", job
    return int(task["id"]), str(job["id"])


def test_an_upload_on_s3_is_served_by_a_second_server_with_an_empty_data_folder(
    migrated: Settings, s3_endpoint: str, stamped: Path, tmp_path: Path
) -> None:
    url = s3_url(s3_endpoint, "server")
    store = open_s3(url, tmp_path / "test-cache")
    # keyframes every 12 frames, a proxy past 8: the proxy and its index are published too
    first = media_settings(migrated, tmp_path, storage_url=url, proxy_max_gop=8)
    for api in running_app(first):
        owner, video_url, job = _upload_and_ingest(api, stamped)
        [key] = store.list("uploads/")
        with api.database.session() as db:
            row = db.get(Job, job["id"])
            assert row is not None and row.params["video"] == key
            assert row.params["storage_url"] == url
        assert store.read_bytes(key) == stamped.read_bytes()
        assert uploaded_files(first) == []  # the bucket holds it, not the server's disk
        assert store.list("derived/") == sorted(
            f"derived/{key}/{name}" for name in (*DERIVED, "published.json")
        )
        task, export = _export(api, owner, video_url)
        [zipped] = store.list("exports/")  # the input and the images are gone
        assert zipped.endswith(f"-{export}.zip")
    shutil.rmtree(first.data_dir)  # nothing of the first server's files is left to reuse

    second = first.model_copy(update={"data_dir": tmp_path / "second-server"})
    for api in running_app(second):
        for n in (0, 37, 59, 13):
            answer = api.client.get(
                f"{video_url}/frames/{n}", params={"quality": 95}, headers=owner.headers
            )
            assert answer.status_code == 200, answer.text
            assert read_stamp(_rgb(answer.content)) == n
            assert _rgb(answer.content).shape == (96, 160, 3)
        codec = api.client.get(f"{video_url}/codec", headers=owner.headers).json()
        assert codec["frame_count"] == 60 and codec["chunk_starts"][:2] == [0, 8]  # the proxy's
        chunk = api.client.get(f"{video_url}/chunks/1", headers=owner.headers)
        assert chunk.status_code == 200 and chunk.content.startswith(b"TWC1")
        fetched = {p.name: p for p in (second.derived_dir).rglob("*") if p.is_file()}
        assert sorted(fetched) == sorted(DERIVED)  # fetched from the bucket, none made here
        for name in DERIVED:
            assert fetched[name].read_bytes() == store.read_bytes(f"derived/{key}/{name}")

        project = video_url.split("/videos/")[0]
        download = api.client.get(f"{project}/exports/{export}/download", headers=owner.headers)
        assert download.status_code == 200, download.text
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            images = sorted(n for n in archive.namelist() if n.endswith(".jpg"))
            assert len(images) == 60
            for n in (0, 41):  # the image of frame n shows frame n
                assert read_stamp(_rgb(archive.read(images[n]))) == n

        fill = api.client.post(  # by motion: optical flow of this server's copy
            f"{project}/tasks/{task}/tracks/1/fill",
            json={},
            headers={**owner.headers, "If-Match": '"1"'},
        )
        assert fill.status_code == 200, fill.text
        assert fill.json()["track"]["revision"] == 2 and fill.json()["filled"] > 0
        marks = api.client.get(f"{project}/tasks/{task}/keyframes", headers=owner.headers)
        assert marks.status_code == 200 and marks.json()["analysed"]  # the published analysis
        confidence = api.client.get(
            f"{project}/tasks/{task}/tracks/1/confidence", headers=owner.headers
        )
        assert confidence.json()["suggested"] == fill.json()["suggested"]

        gone = api.client.delete(video_url, headers=owner.headers)
        assert gone.status_code == 204, gone.text
        assert store.list() == [zipped]  # the video and all its derived files are gone
        assert not [p for p in second.derived_dir.rglob("*") if p.is_file()]  # flow too


def _rgb(data: bytes) -> np.ndarray[Any, Any]:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_an_upload_the_storage_refuses_leaves_nothing_and_answers_503(
    migrated: Settings,
    s3_endpoint: str,
    stamped: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = s3_url(s3_endpoint, "refused")
    store = open_s3(url, tmp_path / "test-cache")
    real_put = S3Storage.put_file

    def put_video_then_fail(self: S3Storage, key: str, path: Path) -> None:
        if key.startswith("derived/"):  # the video went in; its index does not
            raise StorageError(key, self.describe(), "cannot upload: 503 SlowDown")
        real_put(self, key, path)

    monkeypatch.setattr(S3Storage, "put_file", put_video_then_fail)
    for api in running_app(media_settings(migrated, tmp_path, storage_url=url)):
        owner = api.account("owner@x.io")
        project = api.project(owner)
        answer = upload(api, owner, project["id"], stamped.read_bytes())
        assert answer.status_code == 503, answer.text
        assert "SlowDown" in answer.json()["detail"]
        assert uploaded_files(api.settings) == [] and store.list() == []
        listed = api.client.get(f"/api/projects/{project['id']}/videos", headers=owner.headers)
        assert listed.json() == []
