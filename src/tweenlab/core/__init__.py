"""The core: time, shapes, the annotation model and interpolation, in pure Python and numpy.

Nothing here imports av, torch, cv2, fastapi or sqlalchemy (an import-linter contract checks it).
"""

from tweenlab.core.annotations import AnnotationSet, ClipClass, Event, FrameTag, VideoRef
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
    Skeleton,
    shape_from_json,
)
from tweenlab.core.time import (
    FrameSelection,
    parse_frame_list,
    parse_frame_range,
    parse_seconds,
    parse_time_list,
)
from tweenlab.core.track import Keyframe, Track, TrackState

__all__ = [
    "AnnotationSet",
    "AttributeKind",
    "AttributeSpec",
    "AttributeValue",
    "Box",
    "ClipClass",
    "Cuboid",
    "Event",
    "FrameSelection",
    "FrameTag",
    "Keyframe",
    "LabelSpec",
    "Mask",
    "Points",
    "Polygon",
    "Polyline",
    "Rle",
    "Schema",
    "Shape",
    "ShapeKind",
    "Skeleton",
    "Track",
    "TrackState",
    "VideoRef",
    "parse_frame_list",
    "parse_frame_range",
    "parse_seconds",
    "parse_time_list",
    "shape_from_json",
]
