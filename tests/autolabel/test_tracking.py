"""Tracking by detection: identities through crossings and misses, keyframes thinned in frame
units with ``outside`` where objects leave, and MOTA/IDF1 on real MOT15 ground truth."""

from __future__ import annotations

from pathlib import Path

import motmetrics as mm  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
import pytest

from tests.conftest import shared_file
from tweenlab.autolabel.base import Detections
from tweenlab.autolabel.tracking import (
    DetectedTrack,
    KeyframeStats,
    TrackerParams,
    keyframe_stats,
    thin_detected,
    to_tracks,
    track_detections,
)
from tweenlab.core.thinning import box_iou

FloatArray = npt.NDArray[np.float64]

# One object: frame -> (x, y, w, h, score, class id).
Object = dict[int, tuple[float, float, float, float, float, int]]


def _moving(
    frames: range | list[int],
    *,
    x0: float = 0.0,
    vx: float = 2.0,
    y: float = 0.0,
    size: float = 40.0,
    score: float = 0.9,
    class_id: int = 0,
) -> Object:
    return {f: (x0 + vx * f, y, size, size, score, class_id) for f in frames}


def _detections(frames: list[int], objects: list[Object]) -> list[Detections]:
    """One ``Detections`` per frame with every object present on it, in object order."""
    out = []
    for frame in frames:
        rows = [o[frame] for o in objects if frame in o]
        if not rows:
            out.append(Detections.empty())
            continue
        table = np.array(rows)
        xyxy = np.concatenate([table[:, :2], table[:, :2] + table[:, 2:4]], axis=1)
        out.append(Detections(xyxy, table[:, 4], table[:, 5].astype(np.int64)))
    return out


def _tracked(frames: list[int], objects: list[Object], **params: float) -> list[list[int]]:
    found = track_detections(frames, _detections(frames, objects), TrackerParams(**params))  # type: ignore[arg-type]
    return [t.frames.tolist() for t in found]


EVERY = list(range(30))
GAP = [f for f in EVERY if f not in (10, 11, 12)]
TRACKER_CASES = [
    ("one_object", EVERY, [_moving(EVERY)], {}, [EVERY]),
    ("missed_for_three_frames", EVERY, [_moving(GAP)], {}, [GAP]),
    (
        "lost_longer_than_allowed_ends",
        EVERY,
        [_moving(range(5)), _moving(range(15, 30))],
        {"max_missed_frames": 5},
        [list(range(5)), list(range(15, 30))],
    ),
    (
        "low_score_extends_a_track",
        EVERY,
        [{**_moving(range(10)), **_moving(range(10, 30), score=0.3)}],
        {},
        [EVERY],
    ),
    ("low_score_never_starts_one", EVERY, [_moving(EVERY, score=0.3)], {}, []),
    ("one_false_positive_stays_tentative", EVERY, [_moving([7])], {}, []),
    (
        "classes_never_match",
        EVERY,
        [_moving(range(15)), _moving(range(15, 30), class_id=1)],
        {},
        [list(range(15)), list(range(15, 30))],
    ),
    (
        "every_5th_frame_fast_object",  # 20 px a sample on a 40 px box
        EVERY[::5],
        [_moving(EVERY, vx=4.0)],
        {},
        [EVERY[::5]],
    ),
]


@pytest.mark.parametrize(
    ("frames", "objects", "params", "expected"),
    [c[1:] for c in TRACKER_CASES],
    ids=[c[0] for c in TRACKER_CASES],
)
def test_tracker_cases(
    frames: list[int], objects: list[Object], params: dict[str, float], expected: list[list[int]]
) -> None:
    assert _tracked(frames, objects, **params) == expected


@pytest.mark.parametrize("step", [1, 2], ids=["every_frame", "every_2nd"])
def test_two_objects_crossing_keep_their_identities(step: int) -> None:
    frames = list(range(0, 40, step))
    right = _moving(frames, x0=0.0, vx=5.0, y=0.0)  # they overlap fully at frame 20
    left = _moving(frames, x0=200.0, vx=-5.0, y=10.0)
    found = track_detections(frames, _detections(frames, [right, left]))
    assert [len(t) for t in found] == [len(frames), len(frames)]
    assert np.all(np.diff(found[0].boxes[:, 0]) > 0)  # the first still goes right
    assert np.all(np.diff(found[1].boxes[:, 0]) < 0)


def test_tracks_born_on_the_first_frame_count_at_once() -> None:
    assert _tracked([0, 1], [_moving([0])], min_hits=3) == [[0]]
    assert _tracked([0, 1, 2, 3], [_moving([1, 2])], min_hits=3) == []


@pytest.mark.parametrize(
    "params",
    [
        {"low_score": 0.6, "high_score": 0.5},
        {"min_iou": 0.0},
        {"min_hits": 0},
        {"max_missed_frames": -1},
    ],
    ids=["low_above_high", "zero_iou", "no_hits", "negative_misses"],
)
def test_tracker_params_are_checked(params: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        TrackerParams(**params)  # type: ignore[arg-type]


def test_track_detections_checks_its_frames() -> None:
    with pytest.raises(ValueError, match="increasing"):
        track_detections([0, 0], [Detections.empty(), Detections.empty()])
    with pytest.raises(ValueError, match="1 frames but 2"):
        track_detections([0], [Detections.empty(), Detections.empty()])


# -- to_tracks -----------------------------------------------------------------------------


def _line(frames: list[int], *, vx: float = 2.0) -> DetectedTrack:
    boxes = [[10 + vx * f, 20, 40, 30] for f in frames]
    return DetectedTrack(0, np.array(frames), np.array(boxes), np.full(len(frames), 0.8))


KEYFRAME_CASES = [
    ("straight_line", _line(list(range(50))), {}, {0: False, 49: False, 50: True}),
    ("ends_on_the_last_frame", _line(list(range(50, 100))), {}, {50: False, 99: False}),
    (
        "gap_longer_than_allowed",
        _line([*range(10), *range(30, 40)]),
        {"gap_frames": 10},
        {0: False, 9: False, 10: True, 30: False, 39: False, 40: True},
    ),
    (
        "short_gap_interpolated",
        _line([*range(10), *range(15, 40)]),
        {"gap_frames": 10},
        {0: False, 39: False, 40: True},
    ),
    (
        "every_5th",
        _line(list(range(0, 50, 5))),
        {"sample_step": 5},
        {0: False, 45: False, 46: True},
    ),
    (
        "every_5th_one_sample_missed",
        _line([0, 5, 10, 20, 25, 30]),
        {"sample_step": 5, "gap_frames": 5},
        {0: False, 30: False, 31: True},
    ),
    (
        "every_5th_three_samples_missed",
        _line([0, 5, 10, 30, 35]),
        {"sample_step": 5, "gap_frames": 5},
        {0: False, 10: False, 11: True, 30: False, 35: False, 36: True},
    ),
]


@pytest.mark.parametrize(
    ("found", "options", "expected"),
    [c[1:] for c in KEYFRAME_CASES],
    ids=[c[0] for c in KEYFRAME_CASES],
)
def test_keyframes_and_outside(
    found: DetectedTrack, options: dict[str, int], expected: dict[int, bool]
) -> None:
    (track,) = to_tracks([found], ["car"], frame_count=100, **options)
    assert {f: k.outside for f, k in track.keyframes.items()} == expected


def test_tracks_carry_label_score_source_and_ids() -> None:
    found = [
        _line([0, 1]),
        _line(list(range(5))),
        DetectedTrack(1, np.array([3, 4, 5]), np.ones((3, 4)), np.array([0.2, 0.4, 0.6])),
    ]
    tracks = to_tracks(found, ["car", "bus"], frame_count=10, first_id=7)
    assert [(t.id, t.label, t.source) for t in tracks] == [(7, "car", "auto"), (8, "bus", "auto")]
    assert [t.score for t in tracks] == pytest.approx([0.8, 0.4])


def test_negative_sizes_are_clipped() -> None:
    boxes = np.array([[0, 0, 10, -1], [1, 0, 10, 5], [2, 0, -3, 5]], dtype=np.float64)
    (track,) = to_tracks(
        [DetectedTrack(0, np.arange(3), boxes, np.full(3, 0.9))], ["car"], frame_count=3
    )
    sizes = [(k.shape.w, k.shape.h) for k in track.keyframes.values()]  # type: ignore[attr-defined]
    assert min(min(s) for s in sizes) == 0.0


@pytest.mark.parametrize(
    ("found", "classes", "message"),
    [(_line([0, 1, 2]), [], "class id 0"), (_line([8, 9, 10]), ["car"], "frame 10 of 10")],
    ids=["unknown_class", "past_the_end"],
)
def test_to_tracks_checks_its_input(found: DetectedTrack, classes: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        to_tracks([found], classes, frame_count=10)


SPACINGS = [
    ("every_frame", np.arange(120)),
    ("every_4th", np.arange(0, 480, 4)),
    ("uneven", np.cumsum(np.random.default_rng(7).integers(1, 9, 120))),
]


@pytest.mark.parametrize("min_iou", [0.7, 0.9], ids=["iou_0.7", "iou_0.9"])
@pytest.mark.parametrize("seed", [0, 1, 2], ids=["seed0", "seed1", "seed2"])
@pytest.mark.parametrize("frames", [s[1] for s in SPACINGS], ids=[s[0] for s in SPACINGS])
def test_thinned_tracks_reproduce_every_detection(
    frames: npt.NDArray[np.int64], seed: int, min_iou: float
) -> None:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 1.5, (len(frames), 4)) * [1, 1, 0.3, 0.3]
    boxes = np.abs(np.cumsum(steps, axis=0) + np.array([100, 100, 40, 60]))
    found = DetectedTrack(0, frames, boxes, np.full(len(frames), 0.9))
    (track,) = to_tracks([found], ["car"], frame_count=int(frames[-1]) + 1, min_iou=min_iou)
    replayed, visible = track.box_array(frames)
    assert visible.all()
    assert (box_iou(replayed, boxes) >= min_iou - 1e-9).all()
    assert len(track.keyframes) < len(frames) // 2  # and it did thin


def test_thin_detected_uses_frame_units_when_uneven() -> None:
    frames = np.array([0, 1, 2, 10, 11, 12])
    boxes = np.stack([frames * 3.0, 0 * frames, 20 + 0 * frames, 20 + 0 * frames], 1)
    assert thin_detected(frames, boxes, min_iou=0.99).tolist() == [0, 5]  # one straight line
    assert thin_detected(np.arange(6), boxes, min_iou=0.99).tolist() != [0, 5]  # a kink


def test_keyframe_stats() -> None:
    found = [_line(list(range(50))), _line([3, 4])]
    tracks = to_tracks(found, ["car"], frame_count=100)
    stats = keyframe_stats(found, tracks)
    assert stats == KeyframeStats(detections=50, keyframes=2, outside=1)
    assert stats.ratio == pytest.approx(0.04)


# -- real ground truth ---------------------------------------------------------------------


def _read_gt(path: Path) -> FloatArray:
    """MOT15 rows ``frame, id, x, y, w, h, ...`` (1-based frames)."""
    return np.loadtxt(path, delimiter=",", ndmin=2)


def _noisy(gt: FloatArray, frames: FloatArray, seed: int) -> list[Detections]:
    """Detections a decent detector could give: boxes jittered by 3 % of their size, 10 %
    missed, about one low-score false positive per frame."""
    rng = np.random.default_rng(seed)
    out = []
    for frame in frames:
        boxes = gt[gt[:, 0] == frame, 2:6]
        boxes = boxes[rng.random(len(boxes)) >= 0.1]
        boxes[:, :2] += rng.normal(0, 0.03, (len(boxes), 2)) * boxes[:, 2:]
        boxes[:, 2:] *= 1 + rng.normal(0, 0.03, (len(boxes), 2))
        false = rng.uniform([0, 0, 30, 60], [600, 400, 80, 200], (rng.poisson(1), 4))
        boxes = np.concatenate([boxes, false])
        scores = np.concatenate(
            [rng.uniform(0.5, 1, len(boxes) - len(false)), rng.uniform(0.1, 0.45, len(false))]
        )
        xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
        out.append(Detections(xyxy, scores, np.zeros(len(boxes), dtype=np.int64)))
    return out


def _scores(
    gt: FloatArray, hypotheses: dict[int, list[tuple[int, FloatArray]]]
) -> tuple[float, float]:
    """MOTA and IDF1 from motmetrics over the frames of ``hypotheses`` (IoU 0.5 to match; its
    own ``iou_matrix`` calls ``np.asfarray``, which numpy 2 removed)."""
    accumulator = mm.MOTAccumulator(auto_id=False)
    for frame, hyps in hypotheses.items():
        truth = gt[gt[:, 0] == frame]
        boxes = np.array([b for _, b in hyps]).reshape(-1, 4)
        iou = box_iou(truth[:, None, 2:6], boxes[None, :, :])
        distances = np.where(iou >= 0.5, 1 - iou, np.nan)
        accumulator.update(
            truth[:, 1].astype(int).tolist(), [i for i, _ in hyps], distances, frameid=frame
        )
    summary = mm.metrics.create().compute(accumulator, metrics=["mota", "idf1"])
    return float(summary["mota"].iloc[0]), float(summary["idf1"].iloc[0])


# sequence, sampling step, MOTA and IDF1 floors: measured (seed 0, in the comment) minus 0.05
GT_CASES = [
    ("TUD-Campus", 1, 0.82, 0.88),  # 0.875, 0.933
    ("TUD-Campus", 3, 0.88, 0.91),  # 0.933, 0.966
    ("TUD-Stadtmitte", 1, 0.84, 0.89),  # 0.889, 0.941
    ("TUD-Stadtmitte", 3, 0.81, 0.80),  # 0.868, 0.854
]
# the same, scored on every frame after thinning (interpolation fills the missed ones)
THINNED_CASES = [
    ("TUD-Campus", 1, 0.94, 0.94),  # 0.992, 0.996
    ("TUD-Campus", 3, 0.88, 0.91),  # 0.933, 0.965
    ("TUD-Stadtmitte", 1, 0.94, 0.94),  # 0.991, 0.996
    ("TUD-Stadtmitte", 3, 0.90, 0.84),  # 0.952, 0.895
]


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("sequence", "step", "min_mota", "min_idf1"),
    GT_CASES,
    ids=[f"{c[0]}-every{c[1]}" for c in GT_CASES],
)
def test_tracks_real_ground_truth(
    sequence: str, step: int, min_mota: float, min_idf1: float
) -> None:
    gt = _read_gt(shared_file(f"mot-gt-only/{sequence}/gt.txt"))
    frames = np.unique(gt[:, 0])[::step]
    found = track_detections(frames.astype(np.int64), _noisy(gt, frames, seed=0))
    hypotheses: dict[int, list[tuple[int, FloatArray]]] = {int(f): [] for f in frames}
    for number, track in enumerate(found):
        for frame, box in zip(track.frames.tolist(), track.boxes, strict=True):
            hypotheses[frame].append((number, box))
    mota, idf1 = _scores(gt, hypotheses)
    assert mota > min_mota and idf1 > min_idf1, (mota, idf1)


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("sequence", "step", "min_mota", "min_idf1"),
    THINNED_CASES,
    ids=[f"{c[0]}-every{c[1]}" for c in THINNED_CASES],
)
def test_thinned_tracks_cover_every_frame(
    sequence: str, step: int, min_mota: float, min_idf1: float
) -> None:
    """The keyframed tracks, scored on every frame of the ground truth: interpolation fills
    the unsampled frames and the missed detections."""
    gt = _read_gt(shared_file(f"mot-gt-only/{sequence}/gt.txt"))
    frames = np.unique(gt[:, 0])[::step]
    found = track_detections(frames.astype(np.int64), _noisy(gt, frames, seed=0))
    every = np.unique(gt[:, 0]).astype(np.int64)
    tracks = to_tracks(found, ["person"], frame_count=int(every[-1]) + 1, sample_step=step)
    hypotheses: dict[int, list[tuple[int, FloatArray]]] = {int(f): [] for f in every}
    for track in tracks:
        boxes, visible = track.box_array(every)
        for frame, box in zip(every[visible].tolist(), boxes[visible, :4], strict=True):
            hypotheses[frame].append((track.id, box))
    mota, idf1 = _scores(gt, hypotheses)
    assert mota > min_mota and idf1 > min_idf1, (mota, idf1)
