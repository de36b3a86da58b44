"""Part 4 of the propagation benchmark: in-between quality, the way the project is judged.

``../shared/tools/eval_tracks.py`` on ``../shared/data/tracks`` with ``tweenlab propagate`` (and
linear, which it always runs), beside two oracles that read the ground truth
(``track_bounds.py``); the same measure on harder versions of each sequence made from the same
footage (every 2nd or 3rd frame, half size); extension from a single keyframe; and how well the
confidence points at the frames that fail (the suggested next keyframes). See
``propagation.py``'s docstring.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt

from track_bounds import read_truth
from tweenlab.media import DerivedFiles
from tweenlab.propagation import FlowCache, boxes, inbetween
from tweenlab.propagation.boxes import iou_xywh
from tweenlab.services.flow import flow_cache
from tweenlab.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
TRACKS = SHARED / "data" / "tracks"
EVAL_TRACKS = SHARED / "tools" / "eval_tracks.py"

Result = dict[str, Any]


def log(message: str) -> None:
    """Progress, on stderr (the table goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


TARGET_RATIO, TARGET_MIOU = 0.4, 0.75
FLOW_METHOD = "flow=cmd:tweenlab propagate {video} --keyframes {keyframes} --out {out}"
# Oracles (they read the ground truth): how much of the effort is position, how much size.
BOUNDS = {
    "true-centres": "--centres true --sizes straight",
    "true-sizes": "--centres flow --sizes true",
}
BOUND_METHODS = [
    f"{name}=cmd:{sys.executable} {REPO / 'benchmarks' / 'track_bounds.py'} {{video}} "
    f"{{keyframes}} {{out}} {options}"
    for name, options in BOUNDS.items()
]


def summarise_sequence(by_method: Result) -> Result:
    """Linear against flow on one sequence, with the targets."""
    linear, flow = by_method["linear"], by_method["flow"]
    ratio = flow["effort"]["percent_of_frames"] / linear["effort"]["percent_of_frames"]
    miou = flow["K20"]["mean_iou"]
    return {
        "frames": flow["frames"],
        "linear_miou_k20": linear["K20"]["mean_iou"],
        "flow_miou_k20": miou,
        "linear_keyframes_pct": linear["effort"]["percent_of_frames"],
        "flow_keyframes_pct": flow["effort"]["percent_of_frames"],
        "converged": linear["effort"]["converged"] and flow["effort"]["converged"],
        "ratio": round(ratio, 3),
        "bounds": {
            name: {
                "keyframes_pct": by_method[name]["effort"]["percent_of_frames"],
                "ratio": round(
                    by_method[name]["effort"]["percent_of_frames"]
                    / linear["effort"]["percent_of_frames"],
                    3,
                ),
                "miou_k20": by_method[name]["K20"]["mean_iou"],
            }
            for name in BOUNDS
            if name in by_method
        },
        "ratio_pass": ratio <= TARGET_RATIO,
        "miou_pass": miou >= TARGET_MIOU,
        "pass": ratio <= TARGET_RATIO and miou >= TARGET_MIOU,
        "flow_seconds": round(
            sum(v["seconds"] for k, v in flow.items() if k.startswith("K"))
            + flow["effort"]["seconds"],
            1,
        ),
    }


#: Harder versions of each shared sequence (the same footage and ground truth): every
#: ``step``-th frame (faster motion) and/or frames scaled by ``scale`` (smaller objects).
VARIANTS = {"x2": (2, 1.0), "x3": (3, 1.0), "half": (1, 0.5), "x2half": (2, 0.5)}


def make_variants(folder: Path) -> Path:
    """``folder`` holding every ``VARIANTS`` version of every sequence of ``TRACKS``, each
    encoded losslessly (libx264, qp 0: the decoded frames are the frames given, the shared
    footage's own compression kept) with its ``gt.txt`` (the axis-aligned boxes eval_tracks.py
    scores, scaled); made once per work folder.

    Encoded at crf 18, as they were until 2026-11-28, the same frames came out different from
    one build to the next (by up to 30 grey levels; with one encoder thread, in a fresh
    process, from frames converted here: none of these made it repeatable), and so did the
    variants' scores (a sequence's keyframe count by up to 5)."""
    done = folder / "done"
    if done.exists():
        return folder
    for sequence in sorted(p for p in TRACKS.iterdir() if (p / "gt.txt").exists()):
        boxes = read_truth(sequence / "gt.txt")
        with av.open(str(sequence / "video.mp4")) as container:
            images = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        for name, (step, scale) in VARIANTS.items():
            out = folder / f"{sequence.name}-{name}"
            out.mkdir(parents=True, exist_ok=True)
            picked = range(0, len(boxes), step)
            (out / "gt.txt").write_text(
                "".join(
                    "NaN,NaN,NaN,NaN\n"
                    if boxes[i] is None
                    else ",".join(f"{v * scale:.2f}" for v in boxes[i]) + "\n"  # type: ignore[union-attr]
                    for i in picked
                )
            )
            encode_variant(images[::step], scale, out / "video.mp4")
    done.touch()
    return folder


def encode_variant(images: list[npt.NDArray[np.uint8]], scale: float, target: Path) -> None:
    """RGB ``images`` scaled by ``scale``, encoded losslessly as ``target``."""
    height, width = images[0].shape[:2]
    size = (round(width * scale / 2) * 2, round(height * scale / 2) * 2)
    with av.open(str(target), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
        stream.options = {"qp": "0", "preset": "veryfast"}
        for image in images:
            scaled = (
                image if scale == 1.0 else cv2.resize(image, size, interpolation=cv2.INTER_AREA)
            )
            planes = cv2.cvtColor(scaled, cv2.COLOR_RGB2YUV_I420)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(planes, format="yuv420p")))
        container.mux(stream.encode())


def bench_variants(run: Path, work: Path) -> Result:
    """eval_tracks.py with linear and flow on the harder variants (reported, not targets:
    they stand for the sequences the project is also judged on and is not shown)."""
    folder = make_variants(work / "track-variants")
    out = run / "eval_variants.json"
    command = [sys.executable, str(EVAL_TRACKS), str(folder), "--method", FLOW_METHOD]
    log(f"quality: {EVAL_TRACKS.name} on the harder variants (minutes)")
    done = subprocess.run(
        [*command, "--json", str(out)],
        env=os.environ | {"TWEENLAB_DATA_DIR": str(run / "eval-variants-data")},
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0 or not out.exists():
        return {"error": done.stderr.strip()[-2000:]}
    raw = json.loads(out.read_text())
    return {
        "variants": {name: {"step": s, "scale": k} for name, (s, k) in VARIANTS.items()},
        "sequences": {
            name: {
                "frames": rows["flow"]["frames"],
                "linear_keyframes_pct": rows["linear"]["effort"]["percent_of_frames"],
                "flow_keyframes_pct": rows["flow"]["effort"]["percent_of_frames"],
                "ratio": round(
                    rows["flow"]["effort"]["percent_of_frames"]
                    / rows["linear"]["effort"]["percent_of_frames"],
                    3,
                ),
                "flow_miou": {k: rows["flow"][k]["mean_iou"] for k in ("K5", "K10", "K20", "K40")},
                "linear_miou_k20": rows["linear"]["K20"]["mean_iou"],
            }
            for name, rows in raw.items()
        },
        "markdown": done.stdout,
    }


EXTEND_FRAMES = 10


def bench_extension(folders: list[tuple[Path, Path]]) -> Result:
    """Extension from one keyframe: from every 5th frame's true box alone, the boxes carried
    over the next ``EXTEND_FRAMES`` frames (``inbetween`` with that single keyframe); mean IoU
    with the ground truth there, and the frames reached before the IoU first falls below 0.5.
    ``folders``: (a folder of sequences, the data folder its flow was cached in)."""
    rows: Result = {}
    for name, truth, cache in _sequences(folders):
        frames = len(truth)
        means, reached = [], []
        for start in range(0, frames - EXTEND_FRAMES, 5):
            if truth[start] is None:
                continue
            boxes = inbetween(frames, {start: truth[start]}, cache).boxes
            ahead = range(start + 1, start + 1 + EXTEND_FRAMES)
            ious = [_iou(truth[f], boxes[f]) for f in ahead]
            means.append(float(np.mean(ious)))
            reached.append(next((i for i, v in enumerate(ious) if v < 0.5), len(ious)))
        rows[name] = {
            "starts": len(means),
            "mean_iou": round(float(np.mean(means)), 3),
            "frames_before_iou_below_0.5": round(float(np.mean(reached)), 1),
        }
    return {"frames": EXTEND_FRAMES, "sequences": rows}


def _sequences(
    folders: list[tuple[Path, Path]],
) -> Iterator[tuple[str, list[tuple[float, ...] | None], FlowCache]]:
    """Every sequence of ``folders`` ((a folder of sequences, the data folder its flow was
    cached in)): its name, its true boxes and its flow cache."""
    for sequences, data in folders:
        for sequence in sorted(p for p in sequences.iterdir() if (p / "gt.txt").exists()):
            video = sequence / "video.mp4"
            settings = Settings(data_dir=data)
            derived = DerivedFiles(settings.derived_dir)
            cache = flow_cache(video, derived.index(video), derived, settings)
            yield sequence.name, read_truth(sequence / "gt.txt"), cache


CONFIDENCE_SPACINGS = (10, 20)
FAILING = 0.7  # the IoU the simulated annotator of eval_tracks.py asks of every frame


def bench_confidence(folders: list[tuple[Path, Path]]) -> Result:
    """How well each in-between frame's confidence tells the frames that fail (IoU < 0.7 with
    the truth) from the rest: ROC AUC over the in-between frames of every sequence, keyframes
    every K frames, beside the chains' agreement alone (the confidence without its appearance
    term: ``boxes._LOOKS = 0``). 0.5 is a coin toss; the lowest confidence of a span is the
    suggested next keyframe, so a higher AUC sends the person where the fill is wrong."""
    pools: dict[tuple[int, str], tuple[list[float], list[bool]]] = {}
    for _, truth, cache in _sequences(folders):
        frames = len(truth)
        for spacing in CONFIDENCE_SPACINGS:
            keys = sorted({*range(0, frames, spacing), frames - 1})
            given = {k: truth[k] for k in keys}
            for name, looks in (("tweenlab", boxes._LOOKS), ("agreement_alone", 0)):
                kept, boxes._LOOKS = boxes._LOOKS, looks
                try:
                    filled = inbetween(frames, given, cache)
                finally:
                    boxes._LOOKS = kept
                scores, failing = pools.setdefault((spacing, name), ([], []))
                for f in range(frames):
                    if f in given or truth[f] is None:
                        continue
                    scores.append(1.0 - filled.confidence[f])
                    failing.append(_iou(truth[f], filled.boxes[f]) < FAILING)
    rows: Result = {}
    for (spacing, name), (scores, failing) in sorted(pools.items()):
        rows.setdefault(f"K{spacing}", {"frames": len(scores), "failing": int(sum(failing))})
        rows[f"K{spacing}"][f"{name}_auc"] = round(_auc(scores, failing), 3)
    return {"iou_failing_below": FAILING, "spacings": rows}


def _auc(scores: list[float], positive: list[bool]) -> float:
    """ROC AUC of ``scores`` for ``positive`` (ties share their rank)."""
    values, labels = np.asarray(scores), np.asarray(positive, dtype=bool)
    if labels.all() or not labels.any():
        return float("nan")
    order = values.argsort(kind="mergesort")
    ranks = np.empty(len(values))
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):  # ties: the mean of their ranks
        same = values == value
        ranks[same] = ranks[same].mean()
    hits = int(labels.sum())
    return float((ranks[labels].sum() - hits * (hits + 1) / 2) / (hits * (len(values) - hits)))


def _iou(a: tuple[float, ...] | None, b: tuple[float, ...] | None) -> float:
    if a is None or b is None:
        return float(a is None and b is None)
    return float(iou_xywh(np.array(a), np.array(b)))


def bench_quality(run: Path) -> Result:
    """Figure 4: eval_tracks.py with linear and flow on every sequence (a few minutes), and the
    two oracles of ``track_bounds.py`` beside them (true centres with straight sizes, flow's
    centres with true sizes): what the effort would be with perfect positions, or sizes."""
    data, out = run / "eval-data", run / "eval_tracks.json"
    command = [sys.executable, str(EVAL_TRACKS), str(TRACKS), "--method", FLOW_METHOD]
    for bound in BOUND_METHODS:
        command += ["--method", bound]
    log(f"quality: {EVAL_TRACKS.name} on {TRACKS} (minutes)")
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--json", str(out)],
        env=os.environ | {"TWEENLAB_DATA_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    seconds = time.perf_counter() - started
    target = f"flow/linear keyframes <= {TARGET_RATIO} and flow mIoU K=20 >= {TARGET_MIOU}"
    if done.returncode != 0 or not out.exists():
        return {"error": done.stderr.strip()[-2000:], "target": target, "pass": False}
    raw = json.loads(out.read_text())
    sequences = {name: summarise_sequence(by_method) for name, by_method in raw.items()}
    return {
        "command": " ".join([*command[1:3], "--method", repr(FLOW_METHOD)]),
        "seconds": round(seconds, 1),
        "sequences": sequences,
        "markdown": done.stdout,
        "eval_tracks": raw,
        "target": target,
        "pass": all(s["pass"] for s in sequences.values()),
    }
