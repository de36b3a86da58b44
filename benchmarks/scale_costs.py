"""Per-frame costs at 1080p for the scale benchmark, and the cluster-size projection built on them.

* Input: ``clips/two-people-1080p.mp4`` (real 1920x1080 H.264, 72 frames) remuxed end to end
  several times (packets copied, no re-encoding), so the figures are of real 1080p footage and
  the fixed costs of a video (opening, filmstrip) are spread over a few hundred frames.
* Ingest + keyframe analysis: ``ingest`` then ``analyse_video`` in this process, fresh data
  folder; core-seconds (``time.process_time``: every thread of the process) and wall time.
* Pre-labelling: ``autolabel_file`` end to end (its own decoding pass, the default labeler on
  every 5th frame, tracking, thinning, writing), fresh data folder, OpenCV held to one thread
  (a worker per core, as a packed cluster node runs it); ``autolabel.json`` of the main branch
  (its speed at 1280x720 and its 10-minute 720p run) is quoted beside it.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import cv2

from keyframes_inputs import CLIPS
from remux import remux_copies as remux
from report import git
from tweenlab.autolabel import LabelerOptions
from tweenlab.media import build_index
from tweenlab.services.autolabel import DEFAULT_LABELER, autolabel_file
from tweenlab.services.keyframes import analyse_video
from tweenlab.services.media import ingest
from tweenlab.settings import Settings

Result = dict[str, Any]

HOURS, FPS, DEADLINE_H, EVERY = 100, 30, 24, 5
NODE_CORES = 16
ASSUMPTIONS = (
    "cost = core-seconds (CPU time of every thread) per frame, measured on this machine on real "
    "1080p H.264 (a static indoor scene at a low bitrate, see bitrate_mbit_s): busier or "
    "higher-bitrate footage decodes slower, so leave headroom",
    "ingest writes a proxy (as it does here: the source's keyframes are further apart than "
    "proxy_max_gop); pre-labelling is autolabel_file's own decoding pass, every 5th frame "
    "through the default labeler at its default input size, one OpenCV thread per worker",
    "one worker per core, and the cluster's cores keep the efficiency measured here on 2 cores "
    "(Ray's scheduling past 2 cores, the network and the shared storage are not measured)",
    "enough parts to keep every core busy: 100 h is many videos, and long ones split into "
    "3000-frame spans; CPUs only (a GPU would take most of the pre-labelling share)",
)


def remux_copies(source: Path, copies: int, work: Path) -> Path:
    """``source``'s video packets muxed ``copies`` times end to end (no re-encoding). Cached."""
    target = work / f"{source.stem}-x{copies}.mp4"
    if target.exists():
        return target
    with av.open(str(source)) as probe:
        packets = [p for p in probe.demux(probe.streams.video[0]) if p.pts is not None]
        span = max(p.pts for p in packets) - min(p.pts for p in packets) + int(packets[0].duration)
    return remux(source, target, copies=copies, span=span)


def _timed(action: Callable[[], Any]) -> tuple[Any, float, float]:
    """``action()``, its wall seconds and this process's CPU seconds (all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = action()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def ingest_analysis_cost(video: Path, work: Path) -> Result:
    """Core-seconds and wall seconds per frame of ingest + analysis, fresh data folder."""
    with tempfile.TemporaryDirectory(prefix="hd-", dir=work) as folder:
        settings = Settings(data_dir=Path(folder))
        done, ingest_wall, ingest_cpu = _timed(lambda: ingest(video, settings))
        _, analysis_wall, analysis_cpu = _timed(lambda: analyse_video(video, settings, reuse=False))
    frames = done.info.frame_count
    return {
        "frames": frames,
        "size": f"{done.info.width}x{done.info.height}",
        "bitrate_mbit_s": round(8 * done.info.size_bytes / float(done.info.duration) / 1e6, 2),
        "proxy_written": done.proxy is not None,
        "wall_s": {"ingest": round(ingest_wall, 3), "analysis": round(analysis_wall, 3)},
        "cpu_s": {"ingest": round(ingest_cpu, 3), "analysis": round(analysis_cpu, 3)},
        "ms_per_frame_wall": round(1000 * (ingest_wall + analysis_wall) / frames, 2),
        "core_ms_per_frame": round(1000 * (ingest_cpu + analysis_cpu) / frames, 2),
    }


def prelabel_cost(video: Path, work: Path) -> Result:
    """Core-seconds per frame of ``autolabel_file`` (default labeler, every 5th frame)."""
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with tempfile.TemporaryDirectory(prefix="label-", dir=work) as folder:
            settings = Settings(data_dir=Path(folder))
            build_index(video)  # the model's first load is timed below, the import is not
            report, wall, cpu = _timed(
                lambda: autolabel_file(
                    video,
                    Path(folder) / "out.json",
                    settings,
                    labeler=DEFAULT_LABELER,
                    options=LabelerOptions(),
                    every=EVERY,
                )
            )
    finally:
        cv2.setNumThreads(threads)
    frames = len(build_index(video))
    return {
        "labeler": DEFAULT_LABELER,
        "every": EVERY,
        "opencv_threads": 1,
        "frames": frames,
        "frames_labelled": report.frames_labelled,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "core_ms_per_frame": round(1000 * cpu / frames, 2),
        "core_ms_per_labelled_frame": round(1000 * cpu / report.frames_labelled, 1),
    }


def autolabel_reference() -> Result | None:
    """What the main branch's ``autolabel.json`` measured (``None`` where it has none)."""
    text = git("show", "main:benchmarks/results/autolabel.json")
    if not text:
        return None
    data = json.loads(text)
    speed = data["speed"]["sizes"]["1280x720"][DEFAULT_LABELER]
    target = data["target"]
    return {
        "source": "main:benchmarks/results/autolabel.json (" + data["machine"]["date"] + ")",
        "ms_per_frame_1280x720_default_threads": speed["ms_per_frame"],
        "best_ms_per_frame_1280x720": speed["best_ms_per_frame"],
        "ms_per_1080p_frame_mot17": data["detection"][DEFAULT_LABELER]["ms_per_1080p_frame"],
        "target_720p_every5_cpu_s": target["cpu_s"],
        "target_720p_frames": target["frames"],
        "target_core_ms_per_frame": round(1000 * target["cpu_s"] / target["frames"], 2),
    }


def measure_costs(work: Path, *, quick: bool) -> Result:
    """The 1080p input and its per-frame costs."""
    source = CLIPS / "two-people-1080p.mp4"
    copies = 2 if quick else 5
    video = remux_copies(source, copies, work)
    return {
        "video": str(video),
        "made_from": f"{source} remuxed {copies} times end to end (packets copied)",
        "ingest_analysis": ingest_analysis_cost(video, work),
        "prelabel": prelabel_cost(video, work),
        "autolabel_json": autolabel_reference(),
    }


def cluster_size(core_ms: float, efficiency: float) -> Result:
    """Cores and 16-core machines that do 100 h of 30 fps video in 24 h at ``core_ms`` core-ms
    per frame, each core doing ``efficiency`` of its nominal work."""
    frames = HOURS * 3600 * FPS
    core_seconds = frames * core_ms / 1000
    cores = core_seconds / (DEADLINE_H * 3600 * efficiency)
    return {
        "efficiency": round(efficiency, 3),
        "core_hours": round(core_seconds / 3600, 1),
        "cores": round(cores, 1),
        "machines_16_cores": math.ceil(cores / NODE_CORES),
    }


def project(costs: Result, efficiencies: dict[str, float]) -> Result:
    """The cluster needed for 100 h of 1080p in 24 h, under each efficiency."""
    ingest_ms = costs["ingest_analysis"]["core_ms_per_frame"]
    label_ms = costs["prelabel"]["core_ms_per_frame"]
    frames = HOURS * 3600 * FPS
    return {
        "work": f"{HOURS} h of 1080p at {FPS} fps = {frames:,} frames in {DEADLINE_H} h "
        f"({frames / (DEADLINE_H * 3600):.0f} frames/s sustained)",
        "core_ms_per_frame": {
            "ingest_analysis": ingest_ms,
            "prelabel": label_ms,
            "total": round(ingest_ms + label_ms, 2),
        },
        "assumptions": list(ASSUMPTIONS),
        "by_efficiency": {
            name: {
                "ingest_analysis_only": cluster_size(ingest_ms, value),
                "with_prelabel": cluster_size(ingest_ms + label_ms, value),
            }
            for name, value in efficiencies.items()
        },
    }
