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
    read_class_names,
)
from tweenlab.autolabel.decoders import Letterbox, decode_yolo_rows, letterbox, nms

__all__ = [
    "Detections",
    "Labeler",
    "LabelerFactory",
    "LabelerOptions",
    "Letterbox",
    "decode_yolo_rows",
    "letterbox",
    "nms",
    "read_class_names",
]
