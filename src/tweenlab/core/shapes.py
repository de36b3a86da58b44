"""Shapes: frozen, array-backed geometry in pixels of the frame (origin top-left, 0-based).

One class per kind, each validating itself; behaviour that depends on the kind is a method or a
function registered per kind (interpolation, format writers), never an ``if kind == ...`` chain.
Coordinates are continuous pixels: a box ``(x, y, w, h)`` covers ``[x, x + w) x [y, y + h)``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from tweenlab.core.limits import MAX_COORDINATE
from tweenlab.core.rle import Rle
from tweenlab.errors import AnnotationError

__all__ = [
    "Box",
    "Cuboid",
    "Mask",
    "Points",
    "Polygon",
    "Polyline",
    "Shape",
    "ShapeKind",
    "Skeleton",
    "shape_from_json",
]

Array = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


class ShapeKind(StrEnum):
    """The kinds of shape a label may allow."""

    BOX = "box"
    POLYGON = "polygon"
    POLYLINE = "polyline"
    POINTS = "points"
    SKELETON = "skeleton"
    MASK = "mask"
    CUBOID = "cuboid"


class Shape(ABC):
    """What every shape offers."""

    kind: ClassVar[ShapeKind]

    @abstractmethod
    def bbox(self) -> tuple[float, float, float, float]:
        """The axis-aligned bounding box ``(x, y, w, h)``."""

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict with a ``"kind"`` key; ``shape_from_json`` reverses it."""

    @abstractmethod
    def __eq__(self, other: object) -> bool: ...

    @abstractmethod
    def __hash__(self) -> int: ...


def _points(values: Any, name: str, *, minimum: int, exact: int | None = None) -> Array:
    array = (
        np.array(values, dtype=np.float64).reshape(-1, 2) if np.size(values) else np.zeros((0, 2))
    )
    if exact is not None and len(array) != exact:
        raise AnnotationError(f"needs exactly {exact} points, got {len(array)}", field=name)
    if len(array) < minimum:
        raise AnnotationError(f"needs at least {minimum} points, got {len(array)}", field=name)
    if not np.isfinite(array).all():
        raise AnnotationError("coordinates must be finite numbers", field=name)
    if array.size and float(np.abs(array).max()) > MAX_COORDINATE:
        raise AnnotationError(f"coordinates must be within +-{MAX_COORDINATE:g} pixels", field=name)
    array.setflags(write=False)
    return array


def _flags(values: Any, count: int, name: str) -> BoolArray:
    array = np.ones(count, dtype=np.bool_) if values is None else np.array(values, dtype=np.bool_)
    if array.shape != (count,):
        raise AnnotationError(f"needs {count} visibility flags, got {array.size}", field=name)
    array.setflags(write=False)
    return array


def _bbox_of(points: Array) -> tuple[float, float, float, float]:
    low, high = points.min(axis=0), points.max(axis=0)
    return float(low[0]), float(low[1]), float(high[0] - low[0]), float(high[1] - low[1])


def _same(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> bool:
    return a.shape == b.shape and bool(np.array_equal(a, b))


@dataclass(frozen=True)
class Box(Shape):
    """A rectangle: top-left ``(x, y)``, size ``(w, h)``, rotated ``rotation`` degrees clockwise
    about its centre (the CVAT convention).

    Example:
        >>> Box(10, 20, 30, 40).bbox()
        (10.0, 20.0, 30.0, 40.0)
    """

    kind: ClassVar[ShapeKind] = ShapeKind.BOX
    x: float
    y: float
    w: float
    h: float
    rotation: float = 0.0

    def __post_init__(self) -> None:
        values = (self.x, self.y, self.w, self.h, self.rotation)
        if not all(math.isfinite(v) for v in values):  # math: a tenth of np.isfinite per value
            raise AnnotationError(f"values must be finite, got {values}", field="box")
        if max(abs(self.x), abs(self.y), self.w, self.h) > MAX_COORDINATE:
            raise AnnotationError(
                f"x, y, w, h must be within +-{MAX_COORDINATE:g} pixels, got {values[:4]}",
                field="box",
            )
        if self.w < 0 or self.h < 0:
            raise AnnotationError(f"size must not be negative, got {self.w}x{self.h}", field="box")
        for name, value in zip(("x", "y", "w", "h", "rotation"), values, strict=True):
            object.__setattr__(self, name, float(value))
        if not -180.0 <= self.rotation < 180.0:  # wrap only when needed: 0.1 stays exactly 0.1
            object.__setattr__(self, "rotation", (self.rotation + 180.0) % 360.0 - 180.0)

    @property
    def array(self) -> Array:
        """``[x, y, w, h, rotation]``."""
        return np.array([self.x, self.y, self.w, self.h, self.rotation])

    @property
    def area(self) -> float:
        """``w * h``."""
        return self.w * self.h

    def corners(self) -> Array:
        """The four corners after rotation, clockwise from the (unrotated) top-left."""
        cx, cy = self.x + self.w / 2, self.y + self.h / 2
        local = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]]) * [self.w / 2, self.h / 2]
        angle = np.deg2rad(self.rotation)
        turn = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
        return np.asarray(local @ turn.T + [cx, cy], dtype=np.float64)

    def bbox(self) -> tuple[float, float, float, float]:
        if not self.rotation:
            return self.x, self.y, self.w, self.h
        return _bbox_of(self.corners())

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "box",
            "x": self.x,
            "y": self.y,
            "w": self.w,
            "h": self.h,
            "rotation": self.rotation,
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Box) and np.array_equal(self.array, other.array)

    def __hash__(self) -> int:
        return hash(("box", self.x, self.y, self.w, self.h, self.rotation))


@dataclass(frozen=True, eq=False)
class _PointShape(Shape):
    """Shapes that are a list of vertices ``points`` of shape ``(N, 2)``."""

    points: Array
    _minimum: ClassVar[int] = 1
    _exact: ClassVar[int | None] = None

    def __post_init__(self) -> None:
        checked = _points(self.points, self.kind.value, minimum=self._minimum, exact=self._exact)
        object.__setattr__(self, "points", checked)

    def bbox(self) -> tuple[float, float, float, float]:
        return _bbox_of(self.points)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "points": self.points.tolist()}

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, _PointShape)
            and type(other) is type(self)
            and _same(self.points, other.points)
        )

    def __hash__(self) -> int:
        return hash((self.kind, self.points.tobytes()))


@dataclass(frozen=True, eq=False)
class Polygon(_PointShape):
    """A closed outline of at least 3 vertices.

    Example:
        >>> Polygon([[0, 0], [4, 0], [0, 3]]).area
        6.0
    """

    kind: ClassVar[ShapeKind] = ShapeKind.POLYGON
    _minimum: ClassVar[int] = 3

    @property
    def area(self) -> float:
        """Enclosed area (shoelace formula)."""
        x, y = self.points[:, 0], self.points[:, 1]
        return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


@dataclass(frozen=True, eq=False)
class Polyline(_PointShape):
    """An open line of at least 2 vertices."""

    kind: ClassVar[ShapeKind] = ShapeKind.POLYLINE
    _minimum: ClassVar[int] = 2


@dataclass(frozen=True, eq=False)
class Cuboid(_PointShape):
    """A 2D cuboid: 8 vertices, the front face (4, clockwise from top-left) then the back face."""

    kind: ClassVar[ShapeKind] = ShapeKind.CUBOID
    _exact: ClassVar[int | None] = 8


@dataclass(frozen=True, eq=False)
class Points(Shape):
    """Keypoints without names: ``points`` ``(N, 2)`` and per-point ``visible`` flags."""

    kind: ClassVar[ShapeKind] = ShapeKind.POINTS
    points: Array
    visible: BoolArray | None = None

    def __post_init__(self) -> None:
        checked = _points(self.points, "points", minimum=1)
        object.__setattr__(self, "points", checked)
        object.__setattr__(self, "visible", _flags(self.visible, len(checked), "points.visible"))

    def bbox(self) -> tuple[float, float, float, float]:
        assert self.visible is not None
        shown = self.points[self.visible]
        return _bbox_of(shown if len(shown) else self.points)

    def to_json(self) -> dict[str, Any]:
        assert self.visible is not None
        return {"kind": "points", "points": self.points.tolist(), "visible": self.visible.tolist()}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Points) or type(other) is not type(self):
            return False
        assert self.visible is not None and other.visible is not None
        return _same(self.points, other.points) and _same(self.visible, other.visible)

    def __hash__(self) -> int:
        return hash((self.kind, self.points.tobytes()))


@dataclass(frozen=True, eq=False)
class Skeleton(Points):
    """Named keypoints joined by edges; ``points[i]`` is node ``nodes[i]``.

    Example:
        >>> pose = Skeleton([[0, 0], [0, 10]], nodes=("head", "neck"), edges=((0, 1),))
        >>> pose.node("neck").tolist()
        [0.0, 10.0]
    """

    kind: ClassVar[ShapeKind] = ShapeKind.SKELETON
    nodes: tuple[str, ...] = ()
    edges: tuple[tuple[int, int], ...] = field(default=())

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(self.nodes) != len(self.points) or len(set(self.nodes)) != len(self.nodes):
            raise AnnotationError(
                f"needs one unique name per point ({len(self.points)}), got {self.nodes}",
                field="skeleton.nodes",
            )
        for a, b in self.edges:
            if not (0 <= a < len(self.nodes) and 0 <= b < len(self.nodes)):
                raise AnnotationError(f"edge ({a}, {b}) names no node", field="skeleton.edges")
        object.__setattr__(self, "nodes", tuple(self.nodes))
        object.__setattr__(self, "edges", tuple((int(a), int(b)) for a, b in self.edges))

    def node(self, name: str) -> Array:
        """The position of node ``name``."""
        return np.asarray(self.points[self.nodes.index(name)], dtype=np.float64)

    def to_json(self) -> dict[str, Any]:
        return {
            **super().to_json(),
            "kind": "skeleton",
            "nodes": list(self.nodes),
            "edges": [list(e) for e in self.edges],
        }

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other) and (self.nodes, self.edges) == (
            other.nodes,  # type: ignore[attr-defined]
            other.edges,  # type: ignore[attr-defined]
        )

    def __hash__(self) -> int:
        return hash((self.kind, self.nodes, self.points.tobytes()))


@dataclass(frozen=True)
class Mask(Shape):
    """A binary mask over the whole frame, stored as COCO-compatible run-length encoding.

    Example:
        >>> dense = np.zeros((4, 5), dtype=bool); dense[1:3, 2:4] = True
        >>> Mask.from_dense(dense).bbox()
        (2.0, 1.0, 2.0, 2.0)
    """

    kind: ClassVar[ShapeKind] = ShapeKind.MASK
    rle: Rle

    @classmethod
    def from_dense(cls, dense: npt.ArrayLike) -> Mask:
        """From a boolean ``(H, W)`` array."""
        return cls(Rle.encode(np.asarray(dense, dtype=bool)))

    @classmethod
    def from_polygons(cls, polygons: Sequence[npt.ArrayLike], height: int, width: int) -> Mask:
        """Rasterise polygons (even-odd rule) into a mask of ``height x width``."""
        return cls(Rle.from_polygons(polygons, height, width))

    def to_dense(self) -> npt.NDArray[np.bool_]:
        """A boolean ``(H, W)`` array."""
        return self.rle.decode()

    def to_polygons(self) -> list[Array]:
        """Outlines of the mask's regions, each ``(N, 2)``."""
        return self.rle.to_polygons()

    @property
    def area(self) -> int:
        """Pixels set."""
        return self.rle.area

    def bbox(self) -> tuple[float, float, float, float]:
        return self.rle.bbox()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "mask",
            "size": [self.rle.height, self.rle.width],
            "counts": list(self.rle.counts),
        }

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Mask) and self.rle == other.rle

    def __hash__(self) -> int:
        return hash(self.rle)


def _box(data: dict[str, Any]) -> Shape:
    return Box(data["x"], data["y"], data["w"], data["h"], data.get("rotation", 0.0))


def _skeleton(data: dict[str, Any]) -> Shape:
    edges = tuple((a, b) for a, b in data.get("edges", []))
    return Skeleton(data["points"], data.get("visible"), tuple(data["nodes"]), edges)


def _mask(data: dict[str, Any]) -> Shape:
    height, width = data["size"]
    return Mask(Rle(tuple(data["counts"]), int(height), int(width)))


_FROM_JSON: dict[str, Callable[[dict[str, Any]], Shape]] = {
    "box": _box,
    "polygon": lambda data: Polygon(data["points"]),
    "polyline": lambda data: Polyline(data["points"]),
    "cuboid": lambda data: Cuboid(data["points"]),
    "points": lambda data: Points(data["points"], data.get("visible")),
    "skeleton": _skeleton,
    "mask": _mask,
}


def shape_from_json(data: dict[str, Any]) -> Shape:
    """Rebuild a shape from ``Shape.to_json()`` output.

    Raises:
        AnnotationError: For an unknown kind or invalid values (naming the field).

    Example:
        >>> shape_from_json(Box(1, 2, 3, 4).to_json()) == Box(1, 2, 3, 4)
        True
    """
    kind = str(data.get("kind"))
    build = _FROM_JSON.get(kind)
    if build is None:
        raise AnnotationError(f"unknown shape kind {kind!r}", field="kind")
    try:
        return build(data)
    except KeyError as error:
        raise AnnotationError(f"missing {error.args[0]!r}", field=kind) from None
    except (TypeError, ValueError) as error:
        raise AnnotationError(str(error), field=kind) from None
