"""The export job split into shards of images: its zip holds the files of one unsplit export,
byte for byte, through the local executor's process and in process with each part run twice;
progress is the images written, summed over the parts."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.executors import local
from tests.media.videos import make_video
from tweenlab.core import AnnotationSet, Box, Keyframe, Schema, Track, VideoRef
from tweenlab.errors import UsageError
from tweenlab.formats import ExportOptions
from tweenlab.jobs import JobState, LocalExecutor, PartProgress
from tweenlab.services.annotations import export_annotations, save_annotations
from tweenlab.services.exports import (
    EXPORT_IMAGES_PART,
    EXPORT_JOB,
    export_images_part,
    export_job,
    plan_image_shards,
)
from tweenlab.settings import Settings

__all__ = ["local"]  # fixtures used here

FRAMES = 40
SHARD_FRAMES = 7

CASES = [
    pytest.param(("coco", "all", 1, "jpg"), id="coco-jpg"),
    pytest.param(("yolo", "every", 2, "png"), id="yolo-png"),
    pytest.param(("mot", "all", 1, "jpg"), id="mot-jpg"),  # its own names: img1/000001.jpg
    pytest.param(("cvat_video", "every", 2, "jpg"), id="cvat-video"),  # always .png images
]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "clip.mp4", frames=FRAMES, bframes=2)


def _annotations() -> AnnotationSet:
    ref = VideoRef("clip.mp4", FRAMES, 160, 96)
    walker = Track(
        1, "person", {0: Keyframe(Box(10, 50, 20, 30)), 39: Keyframe(Box(120, 50, 20, 30))}
    )
    car = Track(
        2, "car", {5: Keyframe(Box(0, 0, 30, 20)), 20: Keyframe(Box(0, 0, 30, 20), outside=True)}
    )
    return AnnotationSet(ref, Schema.of("person", "car"), {1: walker, 2: car})


def _params(
    data: Path, video: Path, case: tuple[str, str, int, str], synthetic: int = 0
) -> dict[str, Any]:
    format_name, frames, step, images = case
    data.mkdir(parents=True)
    source = data / "annotations.tweenlab.json"
    save_annotations(_annotations(), source)
    return {
        "annotations": str(source),
        "format": format_name,
        "frames": frames,
        "step": step,
        "images": images,
        "video": str(video),
        "data_dir": str(data),
        "shard_frames": SHARD_FRAMES,
        "synthetic": synthetic,
        "engine": "flow",
    }


def _unsplit(
    video: Path, folder: Path, case: tuple[str, str, int, str], synthetic: int = 0
) -> dict[str, bytes]:
    """The files of one export in this process (no job, no shards), by relative path."""
    format_name, frames, step, images = case
    options = ExportOptions(frames=frames, step=step, images=images, synthetic=synthetic)  # type: ignore[arg-type]
    settings = Settings(data_dir=folder / "data")
    export_annotations(_annotations(), folder / "out", format_name, options, settings, video=video)
    return _files(folder / "out")


def _files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _unzipped(zip_path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(zip_path.read_bytes())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _images(files: Mapping[str, bytes]) -> list[str]:
    return [name for name in files if name.endswith((".jpg", ".png"))]


@pytest.mark.parametrize("case", CASES)
def test_the_sharded_job_zips_the_files_of_one_unsplit_export(
    local: LocalExecutor, video: Path, tmp_path: Path, case: tuple[str, str, int, str]
) -> None:
    expected = _unsplit(video, tmp_path / "unsplit", case)
    job = local.submit("export", EXPORT_JOB, _params(tmp_path / "job", video, case))
    done = local.wait(job.id, timeout=120)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.result is not None
    shot = len(_images(expected))
    assert shot > 2 * SHARD_FRAMES  # several parts
    assert (done.done, done.total) == (shot, shot)
    exports = tmp_path / "job" / "exports"
    assert _unzipped(exports / done.result["zip"]) == expected
    assert sorted(p.name for p in exports.iterdir()) == [done.result["zip"]]  # no folder left


def test_the_sharded_job_with_synthesised_frames_zips_the_files_of_one_unsplit_export(
    local: LocalExecutor, video: Path, tmp_path: Path
) -> None:
    case = ("coco", "every", 2, "png")
    expected = _unsplit(video, tmp_path / "unsplit", case, synthetic=1)
    made = [name for name in _images(expected) if "_t500" in name]
    assert len(made) > SHARD_FRAMES  # a real frame and the frame made after it may part ways
    params = _params(tmp_path / "job", video, case, synthetic=1)
    job = local.submit("export", EXPORT_JOB, params)
    done = local.wait(job.id, timeout=120)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.result is not None
    assert _unzipped(tmp_path / "job" / "exports" / done.result["zip"]) == expected


class _Part:
    """The context one part sees: its progress goes into the job's sum."""

    def __init__(self, job_id: str, parts: PartProgress, number: int) -> None:
        self.job_id, self._parts, self._number = job_id, parts, number

    def progress(self, done: int, total: int | None = None) -> None:
        self._parts.update(self._number, done, total)

    @property
    def cancelled(self) -> bool:
        return False

    def map(self, target: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        raise AssertionError("a part does not map")


class _TwiceInProcess:
    """A job context that runs each part here twice in a row (as a cluster does when a part's
    worker dies after writing), checking the second run leaves the files as the first did;
    it keeps every progress the job reports (the first runs' summed)."""

    def __init__(self, folder: Path) -> None:
        self.job_id, self.folder = "job1", folder
        self.reports: list[tuple[int, int | None]] = []
        self.parts = 0

    def progress(self, done: int, total: int | None = None) -> None:
        self.reports.append((done, total))

    @property
    def cancelled(self) -> bool:
        return False

    def map(self, target: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        assert target == EXPORT_IMAGES_PART
        summed = PartProgress(len(items), self.progress)
        results = []
        for number, item in enumerate(items):
            first = export_images_part(_Part(self.job_id, summed, number), dict(item))
            written = _files(self.folder)
            unseen = PartProgress(1, lambda done, total: None)  # a rerun's own count
            again = export_images_part(_Part(self.job_id, unseen, 0), dict(item))
            assert (again, _files(self.folder)) == (first, written)
            results.append(first)
        self.parts = len(items)
        return results


def test_parts_run_twice_leave_the_same_files_and_progress_is_summed(
    video: Path, tmp_path: Path
) -> None:
    case = ("coco", "all", 1, "jpg")
    expected = _unsplit(video, tmp_path / "unsplit", case)
    params = _params(tmp_path / "job", video, case)
    context = _TwiceInProcess(tmp_path / "job" / "exports" / "job1")
    result = export_job(context, params)
    shot = len(_images(expected))
    assert context.parts == -(-shot // SHARD_FRAMES)
    assert _unzipped(tmp_path / "job" / "exports" / result["zip"]) == expected
    totals = [total for _, total in context.reports]
    assert max(t for t in totals if t is not None) == shot
    done = [d for d, _ in context.reports]
    assert done == sorted(done)  # each part's images add to the job's, never replace them
    assert context.reports[-1] == (shot, shot)


def test_without_images_the_job_is_one_pass(video: Path, tmp_path: Path) -> None:
    case = ("yolo", "all", 1, "jpg")
    params = {**_params(tmp_path / "job", video, case), "images": None}
    context = _TwiceInProcess(tmp_path / "job" / "exports" / "job1")
    result = export_job(context, params)
    assert context.parts == 0
    assert not _images(_unzipped(tmp_path / "job" / "exports" / result["zip"]))
    assert context.reports == [(0, 2), (2, 2)]


def test_plan_image_shards_sorts_by_frame_and_refuses_an_empty_shard() -> None:
    images = [(9, "b/9.png"), (0, "a/0.png"), (4, "a/4.png")]
    assert plan_image_shards(images, 2) == [[(0, "a/0.png"), (4, "a/4.png")], [(9, "b/9.png")]]
    assert plan_image_shards([], 2) == []
    with pytest.raises(UsageError, match="shard_frames"):
        plan_image_shards(images, 0)


def test_defer_images_lists_what_the_unsplit_export_writes(video: Path, tmp_path: Path) -> None:
    options = ExportOptions(frames="every", step=4, images="png")
    settings = Settings(data_dir=tmp_path / "data")
    listed = export_annotations(
        _annotations(),
        tmp_path / "listed",
        "mot",
        options,
        settings,
        video=video,
        defer_images=True,
    )
    assert not _images(_files(tmp_path / "listed"))
    written = _unsplit(video, tmp_path / "unsplit", ("mot", "every", 4, "png"))
    assert sorted(path for _, path in listed.images) == sorted(_images(written))
    assert [frame for frame, _ in listed.images] == list(range(0, FRAMES, 4))
    shutil.rmtree(tmp_path / "listed")
