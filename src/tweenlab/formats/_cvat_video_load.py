"""Reading CVAT for video 1.1 XML, streamed, into an ``AnnotationSet``; and the CVAT vocabulary
(shape tags, sources, cuboid corners) that the writer in ``cvat_video`` shares.

Used through ``tweenlab.formats.cvat_video.load``; kept apart because the reader is long.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

import numpy as np

from tweenlab.core.annotations import AnnotationSet, VideoRef
from tweenlab.core.rle import Rle
from tweenlab.core.schema import AttributeKind, AttributeSpec, AttributeValue, LabelSpec, Schema
from tweenlab.core.shapes import (
    Box,
    Cuboid,
    Mask,
    Points,
    Polygon,
    Polyline,
    Shape,
    ShapeKind,
)
from tweenlab.core.track import Keyframe, Track
from tweenlab.errors import AnnotationError, FormatError

__all__ = ["load"]

_ANNOTATIONS = "annotations.xml"
_HEAD_BYTES = 1 << 16
_CVAT_TYPE = {
    ShapeKind.BOX: "rectangle",
    ShapeKind.POLYGON: "polygon",
    ShapeKind.POLYLINE: "polyline",
    ShapeKind.POINTS: "points",
    ShapeKind.SKELETON: "points",
    ShapeKind.CUBOID: "cuboid",
    ShapeKind.MASK: "mask",
}
_KIND_OF_TYPE = {
    "rectangle": ShapeKind.BOX,
    "polygon": ShapeKind.POLYGON,
    "polyline": ShapeKind.POLYLINE,
    "points": ShapeKind.POINTS,
    "cuboid": ShapeKind.CUBOID,
    "mask": ShapeKind.MASK,
}
_TO_CVAT_SOURCE = {"manual": "manual", "auto": "auto", "imported": "file"}
_FROM_CVAT_SOURCE = {"auto": "auto", "semi-auto": "auto", "file": "imported"}
# CVAT's cuboid attributes, in the order of ``Cuboid.points`` (each face clockwise from top-left)
_CUBOID_CORNERS = ("tl1", "tr1", "br1", "bl1", "tl2", "tr2", "br2", "bl2")


def _xml_file(path: Path) -> Path | None:
    if path.is_file():
        return path
    candidate = path / _ANNOTATIONS
    return candidate if candidate.is_file() else None


# -- load: meta -----------------------------------------------------------------------------


def _refuse_doctype(path: Path) -> None:
    """Refuse DTDs: entities can only be declared in one, and it must precede the root."""
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    root = re.search(rb"<[A-Za-z_]", head)
    prolog = head[: root.start()] if root else head
    declaration = re.search(rb"<!DOCTYPE|<!ENTITY", prolog, re.IGNORECASE)
    if declaration is not None:
        line = prolog[: declaration.start()].count(b"\n") + 1
        raise FormatError(
            path, "DTDs and entity declarations are refused", line=line, field="DOCTYPE"
        )
    if root is None and len(head) == _HEAD_BYTES:
        raise FormatError(path, f"no root element in the first {_HEAD_BYTES} bytes")


def _raw(element: ElementTree.Element | None) -> str:
    return (element.text or "") if element is not None else ""


def _text(element: ElementTree.Element | None) -> str:
    return _raw(element).strip()


def _attribute_spec(path: Path, where: str, element: ElementTree.Element) -> AttributeSpec:
    name = _text(element.find("name"))
    kind_text = _text(element.find("input_type"))
    try:
        kind = AttributeKind(kind_text)
    except ValueError:
        raise FormatError(
            path, f"unknown input_type {kind_text!r}", line=where, field=f"attribute {name!r}"
        ) from None
    values = [v.strip() for v in (_raw(element.find("values"))).split("\n") if v.strip()]
    default = _text(element.find("default_value")) or None
    per_frame = _text(element.find("mutable")).lower() in ("true", "1")
    options: dict[str, Any] = {}
    try:
        if kind is AttributeKind.NUMBER and len(values) == 3:
            options = dict(zip(("minimum", "maximum", "step"), map(float, values), strict=True))
        elif kind in (AttributeKind.SELECT, AttributeKind.RADIO):
            options = {"values": tuple(values)}
        return AttributeSpec(name, kind, default=default, per_frame=per_frame, **options)
    except (AnnotationError, ValueError) as error:
        raise FormatError(path, str(error), line=where, field=f"attribute {name!r}") from None


def _label_spec(path: Path, element: ElementTree.Element) -> LabelSpec:
    name = _text(element.find("name"))
    where = f"<labels> label {name!r}"
    color = _text(element.find("color"))
    kind = _KIND_OF_TYPE.get(_text(element.find("type")))
    attributes = tuple(_attribute_spec(path, where, a) for a in element.iter("attribute"))
    try:
        return LabelSpec(
            name,
            color if re.fullmatch(r"#[0-9a-fA-F]{6}", color) else "",
            frozenset({kind}) if kind else frozenset(),
            attributes,
        )
    except AnnotationError as error:
        raise FormatError(path, error.detail, line=where, field=error.field) from None


@dataclass
class _Meta:
    labels: Schema
    frame_count: int | None
    width: int | None
    height: int | None
    name: str


def _meta_int(path: Path, task: ElementTree.Element | None, key: str) -> int | None:
    text = _text(task.find(key)) if task is not None else ""
    if not text:
        return None
    if not text.isdigit():
        raise FormatError(path, f"{text!r} is not a whole number", line="<meta><task>", field=key)
    return int(text)


def _read_meta(path: Path, meta: ElementTree.Element) -> _Meta:
    task = meta.find("task")
    if task is None:
        task = meta.find("project")
    if task is None:
        raise FormatError(path, "needs <task> or <project>", line="<meta>", field="task")
    labels = [_label_spec(path, e) for e in meta.iter("label") if e.find("parent") is None]
    try:
        schema = Schema(tuple(labels))
    except AnnotationError as error:
        raise FormatError(path, error.detail, line="<labels>", field="label") from None
    size = meta.find(".//original_size")
    width, height = (_meta_int(path, size, key) for key in ("width", "height"))
    name = _text(meta.find("source")) or _text(task.find("name")) or path.parent.name
    return _Meta(schema, _frame_count(path, task), width, height, name)


def _frame_count(path: Path, task: ElementTree.Element) -> int | None:
    """``stop_frame + 1``, or the end of ``size`` frames from ``start_frame`` by its step."""
    stop = _meta_int(path, task, "stop_frame")
    if stop is not None:
        return stop + 1
    size = _meta_int(path, task, "size")
    step = re.fullmatch(r"step\s*=\s*(\d+)", _text(task.find("frame_filter")))
    if size is None or size < 1:
        return None
    start = _meta_int(path, task, "start_frame") or 0
    return start + (size - 1) * (int(step[1]) if step else 1) + 1


# -- load: shapes ---------------------------------------------------------------------------


def _float(path: Path, where: str, element: ElementTree.Element, key: str) -> float:
    text = element.get(key)
    if text is None:
        raise FormatError(path, "is missing", line=where, field=key)
    try:
        value = float(text)
    except ValueError:
        raise FormatError(path, f"{text!r} is not a number", line=where, field=key) from None
    if not math.isfinite(value):
        raise FormatError(path, f"{text!r} is not a finite number", line=where, field=key)
    return value


def _vertices(path: Path, where: str, element: ElementTree.Element) -> list[list[float]]:
    text = element.get("points")
    if text is None:
        raise FormatError(path, "is missing", line=where, field="points")
    try:
        pairs = [[float(v) for v in pair.split(",")] for pair in text.split(";") if pair.strip()]
    except ValueError:
        raise FormatError(
            path, f"{text[:40]!r} is not x,y;x,y", line=where, field="points"
        ) from None
    if any(len(pair) != 2 for pair in pairs):
        raise FormatError(path, f"{text[:40]!r} is not x,y;x,y", line=where, field="points")
    return pairs


@dataclass
class _Reader:
    """What parsing a shape needs to know."""

    path: Path
    size: tuple[int, int] | None  # (height, width) for masks

    def box(self, where: str, element: ElementTree.Element) -> Shape:
        x0, y0, x1, y1 = (
            _float(self.path, where, element, k) for k in ("xtl", "ytl", "xbr", "ybr")
        )
        rotation = (
            _float(self.path, where, element, "rotation") if "rotation" in element.attrib else 0.0
        )
        return Box(x0, y0, x1 - x0, y1 - y0, rotation)

    def cuboid(self, where: str, element: ElementTree.Element) -> Shape:
        corners = [
            [_float(self.path, where, element, f"{axis}{corner}") for axis in "xy"]
            for corner in _CUBOID_CORNERS
        ]
        return Cuboid(np.array(corners))

    def mask(self, where: str, element: ElementTree.Element) -> Shape:
        if self.size is None:
            raise FormatError(
                self.path,
                "a mask needs the frame size: no <original_size> and no video given",
                line=where,
                field="rle",
            )
        left, top, width, height = (
            int(_float(self.path, where, element, k)) for k in ("left", "top", "width", "height")
        )
        try:
            counts = [int(v) for v in (element.get("rle") or "").split(",")]
            crop = Rle(tuple(counts), width, height).decode().T
        except (ValueError, AnnotationError) as error:
            raise FormatError(
                self.path, f"bad run lengths: {error}", line=where, field="rle"
            ) from None
        dense = np.zeros(self.size, dtype=bool)
        frame_h, frame_w = self.size
        if left < 0 or top < 0 or left + width > frame_w or top + height > frame_h:
            raise FormatError(
                self.path,
                f"{width}x{height} at ({left}, {top}) is outside the {frame_w}x{frame_h} frame",
                line=where,
                field="left/top",
            )
        dense[top : top + height, left : left + width] = crop
        return Mask.from_dense(dense)

    def parse(self, where: str, element: ElementTree.Element) -> Shape:
        vertex_kinds: dict[str, Callable[[Any], Shape]] = {
            "polygon": Polygon,
            "polyline": Polyline,
            "points": Points,
        }
        try:
            if element.tag in vertex_kinds:
                return vertex_kinds[element.tag](_vertices(self.path, where, element))
            return {"box": self.box, "cuboid": self.cuboid, "mask": self.mask}[element.tag](
                where, element
            )
        except AnnotationError as error:
            raise FormatError(
                self.path, error.detail, line=where, field=error.field or element.tag
            ) from None


_SHAPE_TAGS = frozenset({"box", "polygon", "polyline", "points", "cuboid", "mask"})


@dataclass
class _TrackBuilder:
    """The keyframes of one ``<track>`` as its shapes stream in."""

    cvat_id: int
    label: LabelSpec
    source: str
    keyframes: dict[int, Keyframe] = field(default_factory=dict)
    attributes: dict[str, AttributeValue] = field(default_factory=dict)
    last_frame: int = -1
    last_outside: bool = True

    def where(self, element: ElementTree.Element | None = None) -> str:
        track = f"track id={self.cvat_id}"
        return track if element is None else f"{track}, {element.tag} frame={element.get('frame')}"


def _flag(path: Path, where: str, element: ElementTree.Element, key: str, default: str) -> bool:
    text = element.get(key, default)
    if text not in ("0", "1"):
        raise FormatError(path, f"{text!r} is not 0 or 1", line=where, field=key)
    return text == "1"


def _shape_attributes(
    path: Path, where: str, builder: _TrackBuilder, element: ElementTree.Element
) -> dict[str, AttributeValue]:
    per_frame: dict[str, AttributeValue] = {}
    for child in element.iter("attribute"):
        name = child.get("name", "")
        try:
            spec = builder.label.attribute(name)
            value = spec.check(child.text or "")
        except AnnotationError as error:
            raise FormatError(path, error.detail, line=where, field=f"attribute {name!r}") from None
        if spec.per_frame:
            per_frame[name] = value
        elif builder.attributes.setdefault(name, value) != value:
            raise FormatError(
                path,
                f"track attribute changes from {builder.attributes[name]!r} to {value!r}",
                line=where,
                field=f"attribute {name!r}",
            )
    return per_frame


def _add_shape(
    reader: _Reader, builder: _TrackBuilder, element: ElementTree.Element, frame_count: int | None
) -> None:
    path, where = reader.path, builder.where(element)
    frame_text = element.get("frame", "")
    if not frame_text.isdigit():
        raise FormatError(path, f"{frame_text!r} is not a frame number", line=where, field="frame")
    frame = int(frame_text)
    if frame <= builder.last_frame:
        raise FormatError(
            path,
            f"comes after frame {builder.last_frame}: a track's shapes "
            "must be in frame order, one per frame",
            line=where,
            field="frame",
        )
    outside = _flag(path, where, element, "outside", "0")
    keyframe = _flag(path, where, element, "keyframe", "1")
    occluded = _flag(path, where, element, "occluded", "0")
    shape = reader.parse(where, element)
    attributes = _shape_attributes(path, where, builder, element)
    if frame_count is not None and frame >= frame_count:
        if outside:
            return  # closes a track at the end of the video: changes nothing
        raise FormatError(
            path,
            f"frame {frame} is beyond the video's {frame_count} frames",
            line=where,
            field="frame",
        )
    if keyframe or outside or builder.last_outside:
        builder.keyframes[frame] = Keyframe(shape, outside, occluded, attributes)
    builder.last_frame, builder.last_outside = frame, outside


@dataclass
class _Parse:
    """State of one streaming parse."""

    path: Path
    given: Schema | None
    video: VideoRef | None
    meta: _Meta | None = None
    reader: _Reader | None = None
    builder: _TrackBuilder | None = None
    tracks: dict[int, Track] = field(default_factory=dict)

    def schema(self) -> Schema:
        assert self.meta is not None
        return self.given or self.meta.labels

    def start_meta(self, element: ElementTree.Element) -> None:
        self.meta = _read_meta(self.path, element)
        height = self.video.height if self.video else self.meta.height
        width = self.video.width if self.video else self.meta.width
        self.reader = _Reader(self.path, (height, width) if height and width else None)

    def start_track(self, element: ElementTree.Element) -> None:
        if self.meta is None:
            raise FormatError(self.path, "comes before <meta>", line="<track>", field="meta")
        id_text = element.get("id", "")
        if not id_text.lstrip("-").isdigit():
            raise FormatError(
                self.path, f"{id_text!r} is not a track id", line="<track>", field="id"
            )
        cvat_id, name = int(id_text), element.get("label", "")
        where = f"track id={cvat_id}"
        if cvat_id + 1 in self.tracks:
            raise FormatError(self.path, "id repeats", line=where, field="id")
        if name not in self.meta.labels.names:
            raise FormatError(
                self.path,
                f"label {name!r} is not declared in <labels> {self.meta.labels.names}",
                line=where,
                field="label",
            )
        if name not in self.schema().names:
            raise FormatError(
                self.path,
                f"label {name!r} is not in the schema {self.schema().names}",
                line=where,
                field="label",
            )
        source = _FROM_CVAT_SOURCE.get(element.get("source", "manual"), "manual")
        self.builder = _TrackBuilder(cvat_id, self.schema().label(name), source)

    def end_shape(self, element: ElementTree.Element) -> None:
        assert self.builder is not None and self.reader is not None
        frame_count = self.video.frame_count if self.video else None
        if self.meta is not None and frame_count is None:
            frame_count = self.meta.frame_count
        _add_shape(self.reader, self.builder, element, frame_count)

    def end_track(self) -> None:
        builder, self.builder = self.builder, None
        assert builder is not None
        if not builder.keyframes:
            raise FormatError(self.path, "has no shapes", line=builder.where(), field="shapes")
        try:
            self.schema().check_kind(
                builder.label.name, next(iter(builder.keyframes.values())).shape.kind
            )
            track = Track(
                builder.cvat_id + 1,
                builder.label.name,
                builder.keyframes,
                builder.attributes,
                builder.source,
            )
        except AnnotationError as error:
            raise FormatError(
                self.path, error.detail, line=builder.where(), field=error.field
            ) from None
        self.tracks[track.id] = track


def _stream(state: _Parse, handle: IO[bytes]) -> None:
    root: ElementTree.Element | None = None
    for event, element in ElementTree.iterparse(handle, events=("start", "end")):
        if event == "start":
            if root is None:
                root = element
                if element.tag != "annotations":
                    raise FormatError(
                        state.path,
                        f"root is <{element.tag}>, not <annotations>",
                        line=1,
                        field="root",
                    )
            elif element.tag == "track":
                state.start_track(element)
            elif element.tag in ("image", "skeleton"):
                what = "CVAT for images" if element.tag == "image" else "skeleton tracks"
                raise FormatError(
                    state.path,
                    f"{what} cannot be read (CVAT for video only)",
                    line=f"<{element.tag}>",
                    field=element.tag,
                )
            continue
        if element.tag == "meta":
            state.start_meta(element)
            element.clear()
        elif element.tag in _SHAPE_TAGS and state.builder is not None:
            state.end_shape(element)
            element.clear()
        elif element.tag == "track":
            state.end_track()
            assert root is not None
            root.clear()


def _video(state: _Parse) -> VideoRef:
    if state.video is not None:
        return state.video
    assert state.meta is not None
    meta = state.meta
    frames = meta.frame_count or 1 + max((t.last_frame for t in state.tracks.values()), default=0)
    width, height = meta.width, meta.height
    if width is None or height is None:
        edges = [k.shape.bbox() for t in state.tracks.values() for k in t.keyframes.values()]
        width = max(1, math.ceil(max((x + w for x, _, w, _ in edges), default=1)))
        height = max(1, math.ceil(max((y + h for _, y, _, h in edges), default=1)))
    try:
        return VideoRef(meta.name, frames, width, height, Fraction(25))
    except AnnotationError as error:
        raise FormatError(state.path, error.detail, line="<meta>", field=error.field) from None


def load(
    path: Path, *, video: VideoRef | None = None, schema: Schema | None = None
) -> AnnotationSet:
    """Read a CVAT for video 1.1 XML: a folder with ``annotations.xml``, or the file.

    Args:
        path: Where it is.
        video: The video it annotates; without it the name is ``<meta><source>``, the frame
            count ``stop_frame + 1`` and the size ``<original_size>`` (CVAT stores no frame
            rate: 25 fps is assumed).
        schema: Labels to use; every track's label must be declared in the file's
            ``<labels>`` and be in it. By default the file's ``<labels>``.

    Raises:
        FormatError: Naming the file and the line (malformed XML) or the element
            (``track id=3, box frame=17``) and field; nothing is returned then.

    Example:
        >>> annotations = load(Path("export"))  # doctest: +SKIP
    """
    path = Path(path)
    xml = _xml_file(path)
    if xml is None:
        raise FormatError(path, f"no {_ANNOTATIONS} here")
    _refuse_doctype(xml)
    state = _Parse(xml, schema, video)
    try:
        with xml.open("rb") as handle:
            _stream(state, handle)
    except ElementTree.ParseError as error:
        line, column = error.position
        raise FormatError(
            xml, f"malformed XML: {error}", line=line, field=f"column {column}"
        ) from None
    except LookupError as error:  # <?xml encoding="bogus"?>: a codec Python does not know
        raise FormatError(xml, f"malformed XML: {error}", line=1) from None
    if state.meta is None:
        raise FormatError(xml, "has no <meta>", line="<annotations>", field="meta")
    try:
        return AnnotationSet(_video(state), state.schema(), state.tracks)
    except AnnotationError as error:
        raise FormatError(xml, error.detail, field=error.field) from None
