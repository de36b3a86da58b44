"""The label schema: which labels exist, which shapes and attributes each allows, and for a
skeleton label its named points and the edges between them.

Validated when built (unique names, sane defaults) and used to validate every track, tag and
event that claims a label, so an annotation set never holds a label or value its schema lacks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from tweenlab.core.shapes import Shape, ShapeKind, Skeleton
from tweenlab.errors import AnnotationError

__all__ = [
    "AttributeKind",
    "AttributeSpec",
    "AttributeValue",
    "LabelSpec",
    "Schema",
    "SkeletonSpec",
]

AttributeValue = bool | int | float | str
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
_PALETTE = (
    "#e6194b",
    "#3cb44b",
    "#4363d8",
    "#f58231",
    "#911eb4",
    "#42d4f4",
    "#f032e6",
    "#bfef45",
    "#fabed4",
    "#469990",
    "#dcbeff",
    "#9a6324",
    "#800000",
    "#aaffc3",
)


def _kind(value: str, label: str) -> ShapeKind:
    try:
        return ShapeKind(value)
    except ValueError:
        known = [k.value for k in ShapeKind]
        raise AnnotationError(
            f"unknown shape kind {value!r} (known: {known})", field=f"label {label!r}"
        ) from None


class AttributeKind(StrEnum):
    """How an attribute is edited (CVAT's input types)."""

    CHECKBOX = "checkbox"
    RADIO = "radio"
    SELECT = "select"
    TEXT = "text"
    NUMBER = "number"


@dataclass(frozen=True)
class AttributeSpec:
    """One attribute of a label.

    Attributes:
        name: Its name, unique within the label.
        kind: How it is edited.
        values: The choices (radio, select).
        default: The value when none is given (first choice, False, "" or minimum otherwise).
        per_frame: True when it may change from frame to frame (CVAT's "mutable").
        minimum: Lowest number allowed (number).
        maximum: Highest number allowed (number).
        step: Increment of the number input (number).

    Example:
        >>> AttributeSpec("colour", AttributeKind.SELECT, ("red", "blue")).check("blue")
        'blue'
    """

    name: str
    kind: AttributeKind
    values: tuple[str, ...] = ()
    default: AttributeValue | None = None
    per_frame: bool = False
    minimum: float = 0.0
    maximum: float = 100.0
    step: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", AttributeKind(self.kind))
        object.__setattr__(self, "values", tuple(self.values))
        if not self.name:
            raise AnnotationError("an attribute needs a name", field="attribute.name")
        if self.kind in (AttributeKind.RADIO, AttributeKind.SELECT) and not self.values:
            raise AnnotationError("needs at least one value", field=f"attribute {self.name!r}")
        if self.kind is AttributeKind.NUMBER and not self.minimum <= self.maximum:
            raise AnnotationError("minimum exceeds maximum", field=f"attribute {self.name!r}")
        object.__setattr__(self, "default", self.check(self._natural_default()))

    def _natural_default(self) -> AttributeValue:
        if self.default is not None:
            return self.default
        natural: dict[AttributeKind, AttributeValue] = {
            AttributeKind.CHECKBOX: False,
            AttributeKind.RADIO: self.values[0] if self.values else "",
            AttributeKind.SELECT: self.values[0] if self.values else "",
            AttributeKind.TEXT: "",
            AttributeKind.NUMBER: self.minimum,
        }
        return natural[self.kind]

    def check(self, value: Any) -> AttributeValue:
        """Return ``value`` in this attribute's type, or raise ``AnnotationError``."""
        where = f"attribute {self.name!r}"
        if self.kind is AttributeKind.CHECKBOX:
            if isinstance(value, str) and value.lower() in ("true", "false"):
                return value.lower() == "true"
            if not isinstance(value, bool):
                raise AnnotationError(f"{value!r} is not true or false", field=where)
            return value
        if self.kind is AttributeKind.NUMBER:
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise AnnotationError(f"{value!r} is not a number", field=where) from None
            if not self.minimum <= number <= self.maximum:
                raise AnnotationError(
                    f"{number} is outside {self.minimum}..{self.maximum}", field=where
                )
            return number
        text = str(value)
        if self.values and text not in self.values:
            raise AnnotationError(f"{text!r} is not one of {list(self.values)}", field=where)
        return text

    def to_json(self) -> dict[str, Any]:
        """JSON form (``from_json`` reverses it)."""
        return {
            "name": self.name,
            "kind": self.kind.value,
            "values": list(self.values),
            "default": self.default,
            "per_frame": self.per_frame,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "step": self.step,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AttributeSpec:
        """Rebuild from ``to_json`` output."""
        return cls(**{**data, "values": tuple(data.get("values", ()))})


@dataclass(frozen=True)
class SkeletonSpec:
    """The named points of a skeleton label, in the order they are placed, and the edges that
    join them (COCO's ``keypoints`` and ``skeleton``; CVAT's skeleton elements).

    Attributes:
        nodes: The points' names, unique, at least one.
        edges: Pairs of node indices, each joining two different nodes, none repeated.

    Example:
        >>> pose = SkeletonSpec(("head", "neck", "hip"), ((0, 1), (1, 2)))
        >>> pose.to_json()
        {'nodes': ['head', 'neck', 'hip'], 'edges': [[0, 1], [1, 2]]}
    """

    nodes: tuple[str, ...]
    edges: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        nodes = tuple(str(n).strip() for n in self.nodes)
        if not nodes or not all(nodes) or len(set(nodes)) != len(nodes):
            raise AnnotationError(
                f"needs one or more unique, non-empty point names, got {list(self.nodes)}",
                field="skeleton.nodes",
            )
        edges = tuple((int(a), int(b)) for a, b in self.edges)
        seen: set[frozenset[int]] = set()
        for a, b in edges:
            pair = frozenset((a, b))
            if a == b or not (0 <= a < len(nodes) and 0 <= b < len(nodes)) or pair in seen:
                raise AnnotationError(
                    f"edge ({a}, {b}) must join two different points of {len(nodes)}, once",
                    field="skeleton.edges",
                )
            seen.add(pair)
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "edges", edges)

    def check(self, shape: Shape) -> None:
        """Raise ``AnnotationError`` unless a skeleton ``shape`` has exactly these points (by
        name, in any order); shapes of other kinds are not its business."""
        if isinstance(shape, Skeleton) and set(shape.nodes) != set(self.nodes):
            missing = [n for n in self.nodes if n not in shape.nodes]
            extra = [n for n in shape.nodes if n not in self.nodes]
            raise AnnotationError(
                f"the label's skeleton has points {list(self.nodes)}; missing {missing}, "
                f"unknown {extra}",
                field="skeleton.nodes",
            )

    def to_json(self) -> dict[str, Any]:
        """JSON form (``from_json`` reverses it)."""
        return {"nodes": list(self.nodes), "edges": [list(e) for e in self.edges]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SkeletonSpec:
        """Rebuild from ``to_json`` output."""
        edges = tuple((a, b) for a, b in data.get("edges", ()))
        return cls(tuple(data.get("nodes", ())), edges)


@dataclass(frozen=True)
class LabelSpec:
    """One label: its name, colour, allowed shape kinds and attributes.

    Attributes:
        name: Unique within the schema.
        color: ``#rrggbb``; picked from a palette when empty.
        kinds: Shape kinds allowed; empty allows every kind.
        attributes: Its attributes, names unique.
        skeleton: For a label of skeletons, their named points and edges (the label must then
            allow skeleton shapes); its skeletons have exactly these points.
    """

    name: str
    color: str = ""
    kinds: frozenset[ShapeKind] = field(default_factory=frozenset)
    attributes: tuple[AttributeSpec, ...] = ()
    skeleton: SkeletonSpec | None = None

    def __post_init__(self) -> None:
        if not self.name or self.name != self.name.strip():
            raise AnnotationError(f"{self.name!r} is not a usable label name", field="label.name")
        if self.color and not _COLOUR.match(self.color):
            raise AnnotationError(f"{self.color!r} is not #rrggbb", field=f"label {self.name!r}")
        object.__setattr__(self, "kinds", frozenset(_kind(k, self.name) for k in self.kinds))
        object.__setattr__(self, "attributes", tuple(self.attributes))
        names = [a.name for a in self.attributes]
        if len(set(names)) != len(names):
            raise AnnotationError(f"attribute names repeat: {names}", field=f"label {self.name!r}")
        if self.skeleton is not None and self.kinds and ShapeKind.SKELETON not in self.kinds:
            raise AnnotationError(
                "has a skeleton but does not allow skeleton shapes", field=f"label {self.name!r}"
            )

    def attribute(self, name: str) -> AttributeSpec:
        """The attribute called ``name``."""
        for spec in self.attributes:
            if spec.name == name:
                return spec
        raise AnnotationError(f"label {self.name!r} has no attribute {name!r}", field=name)

    def check_attributes(
        self, values: Mapping[str, Any], *, per_frame: bool
    ) -> dict[str, AttributeValue]:
        """Validate track (``per_frame=False``) or frame attributes; fill in defaults."""
        checked = {}
        for name, value in values.items():
            spec = self.attribute(name)
            if spec.per_frame != per_frame:
                scope = "per frame" if spec.per_frame else "per track"
                raise AnnotationError(
                    f"is {scope}", field=f"label {self.name!r} attribute {name!r}"
                )
            checked[name] = spec.check(value)
        for spec in self.attributes:
            if spec.per_frame == per_frame and spec.name not in checked:
                assert spec.default is not None
                checked[spec.name] = spec.default
        return checked

    def to_json(self) -> dict[str, Any]:
        """JSON form (``from_json`` reverses it)."""
        return {
            "name": self.name,
            "color": self.color,
            "kinds": sorted(k.value for k in self.kinds),
            "attributes": [a.to_json() for a in self.attributes],
            **({"skeleton": self.skeleton.to_json()} if self.skeleton is not None else {}),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> LabelSpec:
        """Rebuild from ``to_json`` output."""
        return cls(
            name=data["name"],
            color=data.get("color", ""),
            kinds=frozenset(_kind(k, data["name"]) for k in data.get("kinds", ())),
            attributes=tuple(AttributeSpec.from_json(a) for a in data.get("attributes", ())),
            skeleton=SkeletonSpec.from_json(skeleton)
            if (skeleton := data.get("skeleton"))
            else None,
        )


@dataclass(frozen=True)
class Schema:
    """The labels of a project, in a fixed order (class ids in every format follow it).

    Example:
        >>> schema = Schema.of("car", "person")
        >>> schema.index("person"), schema.label("car").color
        (1, '#e6194b')
    """

    labels: tuple[LabelSpec, ...]

    def __post_init__(self) -> None:
        labels = tuple(
            label if label.color else replace(label, color=_PALETTE[i % len(_PALETTE)])
            for i, label in enumerate(self.labels)
        )
        names = [label.name for label in labels]
        if len(set(names)) != len(names):
            repeated = sorted({n for n in names if names.count(n) > 1})
            raise AnnotationError(f"label names repeat: {repeated}", field="schema")
        object.__setattr__(self, "labels", labels)

    @classmethod
    def of(cls, *names: str) -> Schema:
        """A schema of plain labels that allow every shape kind."""
        return cls(tuple(LabelSpec(name) for name in names))

    @property
    def names(self) -> list[str]:
        """Label names in order."""
        return [label.name for label in self.labels]

    def label(self, name: str) -> LabelSpec:
        """The label called ``name``, or ``AnnotationError`` naming the known ones."""
        for label in self.labels:
            if label.name == name:
                return label
        raise AnnotationError(f"unknown label {name!r} (known: {self.names})", field="label")

    def index(self, name: str) -> int:
        """The 0-based position of label ``name``."""
        return self.names.index(self.label(name).name)

    def check_kind(self, name: str, kind: ShapeKind) -> None:
        """Raise unless label ``name`` allows shapes of ``kind``."""
        label = self.label(name)
        if label.kinds and kind not in label.kinds:
            allowed = sorted(k.value for k in label.kinds)
            raise AnnotationError(
                f"label {name!r} allows {allowed}, not {kind.value}", field="kind"
            )

    def merged(self, names: Iterable[str]) -> Schema:
        """This schema plus plain labels for any of ``names`` it lacks (for imports)."""
        extra = [LabelSpec(n) for n in dict.fromkeys(names) if n not in self.names]
        return Schema(self.labels + tuple(extra))

    def to_json(self) -> list[dict[str, Any]]:
        """JSON form (``from_json`` reverses it)."""
        return [label.to_json() for label in self.labels]

    @classmethod
    def from_json(cls, data: Iterable[Mapping[str, Any]]) -> Schema:
        """Rebuild from ``to_json`` output."""
        return cls(tuple(LabelSpec.from_json(item) for item in data))
