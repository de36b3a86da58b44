"""Thinning dense boxes to keyframes: fewest keyframes, every box reproduced, gaps kept."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from tweenlab.core import Box, Keyframe, Polygon, Track
from tweenlab.core.interpolation import interpolate_boxes
from tweenlab.core.thinning import box_iou, thin_boxes, thin_track
from tweenlab.errors import AnnotationError

FloatArray = npt.NDArray[np.float64]


def _reproduced(
    frames: npt.NDArray[np.int64], boxes: FloatArray, kept: npt.NDArray[np.int64]
) -> FloatArray:
    """IoU of each given box with the one the core's interpolation puts there."""
    full = np.concatenate([boxes, np.zeros((len(boxes), 5 - boxes.shape[1]))], axis=1)
    predicted = interpolate_boxes(frames[kept], full[kept], frames)
    return box_iou(predicted, full)


def _raster_iou(a: list[float], b: list[float]) -> float:
    """IoU by counting pixel centres on a fine grid (an independent check of rotated IoU)."""
    grid = np.linspace(-40, 100, 1400)
    xs, ys = np.meshgrid(grid, grid)

    def inside(box: list[float]) -> npt.NDArray[np.bool_]:
        corners = Box(*box).corners()
        result = np.ones(xs.shape, dtype=bool)
        for start, end in zip(corners, np.roll(corners, -1, axis=0), strict=True):
            cross = (end[0] - start[0]) * (ys - start[1]) - (end[1] - start[1]) * (xs - start[0])
            result &= cross >= 0
        return result

    first, second = inside(a), inside(b)
    return float((first & second).sum() / (first | second).sum())


IOU_CASES = [
    ("identical", [0, 0, 10, 10], [0, 0, 10, 10], 1.0),
    ("half_shifted", [0, 0, 10, 10], [5, 0, 10, 10], 1 / 3),
    ("disjoint", [0, 0, 10, 10], [20, 0, 10, 10], 0.0),
    ("touching", [0, 0, 10, 10], [10, 0, 10, 10], 0.0),
    ("inside", [0, 0, 10, 10], [2, 2, 5, 5], 0.25),
    ("square_45", [0, 0, 10, 10, 45], [0, 0, 10, 10, 0], 1 / np.sqrt(2)),
    ("same_rotated", [3, 4, 20, 10, 30], [3, 4, 20, 10, 30], 1.0),
    ("turned_half", [3, 4, 20, 10, 30], [3, 4, 20, 10, -150], 1.0),
    ("rotated_touching", [0, 0, 10, 10, 90], [10, 0, 10, 10, 90], 0.0),
    ("empty_same", [1, 1, 0, 0], [1, 1, 0, 0], 1.0),
]


@pytest.mark.parametrize(
    ("a", "b", "expected"), [c[1:] for c in IOU_CASES], ids=[c[0] for c in IOU_CASES]
)
def test_box_iou(a: list[float], b: list[float], expected: float) -> None:
    assert float(box_iou(a, b)) == pytest.approx(expected, abs=1e-9)
    assert float(box_iou(b, a)) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_rotated_iou_matches_pixel_counting(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = [*rng.uniform(0, 20, 2), *rng.uniform(8, 30, 2), rng.uniform(-180, 180)]
    b = list(np.array(a) + rng.normal(0, 4, 5))
    b[2], b[3] = abs(b[2]), abs(b[3])
    assert float(box_iou(a, b)) == pytest.approx(_raster_iou(a, b), abs=3e-3)


def _line(count: int, rotation: bool = False) -> FloatArray:
    t = np.arange(count, dtype=np.float64)
    columns = [3 + 1.5 * t, 7 - 0.5 * t, 20 + 0.1 * t, 30 + 0 * t]
    return np.stack([*columns, *([10 + 170 * t / count] if rotation else [])], axis=1)


@pytest.mark.parametrize("rotation", [False, True], ids=["axis_aligned", "turning"])
@pytest.mark.parametrize("count", [2, 3, 9, 10, 17, 1000])
def test_a_straight_line_needs_two_keyframes(count: int, rotation: bool) -> None:
    frames = np.arange(count, dtype=np.int64) + 100
    assert thin_boxes(frames, _line(count, rotation)).tolist() == [0, count - 1]


def test_spinning_needs_a_keyframe_every_half_turn() -> None:
    frames = np.arange(100, dtype=np.int64)
    boxes = np.stack(
        [frames * 0.0, frames * 0.0, frames * 0 + 40.0, frames * 0 + 10.0, frames * 5.0], axis=1
    )  # 495 degrees in all
    kept = thin_boxes(frames, boxes)
    assert len(kept) >= 3 and (np.diff(frames[kept]) * 5 < 180).all()
    assert _reproduced(frames, boxes, kept).min() >= 0.95 - 1e-9


def test_one_box_is_one_keyframe() -> None:
    assert thin_boxes(np.array([5]), np.array([[1.0, 2, 3, 4]])).tolist() == [0]


def test_a_piecewise_track_thins_to_its_corners() -> None:
    corners = [(0, 0.0, 0.0), (30, 300.0, 0.0), (70, 300.0, 400.0), (100, 0.0, 100.0)]
    frames = np.arange(101, dtype=np.int64)
    x = np.interp(frames, [c[0] for c in corners], [c[1] for c in corners])
    y = np.interp(frames, [c[0] for c in corners], [c[2] for c in corners])
    boxes = np.stack([x, y, np.full(101, 20.0), np.full(101, 20.0)], axis=1)
    assert thin_boxes(frames, boxes, min_iou=0.9).tolist() == [0, 30, 70, 100]


NOISE = [
    ("walk_0.95", 0, 0.95),
    ("walk_0.8", 1, 0.8),
    ("walk_0.99", 2, 0.99),
    ("walk_0.5", 3, 0.5),
    ("walk_1.0", 4, 1.0),
]


@pytest.mark.parametrize(("seed", "min_iou"), [c[1:] for c in NOISE], ids=[c[0] for c in NOISE])
@pytest.mark.parametrize("rotation", [False, True], ids=["axis_aligned", "rotated"])
def test_every_box_is_reproduced(seed: int, min_iou: float, rotation: bool) -> None:
    rng = np.random.default_rng(seed)
    count, width = 400, 5 if rotation else 4
    scale = np.array([0.05, 0.05, 0.002, 0.002, 0.05])[:width]  # smooth motion: random acceleration
    jitter = np.array([0.3, 0.3, 0.1, 0.1, 0.5])[:width]  # plus a detector's noise
    speed = np.cumsum(rng.normal(0, scale, (count, width)), axis=0)
    boxes = np.cumsum(speed, axis=0) + rng.normal(0, jitter, (count, width))
    boxes += np.array([100, 100, 40, 30, 0])[:width]
    frames = np.arange(count, dtype=np.int64)
    kept = thin_boxes(frames, boxes, min_iou=min_iou)
    assert kept[0] == 0 and kept[-1] == count - 1 and (np.diff(kept) > 0).all()
    assert _reproduced(frames, boxes, kept).min() >= min_iou - 1e-9
    if min_iou <= 0.95:
        assert len(kept) < count * 0.8


def test_a_gap_splits_the_sequence() -> None:
    frames = np.array([*range(0, 10), *range(20, 30)], dtype=np.int64)
    boxes = _line(20)  # one straight line across the gap: still split there
    assert thin_boxes(frames, boxes).tolist() == [0, 9, 10, 19]


BAD = [
    ("unsorted", [0, 2, 1], np.zeros((3, 4)), "increasing"),
    ("repeated", [0, 1, 1], np.zeros((3, 4)), "increasing"),
    ("wrong_width", [0, 1], np.zeros((2, 3)), "4 or 5"),
    ("wrong_length", [0, 1, 2], np.ones((2, 4)), r"\(F, 4\|5\)"),
    ("nan", [0, 1], np.array([[0, 0, 1, 1], [np.nan, 0, 1, 1]]), "finite"),
    ("negative_size", [0, 1], np.array([[0, 0, 1, 1], [0, 0, -1, 1]]), "negative"),
]


@pytest.mark.parametrize(
    ("frames", "boxes", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD]
)
def test_bad_input_is_refused(frames: list[int], boxes: FloatArray, message: str) -> None:
    with pytest.raises(AnnotationError, match=message):
        thin_boxes(np.array(frames), boxes)


@pytest.mark.parametrize("min_iou", [0.0, -0.5, 1.5])
def test_min_iou_must_be_a_fraction(min_iou: float) -> None:
    with pytest.raises(AnnotationError, match="min_iou"):
        thin_boxes(np.arange(3), _line(3), min_iou=min_iou)


def _dense_track() -> Track:
    """Frames 0..59 on a line, absent 60..69 (outside at 60), back 70..99 turning a corner at
    85, occluded from 40 and a frame attribute changing at 20."""
    keys: dict[int, Keyframe] = {}
    for frame in range(100):
        if 60 <= frame < 70:
            continue
        x = 2.0 * frame if frame < 85 else 170.0
        y = 50.0 if frame < 85 else 50 + 3.0 * (frame - 85)
        attributes = {"parked": frame >= 20}
        keys[frame] = Keyframe(Box(x, y, 30, 20), occluded=frame >= 40, attributes=attributes)
    keys[60] = Keyframe(Box(120, 50, 30, 20), outside=True)
    return Track(7, "car", keys, attributes={"colour": "red"}, source="auto")


def test_thin_track_keeps_gaps_state_changes_and_corners() -> None:
    track = _dense_track()
    thinned = thin_track(track, min_iou=0.95)
    assert thinned.frames == (0, 20, 40, 59, 60, 70, 85, 99)
    assert (thinned.id, thinned.label, thinned.source) == (7, "car", "auto")
    assert dict(thinned.attributes) == {"colour": "red"}
    assert thinned.keyframes[60].outside
    for frame in thinned.frames:
        assert thinned.keyframes[frame] is track.keyframes[frame]


def test_thin_track_reproduces_every_frame() -> None:
    track = _dense_track()
    thinned = thin_track(track, min_iou=0.98)
    frames = np.arange(0, 110, dtype=np.int64)
    before, shown_before = track.box_array(frames)
    after, shown_after = thinned.box_array(frames)
    assert (shown_before == shown_after).all()
    assert box_iou(before[shown_before], after[shown_after]).min() >= 0.98 - 1e-9
    for frame in frames.tolist():
        old, new = track.at(frame), thinned.at(frame)
        assert old is not None and new is not None
        assert (old.outside, old.occluded, dict(old.attributes)) == (
            new.outside,
            new.occluded,
            dict(new.attributes),
        )


def test_thin_track_of_sparse_keyframes_keeps_what_it_needs() -> None:
    keys = {
        0: Keyframe(Box(0, 0, 10, 10)),
        10: Keyframe(Box(10, 0, 10, 10)),
        20: Keyframe(Box(20, 0, 10, 10)),
        30: Keyframe(Box(20, 30, 10, 10)),
    }
    thinned = thin_track(Track(1, "car", keys))
    assert thinned.frames == (0, 20, 30)


def test_thin_track_refuses_other_shapes() -> None:
    track = Track(1, "car", {0: Keyframe(Polygon([[0, 0], [1, 0], [0, 1]]))})
    with pytest.raises(AnnotationError, match="not boxes"):
        thin_track(track)
