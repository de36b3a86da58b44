"""Inputs of the keyframes benchmark, made at run time from ``../shared`` (never copied).

* ``cuts_dev.mp4`` and ``clips/bikes.mp4`` are read in place with their ground truth.
* ``alt.mp4``: a second test video built by ``../shared/tools/make_cuts_video.py`` itself, with
  the segment list and dissolves below put in place of its own (other clips, other source
  frames, other order, 20-frame cross-fades), so the boundaries and hard negatives differ from
  cuts_dev's. The tool is loaded from its file and its ``main`` run; nothing of it is copied.
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
    """Every test video, made where needed: cuts_dev, alt (not in quick), bikes, 1080p."""
    work.mkdir(parents=True, exist_ok=True)
    dev = CUTS / "cuts_dev.mp4"
    videos = [TestVideo("cuts_dev", dev, CUTS / "cuts_dev.gt.json", frame_count(dev))]
    if not quick:
        alt = make_alt(work)
        videos.append(TestVideo("alt", alt, alt.with_suffix(".gt.json"), frame_count(alt)))
    bikes = CLIPS / "bikes.mp4"
    videos.append(TestVideo("bikes", bikes, CUTS / "bikes.gt.json", frame_count(bikes)))
    hd_frames = 250 if quick else None
    hd = make_hd(work, hd_frames)
    hd_gt = CUTS / "cuts_dev.gt.json"
    if hd_frames is not None:
        hd_gt = clipped_gt(hd_gt, hd_frames, work / f"cuts_dev-{hd_frames}f.gt.json")
    videos.append(TestVideo("cuts_dev-1080p", hd, hd_gt, frame_count(hd)))
    return videos
