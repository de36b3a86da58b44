"""Quality: how well one annotation of a clip agrees with another, and who disagrees.

``compare(reference, candidate)`` scores a candidate annotation against a reference (a
ground-truth task, or another annotator's work) on the same frames:

- detection: objects of the same label are paired on each frame by the Hungarian algorithm on
  IoU (pairs below ``iou_threshold`` never pair, as in CLEAR MOT: the most pairs first, then the
  highest IoU); ``mean_iou`` over the pairs, ``missing`` reference objects and ``extra``
  candidate objects left unpaired, in all and by track;
- identity: IDF1 (Ristani et al. 2016, as TrackEval and motmetrics compute it): each reference
  track is assigned at most one candidate track over the whole clip so that the frames on which
  the two overlap by ``iou_threshold`` or more (IDTP) are as many as possible;
- HOTA (Luiten et al. 2020), computed as TrackEval's ``HOTA.eval_sequence`` does: per frame the
  Hungarian algorithm on IoU weighted by the global alignment of the two tracks, then DetA,
  AssA, LocA and HOTA = sqrt(DetA * AssA) at each alpha in 0.05..0.95 and averaged over them.

Objects are the visible (not ``outside``) states of tracks, by their axis-aligned bounding box,
whatever the shape kind; occluded objects count (they are annotated). Labels must be equal for
two objects to pair; with several labels the result is TrackEval's detection-weighted
combination of the per-label results. One deliberate departure from TrackEval: two annotations
that both hold no object on the compared frames agree perfectly (1.0), where TrackEval gives 0.

``tweenlab.workflow.consensus`` builds on ``compare`` to score the annotators of one clip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.core import AnnotationSet, ShapeKind, Track, box_iou
from tweenlab.errors import AnnotationError, UsageError

__all__ = [
    "HOTA_ALPHAS",
    "Agreement",
    "FrameBox",
    "TrackAgreement",
    "compare",
    "frame_boxes",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

HOTA_ALPHAS: FloatArray = np.arange(0.05, 0.99, 0.05)
"""The localisation thresholds HOTA is averaged over (TrackEval's ``array_labels``, 19 values)."""

_EPS = float(np.finfo(float).eps)
_UNPAIRABLE = 1e6  # the cost of a pair below the threshold: more than any set of real pairs


# -- objects on frames ----------------------------------------------------------------------


@dataclass(frozen=True)
class FrameBox:
    """One object on one frame: a track's visible state by its bounding box.

    Attributes:
        track_id: The track.
        label: The track's label.
        xywh: The axis-aligned bounding box ``(x, y, w, h)`` in pixels.
    """

    track_id: int
    label: str
    xywh: tuple[float, float, float, float]


@dataclass(frozen=True)
class _Objects:
    """Every visible object of an annotation set on the chosen frames, struct-of-arrays.

    Tracks are rows (only those visible on at least one chosen frame); objects are sorted by
    frame column, those of column ``f`` being ``starts[f]:starts[f + 1]``.
    """

    ids: IntArray  # (T,) track ids
    labels: npt.NDArray[np.str_]  # (T,)
    counts: IntArray  # (T,) frames each track is visible on
    column: IntArray  # (N,) frame column of each object, ascending
    row: IntArray  # (N,) track row of each object
    xywh: FloatArray  # (N, 4)
    starts: IntArray  # (F + 1,)

    @classmethod
    def of(cls, annotations: AnnotationSet, frames: IntArray) -> _Objects:
        parts = [(track, *_visible_boxes(track, frames)) for track in annotations.tracks.values()]
        parts = [part for part in parts if len(part[1])]
        columns = [cols for _, cols, _ in parts]
        rows = [np.full(len(cols), r, dtype=np.int64) for r, cols in enumerate(columns)]
        column = np.concatenate([np.zeros(0, np.int64), *columns])
        order = np.argsort(column, kind="stable")
        return cls(
            ids=np.array([track.id for track, _, _ in parts], dtype=np.int64),
            labels=np.array([track.label for track, _, _ in parts], dtype=np.str_),
            counts=np.array([len(cols) for cols in columns], dtype=np.int64),
            column=column[order],
            row=np.concatenate([np.zeros(0, np.int64), *rows])[order],
            xywh=np.concatenate([np.zeros((0, 4)), *(xywh for _, _, xywh in parts)])[order],
            starts=np.searchsorted(column[order], np.arange(len(frames) + 1)).astype(np.int64),
        )

    def on(self, column: int) -> slice:
        """The objects on frame column ``column``."""
        return slice(int(self.starts[column]), int(self.starts[column + 1]))

    def of_track(self, row: int) -> tuple[IntArray, FloatArray]:
        """The frame columns and boxes of track row ``row``."""
        where = np.flatnonzero(self.row == row)
        return self.column[where], self.xywh[where]


def _axis_aligned(boxes: FloatArray) -> FloatArray:
    """``(F, 5)`` ``[x, y, w, h, rotation]`` -> the ``(F, 4)`` bounding boxes of the rotated
    rectangles (unrotated rows unchanged, bit for bit)."""
    x, y, w, h, rotation = boxes.T
    angle = np.deg2rad(rotation)
    cos, sin = np.abs(np.cos(angle)), np.abs(np.sin(angle))
    width, height = w * cos + h * sin, w * sin + h * cos
    turned = np.stack([x + (w - width) / 2, y + (h - height) / 2, width, height], axis=1)
    return np.where((rotation == 0)[:, None], boxes[:, :4], turned)


def _box_track_boxes(track: Track, frames: IntArray) -> tuple[IntArray, FloatArray]:
    """Box tracks, vectorised: frame columns where visible and their bounding boxes."""
    start = int(np.searchsorted(frames, track.start))
    boxes, visible = track.box_array(frames[start:])
    shown = np.flatnonzero(visible)
    return (shown + start).astype(np.int64), _axis_aligned(boxes[shown])


def _shape_track_boxes(track: Track, frames: IntArray) -> tuple[IntArray, FloatArray]:
    """Any other kind: each visible state's ``shape.bbox()``."""
    shown = np.flatnonzero(track.visible_at(frames)).astype(np.int64)
    boxes = []
    for column in shown.tolist():
        state = track.at(int(frames[column]))
        assert state is not None  # visible, so on or after the first keyframe
        boxes.append(state.shape.bbox())
    return shown, np.array(boxes, dtype=np.float64).reshape(-1, 4)


_VECTORISED: dict[ShapeKind, Callable[[Track, IntArray], tuple[IntArray, FloatArray]]] = {
    ShapeKind.BOX: _box_track_boxes,
}


def _visible_boxes(track: Track, frames: IntArray) -> tuple[IntArray, FloatArray]:
    return _VECTORISED.get(track.kind, _shape_track_boxes)(track, frames)


def _frame_array(annotations: AnnotationSet, frames: Iterable[int] | None) -> IntArray:
    """The chosen frames, sorted and unique; every frame of the video when ``None``."""
    count = annotations.video.frame_count
    if frames is None:
        return np.arange(count, dtype=np.int64)
    chosen = np.unique(np.fromiter(frames, dtype=np.int64))
    if len(chosen) and (chosen[0] < 0 or chosen[-1] >= count):
        raise UsageError(f"frames: must lie in 0..{count - 1}, got {chosen[0]}..{chosen[-1]}")
    return chosen


def frame_boxes(
    annotations: AnnotationSet, frames: Iterable[int] | None = None
) -> dict[int, list[FrameBox]]:
    """Every visible object on each of ``frames`` (all frames when ``None``), by bounding box.

    Example:
        >>> from tweenlab.core import Box, Keyframe, Schema, VideoRef
        >>> video = VideoRef("clip.mp4", frame_count=3, width=64, height=64)
        >>> track = Track(7, "car", {1: Keyframe(Box(0, 0, 10, 10))})
        >>> boxes = frame_boxes(AnnotationSet(video, Schema.of("car"), {7: track}))
        >>> boxes[0], boxes[2]
        ([], [FrameBox(track_id=7, label='car', xywh=(0.0, 0.0, 10.0, 10.0))])
    """
    chosen = _frame_array(annotations, frames)
    objects = _Objects.of(annotations, chosen)
    result: dict[int, list[FrameBox]] = {}
    for column, frame in enumerate(chosen.tolist()):
        span = objects.on(column)
        result[frame] = [
            FrameBox(int(objects.ids[row]), str(objects.labels[row]), (x, y, w, h))
            for row, (x, y, w, h) in zip(
                objects.row[span].tolist(), objects.xywh[span].tolist(), strict=True
            )
        ]
    return result


# -- per-frame similarity -------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """A frame with objects on both sides: their track rows and their IoU (0 across labels)."""

    ref: IntArray  # (R,) reference track rows
    cand: IntArray  # (C,) candidate track rows
    iou: FloatArray  # (R, C)


def _frames_in_common(reference: _Objects, candidate: _Objects, columns: int) -> list[_Frame]:
    result = []
    for column in range(columns):
        a, b = reference.on(column), candidate.on(column)
        if a.start == a.stop or b.start == b.stop:
            continue
        ref, cand = reference.row[a], candidate.row[b]
        iou = _pairwise_iou(reference.xywh[a], candidate.xywh[b])
        iou[reference.labels[ref][:, None] != candidate.labels[cand][None, :]] = 0.0
        result.append(_Frame(ref, cand, iou))
    return result


def _pairwise_iou(first: FloatArray, second: FloatArray) -> FloatArray:
    """IoU of every ``(R, 4)`` box with every ``(C, 4)`` box: ``box_iou`` for axis-aligned
    boxes, without its broadcasting (the hot loop of ``compare``)."""
    low = np.maximum(first[:, None, :2], second[None, :, :2])
    high = np.minimum(
        first[:, None, :2] + first[:, None, 2:], second[None, :, :2] + second[None, :, 2:]
    )
    inter = np.prod(np.maximum(high - low, 0.0), axis=2)
    union = (first[:, 2] * first[:, 3])[:, None] + (second[:, 2] * second[:, 3])[None, :] - inter
    iou: FloatArray = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    empty = union <= 0
    if empty.any():  # two empty boxes: the same one or not, as box_iou says
        iou[empty] = np.all(first[:, None, :] == second[None, :, :], axis=2)[empty]
    return iou


def _assign(cost: FloatArray) -> tuple[IntArray, IntArray]:
    """Hungarian algorithm (least total cost), typed."""
    from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]  # noqa: PLC0415  (0.7 s of the server's start-up otherwise)

    rows, cols = linear_sum_assignment(cost)
    return np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)


# -- detection: pairs on each frame ---------------------------------------------------------


@dataclass(frozen=True)
class _Pairs:
    ref: IntArray  # (P,) reference track row of each pair
    cand: IntArray  # (P,) candidate track row
    iou: FloatArray  # (P,)


def _pair_objects(frames: list[_Frame], threshold: float) -> _Pairs:
    """The objects paired on each frame: most pairs at or above ``threshold``, then most IoU."""
    refs, cands, ious = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
    for frame in frames:
        pairable = frame.iou >= threshold
        rows, cols = _assign(np.where(pairable, 1.0 - frame.iou, _UNPAIRABLE))
        kept = pairable[rows, cols]
        rows, cols = rows[kept], cols[kept]
        refs.append(frame.ref[rows])
        cands.append(frame.cand[cols])
        ious.append(frame.iou[rows, cols])
    return _Pairs(np.concatenate(refs), np.concatenate(cands), np.concatenate(ious))


# -- identity: IDF1 --------------------------------------------------------------------------


def _id_assignment(
    frames: list[_Frame], threshold: float, shape: tuple[int, int]
) -> tuple[FloatArray, IntArray, IntArray]:
    """Frames each pair of tracks overlaps by ``threshold`` (every such pair on a frame counts,
    as in TrackEval and motmetrics) and the track assignment that maximises their sum (IDTP)."""
    overlaps = np.zeros(shape)
    for frame in frames:
        overlaps[np.ix_(frame.ref, frame.cand)] += frame.iou >= threshold
    rows, cols = _assign(-overlaps)
    kept = overlaps[rows, cols] > 0
    return overlaps, rows[kept], cols[kept]


# -- HOTA ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hota:
    hota: float
    deta: float
    assa: float
    loca: float


def _hota(frames: list[_Frame], reference: _Objects, candidate: _Objects) -> _Hota:
    """TrackEval's ``HOTA.eval_sequence``, averaged over ``HOTA_ALPHAS``."""
    ref_count, cand_count = reference.counts, candidate.counts
    alignment = _global_alignment(frames, ref_count, cand_count)
    refs, cands, ious = [np.zeros(0, np.int64)], [np.zeros(0, np.int64)], [np.zeros(0)]
    for frame in frames:
        score = alignment[np.ix_(frame.ref, frame.cand)] * frame.iou
        rows, cols = _assign(-score)
        refs.append(frame.ref[rows])
        cands.append(frame.cand[cols])
        ious.append(frame.iou[rows, cols])
    ref, cand, iou = np.concatenate(refs), np.concatenate(cands), np.concatenate(ious)
    hits = iou[None, :] >= HOTA_ALPHAS[:, None] - _EPS  # (A, P)
    tp = hits.sum(axis=1).astype(np.float64)
    fn, fp = ref_count.sum() - tp, cand_count.sum() - tp
    deta = tp / np.maximum(1, tp + fn + fp)
    loca = np.maximum(1e-10, (hits * iou).sum(axis=1)) / np.maximum(1e-10, tp)
    pairs, which = np.unique(ref * len(cand_count) + cand, return_inverse=True)
    pair_ref, pair_cand = pairs // max(1, len(cand_count)), pairs % max(1, len(cand_count))
    assa = np.zeros(len(HOTA_ALPHAS))
    for a in range(len(HOTA_ALPHAS)):
        matches = np.bincount(which, weights=hits[a], minlength=len(pairs))
        union = ref_count[pair_ref] + cand_count[pair_cand] - matches
        assa[a] = np.sum(matches * matches / np.maximum(1, union)) / max(1.0, tp[a])
    hota = np.sqrt(deta * assa)
    return _Hota(float(hota.mean()), float(deta.mean()), float(assa.mean()), float(loca.mean()))


def _global_alignment(
    frames: list[_Frame], ref_count: IntArray, cand_count: IntArray
) -> FloatArray:
    """How well each pair of tracks aligns over the clip: the Jaccard index of their frames,
    each frame weighted by the pair's share of the similarity there (TrackEval's
    ``global_alignment_score``)."""
    potential = np.zeros((len(ref_count), len(cand_count)))
    for frame in frames:
        similarity = frame.iou
        denominator = similarity.sum(0)[None, :] + similarity.sum(1)[:, None] - similarity
        share = np.zeros_like(similarity)
        positive = denominator > _EPS
        share[positive] = similarity[positive] / denominator[positive]
        potential[np.ix_(frame.ref, frame.cand)] += share
    return potential / (ref_count[:, None] + cand_count[None, :] - potential)


# -- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrackAgreement:
    """How one reference track was annotated by the candidate.

    Attributes:
        track_id: The reference track.
        label: Its label.
        frames: Compared frames it is visible on.
        matched_frames: Those on which the candidate has an object paired with it.
        candidate_id: The candidate track assigned to it by identity (IDF1) matching, or
            ``None`` when no candidate track overlaps it by the threshold on any frame.
        id_frames: Frames on which that candidate track overlaps it by the threshold (its IDTP).
        mean_iou: Mean IoU with that candidate track over the frames both are visible on
            (``None`` without a candidate).
    """

    track_id: int
    label: str
    frames: int
    matched_frames: int
    candidate_id: int | None
    id_frames: int
    mean_iou: float | None

    @property
    def matched_fraction(self) -> float:
        """``matched_frames / frames``."""
        return self.matched_frames / self.frames

    @property
    def id_fraction(self) -> float:
        """``id_frames / frames``: the share of the track its one candidate track follows."""
        return self.id_frames / self.frames

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class Agreement:
    """How a candidate annotation agrees with a reference on the same frames.

    Attributes:
        iou_threshold: IoU at or above which two objects may pair (detection and IDF1).
        frames: Frames compared.
        reference_objects: Visible reference objects summed over the frames.
        candidate_objects: Visible candidate objects summed over the frames.
        matched: Objects paired on their frame.
        mean_iou: Mean IoU of the pairs (``None`` when there is none).
        missing: Reference objects left unpaired.
        extra: Candidate objects left unpaired.
        missing_by_track: Reference track id -> its unpaired objects (tracks with any).
        extra_by_track: Candidate track id -> its unpaired objects (tracks with any).
        idtp: Objects on which the assigned tracks overlap; ``idfn``, ``idfp`` the rest.
        idf1: ``2 IDTP / (2 IDTP + IDFN + IDFP)``.
        hota: HOTA averaged over ``HOTA_ALPHAS``; ``deta``, ``assa`` and ``loca`` likewise.
        tracks: One ``TrackAgreement`` per reference track visible on the frames.
    """

    iou_threshold: float
    frames: int
    reference_objects: int
    candidate_objects: int
    matched: int
    mean_iou: float | None
    missing: int
    extra: int
    missing_by_track: Mapping[int, int]
    extra_by_track: Mapping[int, int]
    idtp: int
    idfn: int
    idfp: int
    idf1: float
    hota: float
    deta: float
    assa: float
    loca: float
    tracks: tuple[TrackAgreement, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON form (track ids as keys become strings)."""
        return {
            **asdict(self),
            "missing_by_track": {str(k): v for k, v in self.missing_by_track.items()},
            "extra_by_track": {str(k): v for k, v in self.extra_by_track.items()},
            "tracks": [track.to_json() for track in self.tracks],
        }


def compare(
    reference: AnnotationSet,
    candidate: AnnotationSet,
    *,
    iou_threshold: float = 0.5,
    frames: Iterable[int] | None = None,
) -> Agreement:
    """Score ``candidate`` against ``reference`` on ``frames`` (all frames when ``None``).

    Args:
        reference: The ground truth, or the annotation compared with.
        candidate: The annotation scored.
        iou_threshold: IoU at or above which two objects may pair, in ``(0, 1]``.
        frames: The frames compared (a task's frames); both sets must be of the same video.

    Example:
        >>> from tweenlab.core import Box, Keyframe, Schema, VideoRef
        >>> video = VideoRef("clip.mp4", frame_count=10, width=64, height=64)
        >>> def boxes(x):
        ...     track = Track(1, "car", {0: Keyframe(Box(x, 0, 10, 10))})
        ...     return AnnotationSet(video, Schema.of("car"), {1: track})
        >>> agreement = compare(boxes(0), boxes(2))
        >>> round(agreement.mean_iou, 4), agreement.idf1, round(agreement.hota, 4)
        (0.6667, 1.0, 0.6842)
    """
    if not 0 < iou_threshold <= 1:
        raise UsageError(f"iou_threshold: must be in (0, 1], got {iou_threshold}")
    if reference.video.frame_count != candidate.video.frame_count:
        raise AnnotationError(
            f"{candidate.video.frame_count} frames, the reference {reference.video.frame_count}",
            field="video",
        )
    chosen = _frame_array(reference, frames)
    ref, cand = _Objects.of(reference, chosen), _Objects.of(candidate, chosen)
    common = _frames_in_common(ref, cand, len(chosen))
    pairs = _pair_objects(common, iou_threshold)
    overlaps, id_rows, id_cols = _id_assignment(
        common, iou_threshold, (len(ref.ids), len(cand.ids))
    )
    idtp = int(overlaps[id_rows, id_cols].sum())
    total_ref, total_cand = int(ref.counts.sum()), int(cand.counts.sum())
    empty = total_ref == 0 and total_cand == 0
    hota = _Hota(1.0, 1.0, 1.0, 1.0) if empty else _hota(common, ref, cand)
    unpaired_ref = ref.counts - np.bincount(pairs.ref, minlength=len(ref.ids))
    unpaired_cand = cand.counts - np.bincount(pairs.cand, minlength=len(cand.ids))
    return Agreement(
        iou_threshold=iou_threshold,
        frames=len(chosen),
        reference_objects=total_ref,
        candidate_objects=total_cand,
        matched=len(pairs.iou),
        mean_iou=float(pairs.iou.mean()) if len(pairs.iou) else None,
        missing=int(unpaired_ref.sum()),
        extra=int(unpaired_cand.sum()),
        missing_by_track=_by_track(ref.ids, unpaired_ref),
        extra_by_track=_by_track(cand.ids, unpaired_cand),
        idtp=idtp,
        idfn=total_ref - idtp,
        idfp=total_cand - idtp,
        idf1=1.0 if empty else 2 * idtp / (total_ref + total_cand),
        hota=hota.hota,
        deta=hota.deta,
        assa=hota.assa,
        loca=hota.loca,
        tracks=_track_agreements(
            ref, cand, pairs, overlaps, dict(zip(id_rows.tolist(), id_cols.tolist(), strict=True))
        ),
    )


def _by_track(ids: IntArray, counts: IntArray) -> dict[int, int]:
    return {int(i): int(n) for i, n in zip(ids, counts, strict=True) if n}


def _track_agreements(
    ref: _Objects,
    cand: _Objects,
    pairs: _Pairs,
    overlaps: FloatArray,
    assigned: Mapping[int, int],
) -> tuple[TrackAgreement, ...]:
    matched = np.bincount(pairs.ref, minlength=len(ref.ids))
    result = []
    for row in range(len(ref.ids)):
        other = assigned.get(row)
        result.append(
            TrackAgreement(
                track_id=int(ref.ids[row]),
                label=str(ref.labels[row]),
                frames=int(ref.counts[row]),
                matched_frames=int(matched[row]),
                candidate_id=None if other is None else int(cand.ids[other]),
                id_frames=0 if other is None else int(overlaps[row, other]),
                mean_iou=None if other is None else _track_iou(ref, row, cand, other),
            )
        )
    return tuple(result)


def _track_iou(ref: _Objects, row: int, cand: _Objects, other: int) -> float:
    """Mean IoU of two tracks over the frames both are visible on (at least one: they overlap)."""
    ref_columns, ref_boxes = ref.of_track(row)
    cand_columns, cand_boxes = cand.of_track(other)
    _, a, b = np.intersect1d(ref_columns, cand_columns, assume_unique=True, return_indices=True)
    return float(box_iou(ref_boxes[a], cand_boxes[b]).mean())
