"""Quality metrics: hand-computed cases, IDF1 against motmetrics and HOTA against TrackEval's
numbers on the same synthetic sequences."""

from __future__ import annotations

import doctest
import json
import math
from collections.abc import Callable, Mapping

import motmetrics as mm
import numpy as np
import numpy.typing as npt
import pytest

from tweenlab.core import AnnotationSet, Box, Keyframe, Polygon, Schema, Track, VideoRef
from tweenlab.errors import AnnotationError, UsageError
from tweenlab.workflow import quality
from tweenlab.workflow.consensus import consensus
from tweenlab.workflow.quality import HOTA_ALPHAS, Agreement, compare, frame_boxes

VIDEO = VideoRef("clip.mp4", frame_count=40, width=640, height=480)
SCHEMA = Schema.of("car", "person")
XYWH = tuple[float, float, float, float]
FloatArray = npt.NDArray[np.float64]


def _track(track_id: int, boxes: Mapping[int, XYWH], label: str = "car") -> Track:
    """A track with a keyframe on every frame of ``boxes``, outside on each frame after one."""
    keys: dict[int, Keyframe] = {}
    for frame, box in sorted(boxes.items()):
        keys[frame] = Keyframe(Box(*box))
        after = frame + 1
        if after not in boxes and after < VIDEO.frame_count:
            keys[after] = Keyframe(Box(*box), outside=True)
    return Track(track_id, label, keys)


def _set(*tracks: Track) -> AnnotationSet:
    return AnnotationSet(VIDEO, SCHEMA, {track.id: track for track in tracks})


def _still(x: float, frames: range, size: tuple[float, float] = (10, 10)) -> dict[int, XYWH]:
    return {frame: (x, 0.0, *size) for frame in frames}


def _hota_of_constant_iou(iou: float) -> float:
    """HOTA of one track followed on every frame at a constant IoU: 1 at each alpha <= IoU."""
    return float(np.mean(iou >= HOTA_ALPHAS - np.finfo(float).eps))


def synthetic(seed: int) -> tuple[AnnotationSet, AnnotationSet]:
    """A reference of 6 moving tracks of two labels, and a candidate that jitters and resizes
    them, misses some frames, switches each track's identity once, relabels one track and adds
    two false tracks."""
    rng = np.random.default_rng(seed)
    reference, candidate = [], []
    for track_id in range(1, 7):
        label = ("car", "person")[track_id % 2]
        start, end = int(rng.integers(0, 12)), int(rng.integers(24, 40))
        origin, size = rng.uniform(0, 150, 2), rng.uniform(40, 90, 2)
        velocity = rng.uniform(-5, 5, 2)
        switch = int(rng.integers(start, end + 1))
        truth: dict[int, XYWH] = {}
        halves: tuple[dict[int, XYWH], dict[int, XYWH]] = ({}, {})
        for frame in range(start, end):
            x, y = origin + velocity * (frame - start)
            truth[frame] = (x, y, size[0], size[1])
            if rng.random() < 0.15:
                continue
            dx, dy = rng.normal(0, 0.12, 2) * size
            w, h = size * rng.uniform(0.75, 1.25, 2)
            halves[frame >= switch][frame] = (x + dx, y + dy, w, h)
        reference.append(_track(track_id, truth, label))
        relabel = "car" if track_id == 1 else label
        candidate += [
            _track(track_id * 10 + half, boxes, relabel if half else label)
            for half, boxes in enumerate(halves)
            if boxes
        ]
    for track_id in (98, 99):
        start = int(rng.integers(0, 30))
        x, y = rng.uniform(0, 300, 2)
        boxes = {frame: (x, y, 50.0, 60.0) for frame in range(start, start + 8)}
        candidate.append(_track(track_id, boxes, "person"))
    return _set(*reference), _set(*candidate)


# -- objects on frames ----------------------------------------------------------------------


def test_frame_boxes_are_the_visible_states_bounding_boxes() -> None:
    boxes = Track(
        1,
        "car",
        {
            2: Keyframe(Box(0, 0, 10, 20, rotation=30)),
            10: Keyframe(Box(40, 10, 30, 20, rotation=-60)),
            15: Keyframe(Box(40, 10, 30, 20), outside=True),
            20: Keyframe(Box(5, 5, 5, 5)),
        },
    )
    outline = Track(
        2,
        "person",
        {
            0: Keyframe(Polygon([[0, 0], [8, 0], [0, 6]])),
            30: Keyframe(Polygon([[20, 10], [28, 12], [20, 16]])),
            35: Keyframe(Polygon([[20, 10], [28, 12], [20, 16]]), outside=True),
        },
    )
    found = frame_boxes(_set(boxes, outline))
    assert sorted(found) == list(range(VIDEO.frame_count))
    for frame, objects in found.items():
        expected = {}
        for track in (boxes, outline):
            state = track.at(frame)
            if state is not None and state.visible:
                expected[track.id] = (track.label, state.shape.bbox())
        assert {o.track_id: o.label for o in objects} == {k: v[0] for k, v in expected.items()}
        for box in objects:
            assert box.xywh == pytest.approx(expected[box.track_id][1], abs=1e-9), frame


def test_frame_boxes_on_chosen_frames_only() -> None:
    found = frame_boxes(_set(_track(1, _still(0, range(5, 9)))), frames=[9, 3, 5, 5])
    assert list(found) == [3, 5, 9]
    assert [len(found[f]) for f in (3, 5, 9)] == [0, 1, 0]


# -- hand-computed cases --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("switch", "idtp", "assa", "followed_by"),
    [
        # pairs A-1 = B-2 overlap on 4 frames, A-2 = B-1 on 6: IDTP 12 of 20 + 20 objects;
        # AssA = (2 * 4 * 4/(10+10-4) + 2 * 6 * 6/(10+10-6)) / 20 = 5/14
        (4, 12, 5 / 14, 2),
        # halves: IDTP 10; every pair 5 frames, AssA = 4 * 5 * 5/15 / 20 = 1/3
        (5, 10, 1 / 3, None),
    ],
    ids=["switch-at-4", "switch-midway"],
)
def test_swapped_identities(switch: int, idtp: int, assa: float, followed_by: int | None) -> None:
    frames = range(10)
    reference = _set(_track(1, _still(0, frames)), _track(2, _still(100, frames)))
    first = {f: (0.0 if f < switch else 100.0, 0.0, 10.0, 10.0) for f in frames}
    second = {f: (100.0 if f < switch else 0.0, 0.0, 10.0, 10.0) for f in frames}
    candidate = _set(_track(1, first), _track(2, second))
    agreement = compare(reference, candidate, frames=frames)
    assert (agreement.matched, agreement.missing, agreement.extra) == (20, 0, 0)
    assert agreement.mean_iou == 1.0
    assert (agreement.idtp, agreement.idfn, agreement.idfp) == (idtp, 20 - idtp, 20 - idtp)
    assert agreement.idf1 == pytest.approx(2 * idtp / 40)
    assert agreement.deta == 1.0
    assert agreement.assa == pytest.approx(assa)
    assert agreement.hota == pytest.approx(math.sqrt(assa))
    assert agreement.loca == 1.0
    track = agreement.tracks[0]
    longest = max(switch, 10 - switch)
    assert (track.frames, track.matched_frames, track.id_frames) == (10, 10, longest)
    if followed_by is not None:
        assert track.candidate_id == followed_by
    assert track.mean_iou == pytest.approx(longest / 10)
    assert track.id_fraction == longest / 10


def test_missed_frames_and_a_false_track() -> None:
    reference = _set(_track(1, _still(0, range(10))))
    candidate = _set(
        _track(7, {f: b for f, b in _still(0, range(10)).items() if f not in (3, 4)}),
        _track(8, _still(200, range(5)), "person"),
    )
    agreement = compare(reference, candidate, frames=range(10))
    assert (agreement.matched, agreement.missing, agreement.extra) == (8, 2, 5)
    assert agreement.missing_by_track == {1: 2}
    assert agreement.extra_by_track == {8: 5}
    assert (agreement.idtp, agreement.idfn, agreement.idfp) == (8, 2, 5)
    assert agreement.idf1 == pytest.approx(16 / 23)
    # TP 8, FN 2, FP 5 at every alpha; the one pair matched 8 times, 10 and 8 objects: 8/10
    assert agreement.deta == pytest.approx(8 / 15)
    assert agreement.assa == pytest.approx(0.8)
    assert agreement.hota == pytest.approx(math.sqrt(8 / 15 * 0.8))
    (track,) = agreement.tracks
    assert (track.candidate_id, track.matched_frames, track.matched_fraction) == (7, 8, 0.8)


@pytest.mark.parametrize(
    ("candidate_box", "iou"),
    [
        ((2, 0, 10, 10), 80 / 120),
        ((0, 0, 10, 20), 0.5),  # exactly the threshold: pairs
        ((1, 1, 10, 10), 81 / 119),
        ((0, 0, 5, 5), 0.25),  # below the threshold: never pairs
    ],
    ids=["shift-x-2", "double-height", "shift-diagonal", "quarter"],
)
def test_a_shifted_box_lowers_iou_by_its_overlap(candidate_box: XYWH, iou: float) -> None:
    frames = range(20)
    reference = _set(_track(1, _still(0, frames)))
    candidate = _set(_track(2, dict.fromkeys(frames, candidate_box)))
    agreement = compare(reference, candidate, frames=frames)
    paired = iou >= 0.5
    assert agreement.matched == (20 if paired else 0)
    assert agreement.mean_iou == (pytest.approx(iou) if paired else None)
    assert agreement.idf1 == (1.0 if paired else 0.0)
    assert agreement.hota == pytest.approx(_hota_of_constant_iou(iou))
    (track,) = agreement.tracks
    assert track.mean_iou == (pytest.approx(iou) if paired else None)


def test_loca_is_trackevals_average_over_alphas() -> None:
    reference = _set(_track(1, _still(0, range(10))))
    agreement = compare(reference, _set(_track(1, _still(2, range(10)))), frames=range(10))
    # 13 alphas (0.05..0.65) match at IoU 2/3; TrackEval's LocA is 1 where nothing matched
    assert agreement.loca == pytest.approx((13 * 2 / 3 + 6) / 19)
    assert agreement.hota == pytest.approx(13 / 19)


def test_hota_matching_prefers_the_globally_aligned_track() -> None:
    # candidate 1 follows A on all 10 frames, at IoU 2/3 on frame 9, where candidate 2 (that
    # frame only) covers A exactly: detection pairs A with 2 there, HOTA with the aligned 1
    reference = _set(_track(1, _still(0, range(10))))
    follower = {**_still(0, range(9)), 9: (2.0, 0.0, 10.0, 10.0)}
    candidate = _set(_track(1, follower), _track(2, _still(0, range(9, 10))))
    agreement = compare(reference, candidate, frames=range(10))
    assert (agreement.matched, agreement.mean_iou, agreement.extra) == (10, 1.0, 1)
    assert agreement.idf1 == pytest.approx(20 / 21)
    # alpha <= 2/3 (13 alphas): TP 10, FP 1, AssA 1; above (6): TP 9, FN 1, FP 2, AssA 9/11
    low, high = math.sqrt(10 / 11), math.sqrt(9 / 12 * 9 / 11)
    assert agreement.hota == pytest.approx((13 * low + 6 * high) / 19)
    assert agreement.assa == pytest.approx((13 + 6 * 9 / 11) / 19)
    assert agreement.loca == pytest.approx((13 * (9 + 2 / 3) / 10 + 6) / 19)


def test_pairs_most_objects_then_most_iou() -> None:
    # at IoU >= 0.3, reference A pairs with candidate 1 (IoU 95/105) or 2 (52/148), B only
    # with 1 (52/148): A-2 and B-1 make two pairs, where the largest IoU sum would make one
    reference = _set(_track(1, {0: (0, 0, 100, 100)}), _track(2, {0: (53, 0, 100, 100)}))
    candidate = _set(_track(1, {0: (5, 0, 100, 100)}), _track(2, {0: (-48, 0, 100, 100)}))
    agreement = compare(reference, candidate, frames=[0], iou_threshold=0.3)
    assert (agreement.matched, agreement.missing, agreement.extra) == (2, 0, 0)
    assert agreement.mean_iou == pytest.approx(52 / 148)


# -- edge cases -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1], ids=["seed-0", "seed-1"])
def test_identical_sets_agree_perfectly(seed: int) -> None:
    reference, _ = synthetic(seed)
    agreement = compare(reference, reference)
    assert agreement.matched == agreement.reference_objects > 0
    assert agreement.mean_iou == pytest.approx(1.0)
    assert (agreement.missing, agreement.extra, agreement.idfn, agreement.idfp) == (0, 0, 0, 0)
    scores = (agreement.idf1, agreement.hota, agreement.deta, agreement.assa, agreement.loca)
    assert scores == pytest.approx((1.0,) * 5)
    assert all(t.candidate_id == t.track_id and t.id_fraction == 1.0 for t in agreement.tracks)


def test_two_empty_sets_agree_perfectly() -> None:
    agreement = compare(_set(), _set())
    assert (agreement.idf1, agreement.hota, agreement.mean_iou) == (1.0, 1.0, None)


def test_an_empty_candidate_misses_everything() -> None:
    reference, _ = synthetic(3)
    agreement = compare(reference, _set())
    assert agreement.missing == agreement.reference_objects > 0
    assert len(agreement.tracks) == 6
    assert agreement.missing_by_track == {t.track_id: t.frames for t in agreement.tracks}
    assert (agreement.matched, agreement.extra, agreement.mean_iou) == (0, 0, None)
    assert (agreement.idf1, agreement.hota, agreement.deta, agreement.assa) == (0, 0, 0, 0)
    assert all(t.candidate_id is None and t.mean_iou is None for t in agreement.tracks)


def test_a_different_label_never_pairs() -> None:
    frames = range(10)
    reference = _set(_track(1, _still(0, frames), "car"))
    candidate = _set(_track(1, _still(0, frames), "person"))
    agreement = compare(reference, candidate, frames=frames)
    assert (agreement.matched, agreement.missing, agreement.extra) == (0, 10, 10)
    assert (agreement.idf1, agreement.hota) == (0.0, 0.0)
    assert agreement.tracks[0].candidate_id is None


def test_frames_restrict_the_comparison() -> None:
    reference = _set(Track(1, "car", {0: Keyframe(Box(0, 0, 10, 10))}))  # to the video's end
    candidate = _set(_track(1, _still(0, range(10))))
    assert compare(reference, candidate).missing == 30
    assert compare(reference, candidate, frames=range(12)).missing == 2
    assert compare(reference, candidate, frames=range(10)).idf1 == 1.0


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda: compare(_set(), _set(), iou_threshold=0), UsageError),
        (lambda: compare(_set(), _set(), iou_threshold=1.5), UsageError),
        (lambda: compare(_set(), _set(), frames=[0, 40]), UsageError),
        (
            lambda: compare(_set(), AnnotationSet(VideoRef("other.mp4", 41, 640, 480), SCHEMA, {})),
            AnnotationError,
        ),
        (lambda: consensus({"ann": _set()}), UsageError),
    ],
    ids=["threshold-zero", "threshold-above-one", "frame-past-end", "other-video", "alone"],
)
def test_bad_arguments_are_refused(call: Callable[[], object], error: type[Exception]) -> None:
    with pytest.raises(error):
        call()


# -- cross-checks ---------------------------------------------------------------------------


def _iou_distances(gt: FloatArray, hyp: FloatArray) -> FloatArray:
    """motmetrics' cost: ``1 - IoU``, NaN below IoU 0.5 (its ``iou_matrix`` calls
    ``np.asfarray``, which numpy 2 removed)."""
    left = np.maximum(gt[:, None, 0], hyp[None, :, 0])
    top = np.maximum(gt[:, None, 1], hyp[None, :, 1])
    right = np.minimum(gt[:, None, 0] + gt[:, None, 2], hyp[None, :, 0] + hyp[None, :, 2])
    bottom = np.minimum(gt[:, None, 1] + gt[:, None, 3], hyp[None, :, 1] + hyp[None, :, 3])
    inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
    union = gt[:, None, 2] * gt[:, None, 3] + hyp[None, :, 2] * hyp[None, :, 3] - inter
    distance = 1 - inter / union
    return np.where(distance <= 0.5, distance, np.nan)


def _motmetrics_idf1(reference: AnnotationSet, candidate: AnnotationSet) -> float:
    accumulator = mm.MOTAccumulator(auto_id=False)
    ref_boxes, cand_boxes = frame_boxes(reference), frame_boxes(candidate)
    for frame, gt in ref_boxes.items():
        hyp = cand_boxes[frame]
        distances = _iou_distances(
            np.array([o.xywh for o in gt]).reshape(-1, 4),
            np.array([o.xywh for o in hyp]).reshape(-1, 4),
        )
        labels_differ = np.array([[g.label != h.label for h in hyp] for g in gt], dtype=bool)
        distances[labels_differ.reshape(distances.shape)] = np.nan
        accumulator.update(
            [o.track_id for o in gt], [o.track_id for o in hyp], distances, frameid=frame
        )
    summary = mm.metrics.create().compute(accumulator, metrics=["idf1"])
    return float(summary["idf1"].iloc[0])


@pytest.mark.parametrize("seed", [0, 1, 2, 3], ids=lambda s: f"seed-{s}")
def test_idf1_equals_motmetrics(seed: int) -> None:
    reference, candidate = synthetic(seed)
    agreement = compare(reference, candidate)
    assert 0.2 < agreement.idf1 < 0.95  # a sequence where identity matching has work to do
    assert agreement.idf1 == pytest.approx(_motmetrics_idf1(reference, candidate), abs=1e-12)


def trackeval_values(reference: AnnotationSet, candidate: AnnotationSet) -> dict[str, float]:
    """TrackEval's own numbers: ``HOTA`` and ``Identity`` ``eval_sequence`` per label on the
    objects of ``frame_boxes`` (IoU by TrackEval's ``_calculate_box_ious``), combined with
    ``combine_classes_det_averaged``, averaged over alphas as its summary reports them.

    Not a test: TrackEval cannot be a test dependency (its wheel requires opencv-python 5,
    which would replace the opencv-python-headless < 5 tweenlab pins); ``python
    tests/workflow/test_quality.py`` with TrackEval importable prints ``TRACKEVAL`` again.
    """
    from trackeval.datasets._base_dataset import _BaseDataset
    from trackeval.metrics import HOTA, Identity

    hota, identity = HOTA(), Identity({"THRESHOLD": 0.5, "PRINT_CONFIG": False})
    ref_boxes, cand_boxes = frame_boxes(reference), frame_boxes(candidate)
    hotas, identities = {}, {}
    for label in SCHEMA.names:
        gt = {f: [o for o in objects if o.label == label] for f, objects in ref_boxes.items()}
        hyp = {f: [o for o in objects if o.label == label] for f, objects in cand_boxes.items()}
        gt_ids = {i: n for n, i in enumerate(sorted({o.track_id for v in gt.values() for o in v}))}
        hyp_ids = {
            i: n for n, i in enumerate(sorted({o.track_id for v in hyp.values() for o in v}))
        }
        data = {
            "num_timesteps": len(gt),
            "num_gt_ids": len(gt_ids),
            "num_tracker_ids": len(hyp_ids),
            "num_gt_dets": sum(map(len, gt.values())),
            "num_tracker_dets": sum(map(len, hyp.values())),
            "gt_ids": [np.array([gt_ids[o.track_id] for o in gt[f]], dtype=int) for f in gt],
            "tracker_ids": [np.array([hyp_ids[o.track_id] for o in hyp[f]], dtype=int) for f in gt],
            "similarity_scores": [
                _BaseDataset._calculate_box_ious(
                    np.array([o.xywh for o in gt[f]]).reshape(-1, 4),
                    np.array([o.xywh for o in hyp[f]]).reshape(-1, 4),
                )
                for f in gt
            ],
        }
        hotas[label], identities[label] = hota.eval_sequence(data), identity.eval_sequence(data)
    combined = hota.combine_classes_det_averaged(hotas)
    values = {field: float(np.mean(combined[field])) for field in ("HOTA", "DetA", "AssA", "LocA")}
    return {**values, "IDF1": float(identity.combine_classes_det_averaged(identities)["IDF1"])}


# ``trackeval_values(*synthetic(seed))`` from TrackEval 1.3.0 with numpy 2.4 and scipy 1.17.
TRACKEVAL: dict[int, dict[str, float]] = {
    0: {
        "HOTA": 0.43652931823085583,
        "DetA": 0.4742264800889605,
        "AssA": 0.4033120275639847,
        "LocA": 0.7135914390160808,
        "IDF1": 0.555205047318612,
    },
    1: {
        "HOTA": 0.3869336938640042,
        "DetA": 0.3809465437886022,
        "AssA": 0.3941224169282628,
        "LocA": 0.7133661699418141,
        "IDF1": 0.527536231884058,
    },
    2: {
        "HOTA": 0.4255999324906378,
        "DetA": 0.467354707531835,
        "AssA": 0.3895388003922431,
        "LocA": 0.7105230213881284,
        "IDF1": 0.5945945945945946,
    },
    3: {
        "HOTA": 0.35772315542952887,
        "DetA": 0.4070544652848551,
        "AssA": 0.31715022072810267,
        "LocA": 0.7117832085320397,
        "IDF1": 0.47509578544061304,
    },
}


def _agreement_values(agreement: Agreement) -> dict[str, float]:
    return {
        "HOTA": agreement.hota,
        "DetA": agreement.deta,
        "AssA": agreement.assa,
        "LocA": agreement.loca,
        "IDF1": agreement.idf1,
    }


@pytest.mark.parametrize("seed", sorted(TRACKEVAL), ids=lambda s: f"seed-{s}")
def test_hota_equals_trackeval(seed: int) -> None:
    reference, candidate = synthetic(seed)
    expected = TRACKEVAL[seed]
    assert _agreement_values(compare(reference, candidate)) == pytest.approx(expected, abs=1e-9)


# -- consensus ------------------------------------------------------------------------------


def test_consensus_against_ground_truth() -> None:
    frames = range(10)
    truth = _set(_track(1, _still(0, frames)), _track(2, _still(100, frames)))
    careful = truth
    sloppy = _set(_track(1, _still(2, frames)))
    scores = consensus({"careful": careful, "sloppy": sloppy}, reference=truth, frames=frames)
    assert list(scores) == ["careful", "sloppy"]
    assert scores["careful"].against == ()
    assert (scores["careful"].idf1, scores["careful"].hota, scores["careful"].missing) == (1, 1, 0)
    sloppy_score = scores["sloppy"]
    assert sloppy_score.missing == 10
    assert sloppy_score.mean_iou == pytest.approx(2 / 3)
    assert sloppy_score.idf1 == pytest.approx(2 * 10 / (20 + 10))
    assert len(sloppy_score.agreements) == 1


def test_consensus_without_ground_truth_shows_who_disagrees() -> None:
    frames = range(10)
    ann = _set(_track(1, _still(0, frames)), _track(2, _still(100, frames)))
    bob = _set(_track(5, _still(1, frames)), _track(6, _still(101, frames)))
    cy = _set(_track(1, _still(0, frames)))  # forgot the second object
    scores = consensus({"ann": ann, "bob": bob, "cy": cy}, frames=frames)
    assert scores["ann"].against == ("bob", "cy")
    # ann: 1.0 with bob, 2*10/30 with cy; cy: 2/3 with both
    assert scores["ann"].idf1 == pytest.approx((1 + 2 / 3) / 2)
    assert scores["cy"].idf1 == pytest.approx(2 / 3)
    assert scores["cy"].missing == 10  # each other annotator has an object cy lacks
    assert scores["ann"].extra == 5  # cy lacks one of ann's objects: 10 extra against cy
    assert min(scores.values(), key=lambda s: s.idf1).annotator == "cy"


def test_to_json_is_plain_json() -> None:
    reference, candidate = synthetic(0)
    agreement = compare(reference, candidate)
    data = json.loads(json.dumps(agreement.to_json(), allow_nan=False))
    assert data["idf1"] == agreement.idf1
    assert data["missing_by_track"] == {str(k): v for k, v in agreement.missing_by_track.items()}
    assert len(data["tracks"]) == len(agreement.tracks)
    score = consensus({"a": reference, "b": candidate})["a"]
    assert json.loads(json.dumps(score.to_json()))["against"] == ["b"]


def test_docstring_examples() -> None:
    result = doctest.testmod(quality, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0


if __name__ == "__main__":
    print({seed: trackeval_values(*synthetic(seed)) for seed in range(4)})
