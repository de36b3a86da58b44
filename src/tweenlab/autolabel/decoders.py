"""Turning raw detector outputs into ``Detections``: letterboxing, YOLO rows, non-maximum
suppression.

Shared by every backend that runs a YOLO-style network (ONNX Runtime files, the Darknet
YOLOv3-tiny built-in): a row is ``cx, cy, w, h`` in input pixels, then an objectness score when
the head has one (YOLOv3/v5/v7, YOLOX), then one score per class (YOLOv8/v11 have no objectness).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tweenlab.autolabel.base import RGB, Detections

__all__ = ["Letterbox", "decode_yolo_rows", "letterbox", "nms"]

FloatArray = npt.NDArray[np.float64]
_PAD_VALUE = 114  # grey, as the YOLO family pads


@dataclass(frozen=True)
class Letterbox:
    """How a frame was fitted into a network's input: scaled by ``scale``, then shifted by
    ``pad_x, pad_y``; ``undo`` maps boxes back to the frame."""

    scale: float
    pad_x: float
    pad_y: float
    width: int
    height: int

    def undo(self, found: Detections) -> Detections:
        """``found`` (in input pixels) in the original frame's pixels, clipped to it."""
        if not len(found):
            return found
        xyxy = found.xyxy.copy()
        xyxy[:, [0, 2]] = (xyxy[:, [0, 2]] - self.pad_x) / self.scale
        xyxy[:, [1, 3]] = (xyxy[:, [1, 3]] - self.pad_y) / self.scale
        xyxy[:, [0, 2]] = xyxy[:, [0, 2]].clip(0, self.width)
        xyxy[:, [1, 3]] = xyxy[:, [1, 3]].clip(0, self.height)
        points = found.points
        if points is not None:
            points = (points - np.array([self.pad_x, self.pad_y])) / self.scale
        return Detections(xyxy, found.scores, found.class_ids, found.masks, points)


def letterbox(image: RGB, size: tuple[int, int]) -> tuple[RGB, Letterbox]:
    """``image`` scaled to fit ``size`` (``width, height``) keeping its aspect, centred on grey.

    Example:
        >>> canvas, box = letterbox(np.zeros((360, 640, 3), np.uint8), (416, 416))
        >>> canvas.shape, box.scale, box.pad_y
        ((416, 416, 3), 0.65, 91.0)
    """
    import cv2  # noqa: PLC0415  (16 MB of memory: the server loads it with the first model run)

    width, height = size
    rows, cols = image.shape[:2]
    scale = min(width / cols, height / rows)
    new_w, new_h = round(cols * scale), round(rows * scale)
    pad_x, pad_y = (width - new_w) / 2, (height - new_h) / 2
    canvas = np.full((height, width, 3), _PAD_VALUE, dtype=np.uint8)
    left, top = int(pad_x), int(pad_y)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas, Letterbox(scale, float(left), float(top), cols, rows)


def nms(
    xyxy: FloatArray, scores: FloatArray, class_ids: npt.NDArray[np.int64], iou: float = 0.45
) -> npt.NDArray[np.int64]:
    """Indices of the boxes kept by per-class non-maximum suppression, best first.

    A box is dropped when a higher-scoring box of the same class overlaps it by more than
    ``iou``. Boxes of different classes never suppress each other.

    Example:
        >>> boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
        >>> nms(boxes, np.array([0.9, 0.8, 0.7]), np.array([0, 0, 0])).tolist()
        [0, 2]
    """
    if not len(xyxy):
        return np.zeros(0, dtype=np.int64)
    # shift each class far apart so one pass never compares boxes of different classes
    offset = class_ids.astype(np.float64)[:, None] * (float(np.abs(xyxy).max()) + 1.0)
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = (xyxy + offset)[order].T.copy()
    areas = np.maximum(x2 - x1, 0.0) * np.maximum(y2 - y1, 0.0)
    alive = np.ones(len(order), dtype=bool)
    keep: list[int] = []
    # plain ufuncs on the boxes still alive: thousands of boxes a frame take a fraction of
    # a second (a dense model, a score threshold near 0), not seconds
    for best in range(len(order)):
        if not alive[best]:
            continue
        keep.append(int(order[best]))
        rest = best + 1 + np.flatnonzero(alive[best + 1 :])
        width = np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest])
        height = np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest])
        inter = np.maximum(width, 0.0) * np.maximum(height, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            overlap = inter / (areas[best] + areas[rest] - inter)
        alive[rest[overlap > iou]] = False
    return np.asarray(keep, dtype=np.int64)


def decode_yolo_rows(
    rows: npt.ArrayLike,
    *,
    objectness: bool,
    min_score: float = 0.25,
    nms_iou: float = 0.45,
) -> Detections:
    """Detections from YOLO rows ``(N, 4 [+1] + C)``: ``cx, cy, w, h``, [objectness], classes.

    The score of a row is its best class score (times objectness where the head has it); rows
    under ``min_score`` are dropped, then per-class NMS. Boxes stay in the rows' pixels.

    Example:
        >>> rows = np.array([[50, 50, 20, 10, 0.9, 0.1, 0.8]])
        >>> found = decode_yolo_rows(rows, objectness=True)
        >>> found.xyxy.tolist(), found.class_ids.tolist(), round(float(found.scores[0]), 2)
        ([[40.0, 45.0, 60.0, 55.0]], [1], 0.72)
    """
    table = np.asarray(rows, dtype=np.float64)
    first_class = 5 if objectness else 4
    if table.ndim != 2 or table.shape[1] <= first_class:
        raise ValueError(f"YOLO rows need shape (N, >{first_class}), got {table.shape}")
    class_scores = table[:, first_class:]
    class_ids = class_scores.argmax(axis=1)
    scores = class_scores[np.arange(len(table)), class_ids]
    if objectness:
        scores = scores * table[:, 4]
    keep = scores >= min_score
    table, scores, class_ids = table[keep], scores[keep], class_ids[keep]
    centre, size = table[:, 0:2], table[:, 2:4]
    xyxy = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    best = nms(xyxy, scores, class_ids, nms_iou)
    return Detections(xyxy[best], scores[best], class_ids[best])
