"""Dataset formats: one module per format, registered by name in ``tweenlab.plugins``.

Built in: ``native`` (lossless JSON), ``coco``, ``yolo``, ``mot``, ``cvat_video``, ``datumaro``.
Third-party formats register through the entry-point group ``tweenlab.formats``.
"""

from pathlib import Path

from tweenlab.errors import PluginError
from tweenlab.formats.base import (
    MAX_SYNTHETIC,
    ExportedFrame,
    ExportOptions,
    ExportPlan,
    FormatModule,
    FrameImages,
    atomic_dir,
    check_replaceable,
    frame_name,
    plan_export,
    visible_states,
)
from tweenlab.plugins import registry

__all__ = [
    "MAX_SYNTHETIC",
    "ExportOptions",
    "ExportPlan",
    "ExportedFrame",
    "FormatModule",
    "FrameImages",
    "atomic_dir",
    "check_replaceable",
    "detect_format",
    "frame_name",
    "get_format",
    "plan_export",
    "visible_states",
]


def get_format(name: str) -> FormatModule:
    """The format registered as ``name``."""
    module = registry("formats").get(name)
    if not isinstance(module, FormatModule):
        raise PluginError(f"formats: {name!r} is not a FormatModule")
    return module


def detect_format(path: Path) -> str:
    """The name of the first registered format whose ``detect`` accepts ``path``."""
    for name in registry("formats").names():
        if get_format(name).detect(path):
            return name
    raise PluginError(f"{path}: no format recognises it (known: {registry('formats').names()})")
