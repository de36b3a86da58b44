"""Datumaro JSON (``dm_format_version`` 1.0), as CVAT's "Datumaro 1.0" writes video frames.

Layout (datumaro ``plugins/data_formats/datumaro``)::

    annotations/<subset>.json
    images/<subset>/frame_000042.<jpg|png>      (only with ``options.images``)

Each file has ``categories.label`` (the schema's labels in order, each with its attribute names;
``label_id`` is the 0-based position) and one item per exported frame: ``id``
``frame_{abs:06d}``, ``attr.frame`` (the absolute frame), ``media_type`` 2 (images) and ``image``
``{"path": "frame_000042.<ext>", "size": [height, width]}``. Each visible track on the frame
(interpolated frames included, outside frames omitted, and no ``outside`` attribute) gives one
annotation with a unique ``id`` from 1, ``label_id``, ``group`` 0, ``z_order`` 0 and
``attributes`` ``track_id``, ``keyframe``, ``occluded`` plus the track's and the frame's
attributes:

* box: ``bbox`` ``[x, y, w, h]`` (a rotated box: its axis-aligned bounds, and ``rotation``);
* polygon, polyline: ``points`` ``[x1, y1, x2, y2, ...]``;
* points: ``points`` and ``visibility`` (2 visible, 1 hidden: datumaro's ``Points.Visibility``);
* mask: ``rle`` ``{"counts": <COCO compressed string>, "size": [h, w]}``.

Skeletons and cuboids are not written (datumaro needs extra categories for them), nor are empty
boxes, polygons and masks. There is no import: read Datumaro JSON with datumaro itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tweenlab.core.annotations import AnnotationSet
from tweenlab.core.shapes import Box, Mask, Points, Polygon, Polyline, Shape
from tweenlab.core.track import Track, TrackState
from tweenlab.formats.base import (
    ExportedFrame,
    ExportOptions,
    ExportPlan,
    FormatModule,
    FrameImages,
    visible_states,
    write_json,
)
from tweenlab.formats.coco import image_file_name, rle_to_string, write_images

__all__ = ["FORMAT", "detect", "export"]

_MARKER = b'"dm_format_version"'


def _box(shape: Box) -> dict[str, Any] | None:
    x, y, w, h = shape.bbox()
    return {"type": "bbox", "bbox": [x, y, w, h]} if w > 0 and h > 0 else None


def _polygon(shape: Polygon) -> dict[str, Any] | None:
    if not shape.area:
        return None
    return {"type": "polygon", "points": shape.points.ravel().tolist()}


def _polyline(shape: Polyline) -> dict[str, Any]:
    return {"type": "polyline", "points": shape.points.ravel().tolist()}


def _points(shape: Points) -> dict[str, Any]:
    assert shape.visible is not None
    return {
        "type": "points",
        "points": shape.points.ravel().tolist(),
        "visibility": [2 if v else 1 for v in shape.visible.tolist()],
    }


def _mask(shape: Mask) -> dict[str, Any] | None:
    rle = shape.rle
    if not rle.area:
        return None
    return {"type": "mask", "rle": {"counts": rle_to_string(rle), "size": [rle.height, rle.width]}}


#: ``type(shape) -> annotation fields``, or ``None`` for an empty box, polygon or mask (not
#: written); shapes of other types are not written either.
WRITERS: dict[type[Shape], Callable[[Any], dict[str, Any] | None]] = {
    Box: _box,
    Polygon: _polygon,
    Polyline: _polyline,
    Points: _points,
    Mask: _mask,
}


def export(
    annotations: AnnotationSet,
    folder: Path,
    plan: ExportPlan,
    options: ExportOptions,
    images: FrameImages | None = None,
) -> None:
    """Write ``annotations/<subset>.json`` (and images) for the frames of ``plan``."""
    folder = Path(folder)
    ids = itertools.count(1)
    categories = {
        "label": {
            "labels": [
                {"name": label.name, "parent": "", "attributes": [a.name for a in label.attributes]}
                for label in annotations.schema.labels
            ],
            "label_groups": [],
            "attributes": ["occluded"],
        }
    }
    for subset in plan.subsets:
        frames = plan.in_subset(subset)
        items = [_item(annotations, frame, options, ids) for frame in frames]
        document = {
            "dm_format_version": "1.0",
            "media_type": 2,
            "infos": {},
            "categories": categories,
            "items": items,
        }
        write_json(folder / "annotations" / f"{subset}.json", document)
        write_images(images, options, folder / "images" / subset, frames)


def _item(
    annotations: AnnotationSet,
    frame: ExportedFrame,
    options: ExportOptions,
    ids: itertools.count[int],
) -> dict[str, Any]:
    video = annotations.video
    found = []
    for track_id, state in visible_states(annotations, frame.frame):
        entry = _annotation(annotations, annotations.tracks[track_id], state)
        if entry is not None:
            found.append({"id": next(ids), **entry})
    return {
        "id": frame.name,
        "annotations": found,
        "attr": {"frame": frame.frame},
        "image": {"path": image_file_name(frame, options), "size": [video.height, video.width]},
    }


def _annotation(annotations: AnnotationSet, track: Track, state: TrackState) -> Any:
    writer = WRITERS.get(type(state.shape))
    fields = writer(state.shape) if writer is not None else None
    if fields is None:
        return None
    attributes: dict[str, Any] = {
        **track.attributes,
        **state.attributes,
        "track_id": track.id,
        "keyframe": state.keyframe,
        "occluded": state.occluded,
    }
    if isinstance(state.shape, Box) and state.shape.rotation:
        attributes["rotation"] = state.shape.rotation
    return {
        **fields,
        "attributes": attributes,
        "group": 0,
        "label_id": annotations.schema.index(track.label),
        "z_order": 0,
    }


def detect(path: Path) -> bool:
    """A folder whose ``annotations/*.json`` (or a file that) says ``dm_format_version``."""
    path = Path(path)
    files = sorted((path / "annotations").glob("*.json")) if path.is_dir() else [path]
    for file in files[:1]:
        if file.suffix.lower() == ".json" and file.is_file():
            with file.open("rb") as handle:
                return _MARKER in handle.read(4096)
    return False


FORMAT = FormatModule(
    name="datumaro",
    detect=detect,
    export=export,
    load=None,
    extensions=(".json",),
    images_dataset=True,
)
