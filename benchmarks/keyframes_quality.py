"""Suggestion quality for the keyframes benchmark: what the suggested keyframes save a person.

On each sequence of ``../shared/data/tracks`` (one object, a ground-truth box on every frame),
for a spacing K: the uniform policy keys frames ``0, K, 2K, ...`` and the last frame (as
``eval_tracks.py`` does); the suggested policy keys the frames ``tweenlab`` suggests with a
budget (``SuggestionPolicy(max_count=...)``), plus the first and last frame, with the budget
chosen so both use the same number of keyframes. The ground-truth boxes at those frames are
in-betweened by ``eval_tracks.linear`` and by ``tweenlab.propagation.inbetween`` with a
``FlowCache`` (as ``tweenlab propagate`` builds it); the score is ``eval_tracks.score``'s mean
IoU over the frames that are not keyframes.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from keyframes_inputs import SHARED, load_tool, log
from tweenlab.keyframes import SuggestionPolicy
from tweenlab.keyframes.detector import Analysis
from tweenlab.media import DerivedFiles
from tweenlab.propagation import FlowCache, inbetween
from tweenlab.services.keyframes import analyse_video
from tweenlab.settings import Settings

TRACKS = SHARED / "data" / "tracks"
SPACINGS = (10, 20)

Result = dict[str, Any]
Box = tuple[float, float, float, float] | None


def matched_suggestions(analysis: Analysis, frames: int, count: int) -> tuple[list[int], int]:
    """Suggested keyframes plus the first and last frame, ``count`` of them where possible.

    Returns the frames and the ``max_count`` that gave them (the largest budget whose frames,
    with the first and last added, are no more than ``count``).
    """
    best: tuple[list[int], int] = ([0, frames - 1], 0)
    for budget in range(max(1, count - 2), count + 1):
        suggested = analysis.resuggest(SuggestionPolicy(max_count=budget)).suggested
        keys = sorted({0, frames - 1, *suggested})
        if len(keys) <= count:
            best = (keys, budget)
    return best


def fill(method: str, gt: list[Box], keys: list[int], cache: FlowCache | None) -> list[Box]:
    """Every frame's box from the ground truth at ``keys``, linear or by flow."""
    keyframes = {k: gt[k] for k in keys}
    if method == "linear":
        return list(_eval().linear(len(gt), keyframes))
    return list(inbetween(len(gt), keyframes, cache, method="flow").boxes)


def score_keys(gt: list[Box], keys: list[int], cache: FlowCache | None, *, flow: bool) -> Result:
    """Mean IoU over non-keyframes, linear and (when ``flow``) flow-guided."""
    row: Result = {}
    for method in ("linear", "flow") if flow else ("linear",):
        mean, hit = _eval().score(gt, fill(method, gt, keys, cache), set(keys))
        row[method] = {"mean_iou": round(mean, 4), "iou>=0.5": round(hit, 4)}
    return row


def bench_sequence(sequence: Path, work: Path, *, flow: bool) -> Result:
    """Uniform against suggested keyframes at equal count, for each spacing, on one sequence."""
    gt = _eval().load_gt(sequence / "gt.txt")
    video, frames = sequence / "video.mp4", len(gt)
    settings = Settings(data_dir=work / "quality-data")
    log(f"quality: {sequence.name} ({frames} frames)")
    analysis = analyse_video(video, settings).analysis
    derived = DerivedFiles(settings.derived_dir)
    cache = FlowCache(video, derived.index(video), derived.folder(video)) if flow else None
    rows: Result = {"frames": frames, "cuts": analysis.boundaries}
    for spacing in SPACINGS:
        uniform = sorted(set(range(0, frames, spacing)) | {frames - 1})
        suggested, budget = matched_suggestions(analysis, frames, len(uniform))
        rows[f"K{spacing}"] = {
            "keyframes": len(uniform),
            "suggested_keyframes": len(suggested),
            "max_count": budget,
            "suggested": suggested,
            "uniform": score_keys(gt, uniform, cache, flow=flow),
            "suggestion": score_keys(gt, suggested, cache, flow=flow),
        }
    return rows


def bench_quality(work: Path, *, flow: bool) -> Result:
    """Every sequence; ``pass`` when suggested beats uniform on each, linear and flow."""
    sequences = sorted(p for p in TRACKS.iterdir() if (p / "gt.txt").exists())
    results = {s.name: bench_sequence(s, work, flow=flow) for s in sequences}
    verdicts = [
        row["suggestion"][m]["mean_iou"] > row["uniform"][m]["mean_iou"]
        for by_k in results.values()
        for k, row in by_k.items()
        if k.startswith("K")
        for m in row["uniform"]
    ]
    return {
        "sequences": results,
        "target": "suggested mIoU > uniform mIoU at equal keyframe count",
        "wins": f"{sum(verdicts)}/{len(verdicts)}",
        "pass": all(verdicts),
    }


@cache
def _eval() -> Any:
    """``../shared/tools/eval_tracks.py``, loaded once."""
    return load_tool("eval_tracks")
