"""CVAT for video 1.1 (XML): tracks written dense, as CVAT's own export writes them.

Layout (``/work/shared/tools/validators/FORMATS.md`` section 1)::

    <folder>/annotations.xml
    <folder>/images/frame_000000.png     frame images when asked for (always .png: datumaro
                                         looks for exactly that name)

What ``export`` writes, following ``dump_as_cvat_interpolation`` in CVAT:

* the task covers the whole video, every frame, or every ``N``-th frame with ``--frames
  every:N`` (``frame_filter`` ``step=N``); shapes are written on that grid only;
* each track: every grid frame of each visible span (``keyframe="1"`` on keyframes and on the
  first frame of each span, ``"0"`` on interpolated frames), then one ``outside="1"
  keyframe="1"`` shape on the first grid frame the object is gone, so the track is closed
  unless it really lasts to the end. With a step, a keyframe between grid frames makes both
  neighbouring grid frames keyframes, so the boxes read back equal the boxes written;
* ``<attribute>`` children on every shape, the frame attributes in force and the track's (with
  defaults for the missing ones), as CVAT does; ``occluded``, ``z_order="0"``, and the track's
  ``source`` (``imported`` becomes CVAT's ``file``);
* track ids are ``track.id - 1`` (CVAT counts from 0, tweenlab from 1; ``load`` adds 1 back),
  or a counter from 0 when some id is below 1.

Shapes: ``box`` (with ``rotation`` when not 0), ``polygon``, ``polyline``, ``points``,
``cuboid``; ``mask`` (CVAT's ``rle`` over the mask's bounding box, row-major, with ``left top
width height``) only with ``masks=True``. Limits, each a documented choice:

* mask tracks are left out by default: datumaro 1.13 fails on the whole file when a track
  holds a ``<mask>`` (it looks for the size of an ``<image>``, which video tasks lack);
  ``load`` reads them;
* a ``Skeleton`` is written as plain ``points`` (node names, edges and per-point visibility are
  lost; datumaro 1.13 cannot read CVAT ``<skeleton>`` tracks at all), so it loads as ``Points``;
* the frame split of ``ExportOptions`` is not applied (a CVAT task has one subset).

``load`` streams the file with ``xml.etree.ElementTree.iterparse``, after refusing any document
with a ``<!DOCTYPE`` (the only place entities can be declared, so no entity expansion or
external entity can happen). ``keyframe="1"`` shapes become keyframes; ``keyframe="0"`` shapes
are checked and dropped (tweenlab interpolates them again), except the first shape of a track
and of each span after ``outside``, which are always kept. Shapes of a track must come in frame
order, once per frame.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import numpy.typing as npt

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
from tweenlab.formats.base import ExportOptions, ExportPlan, FormatModule, FrameImages

__all__ = ["FORMAT", "detect", "export", "load"]

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


# -- detect -------------------------------------------------------------------------------


def _xml_file(path: Path) -> Path | None:
    if path.is_file():
        return path
    candidate = path / _ANNOTATIONS
    return candidate if candidate.is_file() else None


def detect(path: Path) -> bool:
    """Whether ``path`` (a folder or an ``.xml`` file) holds a CVAT for video XML (head only)."""
    xml = _xml_file(Path(path))
    if xml is None or xml.suffix != ".xml":
        return False
    try:
        with xml.open("rb") as handle:
            head = handle.read(_HEAD_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return False
    return "<annotations" in head and "<mode>annotation</mode>" not in head


# -- export: geometry per kind ------------------------------------------------------------


def _n(value: float) -> str:
    """CVAT's ``{:.2f}``."""
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _points_text(points: npt.NDArray[np.float64]) -> str:
    return ";".join(f"{_n(x)},{_n(y)}" for x, y in points.tolist())


def _box_geometry(x: float, y: float, w: float, h: float, rotation: float) -> str:
    text = f'xtl="{_n(x)}" ytl="{_n(y)}" xbr="{_n(x + w)}" ybr="{_n(y + h)}"'
    return f'{text} rotation="{_n(rotation)}"' if rotation else text


def _box_shape_geometry(shape: Shape) -> str:
    assert isinstance(shape, Box)
    return _box_geometry(shape.x, shape.y, shape.w, shape.h, shape.rotation)


def _mask_geometry(shape: Shape) -> str:
    assert isinstance(shape, Mask)
    dense = shape.to_dense()
    rows, columns = np.flatnonzero(dense.any(axis=1)), np.flatnonzero(dense.any(axis=0))
    if rows.size == 0:
        top = left = 0
        crop = np.zeros((1, 1), dtype=bool)
    else:
        top, left = int(rows[0]), int(columns[0])
        crop = dense[top : rows[-1] + 1, left : columns[-1] + 1]
    counts = Rle.encode(crop.T).counts  # column-major over the transpose = row-major runs
    height, width = crop.shape
    return (
        f'rle="{", ".join(map(str, counts))}" left="{left}" top="{top}" '
        f'width="{width}" height="{height}"'
    )


def _cuboid_geometry(shape: Shape) -> str:
    assert isinstance(shape, Cuboid)
    return " ".join(
        f'x{c}="{_n(x)}" y{c}="{_n(y)}"'
        for c, (x, y) in zip(_CUBOID_CORNERS, shape.points.tolist(), strict=True)
    )


def _vertex_geometry(shape: Shape) -> str:
    return f'points="{_points_text(shape.points)}"'  # type: ignore[attr-defined]


_GEOMETRY: dict[ShapeKind, tuple[str, Callable[[Shape], str]]] = {
    ShapeKind.BOX: ("box", _box_shape_geometry),
    ShapeKind.POLYGON: ("polygon", _vertex_geometry),
    ShapeKind.POLYLINE: ("polyline", _vertex_geometry),
    ShapeKind.POINTS: ("points", _vertex_geometry),
    ShapeKind.SKELETON: ("points", _vertex_geometry),
    ShapeKind.CUBOID: ("cuboid", _cuboid_geometry),
    ShapeKind.MASK: ("mask", _mask_geometry),
}


# -- export: meta and tracks --------------------------------------------------------------


def _value_text(value: AttributeValue | None) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def _attribute_meta(spec: AttributeSpec) -> str:
    if spec.kind is AttributeKind.NUMBER:
        values = [_value_text(v) for v in (spec.minimum, spec.maximum, spec.step)]
    elif spec.kind in (AttributeKind.SELECT, AttributeKind.RADIO):
        values = list(spec.values)
    else:
        values = [_value_text(spec.default)]
    return (
        f"<attribute><name>{escape(spec.name)}</name>"
        f"<mutable>{spec.per_frame}</mutable>"
        f"<input_type>{spec.kind.value}</input_type>"
        f"<default_value>{escape(_value_text(spec.default))}</default_value>"
        f"<values>{escape(chr(10).join(values))}</values></attribute>"
    )


def _label_meta(label: LabelSpec) -> str:
    kind = _CVAT_TYPE[next(iter(label.kinds))] if len(label.kinds) == 1 else "any"
    attributes = "".join(_attribute_meta(spec) for spec in label.attributes)
    return (
        f"      <label><name>{escape(label.name)}</name><color>{label.color}</color>"
        f"<type>{kind}</type><attributes>{attributes}</attributes></label>\n"
    )


def _meta(annotations: AnnotationSet, size: int, stop: int, step: int) -> str:
    video = annotations.video
    labels = "".join(_label_meta(label) for label in annotations.schema.labels)
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n'
        f"  <meta>\n    <task>\n      <id>1</id>\n      <name>{escape(video.name)}</name>\n"
        f"      <size>{size}</size>\n      <mode>interpolation</mode>\n"
        "      <overlap>0</overlap>\n      <bugtracker></bugtracker>\n"
        f"      <start_frame>0</start_frame>\n      <stop_frame>{stop}</stop_frame>\n"
        f"      <frame_filter>{f'step={step}' if step > 1 else ''}</frame_filter>\n"
        f"      <labels>\n{labels}      </labels>\n"
        f"      <original_size><width>{video.width}</width><height>{video.height}</height>"
        "</original_size>\n    </task>\n"
        f"    <source>{escape(video.name)}</source>\n  </meta>\n"
    )


@dataclass
class _Dense:
    """A track sampled on the task's grid: geometry text, visibility, keyframe in force."""

    frames: list[int]
    geometry: list[str]
    visible: list[bool]
    in_force: list[int]


def _dense(track: Track, frames: npt.NDArray[np.int64]) -> _Dense:
    keys = np.fromiter(track.frames, dtype=np.int64, count=len(track.frames))
    in_force = (np.searchsorted(keys, frames, side="right") - 1).tolist()
    if track.kind is ShapeKind.BOX:
        boxes, visible = track.box_array(frames)
        geometry = [_box_geometry(*row) for row in boxes.tolist()]
        return _Dense(frames.tolist(), geometry, visible.tolist(), in_force)
    _, write = _GEOMETRY[track.kind]
    geometry, shown = [], []
    for frame in frames.tolist():
        state = track.at(frame)
        assert state is not None
        geometry.append(write(state.shape))
        shown.append(not state.outside)
    return _Dense(frames.tolist(), geometry, shown, in_force)


def _key_marks(track: Track, step: int) -> set[int]:
    """Grid frames written as keyframes: each keyframe's grid neighbours (itself if on it)."""
    marks: set[int] = set()
    for frame in track.frames:
        marks.update(((frame // step) * step, -(-frame // step) * step))
    return marks


def _attribute_lines(label: LabelSpec, track: Track, keyframe: Keyframe) -> str:
    parts = []
    for spec in label.attributes:
        source = keyframe.attributes if spec.per_frame else track.attributes
        value = source.get(spec.name, spec.default)
        parts.append(
            f"      <attribute name={quoteattr(spec.name)}>"
            f"{escape(_value_text(value))}</attribute>\n"
        )
    return "".join(parts)


def _track_lines(
    track: Track, cvat_id: int, label: LabelSpec, grid: npt.NDArray[np.int64], step: int
) -> Iterator[str]:
    dense = _dense(track, grid[grid >= track.first_frame])
    if not any(dense.visible):
        return
    tag, _ = _GEOMETRY[track.kind]
    marks = _key_marks(track, step)
    keyframes = list(track.keyframes.values())
    source = _TO_CVAT_SOURCE.get(track.source, "manual")
    yield f'  <track id="{cvat_id}" label={quoteattr(track.label)} source="{source}">\n'
    previous = False
    for frame, geometry, visible, key in zip(
        dense.frames, dense.geometry, dense.visible, dense.in_force, strict=True
    ):
        if not visible and not previous:
            continue
        keyframe = keyframes[key]
        is_key = not visible or not previous or frame in marks
        children = _attribute_lines(label, track, keyframe)
        head = (
            f'    <{tag} frame="{frame}" keyframe="{int(is_key)}" outside="{int(not visible)}" '
            f'occluded="{int(keyframe.occluded)}" {geometry} z_order="0"'
        )
        yield f"{head}>\n{children}    </{tag}>\n" if children else f"{head}/>\n"
        previous = visible
    yield "  </track>\n"


def export(
    annotations: AnnotationSet,
    folder: Path,
    plan: ExportPlan,
    options: ExportOptions,
    images: FrameImages | None = None,
    *,
    masks: bool = False,
) -> None:
    """Write ``annotations.xml`` (and ``images/frame_XXXXXX.png``) into ``folder``.

    Args:
        annotations: What to write.
        folder: The export folder (made by the caller).
        plan: The exported frames: their images are written (tracks are dense on the grid).
        options: ``frames="every"`` sets the task's step; ``images`` asks for images.
        images: Writes the frame images when ``options.images`` is set.
        masks: Write mask tracks as CVAT ``<mask>`` shapes. Off by default: datumaro 1.13
            fails on the whole file when a track holds one.
    """
    folder = Path(folder)
    step = options.step if options.frames == "every" else 1
    count = annotations.video.frame_count
    grid = np.arange(0, count, step, dtype=np.int64)
    renumber = any(track_id < 1 for track_id in annotations.tracks)
    with (folder / _ANNOTATIONS).open("w", encoding="utf-8", newline="\n") as out:
        out.write(_meta(annotations, len(grid), int(grid[-1]), step))
        for position, track in enumerate(annotations.tracks.values()):
            if track.kind is ShapeKind.MASK and not masks:
                continue
            cvat_id = position if renumber else track.id - 1
            label = annotations.schema.label(track.label)
            out.writelines(_track_lines(track, cvat_id, label, grid, step))
        out.write("</annotations>\n")
    if images is not None and options.images:
        (folder / "images").mkdir(exist_ok=True)
        frames = [f.frame for f in plan.frames if f.frame % step == 0]
        images.write(frames, [folder / "images" / f"frame_{f:06d}.png" for f in frames])


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
    if state.meta is None:
        raise FormatError(xml, "has no <meta>", line="<annotations>", field="meta")
    try:
        return AnnotationSet(_video(state), state.schema(), state.tracks)
    except AnnotationError as error:
        raise FormatError(xml, error.detail, field=error.field) from None


FORMAT = FormatModule(
    name="cvat_video", detect=detect, export=export, load=load, extensions=(".xml",)
)
