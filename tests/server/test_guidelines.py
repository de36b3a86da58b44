"""Guidelines with example frames: ``![caption](frame:V/N)`` in the Markdown names exactly frame
N of the project's video V; a frame that does not exist is refused naming its line, and every
member reads the examples with their images' addresses (which serve that very frame)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from tests.media.videos import read_stamp
from tests.server.conftest import CAR, Api
from tests.server.media_support import media_api, stamped, upload, wait_job

__all__ = ["media_api", "stamped"]  # fixtures


def test_guidelines_show_exact_example_frames_and_refuse_missing_ones(
    media_api: Api, stamped: Path
) -> None:
    owner = media_api.account("owner@example.com")
    annotator = media_api.account("annotator@example.com")
    project = media_api.project(owner, schema=[CAR])["id"]
    media_api.add(owner, project, annotator, "annotator")
    base = f"/api/projects/{project}"
    video = upload(media_api, owner, project, stamped.read_bytes()).json()
    assert wait_job(media_api, owner, video["ingest_job_id"])["state"] == "succeeded"
    v = video["id"]
    text = "# Cars\n\nBox the whole car:\n\n"
    text += f"![a half-hidden car](frame:{v}/17) and ![](frame:{v}/3)"
    changed = media_api.client.patch(base, json={"guidelines": text}, headers=owner.headers)
    assert changed.status_code == 200, changed.text

    got = media_api.client.get(f"{base}/guidelines", headers=annotator.headers).json()
    assert got["markdown"] == text
    assert [(e["frame"], e["caption"], e["line"]) for e in got["examples"]] == [
        (17, "a half-hidden car", 5),
        (3, "", 5),
    ]
    image = media_api.client.get(got["examples"][0]["image"], headers=annotator.headers)
    assert image.status_code == 200
    assert read_stamp(np.asarray(Image.open(io.BytesIO(image.content)).convert("RGB"))) == 17

    for wrong, message in [
        (f"ok\n![x](frame:{v}/{video['frame_count']})", f"line 2: video {v} has"),
        ("![x](frame:999/1)", "line 1: the project has no video 999"),
    ]:
        refused = media_api.client.patch(base, json={"guidelines": wrong}, headers=owner.headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "guidelines" and message in refused.json()["detail"]
    kept = media_api.client.get(f"{base}/guidelines", headers=owner.headers).json()
    assert kept["markdown"] == text  # nothing half-written
