"""What every labeler speaks: frames in, ``Detections`` out, and the options that build one.

A labeler is any object with a ``name``, the ``classes`` it knows, a ``batch_size`` it likes and
one verb, ``detect(frames) -> list[Detections]`` (one per frame, in order). Labelers are built by
factories registered in ``plugins.registry("labelers")`` from ``LabelerOptions`` (a model file,
class names, a score threshold, an endpoint), so the CLI, the server and Python code build them
the same way. Frames are RGB ``(H, W, 3)`` uint8; boxes come back in that frame's pixels.

``sequential`` labelers (motion proposals keep a background model) must see frames in order and
from one video; the runner feeds them every frame of a span, not every Nth.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from tweenlab.errors import LabelerError

__all__ = [
    "RGB",
    "Detections",
    "Labeler",
    "LabelerFactory",
    "LabelerOptions",
    "factory_needs",
    "needs",
    "read_class_names",
]

RGB = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Detections:
    """What a labeler found on one frame: ``N`` objects as arrays (struct of arrays).

    Attributes:
        xyxy: ``(N, 4)`` boxes as ``x1, y1, x2, y2`` in the frame's pixels.
        scores: ``(N,)`` confidences in ``0..1``.
        class_ids: ``(N,)`` indices into the labeler's ``classes``.
        masks: ``(N, H, W)`` bool, one mask per object, when the labeler gives masks.
        points: ``(N, K, 2)`` ``x, y`` keypoints (face landmarks, a pose), when it gives them.

    Example:
        >>> found = Detections(np.array([[10, 20, 50, 80]]), np.array([0.9]), np.array([0]))
        >>> len(found), found.xywh.tolist()
        (1, [[10.0, 20.0, 40.0, 60.0]])
    """

    xyxy: FloatArray
    scores: FloatArray
    class_ids: IntArray
    masks: npt.NDArray[np.bool_] | None = None
    points: FloatArray | None = None

    def __post_init__(self) -> None:
        xyxy = np.asarray(self.xyxy, dtype=np.float64).reshape(-1, 4)
        count = len(xyxy)
        scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        class_ids = np.asarray(self.class_ids, dtype=np.int64).reshape(-1)
        if len(scores) != count or len(class_ids) != count:
            raise ValueError(
                f"Detections: {count} boxes but {len(scores)} scores and {len(class_ids)} classes"
            )
        object.__setattr__(self, "xyxy", xyxy)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "class_ids", class_ids)
        if self.masks is not None:
            masks = np.asarray(self.masks, dtype=bool)
            if masks.ndim != 3 or len(masks) != count:
                raise ValueError(f"Detections: masks {masks.shape} for {count} boxes")
            object.__setattr__(self, "masks", masks)
        if self.points is not None:
            points = np.asarray(self.points, dtype=np.float64)
            if points.ndim != 3 or len(points) != count or points.shape[2] != 2:
                raise ValueError(f"Detections: points {points.shape} for {count} boxes")
            object.__setattr__(self, "points", points)

    @classmethod
    def empty(cls) -> Detections:
        """No objects."""
        return cls(np.zeros((0, 4)), np.zeros(0), np.zeros(0, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.xyxy)

    @property
    def xywh(self) -> FloatArray:
        """``(N, 4)`` boxes as ``x, y, w, h`` (top-left corner, size), as ``core.Box``."""
        out = self.xyxy.copy()
        out[:, 2:] -= out[:, :2]
        return out

    def __getitem__(self, keep: npt.NDArray[np.bool_] | npt.NDArray[np.int64]) -> Detections:
        """The objects selected by a boolean mask or an index array."""
        return Detections(
            self.xyxy[keep],
            self.scores[keep],
            self.class_ids[keep],
            None if self.masks is None else self.masks[keep],
            None if self.points is None else self.points[keep],
        )

    def scaled(self, sx: float, sy: float) -> Detections:
        """Boxes and points scaled by ``sx, sy`` (from a resized frame back to the original);
        masks are left at their own size."""
        factor = np.array([sx, sy, sx, sy])
        points = None if self.points is None else self.points * np.array([sx, sy])
        return Detections(self.xyxy * factor, self.scores, self.class_ids, self.masks, points)


@runtime_checkable
class Labeler(Protocol):
    """A model that pre-labels frames.

    Attributes:
        name: Its registered name (errors and predictions name it).
        classes: The class names it can find; ``Detections.class_ids`` index them.
        batch_size: Frames it likes per ``detect`` call.
        sequential: Needs consecutive frames of one video, in order (a background model).
    """

    name: str
    classes: tuple[str, ...]
    batch_size: int
    sequential: bool

    def detect(self, frames: Sequence[RGB]) -> list[Detections]:
        """One ``Detections`` per frame, in the order given."""
        ...


@dataclass(frozen=True)
class LabelerOptions:
    """What a labeler factory may need; each factory uses what applies and says what is missing.

    Attributes:
        model: A model file the user gives (ONNX).
        classes: Class names, in the model's order (from ``--classes FILE`` or a list).
        min_score: Detections below this confidence are dropped.
        url: An HTTP endpoint (the ``http`` labeler).
        timeout_s: How long one request to an endpoint may take.
        batch_size: Frames per call, overriding the labeler's own choice.
        extra: Labeler-specific settings (``input_size``, ``nms_iou``), as strings or numbers.
    """

    model: Path | None = None
    classes: tuple[str, ...] | None = None
    min_score: float = 0.25
    url: str | None = None
    timeout_s: float = 30.0
    batch_size: int | None = None
    extra: dict[str, str | float | int] = field(default_factory=dict)


#: A registered labeler: builds a ready ``Labeler`` from options.
LabelerFactory = Callable[[LabelerOptions], Labeler]

F = TypeVar("F", bound=Callable[..., object])
_NEEDS = "tweenlab_needs"


def needs(*names: str) -> Callable[[F], F]:
    """Mark a labeler factory with the ``LabelerOptions`` fields it cannot be built without,
    so that a form (the dashboard's pre-label form, ``GET /api/labelers``) asks for them first.

    Raises:
        ValueError: A name is not a field of ``LabelerOptions``.

    Example:
        >>> @needs("url")
        ... def remote(options: LabelerOptions) -> Labeler: ...
        >>> factory_needs(remote)
        ('url',)
    """
    unknown = sorted(set(names) - {f.name for f in fields(LabelerOptions)})
    if unknown:
        raise ValueError(f"needs: {', '.join(unknown)} is not a LabelerOptions field")

    def mark(factory: F) -> F:
        setattr(factory, _NEEDS, tuple(names))
        return factory

    return mark


def factory_needs(factory: object) -> tuple[str, ...]:
    """The fields a factory was marked with by ``needs`` (none when it was not marked)."""
    marked = getattr(factory, _NEEDS, ())
    return tuple(str(name) for name in marked) if isinstance(marked, tuple) else ()


def read_class_names(path: Path, *, labeler: str = "onnx") -> tuple[str, ...]:
    """Class names from a file: one per line (``coco.names``), or a JSON list.

    Blank lines and lines starting with ``#`` are skipped; names must be unique.

    Raises:
        LabelerError: The file is missing, unreadable, empty, or repeats a name (with its line).
    """
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a BOM is not part of a name
    except (OSError, UnicodeDecodeError) as error:
        raise LabelerError(labeler, f"cannot read class names: {error}", path=path) from error
    if text.lstrip().startswith("["):
        names = _json_names(text, path, labeler)
    else:
        names = [
            line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
        ]
    if not names:
        raise LabelerError(labeler, "no class names in the file", path=path)
    seen: dict[str, int] = {}
    for number, name in enumerate(names, start=1):
        if name in seen:
            raise LabelerError(
                labeler,
                f"class {name!r} is named twice (entries {seen[name]} and {number})",
                path=path,
            )
        seen[name] = number
    return tuple(names)


def _json_names(text: str, path: Path, labeler: str) -> list[str]:
    try:
        names = json.loads(text)
    except json.JSONDecodeError as error:
        raise LabelerError(
            labeler, f"not a JSON list of names: line {error.lineno}: {error.msg}", path=path
        ) from error
    if not isinstance(names, list) or not all(isinstance(n, str) and n.strip() for n in names):
        detail = "a JSON class file must be a list of non-empty strings"
        raise LabelerError(labeler, detail, path=path)
    return [n.strip() for n in names]
