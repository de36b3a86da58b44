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
  unless it really lasts to the end. Frames with an in-between shape (filled by motion) are
  keyframes too. With a step, a keyframe between grid frames makes both neighbouring grid
  frames keyframes, so the boxes read back equal the boxes written;
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
  ``Points``' own per-point visibility is lost the same way (CVAT's ``points`` have none: hidden
  points are written where they were last placed);
* the frame split of ``ExportOptions`` is not applied (a CVAT task has one subset);
* a box of no width or height is written as outside on its frames (COCO, MOT and Datumaro
  leave it out; the shared validator refuses it).

``load`` streams the file with ``xml.etree.ElementTree.iterparse``, after refusing any document
with a ``<!DOCTYPE`` (the only place entities can be declared, so no entity expansion or
external entity can happen). ``keyframe="1"`` shapes become keyframes; ``keyframe="0"`` shapes
are checked and dropped (tweenlab interpolates them again), except the first shape of a track
and of each span after ``outside``, which are always kept. Shapes of a track must come in frame
order, once per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import numpy.typing as npt

from tweenlab.core.annotations import AnnotationSet
from tweenlab.core.rle import Rle
from tweenlab.core.schema import AttributeKind, AttributeSpec, AttributeValue, LabelSpec
from tweenlab.core.shapes import (
    Box,
    Cuboid,
    Mask,
    Shape,
    ShapeKind,
)
from tweenlab.core.track import Keyframe, Track
from tweenlab.formats._cvat_video_load import (
    _ANNOTATIONS,
    _CUBOID_CORNERS,
    _CVAT_TYPE,
    _HEAD_BYTES,
    _TO_CVAT_SOURCE,
    _xml_file,
    load,
)
from tweenlab.formats.base import ExportOptions, ExportPlan, FormatModule, FrameImages

__all__ = ["FORMAT", "detect", "export", "load"]

# -- detect -------------------------------------------------------------------------------


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
    # before the first keyframe (frames carried back from it) the first keyframe's flags hold
    in_force = np.maximum(np.searchsorted(keys, frames, side="right") - 1, 0).tolist()
    if track.kind is ShapeKind.BOX:
        boxes, visible = track.box_array(frames)
        visible &= (boxes[:, 2] > 0) & (boxes[:, 3] > 0)  # a box of no size: out, as elsewhere
        geometry = [_box_geometry(*row) for row in boxes.tolist()]
        return _Dense(frames.tolist(), geometry, visible.tolist(), in_force)
    _, write = _GEOMETRY[track.kind]
    geometry, shown = [], []
    for frame in frames.tolist():
        state = track.at(frame)
        if state is None:  # before the first keyframe, where nothing was carried
            state = track.at(track.first_frame)
            assert state is not None
            geometry.append(write(state.shape))
            shown.append(False)
            continue
        geometry.append(write(state.shape))
        shown.append(not state.outside)
    return _Dense(frames.tolist(), geometry, shown, in_force)


def _key_marks(track: Track, step: int) -> set[int]:
    """Grid frames written as keyframes: each keyframe's grid neighbours (itself if on it), and
    those of each in-between shape and of the frames beside it. An in-between shape follows the
    motion, not the straight line CVAT draws between keyframes, and CVAT keeps only a track's
    keyframes on import; beside a lone one, the track goes on as without it."""
    marks: set[int] = set()
    around = [f + d for f in track.inbetween for d in (-1, 0, 1)]  # a sparse one is a jump
    for frame in (*track.frames, *around):
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
    dense = _dense(track, grid[grid >= track.start])
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


FORMAT = FormatModule(
    name="cvat_video", detect=detect, export=export, load=load, extensions=(".xml",)
)
