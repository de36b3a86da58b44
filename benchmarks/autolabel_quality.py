"""Quality half of the auto-labelling benchmark: detection recall/precision and tracking
(MOTA, IDF1) on ../shared/data/mot17-mini, and how much keyframe thinning saves on real clips.

Ground truth is read the MOTChallenge way (TrackEval's MOT17 preprocessing): on each frame every
detection is first matched (Hungarian, IoU >= 0.5) against *all* ground-truth boxes; one that
lands on a distractor box (class 2 person on vehicle, 7 static person, 8 distractor,
12 reflection) is removed and counts neither way. What is left is matched (Hungarian, IoU >= 0.5)
against the pedestrians (``conf == 1`` and class 1, whatever their visibility): matches are true
positives, the rest false positives (a box on a car or an occluder is a false positive, as in
MOTChallenge), unmatched pedestrians are misses. The rule of tweenlab's own tests and of the
``darknet``/``hog-people`` docstrings is kept beside it as "lenient": pedestrians must also be
visible (``visibility > 0``) and a detection on *any* other box is ignored.

MOT boxes are 1-based ``x, y, w, h``; they are moved to 0-based pixels (``x - 1``) as the
labelers' boxes are.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import motmetrics as mm  # type: ignore[import-untyped]
import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

from tweenlab.autolabel import Detections, Labeler, LabelerOptions
from tweenlab.autolabel.motion import box_iou
from tweenlab.autolabel.run import label_frames
from tweenlab.autolabel.tracking import (
    MIN_LENGTH,
    DetectedTrack,
    TrackerParams,
    keyframe_stats,
    to_tracks,
    track_detections,
)
from tweenlab.core.track import Track
from tweenlab.media import VideoReader
from tweenlab.services.autolabel import make_labeler

Result = dict[str, Any]
FloatArray = npt.NDArray[np.float64]
RGB = npt.NDArray[np.uint8]

MATCH_IOU = 0.5
DISTRACTORS = (2, 7, 8, 12)  # TrackEval's MOT17 distractor classes
PEDESTRIAN = 1
THIN_MIN_IOU = 0.9  # what ``prelabel`` and ``tweenlab autolabel`` thin to
RULE = (
    "MOTChallenge (TrackEval MOT17): Hungarian match at IoU>=0.5 against all gt boxes; a "
    "detection matched to a distractor (class 2 person on vehicle, 7 static person, "
    "8 distractor, 12 reflection) is dropped; the rest are matched (Hungarian, IoU>=0.5) to "
    "pedestrians (conf==1, class==1, any visibility): TP, else FP (on cars/occluders too); "
    "unmatched pedestrians are misses"
)
LENIENT_RULE = (
    "tweenlab tests' rule: pedestrians also need visibility>0; an unmatched detection with "
    "IoU>=0.5 to any other gt box is ignored"
)
NOT_APPLICABLE = {
    "motion": (
        "background subtraction needs consecutive video: MOT17-mini has 4 and 8 stills, fewer "
        "than the labeler's 30 warm-up frames, so it gives no box at all (and it boxes what "
        "moves, not people): not scored"
    ),
}


@dataclass(frozen=True)
class Truth:
    """One frame's ground truth as 0-based ``xyxy`` boxes."""

    ids: npt.NDArray[np.int64]  # pedestrian ids, in the order of ``pedestrians``
    pedestrians: FloatArray
    everything: FloatArray
    classes: npt.NDArray[np.int64]
    visible_pedestrians: FloatArray
    others: FloatArray  # lenient rule: everything that is not a visible pedestrian


@dataclass(frozen=True)
class MotSequence:
    """A mot17-mini sequence: its frames (RGB, in memory), ground truth and public detections."""

    name: str
    images: tuple[RGB, ...]
    truth: tuple[Truth, ...]
    public: tuple[Detections, ...]  # det/det.txt (FRCNN), class 0

    @property
    def frames(self) -> list[int]:
        """0-based frame indices (MOT's frame ``f`` is ``f - 1``)."""
        return list(range(len(self.images)))


def _xyxy(rows: FloatArray) -> FloatArray:
    return np.concatenate([rows[:, 2:4] - 1, rows[:, 2:4] - 1 + rows[:, 4:6]], axis=1)


def _truth(rows: FloatArray) -> Truth:
    boxes = _xyxy(rows)
    pedestrian = (rows[:, 6] == 1) & (rows[:, 7] == PEDESTRIAN)
    visible = pedestrian & (rows[:, 8] > 0)
    return Truth(
        rows[pedestrian, 1].astype(np.int64),
        boxes[pedestrian],
        boxes,
        rows[:, 7].astype(np.int64),
        boxes[visible],
        boxes[~visible],
    )


def _rgb(path: Path) -> RGB:
    image = cv2.imread(str(path))
    if image is None:
        raise FileNotFoundError(path)
    return np.asarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB), dtype=np.uint8)


def load_sequence(folder: Path) -> MotSequence:
    """Frames, ground truth and public detections of the frames that are on disk."""
    paths = sorted((folder / "img1").glob("*.jpg"))
    images = tuple(_rgb(p) for p in paths)
    gt = np.loadtxt(folder / "gt" / "gt.txt", delimiter=",", ndmin=2)
    det = np.loadtxt(folder / "det" / "det.txt", delimiter=",", ndmin=2)
    truth, public = [], []
    for frame in range(1, len(paths) + 1):
        truth.append(_truth(gt[gt[:, 0] == frame]))
        rows = det[det[:, 0] == frame]
        public.append(Detections(_xyxy(rows), rows[:, 6], np.zeros(len(rows), dtype=np.int64)))
    return MotSequence(folder.name, images, tuple(truth), tuple(public))


# -- matching -------------------------------------------------------------------------------


def _hungarian(found: FloatArray, truth: FloatArray) -> list[tuple[int, int]]:
    """``(detection, truth)`` pairs of a maximum-IoU assignment, each with IoU >= 0.5."""
    if not len(found) or not len(truth):
        return []
    iou = box_iou(found, truth)
    iou[iou < MATCH_IOU - 1e-9] = 0.0
    rows, cols = linear_sum_assignment(-iou)
    return [(int(r), int(c)) for r, c in zip(rows, cols, strict=True) if iou[r, c] > 0]


def not_distractors(found: FloatArray, truth: Truth) -> npt.NDArray[np.bool_]:
    """Detections kept after the MOTChallenge preprocessing (not matched to a distractor)."""
    keep = np.ones(len(found), dtype=bool)
    for row, col in _hungarian(found, truth.everything):
        if truth.classes[col] in DISTRACTORS:
            keep[row] = False
    return keep


def score_frame(found: FloatArray, truth: Truth) -> dict[str, int]:
    """TP, FP, misses and dropped detections under both rules on one frame."""
    keep = not_distractors(found, truth)
    hits = len(_hungarian(found[keep], truth.pedestrians))
    pairs = _hungarian(found, truth.visible_pedestrians)
    matched = {r for r, _ in pairs}
    rest = np.array([i for i in range(len(found)) if i not in matched], dtype=np.int64)
    ignored = 0
    if len(rest) and len(truth.others):
        ignored = int((box_iou(found[rest], truth.others).max(axis=1) >= MATCH_IOU).sum())
    return {
        "gt": len(truth.pedestrians),
        "detections": len(found),
        "dropped": int((~keep).sum()),
        "tp": hits,
        "fp": int(keep.sum()) - hits,
        "gt_lenient": len(truth.visible_pedestrians),
        "tp_lenient": len(pairs),
        "fp_lenient": len(found) - len(pairs) - ignored,
    }


def _ratios(counts: dict[str, int]) -> Result:
    def share(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    kept = counts["tp"] + counts["fp"]
    lenient = counts["tp_lenient"] + counts["fp_lenient"]
    return {
        **counts,
        "recall": share(counts["tp"], counts["gt"]),
        "precision": share(counts["tp"], kept),
        "recall_lenient": share(counts["tp_lenient"], counts["gt_lenient"]),
        "precision_lenient": share(counts["tp_lenient"], lenient),
    }


def score_sequence(seq: MotSequence, found: Sequence[Detections]) -> Result:
    """Summed counts and ratios of ``found`` (one ``Detections`` per frame) on ``seq``."""
    total: dict[str, int] = {}
    for boxes, truth in zip(found, seq.truth, strict=True):
        for key, value in score_frame(boxes.xyxy, truth).items():
            total[key] = total.get(key, 0) + value
    return _ratios(total)


def summed(rows: Sequence[Result]) -> Result:
    """The counts of several sequences added up, with their ratios."""
    keys = ("gt", "detections", "dropped", "tp", "fp", "gt_lenient", "tp_lenient", "fp_lenient")
    return _ratios({k: sum(int(r[k]) for r in rows) for k in keys})


# -- detection ------------------------------------------------------------------------------


def run_labeler(labeler: Labeler, images: Sequence[RGB]) -> tuple[list[Detections], float]:
    """``detect`` on each image (one call a frame, after one warm-up call) and ms a frame."""
    labeler.detect([images[0]])
    started = time.perf_counter()
    found = [labeler.detect([image])[0] for image in images]
    return found, 1000 * (time.perf_counter() - started) / len(images)


def people_of(labeler: Labeler, found: Sequence[Detections]) -> list[Detections]:
    """Only the ``person`` detections (``yolov3-tiny`` knows 80 COCO classes)."""
    person = labeler.classes.index("person")
    return [f[f.class_ids == person] for f in found]


def _detector_row(seqs: Sequence[MotSequence], found: dict[str, list[Detections]]) -> Result:
    by_sequence = {s.name: score_sequence(s, found[s.name]) for s in seqs}
    return {"sequences": by_sequence, "total": summed(list(by_sequence.values()))}


def bench_detection(seqs: Sequence[MotSequence]) -> tuple[Result, dict[str, Any]]:
    """Recall and precision of each person labeler and of the public FRCNN detections; the
    person detections of ``yolov3-tiny`` are handed on (the tracking part reuses them)."""
    rows: Result = {}
    kept: dict[str, Any] = {}
    for name in ("yolov3-tiny", "hog-people"):
        labeler = make_labeler(name, LabelerOptions())
        found, ms = {}, []
        for seq in seqs:
            detected, per_frame = run_labeler(labeler, seq.images)
            found[seq.name] = (
                people_of(labeler, detected) if "person" in labeler.classes else detected
            )
            ms.append(per_frame)
        rows[name] = {
            **_detector_row(seqs, found),
            "ms_per_1080p_frame": round(float(np.mean(ms)), 1),
        }
        kept[name] = found
    public = {s.name: list(s.public) for s in seqs}
    rows["FRCNN public det.txt"] = _detector_row(seqs, public)
    sure = {s.name: [d[d.scores >= 0.5] for d in s.public] for s in seqs}
    rows["FRCNN public det.txt, score>=0.5"] = _detector_row(seqs, sure)
    rows["mtcnn"] = _faces(seqs)
    rows["motion"] = {"not_applicable": NOT_APPLICABLE["motion"]}
    return rows, kept


def _faces(seqs: Sequence[MotSequence]) -> Result:
    labeler = make_labeler("mtcnn", LabelerOptions())
    counts, ms = {}, []
    for seq in seqs:
        found, per_frame = run_labeler(labeler, seq.images)
        counts[seq.name] = {"frames": len(found), "faces": sum(len(f) for f in found)}
        ms.append(per_frame)
    return {
        "not_scored": "MOT17 has no face ground truth: only the number of faces found is given",
        "sequences": counts,
        "ms_per_1080p_frame": round(float(np.mean(ms)), 1),
    }


# -- tracking -------------------------------------------------------------------------------


def _accumulate(
    seq: MotSequence, hypotheses: dict[int, list[tuple[int, FloatArray]]]
) -> mm.MOTAccumulator:
    """A motmetrics accumulator fed with IoU distances computed here (motmetrics 1.4's own
    ``iou_matrix`` calls ``np.asfarray``, gone in numpy 2), after dropping distractor hits."""
    accumulator = mm.MOTAccumulator(auto_id=False)
    for frame, truth in enumerate(seq.truth):
        hyps = hypotheses.get(frame, [])
        boxes = np.array([b for _, b in hyps]).reshape(-1, 4)
        keep = not_distractors(boxes, truth)
        boxes, ids = boxes[keep], [i for (i, _), k in zip(hyps, keep, strict=True) if k]
        iou = box_iou(truth.pedestrians, boxes) if len(boxes) else np.zeros((len(truth.ids), 0))
        distances = np.where(iou >= MATCH_IOU, 1 - iou, np.nan)
        accumulator.update(truth.ids.tolist(), ids, distances, frameid=frame)
    return accumulator


METRICS = ["mota", "idf1", "num_switches", "num_false_positives", "num_misses", "num_objects"]


def mot_scores(seq: MotSequence, hypotheses: dict[int, list[tuple[int, FloatArray]]]) -> Result:
    """MOTA, IDF1, ID switches, FP and misses from motmetrics."""
    summary = mm.metrics.create().compute(_accumulate(seq, hypotheses), metrics=METRICS)
    row = summary.iloc[0]
    return {
        "mota": round(float(row["mota"]), 4),
        "idf1": round(float(row["idf1"]), 4),
        "id_switches": int(row["num_switches"]),
        "fp": int(row["num_false_positives"]),
        "misses": int(row["num_misses"]),
        "gt": int(row["num_objects"]),
    }


def _detected_hypotheses(found: Sequence[DetectedTrack]) -> dict[int, list[tuple[int, FloatArray]]]:
    out: dict[int, list[tuple[int, FloatArray]]] = {}
    for number, track in enumerate(found):
        for frame, box in zip(track.frames.tolist(), track.boxes, strict=True):
            out.setdefault(frame, []).append((number, np.concatenate([box[:2], box[:2] + box[2:]])))
    return out


def _track_hypotheses(
    tracks: Sequence[Track], frames: Sequence[int]
) -> dict[int, list[tuple[int, FloatArray]]]:
    every = np.asarray(frames, dtype=np.int64)
    out: dict[int, list[tuple[int, FloatArray]]] = {}
    for track in tracks:
        boxes, visible = track.box_array(every)
        for frame, box in zip(every[visible].tolist(), boxes[visible, :4], strict=True):
            out.setdefault(frame, []).append(
                (track.id, np.concatenate([box[:2], box[:2] + box[2:]]))
            )
    return out


def thinned(
    frames: Sequence[int], found: Sequence[Detections], classes: Sequence[str], frame_count: int
) -> tuple[list[DetectedTrack], list[Track], Result]:
    """Track, thin and count as ``prelabel`` does (same tracker defaults, IoU 0.9, the median
    sampling step)."""
    params = TrackerParams()
    detected = track_detections(frames, found, params)
    step = int(np.median(np.diff(frames))) if len(frames) > 1 else 1
    tracks = to_tracks(
        detected, classes, frame_count=frame_count, min_iou=THIN_MIN_IOU, sample_step=step
    )
    stats = keyframe_stats(detected, tracks)
    long_enough = [d for d in detected if len(d) >= MIN_LENGTH]
    covered = sum(int(d.frames[-1] - d.frames[0]) + 1 for d in long_enough)
    counts = {
        "frames_sampled": len(frames),
        "sample_step": step,
        "frames_with_detections": sum(1 for f in found if len(f)),
        "boxes_detected": sum(len(f) for f in found),
        "boxes_high_score": sum(int((f.scores >= params.high_score).sum()) for f in found),
        "boxes_new_track_score": sum(
            int((f.scores >= params.new_track_score).sum()) for f in found
        ),
        "tracks": len(tracks),
        "track_detections": stats.detections,
        "track_frames_covered": covered,
        "keyframes": stats.keyframes,
        "outside_keyframes": stats.outside,
        "keyframes_per_detection": round(stats.ratio, 4),
        "keyframes_per_covered_frame": round(stats.keyframes / covered, 4) if covered else None,
    }
    return detected, tracks, counts


def bench_tracking(seqs: Sequence[MotSequence], yolo_people: dict[str, list[Detections]]) -> Result:
    """Our tracker on the public FRCNN detections and on yolov3-tiny's people, per sequence:
    the detected tracks scored on their frames, the thinned tracks replayed on every frame."""
    sources = {
        "FRCNN public det.txt": {s.name: list(s.public) for s in seqs},
        "yolov3-tiny": yolo_people,
    }
    out: Result = {}
    for source, by_sequence in sources.items():
        out[source] = {}
        for seq in seqs:
            detected, tracks, counts = thinned(
                seq.frames, by_sequence[seq.name], ["person"], len(seq.frames)
            )
            out[source][seq.name] = {
                "detected_tracks": mot_scores(seq, _detected_hypotheses(detected)),
                "thinned_tracks": mot_scores(seq, _track_hypotheses(tracks, seq.frames)),
                "keyframes": counts,
            }
    return out


# -- keyframe thinning on real clips ---------------------------------------------------------


def clip_thinning(
    video: Path, labeler_name: str, frames: list[int], steps: Sequence[int]
) -> Result:
    """Label ``frames`` of ``video`` once (``label_frames``, as the CLI does), then track and
    thin the detections of every ``step``-th of those frames."""
    labeler = make_labeler(labeler_name, LabelerOptions())
    started = time.perf_counter()
    with VideoReader(video) as reader:
        found = label_frames(reader, labeler, frames)
        frame_count = len(reader)
    seconds = time.perf_counter() - started
    by_step = {}
    for step in steps:
        rows = list(range(0, len(found), step))
        chosen = [int(found.frames[i]) for i in rows]
        picked = [found.detections[i] for i in rows]
        started = time.perf_counter()
        counts = thinned(chosen, picked, found.classes, frame_count)[2]
        counts["track_and_thin_ms"] = round(1000 * (time.perf_counter() - started), 1)
        by_step[f"every {step}"] = counts
    return {
        "video": str(video),
        "labeler": labeler_name,
        "frames": f"{frames[0]}..{frames[-1]}",
        "label_seconds": round(seconds, 2),
        "by_step": by_step,
    }
