"""Exports over HTTP: a job joins the tracks of a video's tasks (one identity for an object that
crosses a task boundary), exports them and zips the result; the zip downloads once the job has
succeeded; managers only."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

from tests.server.conftest import CAR, Api
from tests.server.media_support import media_api, stamped, upload, wait_job

__all__ = ["media_api", "stamped"]  # fixtures


def track(x: float, first: int, last: int) -> dict[str, Any]:
    keys = [
        {"frame": f, "shape": {"kind": "box", "x": x, "y": 20, "w": 30, "h": 20}}
        for f in (first, last)
    ]
    return {"label": "car", "keyframes": keys}


def test_an_export_job_zips_coco_with_one_identity_across_tasks(
    media_api: Api, stamped: Path
) -> None:
    owner = media_api.account("owner@example.com")
    annotator = media_api.account("annotator@example.com")
    project = media_api.project(owner, schema=[CAR])["id"]
    media_api.add(owner, project, annotator, "annotator")
    base = f"/api/projects/{project}"

    def call(method: str, path: str, who: Any = owner, **kwargs: Any) -> Any:
        return media_api.client.request(method, base + path, headers=who.headers, **kwargs)

    video = upload(media_api, owner, project, stamped.read_bytes()).json()
    assert wait_job(media_api, owner, video["ingest_job_id"])["state"] == "succeeded"
    split = {"video_id": video["id"], "frame_count": 60, "size": 35, "overlap": 10}
    first, second = (t["id"] for t in call("POST", "/tasks/split", json=split).json())
    writes = [(first, 1, track(10, 0, 34)), (second, 4, track(10, 25, 59))]
    writes.append((second, 5, track(100, 40, 59)))  # another car, only in the second task
    for task, number, body in writes:
        answer = call(
            "PUT", f"/tasks/{task}/tracks/{number}", json={"track": body, "base_revision": 0}
        )
        assert answer.status_code == 200, answer.text

    request = {"video_id": video["id"], "format": "coco", "frames": "all"}
    assert call("POST", "/exports", annotator, json=request).status_code == 403
    bad = call("POST", "/exports", json={**request, "format": "gif"})
    assert bad.status_code == 422
    assert call("POST", "/exports", json={**request, "video_id": 999}).status_code == 404
    started = call("POST", "/exports", json=request)
    assert started.status_code == 202, started.text
    job = wait_job(media_api, owner, started.json()["id"])
    assert job["state"] == "succeeded", job
    assert job["kind"] == "export" and job["result"]["tracks"] == 2
    assert not list((media_api.settings.data_dir / "exports").glob("input-*"))

    assert call("GET", f"/exports/{job['id']}/download", annotator).status_code == 403
    assert call("GET", f"/exports/{video['ingest_job_id']}/download").status_code == 404
    assert call("GET", "/exports/nope/download").status_code == 404
    download = call("GET", f"/exports/{job['id']}/download")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
        coco = json.loads(archive.read("annotations/instances_default.json"))
        assert "provenance.json" in archive.namelist()
    frame_of = {image["id"]: image for image in coco["images"]}
    by_track: dict[int, set[int]] = {}
    for entry in coco["annotations"]:
        image = frame_of[entry["image_id"]]
        by_track.setdefault(entry["attributes"]["track_id"], set()).add(image["id"])
    assert len(by_track) == 2  # the car crossing frames 25..34 keeps one id
    crossing = max(by_track.values(), key=len)
    assert len(crossing) == 60

    # synthesised frames as extra samples: image datasets with images only
    synthetic = {**request, "frames": "every:20", "images": "jpg", "synthetic": 1}
    for wrong in ({"format": "mot"}, {"images": None}, {"synthetic": 16}):
        refused = call("POST", "/exports", json={**synthetic, **wrong})
        assert refused.status_code == 422 and "synthetic" in refused.text, refused.text
    started = call("POST", "/exports", json=synthetic)
    assert started.status_code == 202, started.text
    job = wait_job(media_api, owner, started.json()["id"])
    assert job["state"] == "succeeded", job
    with zipfile.ZipFile(io.BytesIO(call("GET", f"/exports/{job['id']}/download").content)) as z:
        provenance = json.loads(z.read("provenance.json"))
        images = sorted(name for name in z.namelist() if name.endswith(".jpg"))
    assert [(p["name"], p["synthetic"]) for p in provenance] == [
        (f"frame_{n:06d}{'_t500' if made else ''}", made) for n in (0, 20, 40) for made in (0, 1)
    ]
    assert len(images) == 6 and "images/default/frame_000020_t500.jpg" in images


def test_zips_older_than_the_keep_time_go_when_the_next_export_starts(
    media_api: Api, stamped: Path
) -> None:
    owner = media_api.account("owner@example.com")
    project = media_api.project(owner, schema=[CAR])["id"]
    base = f"/api/projects/{project}"

    def call(method: str, path: str, **kwargs: Any) -> Any:
        return media_api.client.request(method, base + path, headers=owner.headers, **kwargs)

    video = upload(media_api, owner, project, stamped.read_bytes()).json()
    assert wait_job(media_api, owner, video["ingest_job_id"])["state"] == "succeeded"
    split = {"video_id": video["id"], "frame_count": 60, "size": 60}
    task = call("POST", "/tasks/split", json=split).json()
    body = {"track": track(10, 0, 30), "base_revision": 0}
    assert call("PUT", f"/tasks/{task[0]['id']}/tracks/1", json=body).status_code == 200
    request = {"video_id": video["id"], "format": "mot"}
    old = wait_job(media_api, owner, call("POST", "/exports", json=request).json()["id"])
    zipped = media_api.settings.data_dir / "exports" / f"{old['id']}.zip"
    hours = media_api.settings.export_keep_hours
    stale = zipped.stat().st_mtime - hours * 3600 - 60
    os.utime(zipped, (stale, stale))
    new = wait_job(media_api, owner, call("POST", "/exports", json=request).json()["id"])
    assert not zipped.exists()
    expired = call("GET", f"/exports/{old['id']}/download")
    assert expired.status_code == 404 and "expired" in expired.json()["detail"]
    assert call("GET", f"/exports/{new['id']}/download").status_code == 200
