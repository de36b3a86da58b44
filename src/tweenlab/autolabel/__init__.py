"""Automatic labelling: models pre-label frames, detections become thinned tracks, clips get
classes.

Every model plugs in through one ``Labeler`` interface (frames in, ``Detections`` out), built by
name from ``plugins.registry("labelers")`` with ``LabelerOptions``.
"""

from tweenlab.autolabel.base import (
    Detections,
    Labeler,
    LabelerFactory,
    LabelerOptions,
    factory_needs,
    needs,
    read_class_names,
)
from tweenlab.autolabel.classes import clip_classes, events_from_frames, video_classes
from tweenlab.autolabel.decoders import Letterbox, decode_yolo_rows, letterbox, nms
from tweenlab.autolabel.run import MAX_DETECTIONS, FrameDetections, every_nth, label_frames
from tweenlab.autolabel.tracking import (
    DetectedTrack,
    TrackerParams,
    thin_detected,
    to_tracks,
    track_detections,
)

__all__ = [
    "MAX_DETECTIONS",
    "DetectedTrack",
    "Detections",
    "FrameDetections",
    "Labeler",
    "LabelerFactory",
    "LabelerOptions",
    "Letterbox",
    "TrackerParams",
    "clip_classes",
    "decode_yolo_rows",
    "events_from_frames",
    "every_nth",
    "factory_needs",
    "label_frames",
    "letterbox",
    "needs",
    "nms",
    "read_class_names",
    "thin_detected",
    "to_tracks",
    "track_detections",
    "video_classes",
]
