"""COCO instances: frames as images, boxes, polygons and masks, track ids kept in ``attributes``.

Export layout (CVAT "COCO 1.0" and datumaro ``coco_instances``)::

    annotations/instances_<subset>.json
    images/<subset>/frame_000042.<jpg|png>      (only with ``options.images``)

Each file has ``info``, ``licenses``, ``categories`` (the schema's labels in order, ``id`` =
position + 1), ``images`` (one per exported frame: ``id``, ``file_name`` ``frame_{abs:06d}.<ext>``,
``width``, ``height`` and the extras ``frame_index`` and ``video``) and ``annotations``: one per
track visible on the frame, interpolated frames included and outside frames omitted, with ids
unique over the whole export from 1, ``bbox`` ``[x, y, w, h]`` (pixels, top-left, not clipped),
``area`` (the shape's own area), ``iscrowd`` 0, ``segmentation`` and ``attributes``
(``track_id``, ``keyframe``, ``occluded``, the track's and the frame's attributes, and
``rotation`` for a rotated box). In an export with synthesised frames (``options.synthetic``)
``frame_index`` is on the retimed timeline and each image adds ``source_frame`` (the video's
frame, or the one before a synthesised frame), ``synthetic`` and ``t``. Which shapes are written:

* box: ``segmentation`` ``[]``; a rotated box gives its axis-aligned bounds;
* polygon: ``segmentation`` ``[[x1, y1, x2, y2, ...]]``;
* mask: ``segmentation`` uncompressed RLE ``{"size": [h, w], "counts": [...]}`` with ``iscrowd``
  0. pycocotools decodes an RLE whatever ``iscrowd`` says, and ``iscrowd`` 1 would make COCOeval
  ignore the object and detectron2 drop it from training, so a tracked mask stays ``iscrowd`` 0;
* polyline, points, skeleton and cuboid are not written (COCO instances has no such objects),
  nor is a shape whose bounding box is empty.

Import (``load``) reads one ``instances_*.json`` file, or every one under ``annotations/`` of a
folder, into one annotation set:

* the frame of an image is its ``frame_index``, else the number in a ``frame_NNNNNN`` file name,
  else its position in ``images``; the images' frames are the frame grid of the file; a file
  with a synthesised image (``synthetic: true``) is refused: its frames are on a retimed
  timeline;
* annotations with ``attributes.track_id`` (or a top-level ``track_id``) form tracks; the others
  become one-frame tracks with new ids. Every annotation becomes a keyframe (thin the tracks
  afterwards to keep fewer); a track is closed with an ``outside`` keyframe on the next grid frame
  where it has no annotation, or, after the last image, one grid step later when that is still in
  the video; ``attributes.outside: true`` is honoured;
* ``segmentation`` polygons give a polygon track (a mask track when some annotation of the track
  has several parts or an RLE); RLE, compressed or not, gives a mask; none gives a box;
* without a ``schema`` the categories become the labels (in id order) and their attributes are
  inferred from the values (checkbox, number or text; per frame when they change along a track);
  with one, unknown labels are refused and attributes the label does not declare are ignored;
* without a ``video`` one is made from the images (size, ``video`` name, frames up to the last).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tweenlab.core.annotations import AnnotationSet, VideoRef
from tweenlab.core.schema import Schema
from tweenlab.core.shapes import Box, Mask, Polygon, Shape
from tweenlab.core.track import Track, TrackState
from tweenlab.formats._coco_load import load, rle_from_string, rle_to_string
from tweenlab.formats.base import (
    ExportedFrame,
    ExportOptions,
    ExportPlan,
    FormatModule,
    FrameImages,
    RawJson,
    TrackRows,
    track_rows,
    write_json,
)

__all__ = [
    "FORMAT",
    "detect",
    "export",
    "image_file_name",
    "load",
    "rle_from_string",
    "rle_to_string",
    "write_images",
]

_IMAGES_KEY = re.compile(rb'"images"\s*:\s*\[')


# -- helpers shared by the frame-based formats ---------------------------------------------------


def image_file_name(frame: ExportedFrame, options: ExportOptions) -> str:
    """``frame_000042.<ext>``: the image name of a frame (``jpg`` when no images are written)."""
    return f"{frame.name}.{options.images or 'jpg'}"


def write_images(
    images: FrameImages | None,
    options: ExportOptions,
    folder: Path,
    frames: Sequence[ExportedFrame],
) -> None:
    """Write the images of ``frames`` into ``folder`` (one call), when images are wanted."""
    if images is None or options.images is None or not frames:
        return
    folder.mkdir(parents=True, exist_ok=True)
    images.write([f.frame for f in frames], [folder / image_file_name(f, options) for f in frames])


# -- export ---------------------------------------------------------------------------------------


def _box(shape: Box) -> tuple[Any, float]:
    return [], shape.area


def _polygon(shape: Polygon) -> tuple[Any, float]:
    return [shape.points.ravel().tolist()], shape.area


def _mask(shape: Mask) -> tuple[Any, float]:
    return shape.rle.to_coco(), float(shape.area)


#: ``type(shape) -> (segmentation, area)``; shapes of other types are not written.
WRITERS: dict[type[Shape], Callable[[Any], tuple[Any, float]]] = {
    Box: _box,
    Polygon: _polygon,
    Mask: _mask,
}


def export(
    annotations: AnnotationSet,
    folder: Path,
    plan: ExportPlan,
    options: ExportOptions,
    images: FrameImages | None = None,
) -> None:
    """Write ``annotations/instances_<subset>.json`` (and images) for the frames of ``plan``."""
    folder = Path(folder)
    image_ids, annotation_ids = itertools.count(1), itertools.count(1)
    for subset in plan.subsets:
        frames = plan.in_subset(subset)
        document: dict[str, Any] = {
            "info": {
                "description": f"tweenlab export of {annotations.video.name}",
                "version": "1.0",
                "contributor": "tweenlab",
                "url": "",
                "year": "",
                "date_created": "",
                # which frames have images: on import, "all" tells a frame without an image
                # (nothing visible) from one left out (every:N, keyframes)
                "tweenlab_frames": options.frames
                if options.frames != "every"
                else f"every:{options.step}",
            },
            "licenses": [{"id": 0, "name": "", "url": ""}],
            "categories": [
                {"id": i + 1, "name": name, "supercategory": ""}
                for i, name in enumerate(annotations.schema.names)
            ],
            "images": [],
        }
        image_of: dict[int, int] = {}
        for frame in frames:
            image_of[frame.frame] = next(image_ids)
            document["images"].append(
                _image(annotations.video, frame, image_of[frame.frame], options)
            )
        entries = (
            _with_id(next(annotation_ids), entry)
            for rows in track_rows(annotations, [f.frame for f in frames])
            for entry in _annotations(annotations.schema, rows, image_of)
            if entry is not None
        )
        target = folder / "annotations" / f"instances_{subset}.json"
        write_json(target, document, stream={"annotations": entries})
        write_images(images, options, folder / "images" / subset, frames)


def _with_id(number: int, entry: Any) -> Any:
    """The entry with ``"id"`` first: a dict, or JSON text starting with ``{``."""
    if isinstance(entry, RawJson):
        return RawJson(f'{{"id":{number},{entry[1:]}')
    return {"id": number, **entry}


def _image(video: VideoRef, frame: ExportedFrame, image_id: int, options: ExportOptions) -> Any:
    image = {
        "id": image_id,
        "file_name": image_file_name(frame, options),
        "width": video.width,
        "height": video.height,
        "frame_index": frame.frame,
        "video": video.name,
    }
    if frame.source is not None:  # an export with synthesised frames (a retimed timeline)
        image.update(source_frame=frame.source, synthetic=frame.synthetic, t=float(frame.t))
    return image


def _annotations(schema: Schema, rows: TrackRows, image_of: dict[int, int]) -> Iterator[Any]:
    """The track's annotations on the exported frames; boxes straight from the arrays."""
    track = rows.track
    if rows.boxes is None:
        for state in rows.states():
            entry = _annotation(schema, track, state, image_of[state.frame])
            if entry is not None:
                yield entry
        return
    category = schema.index(track.label) + 1
    held = rows.in_force()
    tail = {}  # (keyframe in force, is keyframe) -> the constant end of the entry, as JSON
    keyframes, frames = rows.keyframe.tolist(), rows.frames.tolist()
    for i, (x, y, w, h, rotation) in enumerate(rows.boxes.tolist()):
        if w <= 0 or h <= 0:
            continue
        if rotation:
            yield _annotation(schema, track, _state_at(rows, i), image_of[frames[i]])
            continue
        key = (id(held[i]), keyframes[i])
        if key not in tail:
            attributes = {
                **track.attributes,
                **held[i].attributes,
                "track_id": track.id,
                "keyframe": keyframes[i],
                "occluded": held[i].occluded,
            }
            tail[key] = f',"iscrowd":0,"attributes":{_compact(attributes)}}}'
        yield RawJson(
            f'{{"image_id":{image_of[frames[i]]},"category_id":{category},"segmentation":[],'
            f'"area":{w * h!r},"bbox":[{x!r},{y!r},{w!r},{h!r}]{tail[key]}'
        )


def _state_at(rows: TrackRows, i: int) -> TrackState:
    state = rows.track.at(int(rows.frames[i]))
    assert state is not None
    return state


_compact = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _annotation(schema: Schema, track: Track, state: TrackState, image_id: int) -> Any:
    writer = WRITERS.get(type(state.shape))
    x, y, w, h = state.shape.bbox()
    if writer is None or w <= 0 or h <= 0:
        return None
    segmentation, area = writer(state.shape)
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
        "image_id": image_id,
        "category_id": schema.index(track.label) + 1,
        "segmentation": segmentation,
        "area": area,
        "bbox": [x, y, w, h],
        "iscrowd": 0,
        "attributes": attributes,
    }


# -- import ---------------------------------------------------------------------------------------


def detect(path: Path) -> bool:
    """A folder with ``annotations/instances_*.json``, or a JSON file with an ``images`` array."""
    path = Path(path)
    if path.is_dir():
        return any((path / "annotations").glob("instances_*.json"))
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    if path.name.startswith("instances_"):
        return True
    with path.open("rb") as handle:
        head = handle.read(65536)
    return _IMAGES_KEY.search(head) is not None and b'"tweenlab"' not in head


FORMAT = FormatModule(
    name="coco", detect=detect, export=export, load=load, extensions=(".json",), images_dataset=True
)
