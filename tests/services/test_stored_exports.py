"""The export job with its input, video, images and zip on S3 (a real moto server, the local
executor): the stored zip holds, byte for byte, the files of one unsplit export on local paths,
and nothing else is left in the bucket; a path video with the storage for the rest does the
same; old export objects are pruned by the stamp in their keys."""

from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.executors import local
from tests.s3_support import open_s3, s3_endpoint, s3_url
from tests.services.test_exports import FRAMES, SHARD_FRAMES, _annotations, _unsplit, video
from tweenlab.jobs import JobState, LocalExecutor
from tweenlab.media import LocalStorage
from tweenlab.services.exports import EXPORT_JOB
from tweenlab.services.exports_stored import prune_stored_exports, put_input

__all__ = ["local", "s3_endpoint", "video"]  # fixtures used here

CASE = ("coco", "all", 1, "jpg")


@pytest.mark.parametrize("video_in_storage", [True, False], ids=["video-key", "video-path"])
def test_the_export_job_on_s3_stores_the_zip_of_one_unsplit_export(
    local: LocalExecutor,
    video: Path,
    s3_endpoint: str,
    tmp_path: Path,
    video_in_storage: bool,
) -> None:
    url = s3_url(s3_endpoint, "export")
    store = open_s3(url, tmp_path / "test-cache")
    stamp = int(time.time())
    if video_in_storage:
        store.put_file("videos/clip.mp4", video)
    params: dict[str, Any] = {
        "annotations": put_input(store, _annotations(), stamp),
        "storage_url": url,
        "stamp": stamp,
        "format": "coco",
        "frames": "all",
        "step": 1,
        "images": "jpg",
        "video": "videos/clip.mp4" if video_in_storage else str(video),
        "video_stored": video_in_storage,
        "data_dir": str(tmp_path / "worker"),
        "shard_frames": SHARD_FRAMES,
    }
    done = local.wait(local.submit("export", EXPORT_JOB, params).id, timeout=120)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.result is not None

    zip_key = f"exports/{stamp}-{done.id}.zip"
    assert done.result["zip"] == zip_key.removeprefix("exports/")
    assert store.list("exports/") == [zip_key]  # the input and the parts' images are gone
    with zipfile.ZipFile(io.BytesIO(store.read_bytes(zip_key))) as archive:
        stored = {name: archive.read(name) for name in archive.namelist()}
    expected = _unsplit(video, tmp_path / "unsplit", CASE)
    assert len([name for name in expected if name.endswith(".jpg")]) == FRAMES
    assert stored == expected
    assert done.result["files"] == len(expected) and done.result["bytes"] > 0
    left = [tmp_path / "worker" / folder for folder in ("exports", "export-parts")]
    assert not [p for folder in left for p in folder.rglob("*") if p.is_file()]  # nor locally


def test_old_export_objects_are_pruned_by_the_stamp_in_their_keys(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "store")
    now = 1_800_000_000
    old, new = now - 73 * 3600, now - 3600
    keys = [
        f"exports/{old}-job1.zip",
        f"exports/{old}-job2/images/default/frame_000001.jpg",
        f"exports/input-{old}-ab12.tweenlab.json",
        f"exports/{new}-job3.zip",
        f"exports/input-{new}-cd34.tweenlab.json",
        "exports/README",  # not an export's: no stamp, kept
        f"uploads/{old}-video.mp4",  # not under exports/
    ]
    for key in keys:
        store.write_bytes(key, b"x")
    assert prune_stored_exports(store, 72, now=now) == 3
    assert store.list() == sorted(keys[3:])
