"""Which output layout (head) a detector has, and how each layout becomes ``Detections``.

Owns the layouts the ``onnx`` labeler reads, one fitting function and one decoder per layout:

- ``yolov5``: one output ``(B, N, 5+C)``, rows of ``cx, cy, w, h`` in input pixels, objectness,
  class scores (YOLOv5, YOLOv7, YOLOX exported with its decoding).
- ``yolov8``: one output ``(B, 4+C, N)`` as ultralytics exports it, or ``(B, N, 4+C)``; no
  objectness (YOLOv8, YOLO11).
- ``detr``: one output ``(B, Q, 4+C)``, ``cx, cy, w, h`` normalised to ``0..1`` of the input,
  sigmoid class scores; no NMS (RT-DETR).
- ``ssd``: two outputs, boxes ``(B, N, 4)`` as normalised ``x1, y1, x2, y2`` and scores
  ``(B, N, C)`` or ``(B, N, C+1)`` with the background first; or the TensorFlow Object Detection
  API outputs, known by their names (``detection_boxes`` as normalised ``y1, x1, y2, x2``,
  ``detection_scores``, ``detection_classes`` as label-map ids from 1, ``num_detections``).

``auto`` tries every layout and keeps the one whose class count equals the number of class
names. One ambiguity is settled by the values: rows ``(N, 4+C)`` are YOLOv8 rows in pixels
unless every box value of the answer lies within ``-0.5..1.5``, then they are RT-DETR rows
normalised to the input (a YOLOv8 answer always has boxes spread over the input's pixels).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import numpy.typing as npt

from tweenlab.autolabel.base import Detections
from tweenlab.autolabel.decoders import decode_yolo_rows, nms
from tweenlab.errors import LabelerError

__all__ = ["BACKGROUNDS", "HEADS", "Decoding", "Layout", "Output", "choose_head"]

HEADS = ("auto", "yolov5", "yolov8", "ssd", "detr")
#: Where an SSD's background score is: ``first`` column (TF label-map ids start at 1), ``none``,
#: or ``auto`` (first when there is one score more than class names; TF ids start at 1).
BACKGROUNDS = ("auto", "first", "none")
KNOWN_LAYOUTS = (
    "yolov5 (B, N, 5+C); yolov8 (B, 4+C, N) or (B, N, 4+C); detr (B, Q, 4+C) normalised; "
    "ssd boxes (B, N, 4) + scores (B, N, C[+1]); TensorFlow detection_boxes, detection_scores, "
    "detection_classes, num_detections"
)
_NORMALISED_LIMIT = 1.5  # box values of a normalised answer stay near 0..1
_NAME = "onnx"

FloatArray = npt.NDArray[np.float64]
Decoder = Callable[[Sequence[npt.NDArray[np.generic]], "Decoding"], Detections]


@dataclass(frozen=True)
class Output:
    """One output tensor as a model gives it: its name and full shape, batch first."""

    name: str
    shape: tuple[int, ...]

    @property
    def item(self) -> tuple[int, ...]:
        """The shape of one image's part (without the batch dimension)."""
        return self.shape[1:]

    def __str__(self) -> str:
        return f"{self.name} {self.shape}"


@dataclass(frozen=True)
class Decoding:
    """What every decoder needs besides the tensors.

    Attributes:
        input_wh: The network input's ``width, height`` (normalised boxes are scaled by it).
        classes: How many class names there are (class ids must stay below it).
        min_score: Detections below this score are dropped.
        nms_iou: Per-class NMS overlap threshold, for layouts that need NMS.
    """

    input_wh: tuple[int, int]
    classes: int
    min_score: float = 0.25
    nms_iou: float = 0.45


@dataclass(frozen=True)
class Layout:
    """A head fitted to a model's outputs: its name, the class scores it reads (``None`` when
    only the answer tells, as TF class ids) and its decoder for one image's tensors."""

    head: str
    class_scores: int | None
    decode: Decoder


Fitter = Callable[[Sequence[Output], int, str], Layout | None]


def choose_head(
    head: str,
    outputs: Sequence[Output],
    classes: int,
    *,
    background: str = "auto",
    model: Path,
    names_from: str = "the class names file",
) -> Layout:
    """The layout of ``outputs`` read as ``head`` (or found, for ``auto``).

    Args:
        head: One of ``HEADS``.
        outputs: The model's outputs with concrete shapes.
        classes: How many class names there are.
        background: One of ``BACKGROUNDS`` (SSD score columns, TF class ids).
        model: The model file, for errors.
        names_from: Where the class names came from, for errors.

    Raises:
        LabelerError: No layout fits (naming the outputs and the known layouts), or the class
            scores the layout reads disagree with the number of class names.

    Example:
        >>> layout = choose_head("auto", [Output("output0", (1, 84, 8400))], 80, model=Path("m"))
        >>> layout.head, layout.class_scores
        ('yolov8', 80)
    """
    fits = [
        layout
        for fit in _FITTERS[head]
        if (layout := fit(outputs, classes, background)) is not None
    ]
    for layout in fits:
        if layout.class_scores in (None, classes):
            return layout
    if fits:
        detail = f"the model gives {fits[0].class_scores} class scores but {names_from}"
        detail += f" names {classes}"
        if head == "auto":
            readings = "; ".join(f"{fit.class_scores} as {fit.head}" for fit in fits[1:])
            detail += f" (reading it as {fits[0].head}{'; ' + readings if readings else ''})"
        raise LabelerError(_NAME, detail, path=model)
    found = ", ".join(str(output) for output in outputs)
    raise LabelerError(
        _NAME, f"its outputs {found} fit no {head} layout; known: {KNOWN_LAYOUTS}", path=model
    )


def _single_matrix(outputs: Sequence[Output]) -> tuple[int, int] | None:
    """The ``(rows, columns)`` of one image's part when the model has one rank-3 output."""
    if len(outputs) != 1 or len(outputs[0].item) != 2:
        return None
    rows, columns = outputs[0].item
    return rows, columns


def _fit_yolov5(outputs: Sequence[Output], classes: int, background: str) -> Layout | None:
    matrix = _single_matrix(outputs)
    # rows only: YOLOv5/v7/YOLOX export (N, 5+C); a wide matrix is a transposed YOLOv8 answer
    if matrix is None or matrix[1] < 6 or (matrix[0] < matrix[1] and matrix[1] != classes + 5):
        return None
    decode = partial(_decode_yolo, objectness=True, transposed=False)
    return Layout("yolov5", matrix[1] - 5, decode)


def _fit_yolov8(
    outputs: Sequence[Output], classes: int, background: str, *, by_values: bool = False
) -> Layout | None:
    matrix = _single_matrix(outputs)
    if matrix is None:
        return None
    rows, columns = matrix
    width = classes + 4
    # the axis that fits the class names; ultralytics' (4+C, N) when both do; else the shorter
    transposed = rows == width if width in matrix else rows < columns
    scores = (rows if transposed else columns) - 4
    if scores < 1:
        return None
    if by_values and not transposed:
        return Layout("yolov8 or detr", scores, _decode_rows_by_values)
    return Layout("yolov8", scores, partial(_decode_yolo, objectness=False, transposed=transposed))


def _fit_detr(outputs: Sequence[Output], classes: int, background: str) -> Layout | None:
    matrix = _single_matrix(outputs)
    if matrix is None or matrix[1] < 5:
        return None
    return Layout("detr", matrix[1] - 4, _decode_detr)


def _fit_ssd(outputs: Sequence[Output], classes: int, background: str) -> Layout | None:
    if len(outputs) != 2 or any(len(output.item) != 2 for output in outputs):
        return None
    first, second = outputs
    if first.item[0] != second.item[0] or 4 not in (first.item[1], second.item[1]):
        return None
    # the boxes are the (N, 4) one; when both are, the one named like boxes, else the first
    boxes_at = 0 if first.item[1] == 4 else 1
    if first.item[1] == second.item[1] == 4 and "box" in second.name.lower():
        boxes_at = 1
    columns = outputs[1 - boxes_at].item[1]
    skip = int(background == "first" or (background == "auto" and columns == classes + 1))
    decode = partial(_decode_ssd, boxes_at=boxes_at, skip=skip)
    return Layout("ssd", columns - skip, decode)


_TF_NAMES = ("detection_boxes", "detection_scores", "detection_classes")


def _fit_tf(outputs: Sequence[Output], classes: int, background: str) -> Layout | None:
    where = {output.name.split(":")[0]: at for at, output in enumerate(outputs)}
    if not all(name in where for name in _TF_NAMES):
        return None
    boxes, scores, ids = (outputs[where[name]].item for name in _TF_NAMES)
    if len(boxes) != 2 or boxes[1] != 4 or scores != boxes[:1] or ids != boxes[:1]:
        return None
    order = tuple(where[name] for name in _TF_NAMES)
    decode = partial(
        _decode_tf, order=order, count_at=where.get("num_detections"), first=background != "none"
    )
    return Layout("ssd (TensorFlow)", None, decode)


def _decode_yolo(
    arrays: Sequence[npt.NDArray[np.generic]],
    decoding: Decoding,
    *,
    objectness: bool,
    transposed: bool,
) -> Detections:
    rows = np.asarray(arrays[0], dtype=np.float64)
    return decode_yolo_rows(
        rows.T if transposed else rows,
        objectness=objectness,
        min_score=decoding.min_score,
        nms_iou=decoding.nms_iou,
    )


def _decode_detr(arrays: Sequence[npt.NDArray[np.generic]], decoding: Decoding) -> Detections:
    rows = np.asarray(arrays[0], dtype=np.float64)
    width, height = decoding.input_wh
    size = np.array([width, height, width, height], dtype=np.float64)
    centre, extent = rows[:, 0:2], rows[:, 2:4]
    xyxy = np.concatenate([centre - extent / 2, centre + extent / 2], axis=1) * size
    return _best_class(xyxy, rows[:, 4:], decoding, suppress=False)


def _decode_rows_by_values(
    arrays: Sequence[npt.NDArray[np.generic]], decoding: Decoding
) -> Detections:
    boxes = np.asarray(arrays[0], dtype=np.float64)[:, :4]
    if len(boxes) and np.abs(boxes).max() <= _NORMALISED_LIMIT and boxes.min() >= -0.5:
        return _decode_detr(arrays, decoding)
    return _decode_yolo(arrays, decoding, objectness=False, transposed=False)


def _decode_ssd(
    arrays: Sequence[npt.NDArray[np.generic]], decoding: Decoding, *, boxes_at: int, skip: int
) -> Detections:
    width, height = decoding.input_wh
    size = np.array([width, height, width, height], dtype=np.float64)
    xyxy = np.asarray(arrays[boxes_at], dtype=np.float64) * size
    scores = np.asarray(arrays[1 - boxes_at], dtype=np.float64)[:, skip:]
    return _best_class(xyxy, scores, decoding, suppress=True)


def _decode_tf(
    arrays: Sequence[npt.NDArray[np.generic]],
    decoding: Decoding,
    *,
    order: tuple[int, ...],
    count_at: int | None,
    first: bool,
) -> Detections:
    boxes, scores, ids = (np.asarray(arrays[at], dtype=np.float64) for at in order)
    count = len(boxes) if count_at is None else _count(arrays[count_at], len(boxes))
    boxes, scores, ids = boxes[:count], scores[:count], ids[:count]
    if not np.isfinite(ids).all():
        raise ValueError("the model gives a class id that is not a number")
    keep = scores >= decoding.min_score
    width, height = decoding.input_wh
    xyxy = boxes[keep][:, [1, 0, 3, 2]] * np.array([width, height, width, height])
    class_ids = np.rint(ids[keep]).astype(np.int64) - int(first)
    wrong = class_ids[(class_ids < 0) | (class_ids >= decoding.classes)]
    if len(wrong):
        raise ValueError(
            f"the model gives class id {int(wrong[0]) + int(first)} but there are "
            f"{decoding.classes} class names (label-map ids start at {int(first)})"
        )
    return Detections(xyxy, scores[keep], class_ids)


def _count(value: npt.NDArray[np.generic], rows: int) -> int:
    """``num_detections``: a whole number from 0 to ``rows`` (-1 kept all rows but the last,
    NaN and an empty array failed with numpy's words)."""
    flat = np.asarray(value, dtype=np.float64).reshape(-1)
    if not len(flat) or not np.isfinite(flat[0]) or not 0 <= flat[0] <= rows:
        shown = flat[0] if len(flat) else "empty"
        raise ValueError(f"the model gives num_detections {shown}, not a count from 0 to {rows}")
    return int(flat[0])


def _best_class(
    xyxy: FloatArray, class_scores: FloatArray, decoding: Decoding, *, suppress: bool
) -> Detections:
    """Each row's best class and score, rows under ``min_score`` dropped, NMS if asked."""
    class_ids = class_scores.argmax(axis=1) if class_scores.size else np.zeros(0, np.int64)
    scores = class_scores[np.arange(len(class_scores)), class_ids]
    keep = scores >= decoding.min_score
    xyxy, scores, class_ids = xyxy[keep], scores[keep], class_ids[keep]
    if suppress:
        best = nms(xyxy, scores, class_ids, decoding.nms_iou)
        xyxy, scores, class_ids = xyxy[best], scores[best], class_ids[best]
    return Detections(xyxy, scores, class_ids)


_FITTERS: dict[str, tuple[Fitter, ...]] = {
    "yolov5": (_fit_yolov5,),
    "yolov8": (_fit_yolov8,),
    "detr": (_fit_detr,),
    "ssd": (_fit_tf, _fit_ssd),
    "auto": (_fit_tf, _fit_ssd, _fit_yolov5, partial(_fit_yolov8, by_values=True)),
}
