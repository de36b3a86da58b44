"""Frames through the API: exactly frame n as JPEG or WebP with an ETag (304 on a match), and
the codec configuration and chunks that decode, alone, to exactly the frames they name."""

from __future__ import annotations

import base64
import io
import struct
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from tests.media.videos import make_video, read_stamp
from tests.server.conftest import Account, Api
from tests.server.media_support import media_api, stamped, upload, wait_job
from tweenlab.server.routers.frames import CHUNK_MAGIC

__all__ = ["media_api", "stamped"]  # fixtures used here


def ready_video(api: Api, data: bytes) -> tuple[Account, str]:
    """Upload ``data`` as the owner of a new project, wait for its ingest; the video's URL."""
    owner = api.account("owner@x.io")
    project = api.project(owner)
    answer = upload(api, owner, project["id"], data)
    assert answer.status_code == 201, answer.text
    video = answer.json()
    assert wait_job(api, owner, video["ingest_job_id"])["state"] == "succeeded"
    return owner, f"/api/projects/{project['id']}/videos/{video['id']}"


def test_a_frame_is_exactly_frame_n_with_etag_and_304(media_api: Api, stamped: Path) -> None:
    owner, url = ready_video(media_api, stamped.read_bytes())
    for n in (0, 1, 13, 37, 59, 5):
        answer = media_api.client.get(
            f"{url}/frames/{n}", params={"quality": 95}, headers=owner.headers
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "image/jpeg"
        image = np.asarray(Image.open(io.BytesIO(answer.content)).convert("RGB"))
        assert image.shape == (96, 160, 3) and read_stamp(image) == n
    answer = media_api.client.get(
        f"{url}/frames/42", params={"format": "webp", "max_side": 80}, headers=owner.headers
    )
    assert answer.headers["content-type"] == "image/webp"
    small = Image.open(io.BytesIO(answer.content))
    assert small.format == "WEBP" and max(small.size) == 80
    assert read_stamp(np.asarray(small.convert("RGB"))) == 42
    tag = answer.headers["etag"]
    assert tag.startswith('"') and answer.headers["cache-control"].startswith("private, max-age=")
    params: dict[str, str | int] = {"format": "webp", "max_side": 80}
    again = media_api.client.get(
        f"{url}/frames/42", params=params, headers={**owner.headers, "If-None-Match": tag}
    )
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    other = media_api.client.get(
        f"{url}/frames/43", params=params, headers={**owner.headers, "If-None-Match": tag}
    )
    assert other.status_code == 200 and other.headers["etag"] != tag


def test_a_kept_frame_is_served_again_only_while_the_caller_may_see_it(
    media_api: Api, stamped: Path
) -> None:
    """A frame asked for again comes from the images kept, and is still authorised and looked
    up each time: an outsider gets 404, and so does everyone once the video is deleted."""
    owner, url = ready_video(media_api, stamped.read_bytes())
    first = media_api.client.get(f"{url}/frames/7", headers=owner.headers)
    again = media_api.client.get(f"{url}/frames/7", headers=owner.headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    eve = media_api.account("eve@example.com")
    assert media_api.client.get(f"{url}/frames/7", headers=eve.headers).status_code == 404
    elsewhere = media_api.project(owner, name="other")["id"]  # the video, by another project
    video = url.rsplit("/", 1)[1]
    through = f"/api/projects/{elsewhere}/videos/{video}/frames/7"
    assert media_api.client.get(through, headers=owner.headers).status_code == 404
    assert media_api.client.delete(url, headers=owner.headers).status_code == 204
    assert media_api.client.get(f"{url}/frames/7", headers=owner.headers).status_code == 404


BAD_REQUESTS: list[tuple[str, dict[str, Any], int]] = [
    ("frames/60", {}, 404),
    ("frames/-1", {}, 422),
    ("frames/x", {}, 422),
    ("frames/0", {"format": "png"}, 422),
    ("frames/0", {"quality": 0}, 422),
    ("frames/0", {"max_side": 2}, 422),
    ("chunks/99", {}, 404),
    ("chunks/-1", {}, 422),
]


def test_bad_frame_requests_name_the_problem(media_api: Api, stamped: Path) -> None:
    owner, url = ready_video(media_api, stamped.read_bytes())
    for path, params, status in BAD_REQUESTS:
        answer = media_api.client.get(f"{url}/{path}", params=params, headers=owner.headers)
        assert answer.status_code == status, (path, params, answer.text)
        assert answer.json()["detail"]


def parse_chunk(data: bytes) -> tuple[int, list[tuple[int, bool, int, bytes]]]:
    """The chunk index and its frames ``(frame, key, pts, bytes)`` (the documented framing)."""
    assert data[:4] == CHUNK_MAGIC
    k, count = struct.unpack_from("<II", data, 4)
    offset, frames = 12, []
    for _ in range(count):
        frame, key, pts, length = struct.unpack_from("<IBqI", data, offset)
        offset += struct.calcsize("<IBqI")
        frames.append((frame, bool(key), pts, data[offset : offset + length]))
        offset += length
    assert offset == len(data)
    return k, frames


@pytest.mark.parametrize("gop", [12, 60], ids=["source", "proxy"])
def test_chunks_decode_alone_to_exactly_their_frames(
    media_api: Api, tmp_path: Path, gop: int
) -> None:
    # gop 12: the H.264 source itself is served; gop 60 (> 48): ingest writes a proxy
    source = make_video(tmp_path / "long-gop.mp4", frames=90, gop=gop)
    owner, url = ready_video(media_api, source.read_bytes())
    answer = media_api.client.get(f"{url}/codec", headers=owner.headers)
    assert answer.status_code == 200, answer.text
    codec = answer.json()
    assert codec["codec"].startswith("avc1.") and codec["frame_count"] == 90
    assert (codec["width"], codec["height"]) == (160, 96)
    assert codec["chunk_starts"][0] == 0 and Fraction(codec["time_base"]) > 0
    if gop == 12:
        assert codec["chunk_starts"] == list(range(0, 90, 12))
    else:  # the proxy's, not the source's (0 and 60)
        assert len(codec["chunk_starts"]) > 2
    description = base64.b64decode(codec["description"])
    seen: list[int] = []
    for k, start in enumerate(codec["chunk_starts"]):
        answer = media_api.client.get(f"{url}/chunks/{k}", headers=owner.headers)
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/octet-stream"
        index, frames = parse_chunk(answer.content)
        assert index == k and frames[0][0] == start and frames[0][1]
        pts = [p for _, _, p, _ in frames]
        assert pts == sorted(pts)
        context = av.CodecContext.create("h264", "r")
        context.extradata = description
        images = []
        for _, _, _, data in frames:
            images += [f.to_ndarray(format="rgb24") for f in context.decode(av.Packet(data))]
        images += [f.to_ndarray(format="rgb24") for f in context.decode(None)]
        assert [read_stamp(image) for image in images] == [f for f, _, _, _ in frames]
        seen += [f for f, _, _, _ in frames]
    assert seen == list(range(90))
