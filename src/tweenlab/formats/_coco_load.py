"""Reading COCO instances files (with CVAT/datumaro's track attributes) into an ``AnnotationSet``,
and COCO's compressed RLE strings.

Used through ``tweenlab.formats.coco.load``; kept apart because the reader is long.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tweenlab.core.annotations import AnnotationSet, VideoRef
from tweenlab.core.rle import Rle
from tweenlab.core.schema import AttributeKind, AttributeSpec, AttributeValue, LabelSpec, Schema
from tweenlab.core.shapes import Box, Mask, Polygon, Shape
from tweenlab.core.track import Keyframe, Track
from tweenlab.errors import FormatError
from tweenlab.formats._json import JsonNode, read_json

__all__ = ["RESERVED", "load", "rle_from_string", "rle_to_string"]

RESERVED = frozenset({"track_id", "keyframe", "occluded", "outside", "rotation"})
_FRAME_NAME = re.compile(r"frame_(\d+)$")


def rle_to_string(rle: Rle) -> str:
    """COCO's compressed RLE ``counts`` string (pycocotools ``rleToString``)."""
    out = []
    for i, count in enumerate(rle.counts):
        x = count - rle.counts[i - 2] if i > 2 else count
        more = True
        while more:
            c = x & 0x1F
            x >>= 5
            more = x != -1 if c & 0x10 else x != 0
            out.append(chr((c | 0x20 if more else c) + 48))
    return "".join(out)


def rle_from_string(text: str, height: int, width: int) -> Rle:
    """Decode COCO's compressed RLE ``counts`` string (pycocotools ``rleFrString``).

    Example:
        >>> rle = Rle((1, 3, 2), 2, 3)
        >>> rle_from_string(rle_to_string(rle), 2, 3) == rle
        True
    """
    counts: list[int] = []
    position = 0
    while position < len(text):
        x = shift = 0
        more = True
        while more:
            if position >= len(text) or not 48 <= ord(text[position]) < 112:
                raise ValueError(f"bad compressed RLE at character {position}")
            c = ord(text[position]) - 48
            x |= (c & 0x1F) << shift
            more = bool(c & 0x20)
            position += 1
            shift += 5
            if not more and c & 0x10:
                x |= -1 << shift
        counts.append(x + counts[-2] if len(counts) > 2 else x)
    return Rle(tuple(counts), height, width)


@dataclass
class _Seen:
    """One annotation of a file, checked."""

    node: JsonNode
    frame: int
    track_id: int | None
    label: str
    geometry: Box | Rle | list[np.ndarray]
    outside: bool
    occluded: bool
    attributes: dict[str, AttributeValue]


@dataclass
class _Image:
    node: JsonNode
    frame: int
    width: int
    height: int
    video: str | None


@dataclass
class _File:
    images: dict[int, _Image] = field(default_factory=dict)
    seen: list[_Seen] = field(default_factory=list)
    categories: dict[int, str] = field(default_factory=dict)
    #: tweenlab's ``--frames all`` export: every frame on which something is visible has an
    #: image, so a frame without one had nothing visible (``info.tweenlab_frames``)
    every_visible: bool = False
    #: written by tweenlab: a rotated box's ``bbox`` is its axis-aligned bounds (CVAT writes the
    #: rectangle before rotation)
    by_tweenlab: bool = False


def load(
    path: Path, *, video: VideoRef | None = None, schema: Schema | None = None
) -> AnnotationSet:
    """Read a COCO instances file, or every ``annotations/instances_*.json`` of a folder.

    Raises:
        FormatError: Naming the file, the JSON path and the field of the first mistake.
    """
    files = _files(Path(path))
    parsed = [_read_file(f) for f in files]
    video = _check_video(parsed, video, files[0])
    seen = [s for p in parsed for s in p.seen]
    names = [n for p in parsed for n in p.categories.values()]
    schema = _check_labels(seen, schema) if schema else _inferred_schema(names, seen)
    grid = sorted({image.frame for p in parsed for image in p.images.values()})
    if parsed and all(p.every_visible for p in parsed):  # the frames between are empty, not
        grid = []  # left out: a track ends on the frame after its last image (step 1)
    tracks = _tracks(seen, grid, video, schema)
    return AnnotationSet(video, schema, tracks)


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted((path / "annotations").glob("instances_*.json"))
        if not files:
            raise FormatError(path, "no annotations/instances_*.json in this folder")
        return files
    return [path]


def _read_file(path: Path) -> _File:
    root = JsonNode(path, "", read_json(path))
    parsed = _File()
    if root.has("info") and isinstance(root.object().get("info"), dict):
        info = root.child("info")
        parsed.every_visible = info.text("tweenlab_frames", default="") == "all"
        parsed.by_tweenlab = info.object().get("contributor") == "tweenlab"
    for node in root.array("categories"):
        category_id, name = node.integer("id"), node.text("name")
        if category_id in parsed.categories:
            node.fail(f"category id {category_id} is used twice", field="id")
        if name in parsed.categories.values():
            node.fail(f"category name {name!r} is used twice", field="name")
        parsed.categories[category_id] = name
    images = root.array("images")
    frames = _frames_of(images)
    for node, frame in zip(images, frames, strict=True):
        if node.flag("synthetic", default=False):
            node.fail(
                "is a synthesised frame (an export made with --synthetic, whose frame_index is "
                "on a retimed timeline): import an export made without synthesised frames",
                field="synthetic",
            )
        image_id = node.integer("id")
        if image_id in parsed.images:
            node.fail(f"image id {image_id} is used twice", field="id")
        if frame in (i.frame for i in parsed.images.values()):
            node.fail(f"frame {frame} has two images", field="frame_index")
        parsed.images[image_id] = _Image(
            node,
            frame,
            node.integer("width", minimum=1),
            node.integer("height", minimum=1),
            node.text("video", default=None),
        )
    ids: set[int] = set()
    for node in root.array("annotations"):
        annotation_id = node.integer("id")
        if annotation_id in ids:
            node.fail(f"annotation id {annotation_id} is used twice", field="id")
        ids.add(annotation_id)
        parsed.seen.append(_annotation_seen(node, parsed))
    return parsed


def _frames_of(images: list[JsonNode]) -> list[int]:
    if images and all(node.has("frame_index") for node in images):
        return [node.integer("frame_index", minimum=0) for node in images]
    stems = [_FRAME_NAME.search(Path(node.text("file_name")).stem) for node in images]
    if all(stems):
        return [int(match.group(1)) for match in stems if match]
    return list(range(len(images)))


def _annotation_seen(node: JsonNode, parsed: _File) -> _Seen:
    image_id, category_id = node.integer("image_id"), node.integer("category_id")
    if image_id not in parsed.images:
        node.fail(f"no image has id {image_id}", field="image_id")
    if category_id not in parsed.categories:
        node.fail(f"no category has id {category_id}", field="category_id")
    image = parsed.images[image_id]
    x, y, w, h = node.numbers("bbox", 4)
    if w < 0 or h < 0:
        node.fail(f"width and height must not be negative, got {[x, y, w, h]}", field="bbox")
    attributes = node.attributes()
    track_id = _track_id(node, attributes)
    with node.building(field="bbox"):
        geometry = _geometry(node, Box(x, y, w, h), image)
    if "rotation" in attributes and isinstance(geometry, Box):
        rotation = JsonNode(node.path, f"{node.where}.attributes", attributes).number("rotation")
        with node.building(field="attributes.rotation"):
            geometry = _rotated(geometry, rotation, bounds=parsed.by_tweenlab)
    return _Seen(
        node,
        image.frame,
        track_id,
        parsed.categories[category_id],
        geometry,
        _flag(node, attributes, "outside"),
        _flag(node, attributes, "occluded"),
        {k: v for k, v in attributes.items() if k not in RESERVED},
    )


def _rotated(box: Box, rotation: float, *, bounds: bool) -> Box:
    """``box`` (a ``bbox``) turned ``rotation`` degrees: the rectangle before rotation (CVAT's
    COCO), or, with ``bounds``, the axis-aligned bounds of the turned rectangle (tweenlab's),
    whose sides follow from ``W = w c + h s``, ``H = w s + h c`` (``c``, ``s`` the absolute
    cosine and sine); at 45 degrees, where those say only ``w + h``, a square."""
    if not bounds or not rotation:
        return Box(box.x, box.y, box.w, box.h, rotation)
    c, s = abs(math.cos(math.radians(rotation))), abs(math.sin(math.radians(rotation)))
    det = c * c - s * s
    w = (box.w * c - box.h * s) / det if abs(det) > 1e-6 else 0.0
    h = (box.h * c - box.w * s) / det if abs(det) > 1e-6 else 0.0
    if w <= 0 or h <= 0:  # 45 degrees, or bounds no rectangle at this angle gives
        w = h = (box.w + box.h) / (2 * (c + s))
    centre_x, centre_y = box.x + box.w / 2, box.y + box.h / 2
    return Box(centre_x - w / 2, centre_y - h / 2, w, h, rotation)


def _track_id(node: JsonNode, attributes: dict[str, AttributeValue]) -> int | None:
    if "track_id" in attributes:
        return int(JsonNode(node.path, f"{node.where}.attributes", attributes).integer("track_id"))
    return node.integer("track_id", default=None)  # type: ignore[no-any-return]


def _flag(node: JsonNode, attributes: dict[str, AttributeValue], key: str) -> bool:
    value = attributes.get(key, False)
    if value not in (True, False, 0, 1, "true", "false"):
        node.fail(f"must be true or false, got {value!r}", field=f"attributes.{key}")
    return value in (True, 1, "true")


def _geometry(node: JsonNode, box: Box, image: _Image) -> Box | Rle | list[np.ndarray]:
    segmentation = node.object().get("segmentation")
    if not segmentation:
        return box
    if isinstance(segmentation, dict):
        return _rle(node.child("segmentation"), image)
    if not isinstance(segmentation, list):
        node.fail(f"must be polygons or RLE, got {segmentation!r}", field="segmentation")
    parts = []
    for i, part in enumerate(segmentation):
        where = f"segmentation[{i}]"
        if not isinstance(part, list) or len(part) < 6 or len(part) % 2:
            node.fail("a polygon needs an even number (>= 6) of coordinates", field=where)
        values = JsonNode(node.path, node.where, {where: part}).numbers(where)
        parts.append(np.array(values).reshape(-1, 2))
    return parts


def _rle(node: JsonNode, image: _Image) -> Rle:
    height, width = (int(v) for v in node.numbers("size", 2))
    if (height, width) != (image.height, image.width):
        node.fail(
            f"size {[height, width]} is not the image's {[image.height, image.width]}", field="size"
        )
    counts = node.child("counts").value
    with node.building(field="counts"):
        if isinstance(counts, str):
            try:
                return rle_from_string(counts, height, width)
            except ValueError as error:
                node.fail(str(error), field="counts")
        if not isinstance(counts, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) for c in counts
        ):
            node.fail("must be a string or an array of integers", field="counts")
        return Rle(tuple(counts), height, width)


def _check_video(parsed: list[_File], video: VideoRef | None, path: Path) -> VideoRef:
    images = [image for p in parsed for image in p.images.values()]
    if not images:
        if video is None:
            raise FormatError(path, "has no images, so the video's size is unknown")
        return video
    first = images[0]
    seen_frames: set[int] = set()
    for image in images:
        if image.frame in seen_frames:
            image.node.fail(f"frame {image.frame} has two images", field="frame_index")
        seen_frames.add(image.frame)
        size = video or first
        if (image.width, image.height) != (size.width, size.height):
            image.node.fail(
                f"size {image.width}x{image.height} differs from the video's "
                f"{size.width}x{size.height}",
                field="width",
            )
        if video is not None and image.frame >= video.frame_count:
            image.node.fail(
                f"frame {image.frame} is beyond the video ({video.frame_count} frames)",
                field="frame_index",
            )
    if video is not None:
        return video
    name = first.video or first.node.path.stem
    return VideoRef(name, max(seen_frames) + 1, first.width, first.height)


def _check_labels(seen: list[_Seen], schema: Schema) -> Schema:
    for s in seen:
        if s.label not in schema.names:
            s.node.fail(
                f"label {s.label!r} is not in the schema (known: {schema.names})",
                field="category_id",
            )
        label = schema.label(s.label)
        known = {a.name for a in label.attributes}
        s.attributes = {k: v for k, v in s.attributes.items() if k in known}
        for name, value in s.attributes.items():
            with s.node.building(field=f"attributes.{name}"):
                label.attribute(name).check(value)
    return schema


def _inferred_schema(names: Iterable[str], seen: list[_Seen]) -> Schema:
    values: dict[str, dict[str, list[AttributeValue]]] = defaultdict(lambda: defaultdict(list))
    varies: set[tuple[str, str]] = set()
    per_track: dict[tuple[int | None, str], AttributeValue] = {}
    for s in seen:
        for name, value in s.attributes.items():
            values[s.label][name].append(value)
            tracked = s.track_id is not None
            if tracked and per_track.setdefault((s.track_id, name), value) != value:
                varies.add((s.label, name))
    labels = [
        LabelSpec(
            name,
            attributes=tuple(
                _attribute_spec(attribute, found, (name, attribute) in varies)
                for attribute, found in values[name].items()
            ),
        )
        for name in dict.fromkeys(names)
    ]
    return Schema(tuple(labels))


def _attribute_spec(name: str, values: list[AttributeValue], per_frame: bool) -> AttributeSpec:
    if all(isinstance(v, bool) for v in values):
        return AttributeSpec(name, AttributeKind.CHECKBOX, per_frame=per_frame)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        low, high = min(float(v) for v in values), max(float(v) for v in values)
        return AttributeSpec(
            name,
            AttributeKind.NUMBER,
            per_frame=per_frame,
            minimum=min(low, 0.0),
            maximum=high,
            step=1.0,
        )
    return AttributeSpec(name, AttributeKind.TEXT, per_frame=per_frame)


def _tracks(
    seen: list[_Seen], grid: list[int], video: VideoRef, schema: Schema
) -> dict[int, Track]:
    groups: dict[int, list[_Seen]] = defaultdict(list)
    untracked = []
    for s in seen:
        if s.track_id is None:
            untracked.append(s)
        else:
            groups[s.track_id].append(s)
    next_id = max(groups, default=0) + 1
    for s in untracked:
        groups[next_id].append(s)
        next_id += 1
    step = math.gcd(*np.diff(grid).tolist()) if len(grid) > 1 else 1
    tracks = {}
    for track_id, members in groups.items():
        tracks[track_id] = _track(track_id, members, grid, step=step, video=video, schema=schema)
    return tracks


def _track(
    track_id: int,
    members: list[_Seen],
    grid: list[int],
    *,
    step: int,
    video: VideoRef,
    schema: Schema,
) -> Track:
    members.sort(key=lambda s: s.frame)
    first = members[0]
    for s, after in itertools.pairwise(members):
        if s.frame == after.frame:
            after.node.fail(f"track {track_id} is twice on frame {s.frame}", field="track_id")
        if s.label != after.label:
            after.node.fail(
                f"track {track_id} changes label from {s.label!r} to {after.label!r}",
                field="category_id",
            )
    label = schema.label(first.label)
    scope = {a.name: a.per_frame for a in label.attributes}
    shapes = _shapes(members, video)
    present = {s.frame for s in members}
    position = {frame: i for i, frame in enumerate(grid)}
    keyframes: dict[int, Keyframe] = {}
    for s, shape in zip(members, shapes, strict=True):
        attributes = {k: v for k, v in s.attributes.items() if scope.get(k, True)}
        keyframes[s.frame] = Keyframe(shape, s.outside, s.occluded, attributes)
        i = position.get(s.frame, len(grid))  # no grid: every frame
        gone = grid[i + 1] if i + 1 < len(grid) else s.frame + step
        if not s.outside and gone not in present and gone < video.frame_count:
            keyframes[gone] = Keyframe(shape, True, s.occluded, attributes)
    constant = {k: v for k, v in first.attributes.items() if not scope.get(k, True)}
    with first.node.building(field="segmentation"):
        track = Track(track_id, first.label, keyframes, constant, source="imported")
        AnnotationSet(video, schema, {track_id: track})
    return track


def _shapes(members: list[_Seen], video: VideoRef) -> list[Shape]:
    as_mask = any(
        isinstance(s.geometry, Rle) or (isinstance(s.geometry, list) and len(s.geometry) > 1)
        for s in members
    )
    shapes: list[Shape] = []
    for s in members:
        with s.node.building(field="segmentation"):
            geometry = s.geometry
            if isinstance(geometry, Rle):
                shapes.append(Mask(geometry))
            elif isinstance(geometry, list) and as_mask:
                shapes.append(Mask.from_polygons(geometry, video.height, video.width))
            elif isinstance(geometry, list):
                shapes.append(Polygon(geometry[0]))
            else:
                shapes.append(geometry)
    return shapes
