"""The ``hog-people`` built-in: upright pedestrians from OpenCV's HOG + linear SVM people
detector (Dalal and Triggs, 2005), with no weights to fetch.

It is a weak detector, kept because it needs nothing but OpenCV: it finds only upright,
mostly unoccluded people between about 100 and a few hundred pixels tall, misses people
sitting, bending, in crowds or seen from above, and fires on poles and tree trunks. Its
64x128 window needs people about 100 px tall, so frames shorter than ``extra["min_height"]``
(default 720 px) are scaled up to it first; it is useless at 360p without that.

Measured on ../shared/data/mot17-mini (1920x1080, run at full size; pedestrians as for
``darknet``, IoU >= 0.5), ``min_score`` 0.25, 2-core machine shared with other jobs, 0.4-0.5 s
a frame: MOT17-04 (a street seen from a first floor) recall 0.33, precision 0.79 (112 of 336);
MOT17-02 (a square, people partly hidden) recall 0.13, precision 0.53 (10 of 80). Scaled down
to 720p first, recall was 0.36 and 0.05 in about two thirds of the time. Use ``yolov3-tiny``
where it is installed: 0.48 and 0.38 on the same frames in 75 ms. On vtest.avi (768x576) it
finds 4-5 people a frame when scaled up to 720 and 1-2 at its own size.

Boxes: HOG's window holds a margin around the person, so each box is shrunk as OpenCV's own
``peopledetect`` sample does (10 % off each side, 7 % off the top, to 80 % of the size);
without it recall on MOT17-04 was 0.04. Overlapping boxes are merged by OpenCV's grouping
then per-class NMS.

Scores: the SVM returns a distance to its hyperplane (0 at the decision boundary, about 0..4),
not a probability. It is squashed with a logistic fitted to whether each of 175 detections
on those MOT17 frames matched a pedestrian: ``score = 1 / (1 + exp(-3.85 * (w - 0.90)))``
(w = 0.5 gives 0.18, 1.0 gives 0.60, 1.5 gives 0.91). It is a rough calibration from one
kind of footage, good for ordering and thresholding, not a measured probability elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import numpy.typing as npt

from tweenlab.autolabel.base import RGB, Detections, LabelerOptions
from tweenlab.autolabel.decoders import nms
from tweenlab.errors import LabelerError

__all__ = ["HogPeople", "hog_people", "svm_score"]

NAME = "hog-people"
_SLOPE, _CENTRE = 3.85, 0.90  # the logistic fitted on MOT17 (module docstring)
# OpenCV's samples/cpp/peopledetect.cpp: the window is larger than the person it holds
_SHRINK_X, _SHRINK_TOP, _KEEP = 0.1, 0.07, 0.8


def svm_score(weights: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """HOG SVM distances mapped to ``0..1`` by the logistic fitted on MOT17.

    Example:
        >>> svm_score([0.5, 0.9, 1.5]).round(2).tolist()
        [0.18, 0.5, 0.91]
    """
    distance = np.asarray(weights, dtype=np.float64)
    return np.asarray(1.0 / (1.0 + np.exp(-_SLOPE * (distance - _CENTRE))), dtype=np.float64)


class HogPeople:
    """Upright people on RGB frames, by OpenCV's default HOG people detector.

    Args:
        min_score: Detections under this (squashed) score are dropped.
        min_height: Frames shorter than this are scaled up to it first (0: never).
        win_stride: Step of the sliding window in pixels (a multiple of 8; larger is faster
            and misses more).
        scale: Ratio between the pyramid's levels.
        nms_iou: Overlap above which a weaker box is suppressed.
        batch_size: Frames the runner should pass per call.

    Example:
        >>> people = HogPeople(min_height=0)
        >>> len(people.detect([np.zeros((256, 128, 3), np.uint8)])[0])
        0
    """

    classes = ("person",)
    sequential = False

    def __init__(
        self,
        *,
        min_score: float = 0.25,
        min_height: int = 720,
        win_stride: int = 8,
        scale: float = 1.05,
        nms_iou: float = 0.45,
        batch_size: int = 1,
    ) -> None:
        if win_stride <= 0 or win_stride % 8:
            raise LabelerError(NAME, f"win_stride {win_stride} must be a positive multiple of 8")
        self.name = NAME
        self.batch_size = batch_size
        self.min_score = min_score
        self.min_height = min_height
        self.win_stride = win_stride
        self.scale = scale
        self.nms_iou = nms_iou
        self._hog = cv2.HOGDescriptor()
        detector = np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32)
        self._hog.setSVMDetector(detector)

    def detect(self, frames: Sequence[RGB]) -> list[Detections]:
        """One ``Detections`` per RGB frame, boxes in that frame's pixels."""
        return [self._detect_one(frame) for frame in frames]

    def _detect_one(self, frame: RGB) -> Detections:
        rows, cols = frame.shape[:2]
        factor = max(1.0, self.min_height / rows) if self.min_height else 1.0
        image = frame
        if factor > 1.0:
            size = (round(cols * factor), round(rows * factor))
            image = np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR), np.uint8)
        stride = (self.win_stride, self.win_stride)
        # HOG takes the strongest gradient over the channels, so RGB and BGR give the same
        try:
            rects, weights = self._hog.detectMultiScale(
                image, winStride=stride, padding=(8, 8), scale=self.scale
            )
        except cv2.error as error:
            raise LabelerError(NAME, f"OpenCV's HOG detector failed: {error}") from error
        boxes = np.asarray(rects, dtype=np.float64).reshape(-1, 4)
        scores = svm_score(np.asarray(weights, dtype=np.float64).reshape(-1))
        # OpenCV's threads hand the windows back in any order; NMS breaks ties by order
        order = np.lexsort((*boxes.T[::-1], -scores))
        boxes, scores = boxes[order], scores[order]
        boxes[:, 0] += boxes[:, 2] * _SHRINK_X
        boxes[:, 1] += boxes[:, 3] * _SHRINK_TOP
        boxes[:, 2:] *= _KEEP
        xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1) / factor
        keep = scores >= self.min_score
        xyxy, scores = xyxy[keep], scores[keep]
        class_ids = np.zeros(len(scores), dtype=np.int64)
        best = nms(xyxy, scores, class_ids, self.nms_iou)
        return Detections(xyxy[best], scores[best], class_ids[best])


def hog_people(options: LabelerOptions) -> HogPeople:
    """The registered ``hog-people`` factory.

    Uses ``options.min_score``, ``options.batch_size`` and ``extra``: ``min_height`` (default
    720), ``win_stride`` (8), ``scale`` (1.05), ``nms_iou`` (0.45).

    Example:
        >>> hog_people(LabelerOptions(extra={"min_height": 1080})).min_height
        1080
    """
    extra = options.extra
    return HogPeople(
        min_score=options.min_score,
        min_height=int(extra.get("min_height", 720)),
        win_stride=int(extra.get("win_stride", 8)),
        scale=float(extra.get("scale", 1.05)),
        nms_iou=float(extra.get("nms_iou", 0.45)),
        batch_size=options.batch_size or 1,
    )
