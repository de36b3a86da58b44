"""Speed half of the auto-labelling benchmark: each labeler's frames/s next to the decoding
floor, and the end-to-end target on a long 720p video.

* Speed inputs: the first frames of ``../shared/data/clips/two-people-1080p.mp4`` (two people
  indoors, faces visible, so every labeler has work) scaled by swscale to 640x360 and 1280x720
  and encoded with libx264 (veryfast, crf 20) into the work folder. Each labeler is built once
  and warmed up on two frames of each size; then ``detect`` runs over the frames one call a
  frame (every built-in has ``batch_size`` 1), the runs alternating between the sizes, and the
  median of the runs counts. ``motion`` is sequential: it gets a fresh background model each run,
  and its first 30 frames (the warm-up) give no boxes. The floor is a bare PyAV decode of the
  same frames to RGB (``thread_type="AUTO"``), run before each labeler run.
* The target video: ``clips/testvideo.mp4`` (1280x720 H.264, 720 frames, 29.97 fps) remuxed end
  to end without re-encoding (packets copied, pts/dts shifted by one copy's span) until it lasts
  the wanted time; a last partial copy is cut just before one of the source's keyframes (its
  GOPs are closed, so every packet before the keyframe in decode order is a whole frame). The
  frame count is checked with tweenlab's own index. Cached in the work folder.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from remux import remux_copies
from tweenlab.autolabel import Labeler, LabelerOptions
from tweenlab.media import FrameIndex, build_index
from tweenlab.services.autolabel import autolabel_file, make_labeler
from tweenlab.settings import Settings

Result = dict[str, Any]
RGB = npt.NDArray[np.uint8]

SPEED_LABELERS = ("yolov3-tiny", "mtcnn", "hog-people", "motion")
SPEED_SIZES = ((640, 360), (1280, 720))
TARGET_LABELER, TARGET_EVERY, TARGET_SECONDS = "yolov3-tiny", 5, 600.0


def log(message: str) -> None:
    """Progress, on stderr (the table goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- speed per labeler ----------------------------------------------------------------------


def make_speed_input(source: Path, size: tuple[int, int], frames: int, work: Path) -> Path:
    """The first ``frames`` frames of ``source`` scaled to ``size`` as H.264; cached."""
    width, height = size
    target = work / f"{source.stem}-{width}x{height}-{frames}f.mp4"
    if target.exists():
        return target
    partial = target.with_suffix(".partial.mp4")
    with av.open(str(source)) as container, av.open(str(partial), mode="w") as output:
        stream = output.add_stream("libx264", rate=Fraction(30), options={"crf": "20"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.options = {"preset": "veryfast", "crf": "20"}
        for number, frame in enumerate(container.decode(video=0)):
            if number == frames:
                break
            scaled = frame.reformat(width=width, height=height, format="yuv420p")
            scaled.pts = None
            output.mux(stream.encode(scaled))
        output.mux(stream.encode(None))
    partial.rename(target)
    return target


def decode_rgb(path: Path) -> tuple[list[RGB], float]:
    """Every frame of ``path`` as RGB, and the seconds the decoding loop took (the floor; the
    container is opened before the clock starts)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        started = time.perf_counter()
        images = [
            np.asarray(f.to_ndarray(format="rgb24"), dtype=np.uint8)
            for f in container.decode(stream)
        ]
        return images, time.perf_counter() - started


def _one_pass(labeler: Labeler, name: str, images: Sequence[RGB]) -> tuple[float, int]:
    """Seconds of ``detect`` over ``images`` (one call a frame) and the boxes found."""
    if labeler.sequential:
        labeler = make_labeler(name, LabelerOptions())  # a fresh background model
    started = time.perf_counter()
    found = [labeler.detect([image])[0] for image in images]
    return time.perf_counter() - started, sum(len(f) for f in found)


def _row(seconds: list[float], frames: int, decode: float, boxes: int) -> Result:
    median = statistics.median(seconds)
    return {
        "fps": round(frames / median, 2),
        "ms_per_frame": round(1000 * median / frames, 1),
        "best_ms_per_frame": round(1000 * min(seconds) / frames, 1),
        "seconds": [round(s, 3) for s in seconds],
        "boxes_last_run": boxes,
        "fps_with_decode": round(frames / (median + decode), 2),
    }


def bench_speed(source: Path, work: Path, frames: int, runs: int) -> Result:
    """Frames/s of each labeler at each size, next to the decoding floor of the same frames.

    Each labeler is built once and warmed up at both sizes; then its runs alternate between
    the sizes (and decoding runs between the labelers), so a burst of load from another job
    hits both sizes alike."""
    videos = {f"{w}x{h}": make_speed_input(source, (w, h), frames, work) for w, h in SPEED_SIZES}
    images = {size: decode_rgb(video)[0] for size, video in videos.items()}
    decode: dict[str, list[float]] = {size: [] for size in videos}
    rows: dict[str, Result] = {size: {} for size in videos}
    for name in SPEED_LABELERS:
        log(f"speed: {name}")
        labeler = make_labeler(name, LabelerOptions())
        for size in videos:  # warm-up: network set-up, allocations (motion: one video each)
            warm = make_labeler(name, LabelerOptions()) if labeler.sequential else labeler
            warm.detect(list(images[size][:2]))
        seconds: dict[str, list[float]] = {size: [] for size in videos}
        boxes = dict.fromkeys(videos, 0)
        for _ in range(runs):
            for size, video in videos.items():
                decode[size].append(decode_rgb(video)[1])
                took, boxes[size] = _one_pass(labeler, name, images[size])
                seconds[size].append(took)
        for size in videos:
            floor = statistics.median(decode[size])
            rows[size][name] = _row(seconds[size], len(images[size]), floor, boxes[size])
    sizes = {
        size: {"decode_fps": round(len(images[size]) / statistics.median(decode[size]), 1), **r}
        for size, r in rows.items()
    }
    return {"source": str(source), "frames": frames, "runs": runs, "sizes": sizes}


# -- the 10-minute target -------------------------------------------------------------------


def _keyframes_and_span(source: Path) -> tuple[list[int], int]:
    """Decode positions of the source's keyframes and one copy's span (stream time base)."""
    with av.open(str(source)) as container:
        rows = [
            (p.pts, p.is_keyframe, p.duration)
            for p in container.demux(container.streams.video[0])
            if p.size and p.pts is not None
        ]
    span = max(r[0] for r in rows) - min(r[0] for r in rows) + int(rows[0][2] or 0)
    return [i for i, r in enumerate(rows) if r[1]], span


def _duration(index: FrameIndex) -> float:
    """Seconds from the first frame's start to the last frame's end."""
    last = int(np.median(np.diff(index.pts))) if len(index) > 1 else 0
    return float((int(index.pts[-1]) - int(index.pts[0]) + last) * index.time_base)


def make_long(source: Path, seconds: float, work: Path) -> tuple[Path, int]:
    """``source`` remuxed end to end (no re-encoding) to about ``seconds``; the path and the
    frame count it must have. Cached."""
    index = build_index(source)
    per_copy = len(index)
    copies, rest = divmod(round(seconds * per_copy / _duration(index)), per_copy)
    keyframes, span = _keyframes_and_span(source)
    cut = min([*keyframes, per_copy], key=lambda k: abs(k - rest))
    copies, cut = (copies + 1, 0) if cut == per_copy else (copies, cut)
    frames = copies * per_copy + cut
    target = work / f"{source.stem}-{frames}f.mp4"
    if target.exists():
        return target, frames
    log(f"remuxing {copies} copies + {cut} frames of {source.name} into {target}")
    remux_copies(source, target, copies=copies, span=span, rest=cut)
    return target, frames


def _progress() -> Any:
    marks: set[int] = set()

    def report(task: str, done: int, total: int) -> None:
        tenth = 10 * done // max(total, 1)
        if tenth not in marks:
            marks.add(tenth)
            log(f"  {task} {done}/{total}")

    return report


def bench_target(source: Path, seconds: float, work: Path) -> Result:
    """Time ``autolabel_file`` (default labeler, every 5th frame, fresh data folder so the index
    is built too) on a ``seconds``-long 720p video; extrapolated to 10 minutes when shorter."""
    video, expected = make_long(source, seconds, work)
    started = time.perf_counter()
    index = build_index(video)
    index_seconds = time.perf_counter() - started
    if len(index) != expected:
        raise RuntimeError(f"{video} indexes {len(index)} frames, {expected} expected")
    duration = _duration(index)
    with tempfile.TemporaryDirectory(prefix="autolabel-", dir=work) as folder:
        settings = Settings(data_dir=Path(folder) / "data")
        log(f"target: autolabel_file {video.name} ({len(index)} frames, {duration:.1f} s)")
        load = os.getloadavg()
        wall, cpu = time.perf_counter(), time.process_time()
        report = autolabel_file(
            video,
            Path(folder) / "out.json",
            settings,
            labeler=TARGET_LABELER,
            options=LabelerOptions(),
            every=TARGET_EVERY,
            report=_progress(),
        )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    extrapolated = duration < TARGET_SECONDS
    projected = wall * TARGET_SECONDS / duration if extrapolated else wall
    return {
        "video": str(video),
        "made_from": f"{source} remuxed (packets copied, no re-encoding)",
        "frames": len(index),
        "duration_s": round(duration, 3),
        "index_seconds_alone": round(index_seconds, 2),
        "labeler": TARGET_LABELER,
        "every": TARGET_EVERY,
        "frames_labelled": report.frames_labelled,
        "tracks": len(report.prelabels.tracks),
        "detections": report.prelabels.detections,
        "keyframes": report.prelabels.keyframes,
        "wall_s": round(wall, 1),
        "cpu_s": round(cpu, 1),
        "cores_busy": round(cpu / wall, 2),
        "load_average_before": [round(v, 2) for v in load],
        "labelled_fps": round(report.frames_labelled / wall, 2),
        "video_seconds_per_wall_second": round(duration / wall, 3),
        "extrapolated": extrapolated,
        "wall_s_for_10_minutes": round(projected, 1),
        "target": f"a 10-minute 720p video, every {TARGET_EVERY}th frame, {TARGET_LABELER}, "
        f"end to end in < {TARGET_SECONDS:.0f} s",
        "pass": projected < TARGET_SECONDS,
    }
