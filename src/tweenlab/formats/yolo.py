"""YOLO for Ultralytics: detection (``FORMAT``, registered as ``yolo``) and segmentation
(``FORMAT_SEGMENT``, registered as ``yolo_segment``). Export only; YOLO has no tracks to import.

Layout (Ultralytics ``check_det_dataset`` and datumaro's ``yolo`` importer)::

    data.yaml                                   train/val[/test] image folders and names
    images/<subset>/frame_000042.<jpg|png>      (only with ``options.images``)
    labels/<subset>/frame_000042.txt            one per exported frame, possibly empty

``data.yaml`` has no ``path:`` key, so Ultralytics resolves the folders against the YAML's own
folder; ``names`` maps class ids (the schema's order) to labels. Subsets ``train``, ``val`` and
``test`` keep their key; any other subset (``default`` when not splitting) is the ``train``
split. Ultralytics requires ``val``: without a ``val`` subset, ``val:`` names the training images
(training then validates on its own images; split the export for a real validation set).

Label lines, numbers ``%.6f`` and normalised by the frame size:

* detect: ``class xc yc w h`` for every visible box, polygon and mask (their axis-aligned
  bounds), clipped to the image; a shape that is empty after clipping is not written;
* segment: ``class x1 y1 x2 y2 ...``: a polygon's vertices, a box's four (rotated) corners, and
  the largest outer outline of a mask (its other regions and holes are dropped), every point
  clipped to the image.

Polylines, points, skeletons and cuboids are not written. Interpolated frames get lines; outside
frames get none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.core.annotations import AnnotationSet, VideoRef
from tweenlab.core.shapes import Box, Mask, Polygon, Shape
from tweenlab.formats.base import (
    ExportOptions,
    ExportPlan,
    FormatModule,
    FrameImages,
    visible_states,
)
from tweenlab.formats.coco import write_images

__all__ = ["FORMAT", "FORMAT_SEGMENT", "detect", "export_detect", "export_segment"]

Array = npt.NDArray[np.float64]
SPLITS = ("train", "val", "test")


def _bounds(shape: Shape) -> Array:
    return np.array(shape.bbox(), dtype=np.float64)


def _corners(shape: Box) -> Array:
    return shape.corners()


def _vertices(shape: Polygon) -> Array:
    return shape.points


def _outline(shape: Mask) -> Array | None:
    loops = shape.to_polygons()
    areas = [_signed_area(loop) for loop in loops]
    return loops[int(np.argmax(areas))] if loops and max(areas) > 0 else None


def _signed_area(points: Array) -> float:
    x, y = points[:, 0], points[:, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2


#: ``type(shape) -> [x, y, w, h]`` for detection; other shapes are not written.
DETECT: dict[type[Shape], Callable[[Any], Array | None]] = {
    Box: _bounds,
    Polygon: _bounds,
    Mask: _bounds,
}

#: ``type(shape) -> (N, 2)`` outline for segmentation; other shapes are not written.
SEGMENT: dict[type[Shape], Callable[[Any], Array | None]] = {
    Box: _corners,
    Polygon: _vertices,
    Mask: _outline,
}


def _detect_line(shape: Shape, video: VideoRef) -> str | None:
    converter = DETECT.get(type(shape))
    box = converter(shape) if converter else None
    if box is None:
        return None
    x0, y0 = max(box[0], 0.0), max(box[1], 0.0)
    x1, y1 = min(box[0] + box[2], video.width), min(box[1] + box[3], video.height)
    if x1 <= x0 or y1 <= y0:
        return None
    values = (
        (x0 + x1) / 2 / video.width,
        (y0 + y1) / 2 / video.height,
        (x1 - x0) / video.width,
        (y1 - y0) / video.height,
    )
    return " ".join(f"{v:.6f}" for v in values)


def _segment_line(shape: Shape, video: VideoRef) -> str | None:
    converter = SEGMENT.get(type(shape))
    points = converter(shape) if converter else None
    if points is None or len(points) < 3:
        return None
    normalised = np.clip(points / [video.width, video.height], 0.0, 1.0)
    if _signed_area(normalised) == 0:
        return None
    return " ".join(f"{v:.6f}" for v in normalised.ravel())


@dataclass(frozen=True)
class _Variant:
    """One kind of YOLO label line."""

    line: Callable[[Shape, VideoRef], str | None]

    def export(
        self,
        annotations: AnnotationSet,
        folder: Path,
        plan: ExportPlan,
        options: ExportOptions,
        images: FrameImages | None = None,
    ) -> None:
        folder = Path(folder)
        schema = annotations.schema
        for subset in plan.subsets:
            frames = plan.in_subset(subset)
            labels = folder / "labels" / subset
            labels.mkdir(parents=True, exist_ok=True)
            for frame in frames:
                lines = []
                for track_id, state in visible_states(annotations, frame.frame):
                    text = self.line(state.shape, annotations.video)
                    if text is not None:
                        label = annotations.tracks[track_id].label
                        lines.append(f"{schema.index(label)} {text}\n")
                (labels / f"{frame.name}.txt").write_text("".join(lines), encoding="utf-8")
            write_images(images, options, folder / "images" / subset, frames)
        (folder / "data.yaml").write_text(data_yaml(schema.names, plan.subsets), encoding="utf-8")


def data_yaml(names: Sequence[str], subsets: Sequence[str]) -> str:
    """The Ultralytics dataset YAML (no ``path:``: folders resolve against the YAML's folder).

    Example:
        >>> print(data_yaml(["car"], ["default"]), end="")
        # Ultralytics dataset written by tweenlab; no 'path:': folders are relative to here
        train: "images/default"
        val: "images/default"
        names:
          0: "car"
    """
    splits: dict[str, list[str]] = {}
    for subset in subsets:
        splits.setdefault(subset if subset in SPLITS else "train", []).append(f"images/{subset}")
    splits.setdefault("train", splits.get("val") or splits.get("test") or [])
    splits.setdefault("val", splits["train"])  # Ultralytics requires val
    lines = ["# Ultralytics dataset written by tweenlab; no 'path:': folders are relative to here"]
    for key in SPLITS:
        if key in splits:  # JSON strings and lists are YAML flow scalars and sequences
            folders = splits[key]
            lines.append(f"{key}: {json.dumps(folders[0] if len(folders) == 1 else folders)}")
    lines.append("names:")
    lines.extend(f"  {i}: {json.dumps(name)}" for i, name in enumerate(names))
    return "\n".join(lines) + "\n"


def detect(path: Path) -> bool:
    """A folder with ``data.yaml`` (or ``obj.data``) and a ``labels`` folder."""
    path = Path(path)
    if path.is_file() and path.name in ("data.yaml", "obj.data"):
        path = path.parent
    return path.is_dir() and (
        ((path / "data.yaml").is_file() and (path / "labels").is_dir())
        or (path / "obj.data").is_file()
    )


_DETECT = _Variant(_detect_line)
_SEGMENT = _Variant(_segment_line)
export_detect = _DETECT.export
export_segment = _SEGMENT.export

FORMAT = FormatModule(
    name="yolo",
    detect=detect,
    export=export_detect,
    load=None,
    extensions=(".yaml", ".txt"),
    images_dataset=True,
)
FORMAT_SEGMENT = FormatModule(
    name="yolo_segment",
    detect=detect,
    export=export_segment,
    load=None,
    extensions=(".yaml", ".txt"),
    images_dataset=True,
)
