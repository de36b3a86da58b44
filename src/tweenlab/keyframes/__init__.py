"""Keyframe suggestion: cuts, gradual transitions and the frames worth labelling, in one pass.

Frames decoded small (``VideoReader(size=analysis_size(...))``) go through one
``KeyframeDetector``: a ``SignalExtractor`` turns each into a row of change signals (kept as
``Signals``, a compact per-video file), a ``BoundaryFinder`` finds hard cuts, flashes and
fades or dissolves from them, and ``suggest_keyframes`` places the suggested keyframes. A long
video can be analysed in spans by several workers (``plan_spans``, ``extract_span``,
``analyse_spans``), with the same result.
"""

from tweenlab.keyframes.boundaries import BoundaryFinder, BoundarySettings
from tweenlab.keyframes.detector import Analysis, KeyframeDetector, analyse_frames
from tweenlab.keyframes.events import Event, EventKind
from tweenlab.keyframes.motion import GlobalMotion, estimate_motion
from tweenlab.keyframes.signals import SIGNAL_NAMES, SignalExtractor, Signals, analysis_size
from tweenlab.keyframes.spans import (
    Span,
    SpanFeatures,
    analyse_spans,
    extract_span,
    merge_spans,
    plan_spans,
    plan_spans_near_keyframes,
)
from tweenlab.keyframes.suggest import SuggestionPolicy, change_curve, suggest_keyframes

__all__ = [
    "SIGNAL_NAMES",
    "Analysis",
    "BoundaryFinder",
    "BoundarySettings",
    "Event",
    "EventKind",
    "GlobalMotion",
    "KeyframeDetector",
    "SignalExtractor",
    "Signals",
    "Span",
    "SpanFeatures",
    "SuggestionPolicy",
    "analyse_frames",
    "analyse_spans",
    "analysis_size",
    "change_curve",
    "estimate_motion",
    "extract_span",
    "merge_spans",
    "plan_spans",
    "plan_spans_near_keyframes",
    "suggest_keyframes",
]
