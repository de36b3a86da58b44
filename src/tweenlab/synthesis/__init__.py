"""Frame synthesis: new frames between, after and instead of a video's frames.

``interpolate`` makes frames at any times in (0, 1) between two frames; ``extrapolate`` frames
after the last of several; ``repair`` finds blurred, repeated and undecodable frames of a video
and replaces each with one interpolated from its good neighbours; ``retime`` writes a video at a
higher frame rate. Engines implement ``FrameSynthesizer`` and are registered by name in the
``synthesizers`` registry: ``flow`` (default, optical flow, no weights) and the deep models
``adaconv``, ``sepconv``, ``dvf``, ``bipn`` and ``phasenet`` (``DeepSynthesizer``, from a
checkpoint; torch is imported only when one is built or trained, see ``models`` and
``training``).

Example:
    >>> from tweenlab.synthesis import synthesizer
    >>> middle = synthesizer("flow").interpolate(frame0, frame1, 0.5)  # doctest: +SKIP
"""

from tweenlab.synthesis.base import (
    DEFAULT_ENGINE,
    FrameSynthesizer,
    Image,
    check_frame,
    check_pair,
    check_times,
    interpolate,
    synthesizer,
)
from tweenlab.synthesis.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from tweenlab.synthesis.deep import (
    DEEP_MODELS,
    DeepSynthesizer,
    register_checkpoint,
)
from tweenlab.synthesis.flow import FlowSynthesizer, PairFlow, extrapolate
from tweenlab.synthesis.repair import (
    BadFrame,
    FrameStats,
    RepairReport,
    find_bad_frames,
    frame_stats,
    repair,
)
from tweenlab.synthesis.retime import Retimed, retime, sample_times

__all__ = [
    "DEEP_MODELS",
    "DEFAULT_ENGINE",
    "BadFrame",
    "CheckpointError",
    "DeepSynthesizer",
    "FlowSynthesizer",
    "FrameStats",
    "FrameSynthesizer",
    "Image",
    "PairFlow",
    "RepairReport",
    "Retimed",
    "check_frame",
    "check_pair",
    "check_times",
    "extrapolate",
    "find_bad_frames",
    "frame_stats",
    "interpolate",
    "load_checkpoint",
    "register_checkpoint",
    "repair",
    "retime",
    "sample_times",
    "save_checkpoint",
    "synthesizer",
]
