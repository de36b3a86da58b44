"""Inputs of the keyframes benchmark, made at run time from ``../shared`` (never copied).

* ``cuts_dev.mp4`` and ``clips/bikes.mp4`` are read in place with their ground truth.
* ``alt.mp4``: a second test video built by ``../shared/tools/make_cuts_video.py`` itself, with
  the segment list and dissolves below put in place of its own (other clips, other source
  frames, other order, 20-frame cross-fades), so the boundaries and hard negatives differ from
  cuts_dev's. The tool is loaded from its file and its ``main`` run; nothing of it is copied.
* ``wipes.mp4`` and ``wipes2.mp4``: real clips joined by the other gradual transitions a user's
  footage has and make_cuts_video.py does not make: wipes (left to right, right to left, top
  to bottom, diagonal; 12-25 frames), fades through black (16-24 frames), and dissolves of 10
  to 30 frames, besides hard cuts. Segments are read and fitted to 640x360 at 25 fps by the
  tool's own ``read_segment`` and ``to_canvas``; the ground truth is in its format (type
  ``wipe`` / ``fade`` / ``dissolve`` / ``hard``, each gradual one spanning its mixed frames;
  a fade's span runs from the first darkened frame to the last).
* ``cuts_dev-1080p.mp4``: cuts_dev scaled to 1920x1080 (swscale bicubic, libx264 veryfast,
  crf 20); its ground truth is cuts_dev's (the same frames, in the same order).

Everything is cached in the work folder, so later runs skip making it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import av
import numpy as np

from tweenlab.media import build_index

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TOOLS = SHARED / "tools"
CUTS = SHARED / "data" / "cuts"
CLIPS = SHARED / "data" / "clips"

ALT_FADE = 20
ALT_DISSOLVES = {1, 4, 7}  # boundary i joins ALT_SEGMENTS[i] and ALT_SEGMENTS[i + 1]
ALT_SEGMENTS = [
    {"src": "clips/box.mp4", "start": 200, "n": 80, "tags": ["object motion"]},
    {"src": "clips/basketball-handheld.mp4", "start": 0, "n": 120, "tags": ["fast_motion"]},
    {"src": "clips/bottle-detection.mp4", "start": 500, "n": 100, "tags": ["static camera"]},
    {"src": "tracks/vot-bag/video.mp4", "start": 100, "n": 90, "tags": ["fast_motion"]},
    {"src": "clips/vtest.avi", "start": 400, "n": 100, "tags": ["static camera"]},
    {"src": "clips/bikes.mp4", "start": 78, "n": 55, "tags": ["live action"]},  # shot 76-136
    {"src": "clips/testvideo.mp4", "start": 40, "n": 100, "tags": ["static photo"]},
    {"src": "clips/car-detection.mp4", "start": 200, "n": 100, "tags": ["static camera"]},
    {"src": "tracks/uav123-wakeboard7/video.mp4", "start": 10, "n": 120, "tags": ["fast_motion"]},
    {"src": "clips/bgs-traffic-topdown.avi", "start": 150, "n": 90, "tags": ["static camera"]},
    {"src": "clips/two-people-1080p.mp4", "start": 0, "n": 50, "tags": ["indoor"]},
]
HD = (1920, 1080)

# (source, first frame, output frames, tags) per shot, and the boundary after each shot but the
# last: (kind, frames); wipes2 has other clips, lengths and order than wipes
WIPES: dict[str, tuple[list[tuple[str, int, int, list[str]]], list[tuple[str, int]]]] = {
    "wipes": (
        [
            ("clips/car-detection.mp4", 250, 80, ["static camera"]),
            ("clips/box.mp4", 300, 70, ["object motion"]),
            ("clips/vtest.avi", 600, 90, ["static camera"]),
            ("tracks/uav123-wakeboard7/video.mp4", 0, 100, ["fast_motion"]),
            ("clips/bottle-detection.mp4", 800, 80, ["static camera"]),
            ("clips/basketball-handheld.mp4", 150, 90, ["fast_motion"]),
            ("clips/bgs-traffic-topdown.avi", 250, 80, ["static camera"]),
            ("tracks/vot-bag/video.mp4", 60, 100, ["fast_motion"]),
            ("clips/testvideo.mp4", 240, 75, ["static photo"]),
            ("clips/bikes.mp4", 190, 50, ["live action"]),
            ("clips/two-people-1080p.mp4", 5, 60, ["indoor"]),
        ],
        [
            ("wipe_right", 15),
            ("fade", 24),
            ("wipe_down", 12),
            ("dissolve", 30),
            ("hard", 0),
            ("wipe_left", 20),
            ("fade", 16),
            ("wipe_diagonal", 15),
            ("dissolve", 10),
            ("hard", 0),
        ],
    ),
    "wipes2": (
        [
            ("clips/vtest.avi", 200, 90, ["static camera"]),
            ("clips/bikes.mp4", 80, 50, ["live action"]),
            ("clips/box.mp4", 100, 80, ["object motion"]),
            ("clips/car-detection.mp4", 40, 90, ["static camera"]),
            ("tracks/vot-bag/video.mp4", 120, 70, ["fast_motion"]),
            ("clips/bgs-traffic-topdown.avi", 30, 90, ["static camera"]),
            ("clips/bottle-detection.mp4", 300, 80, ["static camera"]),
            ("tracks/uav123-wakeboard7/video.mp4", 20, 90, ["fast_motion"]),
            ("clips/basketball-handheld.mp4", 10, 80, ["fast_motion"]),
            ("clips/two-people-1080p.mp4", 0, 60, ["indoor"]),
        ],
        [
            ("wipe_down", 20),
            ("hard", 0),
            ("wipe_right", 25),
            ("fade", 20),
            ("dissolve", 25),
            ("wipe_diagonal", 20),
            ("hard", 0),
            ("wipe_left", 15),
            ("dissolve", 20),
        ],
    ),
}


@dataclass(frozen=True)
class TestVideo:
    """A video with its ground-truth file (``eval_cuts.py``'s format)."""

    name: str
    path: Path
    gt: Path
    frames: int


def log(message: str) -> None:
    """Progress, on stderr (the table goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def load_tool(name: str) -> ModuleType:
    """A script of ``../shared/tools`` imported as a module (read in place)."""
    spec = importlib.util.spec_from_file_location(f"shared_{name}", TOOLS / f"{name}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {TOOLS / name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def frame_count(path: Path) -> int:
    """Frames of ``path`` as the media core counts them (its frame index)."""
    return len(build_index(path))


def make_alt(work: Path) -> Path:
    """The second cut test video (and its ``.gt.json``), built by make_cuts_video.py."""
    target = work / "alt.mp4"
    if target.exists() and target.with_suffix(".gt.json").exists():
        return target
    log(f"building {target.name} with make_cuts_video.py (about 30 s)")
    tool = load_tool("make_cuts_video")
    tool.SEGMENTS = [dict(s, why="single shot") for s in ALT_SEGMENTS]
    tool.DISSOLVES = ALT_DISSOLVES
    tool.FADE = ALT_FADE
    argv, sys.argv = sys.argv, ["make_cuts_video.py", "--out", str(target)]
    try:
        tool.main()
    finally:
        sys.argv = argv
    return target


def _mixed(before: Any, after: Any, kind: str, share: float) -> Any:
    """One frame of a dissolve or wipe from ``before`` to ``after``, ``share`` of the way."""
    height, width = before.shape[:2]
    if kind == "dissolve":
        blend = (1 - share) * before.astype(np.float32) + share * after.astype(np.float32)
        return np.rint(blend).astype(np.uint8)
    rows, columns = np.mgrid[0:height, 0:width]
    covered = {
        "wipe_right": columns < share * width,
        "wipe_left": columns >= (1 - share) * width,
        "wipe_down": rows < share * height,
        "wipe_diagonal": (columns / width + rows / height) / 2 < share,
    }[kind]
    return np.where(covered[..., None], after, before)


def make_wipes(work: Path, name: str) -> Path:
    """A test video with wipes, fades through black and dissolves (see ``WIPES``) and its
    ``.gt.json``."""
    target = work / f"{name}.mp4"
    gt_path = target.with_suffix(".gt.json")
    if target.exists() and gt_path.exists():
        return target
    log(f"building {target.name} (about 20 s)")
    tool = load_tool("make_cuts_video")
    shots, joins = WIPES[name]
    parts = []
    for source, first, count, _ in shots:
        frames, _, _ = tool.read_segment(str(SHARED / "data" / source), first, count)
        parts.append([tool.to_canvas(f) for f in frames])
    frames, cuts, starts = list(parts[0]), [], [0]
    for (kind, length), incoming in zip(joins, parts[1:], strict=True):
        if kind == "hard":
            cuts.append(
                {"frame": len(frames), "type": "hard", "start": len(frames), "end": len(frames)}
            )
            starts.append(len(frames))
            frames += incoming
            continue
        if kind == "fade":  # out to black over the outgoing shot's end, in over the next's start
            half, start = length // 2, len(frames) - length // 2
            for i in range(half):
                frames[start + i] = np.rint(frames[start + i] * (1 - (i + 1) / (half + 1))).astype(
                    np.uint8
                )
                incoming[i] = np.rint(incoming[i] * ((i + 1) / (half + 1))).astype(np.uint8)
            end = len(frames) + half - 1
            cuts.append({"frame": len(frames), "type": "fade", "start": start, "end": end})
            starts.append(len(frames))
            frames += incoming
            continue
        start = len(frames) - length
        for i in range(length):
            frames[start + i] = _mixed(frames[start + i], incoming[i], kind, (i + 1) / (length + 1))
        kind_name = kind.split("_")[0]
        cuts.append(
            {
                "frame": start + length // 2,
                "type": kind_name,
                "start": start,
                "end": start + length - 1,
            }
        )
        starts.append(start)
        frames += incoming[length:]
    segments = [
        {
            "index": i,
            "src": source,
            "tags": tags,
            "out_start": starts[i],
            "out_end": (starts[i + 1] - 1) if i + 1 < len(starts) else len(frames) - 1,
        }
        for i, (source, _, _, tags) in enumerate(shots)
    ]
    partial = target.with_suffix(".partial.mp4")
    with av.open(str(partial), mode="w") as output:
        stream = output.add_stream("libx264", rate=25, options={"crf": "18", "preset": "medium"})
        stream.width, stream.height, stream.pix_fmt = tool.W, tool.H, "yuv420p"
        for frame in frames:
            output.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        output.mux(stream.encode(None))
    gt = {
        "video": str(target),
        "fps": 25,
        "n_frames": len(frames),
        "cuts": cuts,
        "segments": segments,
        "builder": "benchmarks/keyframes_inputs.py make_wipes",
    }
    gt_path.write_text(json.dumps(gt, indent=1))
    partial.rename(target)
    return target


def make_hd(work: Path, frames: int | None) -> Path:
    """cuts_dev (its first ``frames`` frames, or all) scaled to 1920x1080, H.264."""
    source = CUTS / "cuts_dev.mp4"
    target = work / f"cuts_dev-1080p{'' if frames is None else f'-{frames}f'}.mp4"
    if target.exists():
        return target
    log(f"encoding {target.name} (about 1 minute)")
    partial = target.with_suffix(".partial.mp4")
    with av.open(str(source)) as container, av.open(str(partial), mode="w") as output:
        stream = output.add_stream("libx264", rate=25, options={"crf": "20", "preset": "veryfast"})
        stream.width, stream.height, stream.pix_fmt = *HD, "yuv420p"
        for i, frame in enumerate(container.decode(video=0)):
            if frames is not None and i >= frames:
                break
            scaled = frame.reformat(
                width=HD[0], height=HD[1], format="yuv420p", interpolation="BICUBIC"
            )
            fresh = av.VideoFrame.from_ndarray(scaled.to_ndarray(), format="yuv420p")
            fresh.pts, fresh.time_base = i, Fraction(1, 25)
            output.mux(stream.encode(fresh))
        output.mux(stream.encode(None))
    partial.rename(target)
    return target


def clipped_gt(gt: Path, frames: int, target: Path) -> Path:
    """``gt`` keeping only the boundaries and segments inside the first ``frames`` frames."""
    data: dict[str, Any] = json.loads(gt.read_text())
    data["cuts"] = [c for c in data["cuts"] if c["end"] < frames]
    data["segments"] = [
        dict(s, out_end=min(s["out_end"], frames - 1))
        for s in data.get("segments", [])
        if s["out_start"] < frames
    ]
    target.write_text(json.dumps(data, indent=1))
    return target


def make_inputs(work: Path, *, quick: bool) -> list[TestVideo]:
    """Every test video, made where needed: cuts_dev, alt (not in quick), bikes, wipes (and
    wipes2, not in quick), 1080p."""
    work.mkdir(parents=True, exist_ok=True)
    dev = CUTS / "cuts_dev.mp4"
    videos = [TestVideo("cuts_dev", dev, CUTS / "cuts_dev.gt.json", frame_count(dev))]
    if not quick:
        alt = make_alt(work)
        videos.append(TestVideo("alt", alt, alt.with_suffix(".gt.json"), frame_count(alt)))
    bikes = CLIPS / "bikes.mp4"
    videos.append(TestVideo("bikes", bikes, CUTS / "bikes.gt.json", frame_count(bikes)))
    for name in ("wipes",) if quick else tuple(WIPES):
        made = make_wipes(work, name)
        videos.append(TestVideo(name, made, made.with_suffix(".gt.json"), frame_count(made)))
    hd_frames = 250 if quick else None
    hd = make_hd(work, hd_frames)
    hd_gt = CUTS / "cuts_dev.gt.json"
    if hd_frames is not None:
        hd_gt = clipped_gt(hd_gt, hd_frames, work / f"cuts_dev-{hd_frames}f.gt.json")
    videos.append(TestVideo("cuts_dev-1080p", hd, hd_gt, frame_count(hd)))
    return videos
