"""Tracking by detection: per-frame ``Detections`` become tracks, thinned to keyframes.

This module owns the ByteTrack-style tracker (``track_detections``, tuned by ``TrackerParams``)
and the step from what it found (``DetectedTrack``) to editable ``core.Track``s
(``to_tracks``), with ``keyframe_stats`` to say how much thinning saved.

The tracker sees only the sampled frames (every frame, every Nth, or any increasing frames).
Each track carries a constant-velocity Kalman filter on ``cx, cy, w, h`` whose velocities are
per frame, so a prediction over a gap of ``k`` frames moves ``k`` times as far. On each sampled
frame, high-score detections are matched first to every live track (tracked or lost), low-score
ones then to the tracks still unmatched that were seen on the previous sample, and tentative
tracks last; matching is by IoU with the Hungarian algorithm and never across classes. A track
lost for more than ``max_missed_frames`` frames ends.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tweenlab.autolabel.base import Detections
from tweenlab.core.interpolation import interpolate_boxes
from tweenlab.core.shapes import Box
from tweenlab.core.thinning import box_iou, thin_boxes
from tweenlab.core.track import Keyframe, Track

__all__ = [
    "DetectedTrack",
    "KeyframeStats",
    "TrackerParams",
    "keyframe_stats",
    "thin_detected",
    "to_tracks",
    "track_detections",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MIN_LENGTH = 3  # detections a track needs to become a ``Track`` (shorter ones are noise)
_POSITION_NOISE = 1 / 20  # Kalman noise as a fraction of the box size (ByteTrack's weights)
_VELOCITY_NOISE = 1 / 160
_TOLERANCE = 1e-9  # float noise allowed below min_iou, as core.thinning allows


@dataclass(frozen=True)
class TrackerParams:
    """How the tracker matches detections to tracks (ByteTrack's defaults where it has them).

    Attributes:
        high_score: Detections at or above this score are matched first and may start tracks.
        low_score: Detections from here up to ``high_score`` only extend tracks seen on the
            previous sample (they rescue occluded objects); lower ones are ignored.
        new_track_score: A high-score detection left unmatched starts a track from this score.
        min_iou: The lowest IoU between a track's prediction and a high-score detection.
        low_min_iou: The lowest IoU for a low-score detection (stricter: they are less sure).
        min_hits: Matches a new track needs before it counts (tracks born on the first sampled
            frame count at once); a tentative track that misses a sample is dropped.
        max_missed_frames: Frames a lost track is kept for: it can be matched again on frame
            ``f`` while ``f - last_seen <= max_missed_frames``, and ends after that.

    Example:
        >>> TrackerParams(max_missed_frames=60).high_score
        0.5
    """

    high_score: float = 0.5
    low_score: float = 0.1
    new_track_score: float = 0.6
    min_iou: float = 0.2
    low_min_iou: float = 0.5
    min_hits: int = 2
    max_missed_frames: int = 30

    def __post_init__(self) -> None:
        if not 0 <= self.low_score <= self.high_score <= 1:
            raise ValueError(f"needs 0 <= low_score <= high_score <= 1, got {self}")
        if not (0 < self.min_iou <= 1 and 0 < self.low_min_iou <= 1):
            raise ValueError(f"IoU thresholds must be in (0, 1], got {self}")
        if self.min_hits < 1 or self.max_missed_frames < 0:
            raise ValueError(f"needs min_hits >= 1 and max_missed_frames >= 0, got {self}")


@dataclass(frozen=True, eq=False)
class DetectedTrack:
    """One object as the tracker followed it: the detections matched to it, frame by frame.

    Attributes:
        class_id: Index into the labeler's ``classes``.
        frames: ``(F,)`` the sampled frames on which a detection was matched, increasing.
        boxes: ``(F, 4)`` the matched detections as ``x, y, w, h`` (not the filter's estimate).
        scores: ``(F,)`` their scores.

    Example:
        >>> found = DetectedTrack(0, np.array([0, 1]), np.zeros((2, 4)), np.array([0.8, 0.6]))
        >>> len(found), round(found.score, 2)
        (2, 0.7)
    """

    class_id: int
    frames: IntArray
    boxes: FloatArray
    scores: FloatArray

    def __post_init__(self) -> None:
        frames = np.asarray(self.frames, dtype=np.int64).reshape(-1)
        boxes = np.asarray(self.boxes, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        if len(frames) == 0 or len(boxes) != len(frames) or len(scores) != len(frames):
            raise ValueError(
                f"DetectedTrack: {len(frames)} frames, {len(boxes)} boxes, {len(scores)} scores"
            )
        if (np.diff(frames) <= 0).any():
            raise ValueError("DetectedTrack: frames must be strictly increasing")
        object.__setattr__(self, "frames", frames)
        object.__setattr__(self, "boxes", boxes)
        object.__setattr__(self, "scores", scores)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def score(self) -> float:
        """The mean score of its detections."""
        return float(self.scores.mean())


# -- the motion model ----------------------------------------------------------------------


def _size_noise(boxes: FloatArray, weight: float) -> FloatArray:
    """``(N, 4)`` standard deviations ``weight * [w, h, w, h]`` for ``cx, cy, w, h``."""
    return weight * np.maximum(boxes[:, [2, 3, 2, 3]], 1.0)


def _initiate(boxes: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Filter states ``(N, 8)`` and covariances ``(N, 8, 8)`` for new tracks at ``boxes``."""
    measured = _to_state(boxes)
    mean = np.concatenate([measured, np.zeros_like(measured)], axis=1)
    std = np.concatenate(
        [_size_noise(measured, 2 * _POSITION_NOISE), _size_noise(measured, 10 * _VELOCITY_NOISE)],
        axis=1,
    )
    return mean, np.einsum("ni,ij->nij", std**2, np.eye(8))


def _predict(mean: FloatArray, cov: FloatArray, frames: int) -> tuple[FloatArray, FloatArray]:
    """States ``frames`` frames later: velocities are per frame and the process noise of one
    frame grows linearly with the gap."""
    motion = np.eye(8)
    motion[:4, 4:] = frames * np.eye(4)
    std = np.concatenate(
        [_size_noise(mean, _POSITION_NOISE), _size_noise(mean, _VELOCITY_NOISE)], axis=1
    )
    noise = np.einsum("ni,ij->nij", frames * std**2, np.eye(8))
    return mean @ motion.T, motion @ cov @ motion.T + noise


def _update(mean: FloatArray, cov: FloatArray, boxes: FloatArray) -> tuple[FloatArray, FloatArray]:
    """States corrected by measured ``boxes`` (``(N, 4)`` ``x, y, w, h``), one per state."""
    noise = np.einsum("ni,ij->nij", _size_noise(mean, _POSITION_NOISE) ** 2, np.eye(4))
    innovation_cov = cov[:, :4, :4] + noise
    gain = np.linalg.solve(innovation_cov, cov[:, :4, :]).transpose(0, 2, 1)  # (N, 8, 4)
    innovation = _to_state(boxes) - mean[:, :4]
    mean = mean + np.einsum("nij,nj->ni", gain, innovation)
    return mean, cov - gain @ cov[:, :4, :]


def _to_state(boxes: FloatArray) -> FloatArray:
    """``x, y, w, h`` -> ``cx, cy, w, h``."""
    return np.concatenate([boxes[:, :2] + boxes[:, 2:] / 2, boxes[:, 2:]], axis=1)


def _to_boxes(mean: FloatArray) -> FloatArray:
    """Filter states -> ``x, y, w, h`` (sizes kept positive: a shrinking prediction can
    overshoot)."""
    size = np.maximum(mean[:, 2:4], 1e-3)
    return np.concatenate([mean[:, :2] - size / 2, size], axis=1)


# -- the tracker -----------------------------------------------------------------------------


@dataclass(eq=False)
class _Live:
    """A track while the tracker runs (mutable, private)."""

    class_id: int
    mean: FloatArray
    cov: FloatArray
    confirmed: bool
    frames: list[int] = field(default_factory=list)
    boxes: list[FloatArray] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)

    def add(self, frame: int, box: FloatArray, score: float) -> None:
        self.frames.append(frame)
        self.boxes.append(box)
        self.scores.append(score)

    def result(self) -> DetectedTrack:
        frames, boxes = np.array(self.frames), np.array(self.boxes)
        return DetectedTrack(self.class_id, frames, boxes, np.array(self.scores))


def _match(
    tracks: list[_Live], found: Detections, rows: IntArray, min_iou: float
) -> tuple[list[tuple[_Live, int]], list[_Live], IntArray]:
    """Hungarian matching of ``tracks`` to the detections ``rows`` of ``found`` by IoU.

    Returns the matched ``(track, row)`` pairs, the tracks left and the rows left. Pairs of
    different classes or below ``min_iou`` never match.
    """
    if not tracks or not len(rows):
        return [], list(tracks), rows
    from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]  # noqa: PLC0415  (0.7 s of the server's start-up otherwise)

    predicted = _to_boxes(np.stack([t.mean for t in tracks]))
    iou = box_iou(predicted[:, None, :], found.xywh[rows][None, :, :])
    classes = np.array([t.class_id for t in tracks])
    iou[classes[:, None] != found.class_ids[rows][None, :]] = 0.0
    track_at, row_at = linear_sum_assignment(1.0 - iou)
    good = iou[track_at, row_at] >= min_iou - _TOLERANCE
    pairs = [(tracks[t], int(rows[r])) for t, r in zip(track_at[good], row_at[good], strict=True)]
    matched_tracks = {id(t) for t, _ in pairs}
    left = [t for t in tracks if id(t) not in matched_tracks]
    return pairs, left, np.setdiff1d(rows, [r for _, r in pairs]).astype(np.int64)


def _apply(pairs: list[tuple[_Live, int]], found: Detections, frame: int) -> None:
    """Correct each matched track with its detection and record it."""
    for track, row in pairs:
        box = found.xywh[row]
        mean, cov = _update(track.mean[None], track.cov[None], box[None])
        track.mean, track.cov = mean[0], cov[0]
        track.add(frame, box, float(found.scores[row]))


def _predict_all(tracks: list[_Live], frames: int, seen_last: set[int]) -> None:
    """Move every track ``frames`` frames on; a lost track stops growing or shrinking."""
    if not tracks or frames <= 0:
        return
    mean = np.stack([t.mean for t in tracks])
    lost = np.array([id(t) not in seen_last for t in tracks])
    mean[lost, 6:] = 0.0  # as ByteTrack: an unseen box keeps its size
    mean, cov = _predict(mean, np.stack([t.cov for t in tracks]), frames)
    for track, new_mean, new_cov in zip(tracks, mean, cov, strict=True):
        track.mean, track.cov = new_mean, new_cov


@dataclass
class _Tracker:
    """The state between sampled frames; ``step`` consumes one frame's detections."""

    params: TrackerParams
    live: list[_Live] = field(default_factory=list)
    born: list[_Live] = field(default_factory=list)  # every track ever started, in order
    seen_last: set[int] = field(default_factory=set)  # ids of tracks matched on the last sample
    previous: int | None = None

    def step(self, frame: int, found: Detections) -> None:
        p = self.params
        _predict_all(
            self.live, 0 if self.previous is None else frame - self.previous, self.seen_last
        )
        live = [t for t in self.live if frame - t.frames[-1] <= p.max_missed_frames]
        confirmed = [t for t in live if t.confirmed]
        high = np.flatnonzero(found.scores >= p.high_score)
        low = np.flatnonzero((found.scores >= p.low_score) & (found.scores < p.high_score))
        first, left, high = _match(confirmed, found, high, p.min_iou)
        recent = [t for t in left if id(t) in self.seen_last]
        second, _, _ = _match(recent, found, low, p.low_min_iou)
        third, _, high = _match([t for t in live if not t.confirmed], found, high, p.min_iou)
        matched = first + second + third
        _apply(matched, found, frame)
        for track, _ in third:
            track.confirmed = len(track.frames) >= p.min_hits
        kept = {id(t) for t, _ in matched}
        self.live = [t for t in live if t.confirmed or id(t) in kept]  # tentative: no misses
        self.live += self._start(frame, found, high)
        self.seen_last = kept | {id(t) for t in self.live if len(t.frames) == 1}
        self.previous = frame

    def _start(self, frame: int, found: Detections, rows: IntArray) -> list[_Live]:
        rows = rows[found.scores[rows] >= self.params.new_track_score]
        if not len(rows):
            return []
        boxes = found.xywh[rows]
        mean, cov = _initiate(boxes)
        first = self.previous is None or self.params.min_hits <= 1
        born = []
        for i, row in enumerate(rows.tolist()):
            track = _Live(int(found.class_ids[row]), mean[i], cov[i], confirmed=first)
            track.add(frame, boxes[i], float(found.scores[row]))
            born.append(track)
        self.born += born
        return born


def track_detections(
    frames: Sequence[int] | IntArray,
    detections: Sequence[Detections],
    params: TrackerParams | None = None,
) -> list[DetectedTrack]:
    """Follow objects through per-frame detections (tracking by detection, ByteTrack-style).

    Args:
        frames: The sampled frame indices, strictly increasing (every Nth frame is fine: the
            motion model predicts over the real gap).
        detections: One ``Detections`` per sampled frame, in the same order.
        params: Matching thresholds; ``TrackerParams()`` when not given.

    Returns:
        The confirmed tracks, in the order they were born (tentative ones are dropped).

    Raises:
        ValueError: For frames not strictly increasing or a count that differs from the
            detections'.

    Example:
        >>> boxes = [Detections(np.array([[f, 0, f + 10, 10]]), [0.9], [0]) for f in range(5)]
        >>> [t.frames.tolist() for t in track_detections(range(5), boxes)]
        [[0, 1, 2, 3, 4]]
    """
    frame_list = [int(f) for f in frames]
    if len(frame_list) != len(detections):
        raise ValueError(f"{len(frame_list)} frames but {len(detections)} detections")
    if any(b <= a for a, b in itertools.pairwise(frame_list)):
        raise ValueError("frames must be strictly increasing")
    tracker = _Tracker(params or TrackerParams())
    for frame, found in zip(frame_list, detections, strict=True):
        tracker.step(frame, found)
    return [t.result() for t in tracker.born if t.confirmed]


# -- from detected tracks to keyframed tracks -----------------------------------------------


def _segment_holds(frames: IntArray, boxes: FloatArray, start: int, end: int, iou: float) -> bool:
    """Does interpolating in frame units from ``start`` to ``end`` (positions) reproduce every
    box in between at IoU ``iou``?"""
    if end - start < 2:
        return True
    ends = np.array([start, end])
    inner = frames[start + 1 : end]
    predicted = interpolate_boxes(frames[ends], boxes[ends], inner)
    return bool((box_iou(predicted, boxes[start + 1 : end]) >= iou - _TOLERANCE).all())


def _farthest(frames: IntArray, boxes: FloatArray, start: int, iou: float) -> int:
    """A far position the segment from ``start`` may reach: double the length while segments
    hold, then bisect between the last that held and the first that failed."""
    last = len(frames) - 1
    good, bad = start + 1, last + 1  # good holds; bad fails or is past the end
    while good < last:
        probe = min(2 * good - start, last)
        if not _segment_holds(frames, boxes, start, probe, iou):
            bad = probe
            break
        good = probe
    while bad - good > 1:
        middle = (good + bad) // 2
        if _segment_holds(frames, boxes, start, middle, iou):
            good = middle
        else:
            bad = middle
    return good


def thin_detected(frames: IntArray, boxes: FloatArray, *, min_iou: float = 0.9) -> IntArray:
    """Positions of the fewest keyframes (greedy) whose interpolation in frame units keeps an
    IoU of ``min_iou`` with each of ``boxes`` on its frame.

    ``core.thinning.thin_boxes`` interpolates over positions and treats a step of more than
    one frame as a break, so it is used as it is only where the frames are evenly spaced (every
    frame, every Nth): there positions are frames to scale. Uneven frames (a missed sample) are
    thinned here with the core's interpolation on the real frame numbers.

    Args:
        frames: ``(F,)`` strictly increasing frames.
        boxes: ``(F, 4)`` ``x, y, w, h`` with non-negative sizes.
        min_iou: The lowest IoU allowed, in ``(0, 1]``.

    Returns:
        ``(K,)`` ascending positions into ``frames``; the first and the last are always kept.

    Example:
        >>> frames = np.array([0, 5, 10, 20, 25])
        >>> boxes = np.stack([frames * 2.0, 0 * frames, 10 + 0 * frames, 10 + 0 * frames], 1)
        >>> thin_detected(frames, boxes).tolist()
        [0, 4]
    """
    steps = np.diff(frames)
    if steps.size == 0 or (steps == steps[0]).all():
        return thin_boxes(np.arange(len(frames)), boxes, min_iou=min_iou)
    full = np.concatenate([boxes, np.zeros((len(boxes), 1))], axis=1)
    kept = [0]
    while kept[-1] < len(frames) - 1:
        kept.append(_farthest(frames, full, kept[-1], min_iou))
    return np.array(kept, dtype=np.int64)


def _keyframes(
    found: DetectedTrack, frame_count: int, min_iou: float, gap_frames: int, sample_step: int
) -> dict[int, Keyframe]:
    """Thinned keyframes span by span, an ``outside`` keyframe after each span."""
    boxes = found.boxes.copy()
    boxes[:, 2:] = np.maximum(boxes[:, 2:], 0.0)
    breaks = np.flatnonzero(np.diff(found.frames) - sample_step > gap_frames) + 1
    keyframes: dict[int, Keyframe] = {}
    for span in np.split(np.arange(len(found)), breaks):
        frames, span_boxes = found.frames[span], boxes[span]
        for i in thin_detected(frames, span_boxes, min_iou=min_iou).tolist():
            keyframes[int(frames[i])] = Keyframe(Box(*span_boxes[i].tolist()))
        after = int(frames[-1]) + 1
        if after < frame_count:
            keyframes[after] = Keyframe(Box(*span_boxes[-1].tolist()), outside=True)
    return keyframes


def to_tracks(
    detected: Sequence[DetectedTrack],
    classes: Sequence[str],
    *,
    frame_count: int,
    first_id: int = 1,
    min_iou: float = 0.9,
    min_length: int = MIN_LENGTH,
    gap_frames: int = 10,
    sample_step: int = 1,
) -> list[Track]:
    """Detected tracks as ``auto`` box tracks with the fewest keyframes that reproduce them.

    Each track's keyframes are thinned (``thin_detected``) so that interpolation stays within
    IoU ``min_iou`` of every detection; the frame after its last detection gets an ``outside``
    keyframe (when inside the video). Where more than ``gap_frames`` frames beyond one sampling
    step pass between two detections (``next - last - sample_step > gap_frames``) the object is
    taken to have left: ``outside`` from the frame after the last detection, a keyframe again
    at the next. Shorter gaps are interpolated across.

    Args:
        detected: What ``track_detections`` found.
        classes: The labeler's class names; ``classes[class_id]`` becomes the track's label.
        frame_count: Frames in the video (no keyframe is put at or after it).
        first_id: The id of the first track; the others follow in order.
        min_iou: The lowest IoU between an interpolated box and a detection, in ``(0, 1]``.
        min_length: Tracks with fewer detections are dropped.
        gap_frames: Missed frames (beyond the sampling step) interpolated across.
        sample_step: Frames between two samples (the largest step for uneven sampling).

    Returns:
        One ``Track`` per detected track long enough, ``source="auto"``, ``score`` its mean.

    Raises:
        ValueError: For a class id outside ``classes`` or a detection at or after
            ``frame_count``.

    Example:
        >>> found = DetectedTrack(0, np.arange(10), [[f, 0, 10, 10] for f in range(10)], [0.9] * 10)
        >>> track = to_tracks([found], ["car"], frame_count=100)[0]
        >>> track.frames, track.keyframes[10].outside
        ((0, 9, 10), True)
    """
    if gap_frames < 0 or sample_step < 1:
        raise ValueError(
            f"needs gap_frames >= 0 and sample_step >= 1, got {gap_frames}, {sample_step}"
        )
    tracks: list[Track] = []
    for found in (d for d in detected if len(d) >= min_length):
        if not 0 <= found.class_id < len(classes):
            raise ValueError(f"class id {found.class_id} is not one of {len(classes)} classes")
        if found.frames[-1] >= frame_count:
            raise ValueError(f"detection on frame {found.frames[-1]} of {frame_count}")
        keys = _keyframes(found, frame_count, min_iou, gap_frames, sample_step)
        score = min(max(found.score, 0.0), 1.0)
        tracks.append(
            Track(first_id + len(tracks), classes[found.class_id], keys, source="auto", score=score)
        )
    return tracks


@dataclass(frozen=True)
class KeyframeStats:
    """How much thinning saved: keyframes a person checks against boxes a model gave.

    Attributes:
        detections: Boxes matched to the tracks kept.
        keyframes: Their keyframes with a box (``outside`` ones not counted).
        outside: Their ``outside`` keyframes.

    Example:
        >>> KeyframeStats(detections=200, keyframes=10, outside=2).ratio
        0.05
    """

    detections: int
    keyframes: int
    outside: int

    @property
    def ratio(self) -> float:
        """Keyframes per detection (0 when there are none)."""
        return self.keyframes / self.detections if self.detections else 0.0


def keyframe_stats(
    detected: Sequence[DetectedTrack], tracks: Sequence[Track], *, min_length: int = MIN_LENGTH
) -> KeyframeStats:
    """Keyframes of ``tracks`` against the detections of the ``detected`` tracks they came
    from (give ``to_tracks``'s ``min_length`` so the dropped ones are not counted).

    Example:
        >>> found = DetectedTrack(0, np.arange(10), [[f, 0, 10, 10] for f in range(10)], [0.9] * 10)
        >>> keyframe_stats([found], to_tracks([found], ["car"], frame_count=100))
        KeyframeStats(detections=10, keyframes=2, outside=1)
    """
    outside = sum(k.outside for t in tracks for k in t.keyframes.values())
    return KeyframeStats(
        detections=sum(len(d) for d in detected if len(d) >= min_length),
        keyframes=sum(len(t.keyframes) for t in tracks) - outside,
        outside=outside,
    )
