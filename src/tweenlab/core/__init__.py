"""The core: time, shapes, the annotation model and interpolation, in pure Python and numpy.

Nothing here imports av, torch, cv2, fastapi or sqlalchemy (an import-linter contract checks it).
"""

from tweenlab.core.annotations import AnnotationSet, ClipClass, Event, FrameTag, VideoRef
from tweenlab.core.edits import (
    AddTrack,
    ChangeLabel,
    DeleteFrame,
    DeleteFromHere,
    DeleteTrack,
    Edit,
    MergeTracks,
    RemoveKeyframe,
    SetKeyframe,
    SetOccluded,
    SetOutside,
    SplitTrack,
)
from tweenlab.core.interpolation import interpolate, interpolate_boxes, register_interpolator
from tweenlab.core.journal import Journal, JournalEntry, edit_from_json, edit_to_json
from tweenlab.core.rle import Rle
from tweenlab.core.roles import Role
from tweenlab.core.schema import (
    AttributeKind,
    AttributeSpec,
    AttributeValue,
    LabelSpec,
    Schema,
    SkeletonSpec,
)
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
from tweenlab.core.thinning import box_iou, thin_boxes, thin_track
from tweenlab.core.time import (
    FrameSelection,
    parse_frame_list,
    parse_frame_range,
    parse_seconds,
    parse_time_list,
)
from tweenlab.core.track import Keyframe, Track, TrackState

__all__ = [
    "AddTrack",
    "AnnotationSet",
    "AttributeKind",
    "AttributeSpec",
    "AttributeValue",
    "Box",
    "ChangeLabel",
    "ClipClass",
    "Cuboid",
    "DeleteFrame",
    "DeleteFromHere",
    "DeleteTrack",
    "Edit",
    "Event",
    "FrameSelection",
    "FrameTag",
    "Journal",
    "JournalEntry",
    "Keyframe",
    "LabelSpec",
    "Mask",
    "MergeTracks",
    "Points",
    "Polygon",
    "Polyline",
    "RemoveKeyframe",
    "Rle",
    "Role",
    "Schema",
    "SetKeyframe",
    "SetOccluded",
    "SetOutside",
    "Shape",
    "ShapeKind",
    "Skeleton",
    "SkeletonSpec",
    "SplitTrack",
    "Track",
    "TrackState",
    "VideoRef",
    "box_iou",
    "edit_from_json",
    "edit_to_json",
    "interpolate",
    "interpolate_boxes",
    "parse_frame_list",
    "parse_frame_range",
    "parse_seconds",
    "parse_time_list",
    "register_interpolator",
    "shape_from_json",
    "thin_boxes",
    "thin_track",
]
