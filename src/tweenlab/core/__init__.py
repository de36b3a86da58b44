"""The core: time and the annotation model, in pure Python and numpy.

Nothing here imports av, torch, cv2, fastapi or sqlalchemy (an import-linter contract checks it).
"""

from tweenlab.core.time import (
    FrameSelection,
    parse_frame_list,
    parse_frame_range,
    parse_seconds,
    parse_time_list,
)

__all__ = [
    "FrameSelection",
    "parse_frame_list",
    "parse_frame_range",
    "parse_seconds",
    "parse_time_list",
]
