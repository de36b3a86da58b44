"""The ``motion`` built-in: class-agnostic boxes around what moves in front of a static camera,
optionally named by another labeler.

Background subtraction (OpenCV's KNN by default, MOG2 on request) learns the background from
the frames it sees, so the labeler is ``sequential``: it must see consecutive frames of one
video in order, and the first ``extra["warmup"]`` frames (default 30, one second at 30 fps)
give no boxes while the model settles (KNN calls a still frame foreground for its first 4
frames, MOG2 the whole first frame). Shadows
(MOG2 and KNN mark them 127) are dropped; the foreground is opened (removes speckle) then
closed (joins a car's roof to its bonnet) with a 5x5 ellipse; each 8-connected component
of at least ``extra["min_area"]`` (a fraction of the frame when under 1, else pixels; default
0.001) becomes one box of class ``moving`` with its component as its mask ``(N, H, W)``.
Motion has no confidence: those boxes score 1.0.

With ``extra["classify_with"]`` naming another registered labeler (``yolov3-tiny``), that
labeler runs on every frame that has motion boxes, and each box takes the class and score of
the detection that overlaps it most (IoU >= ``extra["match_iou"]``, default 0.3); boxes that
no detection overlaps stay ``moving``. ``classes`` is then ``("moving", *its classes)``.

Measured on ../shared/data/clips/bgs-traffic-topdown.avi (640x360, cars from above) on a
2-core machine: KNN 3.8 ms a frame, MOG2 5.3 ms. Nothing moves before frame 58; from there each
passing car is one box (frame 100: the car at x 522-577, y 150-203). MOG2 also boxed empty
pavement on frames 80 and 100 (a change of light), KNN did not, hence the default. Named by
``yolov3-tiny`` (30 ms a frame at 416) these cars stay ``moving``: COCO shows cars from the
side, and the one name it gave in 130 frames was wrong (``toilet``, 0.51). The labeler is
useless on a moving camera: the whole frame moves.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import cast

import cv2
import numpy as np
import numpy.typing as npt

from tweenlab.autolabel.base import RGB, Detections, Labeler, LabelerFactory, LabelerOptions
from tweenlab.errors import LabelerError, PluginError

__all__ = ["MotionProposals", "box_iou", "motion_proposals"]

NAME = "motion"
_SEED = 20261126  # of the random generator KNN samples the background with
_FOREGROUND = 255  # MOG2/KNN mark shadows 127
_OWN_KEYS = frozenset({"min_area", "warmup", "method", "history", "classify_with", "match_iou"})


def box_iou(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``(len(a), len(b))`` intersection over union of two sets of ``xyxy`` boxes.

    Example:
        >>> box_iou(np.array([[0.0, 0, 10, 10]]), np.array([[5.0, 0, 15, 10]])).round(3).tolist()
        [[0.333]]
    """
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


class MotionProposals:
    """Boxes around moving regions of consecutive frames from a static camera.

    Args:
        min_area: Smallest component kept: a fraction of the frame when under 1, else pixels.
        warmup: Frames seen before any box is given (the background model settles).
        method: ``"knn"`` or ``"mog2"`` background subtraction.
        history: Frames the background model remembers.
        classifier: Another labeler that names the boxes (see the module docstring).
        match_iou: Overlap a classifier detection needs to name a box.
        batch_size: Frames the runner should pass per call.

    Example:
        >>> motion = MotionProposals(warmup=5)
        >>> still = np.full((120, 160, 3), 90, np.uint8)
        >>> [len(found) for found in motion.detect([still] * 8)]
        [0, 0, 0, 0, 0, 0, 0, 0]
    """

    sequential = True

    def __init__(
        self,
        *,
        min_area: float = 0.001,
        warmup: int = 30,
        method: str = "knn",
        history: int = 500,
        classifier: Labeler | None = None,
        match_iou: float = 0.3,
        batch_size: int = 8,
    ) -> None:
        if method not in ("mog2", "knn"):
            raise LabelerError(NAME, f"method {method!r} must be 'mog2' or 'knn'")
        self.name = NAME
        self.batch_size = batch_size
        self.min_area = min_area
        self.warmup = warmup
        self.method = method
        self.history = history
        self.classifier = classifier
        self.match_iou = match_iou
        self.classes: tuple[str, ...] = ("moving", *(classifier.classes if classifier else ()))
        self.reset()

    def reset(self) -> None:
        """Forget the background, to start on another video."""
        self._model: cv2.BackgroundSubtractor
        if self.method == "knn":
            self._model = cv2.createBackgroundSubtractorKNN(self.history, detectShadows=True)
        else:
            self._model = cv2.createBackgroundSubtractorMOG2(self.history, detectShadows=True)
        self._seen = 0
        self._shape: tuple[int, ...] | None = None

    def detect(self, frames: Sequence[RGB]) -> list[Detections]:
        """One ``Detections`` per frame; the frames must follow the previous call's."""
        found = [self._moving(frame) for frame in frames]
        if self.classifier is None:
            return found
        busy = [i for i, one in enumerate(found) if len(one)]
        if busy:
            named = self.classifier.detect([frames[i] for i in busy])
            for i, detections in zip(busy, named, strict=True):
                found[i] = self._name(found[i], detections)
        return found

    def _moving(self, frame: RGB) -> Detections:
        if self._shape is None:
            self._shape = frame.shape
        elif frame.shape != self._shape:
            detail = f"frames of one video only: got {frame.shape} after {self._shape} (reset())"
            raise LabelerError(NAME, detail)
        # KNN samples its background with OpenCV's per-thread random generator: seeded per frame,
        # the same frames give the same boxes in any process or thread, whatever ran before
        cv2.setRNGSeed(_SEED + self._seen)
        mask = self._model.apply(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
        self._seen += 1
        if self._seen <= self.warmup:
            return Detections.empty()
        return self._components(np.asarray(mask == _FOREGROUND, dtype=np.uint8))

    def _components(self, raw: npt.NDArray[np.uint8]) -> Detections:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
        opened = cv2.morphologyEx(raw, cv2.MORPH_OPEN, kernel)
        foreground = cv2.morphologyEx(opened, cv2.MORPH_CLOSE, kernel, iterations=2)
        count, labels, stats, _ = cv2.connectedComponentsWithStats(foreground, connectivity=8)
        smallest = self.min_area * foreground.size if self.min_area < 1 else self.min_area
        keep = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= smallest]
        if not keep:
            return Detections.empty()
        x, y, w, h = (stats[keep, k].astype(np.float64) for k in range(4))
        xyxy = np.stack([x, y, x + w, y + h], axis=1)
        masks = labels[None, :, :] == np.asarray(keep)[:, None, None]
        ones = np.ones(len(keep))
        return Detections(xyxy, ones, np.zeros(len(keep), np.int64), masks=masks)

    def _name(self, moving: Detections, named: Detections) -> Detections:
        """Each motion box takes the class and score of the detection overlapping it most."""
        if not len(named):
            return moving
        overlap = box_iou(moving.xyxy, named.xyxy)
        best = overlap.argmax(axis=1)
        matched = overlap[np.arange(len(moving)), best] >= self.match_iou
        class_ids = np.where(matched, named.class_ids[best] + 1, 0)
        scores = np.where(matched, named.scores[best], moving.scores)
        return Detections(moving.xyxy, scores, class_ids, moving.masks)


def _classifier(name: str, options: LabelerOptions) -> Labeler:
    from tweenlab.plugins import registry  # noqa: PLC0415 (plugins lists this module)

    if name == NAME:
        raise LabelerError(NAME, "classify_with cannot be 'motion' itself")
    extra = {k: v for k, v in options.extra.items() if k not in _OWN_KEYS}
    try:
        factory = cast(LabelerFactory, registry("labelers").get(name))
    except PluginError as error:
        raise LabelerError(NAME, f"classify_with: {error}") from error
    labeler = factory(dataclasses.replace(options, extra=extra))
    if not isinstance(labeler, Labeler) or labeler.sequential:
        raise LabelerError(NAME, f"classify_with {name!r} must be a per-frame labeler")
    return labeler


def motion_proposals(options: LabelerOptions) -> MotionProposals:
    """The registered ``motion`` factory.

    Uses ``options.batch_size`` and ``extra``: ``min_area`` (0.001), ``warmup`` (30),
    ``method`` (``knn``), ``history`` (500), ``classify_with`` (none), ``match_iou`` (0.3).
    The classifier is built from the same options, less these keys.

    Example:
        >>> motion_proposals(LabelerOptions(extra={"min_area": 400})).classes
        ('moving',)
    """
    extra = options.extra
    name = extra.get("classify_with")
    return MotionProposals(
        min_area=float(extra.get("min_area", 0.001)),
        warmup=int(extra.get("warmup", 30)),
        method=str(extra.get("method", "knn")),
        history=int(extra.get("history", 500)),
        classifier=_classifier(str(name), options) if name else None,
        match_iou=float(extra.get("match_iou", 0.3)),
        batch_size=options.batch_size or 8,
    )
