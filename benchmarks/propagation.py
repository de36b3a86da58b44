"""Propagation benchmark: optical flow speed, filling spans, flow cache size and in-between quality.

The machine this runs on is shared and noisy, so each speed is measured next to a peer or a limit
in the same run:

1. Flow: pairs per second of ``FlowCache.compute`` (forward and backward flow of each pair of
   consecutive frames, stored as float16 files) with the seeded DIS (the default: DIS with a
   second candidate for large motion), DIS alone and Farneback, on a 720p
   and a 1080p clip, at ``max_side=1280`` (the default) and at full size. The peer is a bare PyAV
   decode of the same frames, scaled to the same size in grey (the floor of reading them).
2. Filling: ``fill_span(cache, 0, box_a, span, box_b)`` over a 100-frame span once the flow is
   cached, for 1 object (best of 3), and for 20 objects at different places in the frame keyed
   on the same two frames, carried together by ``fill_spans`` (target <= 0.5 s for 20; also
   timed one by one), each with a fresh ``FlowCache`` as a ``tweenlab propagate`` call has (20
   objects together: best and median of 3); next to it, in the same run, the same fill with
   every pair already read whole into memory (the floor: no reading at all), the time to read
   the span's flow whole once as float32 (what a fill costs that reads whole fields, not the
   boxes' regions) and the time of ``inbetween(..., method="linear")`` for the same 20 objects.
3. Memory: bytes on disk per frame pair at the default size on 1080p video (1280x720 flow, the
   cache's float16 ``.npz`` or ``.npy`` files), extrapolated to a minute at 30 fps, next to the
   raw float16 size and the full-size cache; and the peak RSS of this process while filling
   (VmHWM from /proc, reset before filling through ``/proc/self/clear_refs`` where the kernel
   allows it).
4. Quality, the way the project is judged: ``../shared/tools/eval_tracks.py`` on
   ``../shared/data/tracks`` with ``flow=cmd:tweenlab propagate ...`` (``TWEENLAB_DATA_DIR`` set
   to a folder kept for the run, so the flow cache is reused between calls). Per sequence: mean
   IoU at K=20 and the keyframes needed for IoU >= 0.7 (% of frames) for linear and flow, the
   ratio flow / linear. Targets: ratio <= 0.4 and flow mIoU at K=20 >= 0.75. Beside them, two
   oracles that read the ground truth (``track_bounds.py``): true centres with sizes straight
   between the keyframes, and flow's centres with the true sizes; they bound what better
   positions, or better sizes, could save. Then the same measure on harder versions of each
   sequence made from the same footage and ground truth (every 2nd or 3rd frame: faster motion;
   half size: smaller objects; both), reported for the sequences the project is judged on and
   not shown.

Inputs are made at run time from ``../shared/data/clips/testvideo.mp4`` (1280x720): its first
frames re-encoded with libx264 (veryfast, crf 20) at 720p and scaled to 1920x1080, cached in the
work folder.

Run from the repository root::

    python benchmarks/propagation.py            # about 3-6 minutes on 2 cores (part 4: 1-2)
    python benchmarks/propagation.py --quick    # about 1 minute: fewer frames, no part 4
    python benchmarks/propagation.py --parts fill   # parts 2 and 3 alone (about 1-2 minutes)

It prints a table and writes ``benchmarks/results/propagation.json`` (``propagation-quick.json``
with ``--quick``): one object per figure with the numbers, the target and ``pass``. A run of
some ``--parts`` replaces those parts in the file and keeps the others from the earlier run;
each part records when it was measured and the load average around it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from memory import current_rss_mb, peak_rss_mb, reset_peak_rss, status_mb
from propagation_quality import (
    EVAL_TRACKS,
    TRACKS,
    bench_confidence,
    bench_extension,
    bench_quality,
    bench_variants,
    log,
)
from propagation_table import print_table
from report import machine_info as base_machine_info
from tweenlab.media import FrameIndex, build_index
from tweenlab.propagation import FlowCache, fill_span, fill_spans, inbetween
from tweenlab.propagation.flow import DEFAULT_METHOD, FlowPair

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CLIP = SHARED / "data" / "clips" / "testvideo.mp4"
RESULTS = REPO / "benchmarks" / "results"

FPS = 30
PAIRS_PER_MINUTE = 60 * FPS
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
METHODS = ("seeded", "dis", "farneback")
DEFAULT_MAX_SIDE = 1280
OBJECTS = 20
SEED = 7
TARGET_FILL_S = 0.5

Result = dict[str, Any]
Boxes = npt.NDArray[np.float64]


PARTS = ("flow", "fill", "quality")  # fill includes part 3 (memory)


@dataclass(frozen=True)
class Settings:
    """How much work each figure does, and which parts run."""

    quick: bool
    work: Path
    parts: tuple[str, ...] = PARTS
    flow_frames: int = 40
    span: int = 100
    fill_repeats: int = 3

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        parts = tuple(p for p in PARTS if p in args.parts.split(","))
        if args.quick:
            return cls(True, args.work, tuple(p for p in parts if p != "quality"), 10, 30)
        return cls(False, args.work, parts)

    @property
    def clip_frames(self) -> int:
        return max(self.flow_frames, self.span + 1)


# -- inputs ------------------------------------------------------------------------------------


def make_clip(work: Path, name: str, frames: int) -> Path:
    """The first ``frames`` frames of the test clip at ``SIZES[name]``, H.264, cached."""
    width, height = SIZES[name]
    target = work / f"testvideo-{name}-{frames}f.mp4"
    if target.exists():
        return target
    log(f"encoding {target.name}")
    partial = target.with_suffix(".partial.mp4")
    with av.open(str(CLIP)) as source, av.open(str(partial), mode="w") as output:
        stream = output.add_stream("libx264", rate=FPS, options={"crf": "20", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i, frame in enumerate(source.decode(video=0)):
            if i >= frames:
                break
            scaled = frame.reformat(width=width, height=height, format="yuv420p")
            fresh = av.VideoFrame.from_ndarray(scaled.to_ndarray(), format="yuv420p")
            fresh.pts, fresh.time_base = i, Fraction(1, FPS)
            output.mux(stream.encode(fresh))
        output.mux(stream.encode(None))
    partial.rename(target)
    return target


# -- 1. flow -----------------------------------------------------------------------------------


def bare_decode_seconds(video: Path, frames: int, size: tuple[int, int]) -> float:
    """Decode the first ``frames`` frames with PyAV, scaled to ``size`` in grey (the floor)."""
    started = time.perf_counter()
    with av.open(str(video)) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_type = "AUTO"
        for i, frame in enumerate(container.decode(stream)):
            if i >= frames:
                break
            frame.reformat(width=size[0], height=size[1], format="gray").to_ndarray()
    return time.perf_counter() - started


def time_compute(
    video: Path, index: FrameIndex, folder: Path, frames: int, **options: Any
) -> Result:
    """``FlowCache(**options).compute`` over the first ``frames`` frames, from empty, timed."""
    cache = FlowCache(video, index, folder, **options)
    shutil.rmtree(cache.folder, ignore_errors=True)
    started = time.perf_counter()
    cache.compute(0, frames - 1)
    seconds = time.perf_counter() - started
    decode = bare_decode_seconds(video, frames, cache.size)
    pairs = frames - 1
    return {
        "method": options["method"],
        "max_side": options["max_side"],
        "flow_size": f"{cache.size[0]}x{cache.size[1]}",
        "pairs": pairs,
        "seconds": round(seconds, 3),
        "pairs_per_s": round(pairs / seconds, 2),
        "x_real_time_at_30fps": round(pairs / seconds / FPS, 3),
        "peer_bare_decode_s": round(decode, 3),
        "peer_bare_decode_fps": round(frames / decode, 1),
        "decode_share": round(decode / seconds, 3),
    }


def bench_flow(clips: dict[str, tuple[Path, FrameIndex]], settings: Settings, run: Path) -> Result:
    """Figure 1: every clip x estimator x size (at 720p the default size is the full size)."""
    rows = []
    for name, (video, index) in clips.items():
        for method in METHODS:
            for side in sorted({DEFAULT_MAX_SIDE, max(SIZES[name])}):
                log(f"flow: {name} {method} max_side={side}")
                timed = time_compute(
                    video, index, run / name, settings.flow_frames, method=method, max_side=side
                )
                rows.append({"clip": name} | timed)
    return {"frames": settings.flow_frames, "rows": rows, "target": None, "pass": None}


# -- 2. filling --------------------------------------------------------------------------------


def make_boxes(count: int, size: tuple[int, int], seed: int = SEED) -> list[tuple[Boxes, Boxes]]:
    """Keyframe boxes A and B for ``count`` objects spread over a 5 x 4 grid of the frame."""
    rng = np.random.default_rng(seed)
    width, height = size
    made = []
    for i in range(count):
        column, row = i % 5, (i // 5) % 4
        w, h = rng.uniform(0.03, 0.12) * width, rng.uniform(0.05, 0.2) * height
        cx = (column + 0.5) * width / 5 + rng.uniform(-0.02, 0.02) * width
        cy = (row + 0.5) * height / 4 + rng.uniform(-0.02, 0.02) * height
        a = np.array([cx - w / 2, cy - h / 2, w, h])
        dx, dy = rng.uniform(-0.03, 0.03, 2) * np.array([width, height])
        scale = rng.uniform(0.9, 1.1)
        made.append((a, np.array([a[0] + dx, a[1] + dy, w * scale, h * scale])))
    return made


SMALL_SIDE = 29  # px at the flow's size: under 40, so followed by its own points


def make_small_boxes(boxes: list[tuple[Boxes, Boxes]], side: float) -> list[tuple[Boxes, Boxes]]:
    """``boxes`` as squares of ``side`` px (video pixels) on the same centres (drone footage:
    many small objects, each followed by its own points rather than the cached flow)."""

    def square(box: Boxes) -> Boxes:
        centre = box[:2] + box[2:] / 2
        return np.array([*(centre - side / 2), side, side])

    return [(square(a), square(b)) for a, b in boxes]


def seconds_of(work: Any) -> float:
    """Wall time of calling ``work()``."""
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def read_whole(cache: FlowCache, span: int) -> None:
    """Read the flow of every pair in the span whole, once, as float32, each dropped before the
    next: what a fill costs if it reads whole fields rather than the boxes' regions."""
    for n in range(span):
        pair = cache.pair(n)
        np.asarray(pair.forward, dtype=np.float32)
        np.asarray(pair.backward, dtype=np.float32)


def in_memory(cache: FlowCache, span: int) -> FlowCache:
    """``cache`` with every pair of the span read whole into memory beforehand (not timed)."""
    for n in range(span):
        pair = cache.pair(n)
        cache._open[n] = FlowPair(np.array(pair.forward), np.array(pair.backward))
    return cache


def fill_together(cache: FlowCache, boxes: list[tuple[Boxes, Boxes]], span: int) -> float:
    """Wall time of ``fill_spans`` over ``0 .. span`` for all the objects at once."""
    starts, ends = np.array([a for a, _ in boxes]), np.array([b for _, b in boxes])
    return seconds_of(lambda: fill_spans(cache, 0, starts, span, ends))


def fill_seconds(cache: FlowCache, boxes: list[tuple[Boxes, Boxes]], span: int) -> float:
    """Wall time of ``fill_span`` over ``0 .. span`` for each object, one after the other."""
    started = time.perf_counter()
    for a, b in boxes:
        fill_span(cache, 0, a, span, b)
    return time.perf_counter() - started


def bench_fill(video: Path, index: FrameIndex, folder: Path, settings: Settings) -> Result:
    """Figure 2 (and 3's peak RSS): fill a span for 1 and for 20 objects from cached flow.

    Each timing but ``one_object_reused_s`` gets a ``FlowCache`` of its own (made beforehand, not
    timed), as a ``tweenlab propagate`` call does, so nothing it opened earlier is reused; the
    ones used are dropped (their memory maps closed) before the peak RSS is measured."""
    span, cache = settings.span, FlowCache(video, index, folder)
    log(f"fill: caching the flow of frames 0..{span} ({cache.size[0]}x{cache.size[1]})")
    cache_s = seconds_of(lambda: cache.compute(0, span))
    boxes = make_boxes(OBJECTS, cache.video_size)
    load_start = [round(v, 2) for v in os.getloadavg()]
    fresh = [FlowCache(video, index, folder) for _ in range(settings.fill_repeats + 3)]
    log(f"fill: {span}-frame span, 1 object x {settings.fill_repeats}, then {OBJECTS} objects")
    one = [fill_seconds(fresh.pop(), boxes[:1], span) for _ in range(settings.fill_repeats - 1)]
    one.append(fill_seconds(fresh[-1], boxes[:1], span))
    reused = fill_seconds(fresh.pop(), boxes[:1], span)  # the caches used so far are closed
    peak_before, rss_before, reset = peak_rss_mb(), current_rss_mb(), reset_peak_rss()
    many = fill_seconds(fresh.pop(), boxes, span)
    peak, anon = peak_rss_mb(), status_mb("RssAnon:")
    together, floor = [], []
    for _ in range(settings.fill_repeats):  # alternated, so both see the same load
        together.append(fill_together(FlowCache(video, index, folder), boxes, span))
        floor.append(fill_together(in_memory(FlowCache(video, index, folder), span), boxes, span))
    small = make_small_boxes(boxes, SMALL_SIDE / cache.scale)
    small_runs = [
        fill_together(FlowCache(video, index, folder), small, span)
        for _ in range(settings.fill_repeats)
    ]
    whole = seconds_of(lambda: read_whole(fresh.pop(), span))
    linear = seconds_of(
        lambda: [
            inbetween(span + 1, {0: tuple(a), span: tuple(b)}, None, method="linear")
            for a, b in boxes
        ]
    )
    return {
        "video": f"{cache.video_size[0]}x{cache.video_size[1]}",
        "flow_size": f"{cache.size[0]}x{cache.size[1]}",
        "span_frames": span,
        "caching_flow_s": round(cache_s, 2),
        "one_object_s": [round(s, 4) for s in one],
        "one_object_best_s": round(min(one), 4),
        "one_object_reused_s": round(reused, 4),
        "objects": OBJECTS,
        "objects_one_by_one_s": round(many, 3),
        "objects_runs_s": [round(s, 3) for s in together],
        "objects_best_s": round(min(together), 3),
        "objects_s": round(float(np.median(together)), 3),
        "small_objects_side_flow_px": SMALL_SIDE,
        "small_objects_runs_s": [round(s, 3) for s in small_runs],
        "small_objects_s": round(float(np.median(small_runs)), 3),
        "peer_objects_flow_in_memory_runs_s": [round(s, 3) for s in floor],
        "peer_objects_flow_in_memory_s": round(float(np.median(floor)), 3),
        "peer_read_span_whole_once_s": round(whole, 3),
        "peer_linear_objects_s": round(linear, 5),
        "rss_before_fill_mb": round(rss_before, 1),
        "peak_rss_before_fill_mb": round(peak_before, 1),
        "peak_rss_reset": reset,
        "peak_rss_during_fill_mb": round(peak, 1),
        "rss_anon_after_fill_mb": round(anon, 1),
        "load_average_start": load_start,
        "load_average_end": [round(v, 2) for v in os.getloadavg()],
        "target": f"<= {TARGET_FILL_S} s for {OBJECTS} objects (median of {len(together)})",
        "pass": bool(np.median(together) <= TARGET_FILL_S),
    }


# -- 3. memory ---------------------------------------------------------------------------------


def cache_bytes(folder: Path) -> Result:
    """Bytes on disk per frame pair of one flow cache folder (the pair's flow and its frame in
    grey, kept for matching small objects), and per minute at 30 fps."""
    files = [p for p in folder.iterdir() if p.suffix in {".npz", ".npy"} and p.stem.isdigit()]
    greys = [p for p in folder.iterdir() if p.name.startswith("grey-")]
    sizes = [p.stat().st_size for p in files]
    width, height = (int(v) for v in folder.name.rsplit("-", 1)[1].split("x"))
    grey = float(np.mean([p.stat().st_size for p in greys])) if greys else 0.0
    per_pair = float(np.mean(sizes)) + grey
    return {
        "folder": folder.name,
        "file_type": sorted({p.suffix for p in files}),
        "pairs": len(sizes),
        "grey_bytes_per_frame": round(grey),
        "bytes_per_pair": round(per_pair),
        "raw_float16_bytes_per_pair": width * height * 2 * 2 * 2,  # 2 flows x (dx, dy) x 2 B
        "mb_per_minute": round(per_pair * PAIRS_PER_MINUTE / 1e6, 1),
    }


def bench_memory(folder: Path, fill: Result) -> Result:
    """Figure 3: cache size at the default size (and at full size, the peer) on 1080p."""
    default = cache_bytes(folder / f"flow-{DEFAULT_METHOD}-{fill['flow_size']}")
    full = [
        cache_bytes(p)
        for p in sorted(folder.glob(f"flow-{DEFAULT_METHOD}-*"))
        if p.name != default["folder"]
    ]
    return {
        "video": fill["video"],
        "default": default,
        "full_size": full[0] if full else None,
        "peak_rss_during_fill_mb": fill["peak_rss_during_fill_mb"],
        "target": None,
        "pass": None,
    }


# -- report ------------------------------------------------------------------------------------


def machine_info() -> Result:
    """What the figures were measured on."""
    return base_machine_info(
        opencv=cv2.__version__,
        opencv_threads=cv2.getNumThreads(),
        av=av.__version__,
        numpy=np.__version__,
    )


def run(settings: Settings) -> Result:
    """Make the inputs and measure the figures (flow caches live in a folder kept for the run)."""
    settings.work.mkdir(parents=True, exist_ok=True)
    results: Result = {"mode": "quick" if settings.quick else "full", "machine": machine_info()}
    clips = {}
    for name in SIZES:
        video = make_clip(settings.work, name, settings.clip_frames)
        clips[name] = (video, build_index(video))
    results["inputs"] = {"clip": str(CLIP), "made": {n: str(v) for n, (v, _) in clips.items()}}
    with tempfile.TemporaryDirectory(prefix="run-", dir=settings.work) as folder:
        run_dir = Path(folder)
        if "flow" in settings.parts:
            results["flow"] = bench_flow(clips, settings, run_dir)
        if "fill" in settings.parts:
            results["fill"] = bench_fill(*clips["1080p"], run_dir / "1080p", settings)
            results["memory"] = bench_memory(run_dir / "1080p", results["fill"])
        if "quality" in settings.parts:
            results["quality"] = bench_quality(run_dir)
            results["quality"]["harder_variants"] = bench_variants(run_dir, settings.work)
            folders = [
                (TRACKS, run_dir / "eval-data"),
                (settings.work / "track-variants", run_dir / "eval-variants-data"),
            ]
            results["quality"]["extension"] = bench_extension(folders)
            results["quality"]["confidence"] = bench_confidence(folders)
    results["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    for key in ("flow", "fill", "memory", "quality"):
        if key in results:
            results[key]["machine"] = results["machine"]
    return results


def merged(output: Path, results: Result, parts: tuple[str, ...]) -> Result:
    """``results`` of some parts over the earlier run's file: each part keeps the ``machine``
    (date, load, commit) it was measured on."""
    if set(parts) == set(PARTS) or not output.exists():
        whole = results
    else:
        whole = json.loads(output.read_text()) | {
            k: v for k, v in results.items() if k in ("flow", "fill", "memory", "quality")
        }
        whole["machine_last_run"] = results["machine"]
        earlier = json.loads(output.read_text()).get("memory", {})
        if "memory" in results and not results["memory"]["full_size"]:  # made by part 1 only
            whole["memory"]["full_size"] = earlier.get("full_size")
            whole["memory"]["full_size_measured"] = earlier.get("machine", {}).get("date")
    judged = [whole[k]["pass"] for k in ("fill", "quality") if k in whole]
    whole["all_pass"] = all(judged)
    return whole


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer frames, no quality run")
    parser.add_argument("--work", type=Path, default=Path("/tmp/tweenlab-bench-propagation"))
    parser.add_argument(
        "--parts",
        default=",".join(PARTS),
        help=f"comma-separated, of {', '.join(PARTS)} (fill includes the cache size)",
    )
    args = parser.parse_args(argv)
    missing = [p for p in (CLIP, TRACKS, EVAL_TRACKS) if not p.exists()]
    if missing:
        print(f"error: missing {', '.join(map(str, missing))} (../shared)", file=sys.stderr)
        return 1
    settings = Settings.from_args(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / ("propagation-quick.json" if settings.quick else "propagation.json")
    results = merged(output, run(settings), settings.parts)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"results: {output.relative_to(REPO)}")
    return 0 if results["all_pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
