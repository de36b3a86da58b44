"""Bounds for the in-betweening measure: boxes that borrow part of the answer from ground truth.

A method for ``../shared/tools/eval_tracks.py`` (its command contract), used by
``benchmarks/propagation.py`` to tell how much of a sequence's keyframe effort is the boxes'
positions and how much their sizes. It reads the sequence's ``gt.txt`` beside the video, so it
is an oracle, never a method a user could run:

- ``--centres true --sizes straight``: every box centred on the true centre, its width and
  height interpolated straight (in log) between the keyframes' sizes. What any method that
  takes its sizes from the keyframes needs, however well it follows the object.
- ``--centres flow --sizes true``: the centres of ``tweenlab propagate`` (flow, the defaults),
  the true sizes. What tweenlab would need if it knew each frame's size.

    python benchmarks/track_bounds.py VIDEO KEYFRAMES OUT --centres true --sizes straight
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

from tweenlab.services.propagate import propagate_file, read_keyframes
from tweenlab.settings import load_settings

Box = tuple[float, float, float, float] | None


def read_truth(path: Path) -> list[Box]:
    """``gt.txt`` as ``eval_tracks.py`` reads it (a rotated box scored by its hull)."""
    boxes: list[Box] = []
    for line in path.read_text().splitlines():
        values = [float(v) for v in line.replace("\t", ",").replace(" ", ",").split(",") if v]
        if not values:
            continue
        if any(math.isnan(v) for v in values):
            boxes.append(None)
        elif len(values) == 8:
            xs, ys = values[0::2], values[1::2]
            boxes.append((min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)))
        else:
            boxes.append((values[0], values[1], values[2], values[3]))
    return boxes


def straight_sizes(frames: int, keyframes: dict[int, Box]) -> np.ndarray:
    """``(frames, 2)`` widths and heights, straight in log between present keyframes (held
    before the first and after the last)."""
    present = sorted(f for f, box in keyframes.items() if box is not None)
    if not present:
        return np.ones((frames, 2))
    sizes = np.log([[keyframes[f][2], keyframes[f][3]] for f in present])  # type: ignore[index]
    at = np.arange(frames)
    return np.exp(np.stack([np.interp(at, present, sizes[:, i]) for i in range(2)], axis=1))


def flow_boxes(video: Path, keyframes: Path) -> list[Box]:
    """What ``tweenlab propagate`` answers for these keyframes."""
    with tempfile.TemporaryDirectory() as work:
        out = Path(work) / "out.json"
        propagate_file(video, keyframes, out, load_settings())
        boxes = json.loads(out.read_text())["boxes"]
    return [tuple(b) if b else None for _, b in sorted(boxes.items(), key=lambda kv: int(kv[0]))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("keyframes", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--centres", choices=["true", "flow"], required=True)
    parser.add_argument("--sizes", choices=["true", "straight"], required=True)
    args = parser.parse_args(argv)
    truth = read_truth(args.video.with_name("gt.txt"))
    frames, keys = read_keyframes(args.keyframes)
    frames = frames or len(truth)
    keyframes: dict[int, Box] = dict(keys)
    centres = truth if args.centres == "true" else flow_boxes(args.video, args.keyframes)
    straight = straight_sizes(frames, keyframes)
    boxes: dict[str, list[float] | None] = {}
    for f in range(frames):
        where, true = centres[f], truth[f]
        if where is None or (args.sizes == "true" and true is None):
            boxes[str(f)] = None
            continue
        w, h = (true[2], true[3]) if args.sizes == "true" else straight[f]  # type: ignore[index]
        cx, cy = where[0] + where[2] / 2, where[1] + where[3] / 2
        boxes[str(f)] = [cx - w / 2, cy - h / 2, float(w), float(h)]
    for f, box in keyframes.items():  # keyframes are given, whatever the bound
        boxes[str(f)] = list(box) if box is not None else None
    args.out.write_text(json.dumps({"boxes": boxes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
