"""The native format: tweenlab's own lossless JSON, one file ``annotations.json``.

It holds an ``AnnotationSet`` whole, as keyframes (never densified), so export then load gives
back an equal set: every shape kind, attributes, ``outside``/``occluded``, track sources, frame
tags, events and clip/video classes. It reads through ``formats._json`` (``JsonNode``), the
checked JSON reading the other JSON importers share, so every malformed file is reported the
same way.

File schema (version 1). Keys are written in this order; every key is required unless marked
optional, and nothing else is allowed to be missing:

``format`` (str)
    Always ``"tweenlab"``.
``version`` (int)
    The schema version, ``1``. Older files are upgraded by ``MIGRATIONS`` on load; a newer one
    is refused (upgrade tweenlab to read it).
``video`` (object)
    The video annotated: ``name`` (str, the file name), ``frame_count`` (int >= 1), ``width`` and
    ``height`` (int >= 1, pixels as displayed), ``fps`` (str ``"num/den"``, e.g. ``"30000/1001"``;
    a number is accepted).
``schema`` (array)
    The labels, in class-id order. Each: ``name`` (str, unique), ``color`` (str ``#rrggbb``),
    ``kinds`` (array of shape kinds allowed, empty for all), ``attributes`` (array of ``name``,
    ``kind`` (``checkbox``/``radio``/``select``/``text``/``number``), ``values`` (array of str),
    ``default``, ``per_frame`` (bool), ``minimum``, ``maximum``, ``step`` (numbers)), and for a
    skeleton label optionally ``skeleton``: ``nodes`` (array of unique str, the points' names)
    and ``edges`` (array of ``[i, j]`` node indices); its skeletons have exactly those points.
``tracks`` (array)
    One object per track: ``id`` (int, unique), ``label`` (str, a schema label), ``source``
    (str: ``manual``, ``auto`` or ``imported``), ``attributes`` (object: per-track attribute
    values) and ``keyframes`` (array, at least one, frames unique and below ``frame_count``),
    each ``frame`` (int >= 0), ``shape`` (object), ``outside`` (bool), ``occluded`` (bool),
    ``attributes`` (object: per-frame attribute values, holding until the next keyframe).
    Optional ``inbetween`` (array): shapes that motion-guided in-betweening computed, each
    ``frame`` (not a keyframe: between two keyframes, or past the first or last one where the
    motion was followed, never after an outside keyframe) and ``shape`` (of the track's kind),
    and optionally ``confidence`` (number in 0..1: how sure in-betweening was of that shape);
    written only when there are some. Optional ``leaves`` (int, after the last keyframe): the
    frame from which in-betweening found the object out of the picture. Optional ``score``
    (number in 0..1): a model's confidence in an ``auto`` track (a prediction not yet accepted).
``tags`` (array)
    Frame tags: ``frame`` (int), ``label`` (str), ``attributes`` (object).
``events`` (array)
    Temporal events over frames ``start..end`` inclusive: ``start``, ``end`` (int), ``label``,
    ``attributes``.
``classes`` (array)
    Clip classes (``start``, ``end`` ints) or video classes (both ``null``): ``label``, ``start``,
    ``end``, ``attributes``.

Shapes are objects with a ``kind`` and, in pixels (origin top-left, 0-based, continuous):
``box`` ``x``, ``y``, ``w``, ``h`` (w, h >= 0), ``rotation`` (degrees clockwise about the centre,
optional, default 0); ``polygon`` (>= 3), ``polyline`` (>= 2), ``cuboid`` (exactly 8: front face
then back face) ``points`` (array of ``[x, y]``); ``points`` ``points`` and ``visible`` (array of
bool, optional, default all true); ``skeleton`` as ``points`` plus ``nodes`` (array of unique
str, one per point) and ``edges`` (array of ``[i, j]`` node indices); ``mask`` ``size``
(``[height, width]``) and ``counts`` (COCO uncompressed RLE: alternating run lengths, zeros first,
column by column). Attribute values are bool, number or str.

Example:
    >>> from tweenlab.core import AnnotationSet, Box, Keyframe, Schema, Track, VideoRef
    >>> video = VideoRef("clip.mp4", frame_count=10, width=64, height=48)
    >>> track = Track(1, "car", {0: Keyframe(Box(1, 2, 3, 4))})
    >>> annotations = AnnotationSet(video, Schema.of("car"), {1: track})
    >>> loads(dumps(annotations), "memory.json") == annotations
    True
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from tweenlab.core.annotations import AnnotationSet, ClipClass, Event, FrameTag, VideoRef
from tweenlab.core.schema import AttributeKind, AttributeSpec, LabelSpec, Schema, SkeletonSpec
from tweenlab.core.shapes import Shape, ShapeKind, shape_from_json
from tweenlab.core.track import Keyframe, Track
from tweenlab.formats._json import JsonNode, finite, parse_json, read_json
from tweenlab.formats.base import ExportOptions, ExportPlan, FormatModule, FrameImages

__all__ = [
    "FILE_NAME",
    "FORMAT",
    "MIGRATIONS",
    "VERSION",
    "JsonNode",
    "detect",
    "dumps",
    "export",
    "load",
    "loads",
    "read_json",
    "track_from_json",
]

FILE_NAME = "annotations.json"
VERSION = 1

#: ``MIGRATIONS[n]`` turns a version-``n`` document into a version ``n + 1`` one. Load applies
#: them in order up to ``VERSION``; a change to the schema bumps ``VERSION`` and adds one here.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {}

_MARKER = re.compile(rb'"format"\s*:\s*"tweenlab"')


# -- writing ------------------------------------------------------------------------------------


def to_document(annotations: AnnotationSet) -> dict[str, Any]:
    """The JSON document (a dict) for ``annotations``."""
    return {
        "format": "tweenlab",
        "version": VERSION,
        "video": annotations.video.to_json(),
        "schema": annotations.schema.to_json(),
        "tracks": [track.to_json() for track in annotations.tracks.values()],
        "tags": [
            {"frame": t.frame, "label": t.label, "attributes": dict(t.attributes)}
            for t in annotations.tags
        ],
        "events": [
            {"start": e.start, "end": e.end, "label": e.label, "attributes": dict(e.attributes)}
            for e in annotations.events
        ],
        "classes": [
            {"label": c.label, "start": c.start, "end": c.end, "attributes": dict(c.attributes)}
            for c in annotations.classes
        ],
    }


def dumps(annotations: AnnotationSet) -> str:
    """The native JSON text of ``annotations`` (indented, so errors have useful line numbers).

    Example:
        >>> from tweenlab.core import AnnotationSet, Schema, VideoRef
        >>> dumps(AnnotationSet(VideoRef("v.mp4", 1, 8, 8), Schema.of("car")))[:40]
        '{\\n "format": "tweenlab",\\n "version": 1,\\n'
    """
    return json.dumps(to_document(annotations), ensure_ascii=False, indent=1, allow_nan=False)


def export(
    annotations: AnnotationSet,
    folder: Path,
    plan: ExportPlan,
    options: ExportOptions,
    images: FrameImages | None = None,
) -> None:
    """Write ``folder/annotations.json``: the whole set as keyframes (plan and images unused)."""
    del plan, options, images  # lossless: every keyframe, whatever frames another format writes
    (Path(folder) / FILE_NAME).write_text(dumps(annotations), encoding="utf-8")


# -- reading ------------------------------------------------------------------------------------


def detect(path: Path) -> bool:
    """A ``.json`` file (or a folder holding ``annotations.json``) that says it is tweenlab's."""
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    with path.open("rb") as handle:
        return _MARKER.search(handle.read(4096)) is not None


def load(
    path: Path, *, video: VideoRef | None = None, schema: Schema | None = None
) -> AnnotationSet:
    """Read a native file (or a folder holding ``annotations.json``).

    Args:
        path: The file or its folder.
        video: Check the annotations against this video instead of the one in the file.
        schema: Check the labels against this schema instead of the one in the file.

    Raises:
        FormatError: Naming the file, the line or JSON path and the field of the first mistake.
    """
    path = Path(path)
    if path.is_dir():
        path = path / FILE_NAME
    return from_document(read_json(path), path, video=video, schema=schema)


def loads(
    text: str,
    path: str | Path = "<text>",
    *,
    video: VideoRef | None = None,
    schema: Schema | None = None,
) -> AnnotationSet:
    """Read native JSON text; ``path`` names it in error messages (see ``load``)."""
    return from_document(parse_json(text, path), Path(path), video=video, schema=schema)


def from_document(
    data: Any, path: Path, *, video: VideoRef | None = None, schema: Schema | None = None
) -> AnnotationSet:
    """Check and build an ``AnnotationSet`` from a parsed native document."""
    root = JsonNode(path, "", data)
    if root.text("format") != "tweenlab":
        root.fail(f"is not a tweenlab file (format {root.object()['format']!r})", field="format")
    root = JsonNode(path, "", migrate(root))
    video = video or _video(root.child("video"))
    schema = schema or _schema(root)
    tracks = _tracks(root, video, schema)
    tags = tuple(_checked(n, video, schema, "tags", _tag) for n in root.array("tags"))
    events = tuple(_checked(n, video, schema, "events", _event) for n in root.array("events"))
    classes = tuple(_checked(n, video, schema, "classes", _clip) for n in root.array("classes"))
    with root.building():
        return AnnotationSet(video, schema, tracks, tags, events, classes)


def migrate(
    root: JsonNode,
    *,
    current: int = VERSION,
    migrations: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] | None = None,
) -> dict[str, Any]:
    """Upgrade a document to ``current``, one ``MIGRATIONS`` step at a time."""
    steps = MIGRATIONS if migrations is None else migrations
    version = root.integer("version", minimum=1)
    if version > current:
        root.fail(
            f"version {version} is newer than this tweenlab reads ({current}); upgrade tweenlab",
            field="version",
        )
    data = dict(root.object())
    while version < current:
        if version not in steps:
            root.fail(f"no migration from version {version}", field="version")
        data = steps[version](data)
        version += 1
        data["version"] = version
    return data


def _video(node: JsonNode) -> VideoRef:
    fps: Any = node.child("fps").value
    try:
        rate = None if isinstance(fps, bool) else Fraction(fps)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        rate = None
    if rate is None or rate <= 0:
        node.fail(f"must be a positive rate like '30000/1001', got {fps!r}", field="fps")
    with node.building():
        return VideoRef(
            node.text("name"),
            node.integer("frame_count", minimum=1),
            node.integer("width", minimum=1),
            node.integer("height", minimum=1),
            rate,
        )


def _schema(root: JsonNode) -> Schema:
    labels: list[LabelSpec] = []
    for node in root.array("schema"):
        name = node.text("name")
        if name in (label.name for label in labels):
            node.fail(f"label {name!r} is declared twice", field="name")
        kinds = [k.value for k in node.array("kinds")] if node.has("kinds") else []
        for kind in kinds:
            if kind not in set(ShapeKind):
                node.fail(f"unknown shape kind {kind!r}", field="kinds")
        attributes = node.array("attributes") if node.has("attributes") else []
        specs = tuple(_attribute_spec(a) for a in attributes)
        skeleton = _skeleton_spec(node.child("skeleton")) if node.has("skeleton") else None
        color = node.text("color", default="")
        with node.building():
            labels.append(LabelSpec(name, color, frozenset(kinds), specs, skeleton))
    with root.child("schema").building():
        return Schema(tuple(labels))


def _skeleton_spec(node: JsonNode) -> SkeletonSpec:
    nodes = [n.value for n in node.array("nodes")]
    if not all(isinstance(n, str) for n in nodes):
        node.fail("must be an array of strings", field="nodes")
    edges = node.array("edges") if node.has("edges") else []
    pairs = []
    for edge in edges:
        pair = edge.value
        if not (isinstance(pair, list) and len(pair) == 2 and all(type(i) is int for i in pair)):
            node.fail(f"must be pairs of point indices, got {pair!r}", field="edges")
        pairs.append((pair[0], pair[1]))
    with node.building():
        return SkeletonSpec(tuple(nodes), tuple(pairs))


def _attribute_spec(node: JsonNode) -> AttributeSpec:
    kind = node.text("kind")
    if kind not in set(AttributeKind):
        node.fail(f"must be one of {[k.value for k in AttributeKind]}, got {kind!r}", field="kind")
    values = [v.value for v in node.array("values")] if node.has("values") else []
    if not all(isinstance(v, str) for v in values):
        node.fail("must be an array of strings", field="values")
    default = node.object().get("default")
    if default is not None and not isinstance(default, bool | int | float | str):
        node.fail(f"must be a bool, number or string, got {default!r}", field="default")
    with node.building():
        return AttributeSpec(
            node.text("name"),
            AttributeKind(kind),
            tuple(values),
            default,
            node.flag("per_frame", default=False),
            node.number("minimum", default=0.0),
            node.number("maximum", default=100.0),
            node.number("step", default=1.0),
        )


def _tracks(root: JsonNode, video: VideoRef, schema: Schema) -> dict[int, Track]:
    tracks: dict[int, Track] = {}
    for node in root.array("tracks"):
        track = _track(node, video, schema)
        if track.id in tracks:
            node.fail(f"track id {track.id} is used twice", field="id")
        with node.building():  # the set's own checks: kinds and attributes the label allows
            AnnotationSet(video, schema, {track.id: track})
        tracks[track.id] = track
    return tracks


def track_from_json(
    data: Any, video: VideoRef, schema: Schema, *, source: str = "request", where: str = "track"
) -> Track:
    """One track in its file form (an item of ``tracks``), checked like a file's.

    The server reads the tracks of request bodies with it. Raises ``FormatError`` naming
    ``source``, the JSON path under ``where`` and the field.

    Example:
        >>> video = VideoRef("clip.mp4", frame_count=10, width=64, height=48)
        >>> track_from_json({"id": 1, "label": "car", "keyframes": [{"frame": 12,
        ...     "shape": {"kind": "box", "x": 0, "y": 0, "w": 4, "h": 4}}]}, video, Schema.of("car"))
        Traceback (most recent call last):
        ...
        tweenlab.errors.FormatError: request, track.keyframes[0], frame: frame 12 is beyond the video (10 frames)
    """  # noqa: E501
    node = JsonNode(Path(source), where, data)
    track = _track(node, video, schema)
    with node.building():  # the set's own checks: kinds and attributes the label allows
        AnnotationSet(video, schema, {track.id: track})
    return track


def _track(node: JsonNode, video: VideoRef, schema: Schema) -> Track:
    track_id, label = node.integer("id"), node.text("label")
    if label not in schema.names:
        node.fail(f"unknown label {label!r} (known: {schema.names})", field="label")
    keyframes: dict[int, Keyframe] = {}
    for key in node.array("keyframes"):
        frame = key.integer("frame", minimum=0)
        if frame >= video.frame_count:
            key.fail(f"frame {frame} is beyond the video ({video.frame_count} frames)", "frame")
        if frame in keyframes:
            key.fail(f"frame {frame} has two keyframes", field="frame")
        keyframes[frame] = Keyframe(
            _shape(key.child("shape")),
            key.flag("outside", default=False),
            key.flag("occluded", default=False),
            key.attributes(),
        )
    if not keyframes:
        node.fail("a track needs at least one keyframe", field="keyframes")
    inbetween: dict[int, Shape] = {}
    confidence: dict[int, float] = {}
    for item in node.array("inbetween") if node.has("inbetween") else []:
        frame = item.integer("frame", minimum=0)
        if frame in inbetween:
            item.fail(f"frame {frame} has two in-between shapes", field="frame")
        inbetween[frame] = _shape(item.child("shape"))
        value = item.number("confidence", minimum=0.0, default=None)
        if value is not None:
            if value > 1.0:
                item.fail(f"must be in 0..1, got {value}", field="confidence")
            confidence[frame] = value
    leaves = node.integer("leaves", minimum=1, default=None)
    if leaves is not None and leaves >= video.frame_count:
        node.fail(f"frame {leaves} is beyond the video ({video.frame_count} frames)", "leaves")
    with node.building():
        return Track(
            track_id,
            label,
            keyframes,
            node.attributes(),
            node.text("source", default="manual"),
            inbetween,
            score=node.number("score", minimum=0.0, default=None),
            confidence=confidence,
            leaves=leaves,
        )


def _shape(node: JsonNode) -> Shape:
    data = node.object()
    kind = node.text("kind")
    if kind == "box":
        for key in ("x", "y", "w", "h"):
            node.number(key, minimum=0 if key in "wh" else None)
        node.number("rotation", default=0.0)
    if "points" in data:
        points = node.child("points")
        if not isinstance(points.value, list):
            node.fail(f"must be an array of [x, y], got {points.value!r}", field="points")
        for i in range(len(points.value)):
            _point(points, i)
    with node.building(field=kind):
        return shape_from_json(data)


def _point(points: JsonNode, index: int) -> None:
    value = points.value[index]
    if not isinstance(value, list) or len(value) != 2:
        points.fail(f"must be [x, y], got {value!r}", field=f"[{index}]")
    for v in value:
        finite(points, v, f"[{index}]", None)


def _checked(
    node: JsonNode,
    video: VideoRef,
    schema: Schema,
    kind: str,
    build: Callable[[JsonNode], FrameTag | Event | ClipClass],
) -> Any:
    item = build(node)
    if item.label not in schema.names:
        node.fail(f"unknown label {item.label!r} (known: {schema.names})", field="label")
    alone: dict[str, tuple[Any, ...]] = {"tags": (), "events": (), "classes": (), kind: (item,)}
    with node.building():  # the set's own checks: frames within the video
        AnnotationSet(video, schema, {}, alone["tags"], alone["events"], alone["classes"])
    return item


def _tag(node: JsonNode) -> FrameTag:
    with node.building():
        return FrameTag(node.integer("frame", minimum=0), node.text("label"), node.attributes())


def _event(node: JsonNode) -> Event:
    start, end = node.integer("start", minimum=0), node.integer("end", minimum=0)
    with node.building():
        return Event(start, end, node.text("label"), node.attributes())


def _clip(node: JsonNode) -> ClipClass:
    start = node.integer("start", minimum=0, default=None)
    end = node.integer("end", minimum=0, default=None)
    with node.building():
        return ClipClass(node.text("label"), start, end, node.attributes())


FORMAT = FormatModule(name="native", detect=detect, export=export, load=load, extensions=(".json",))
