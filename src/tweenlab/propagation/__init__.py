"""Motion-guided in-betweening: fill the frames between keyframes by following the motion.

Dense optical flow is computed once per video (``FlowCache``); boxes are carried forward from
one keyframe and backward from the next, drift spread so both are hit exactly, and every frame
gets a confidence whose lowest point in a span is where the next keyframe is needed.
"""

from tweenlab.propagation.boxes import SpanFill, carry_box, carry_boxes, fill_span, fill_spans
from tweenlab.propagation.flow import FlowCache, dis_flow, farneback_flow
from tweenlab.propagation.inbetween import InBetween, inbetween

__all__ = [
    "FlowCache",
    "InBetween",
    "SpanFill",
    "carry_box",
    "carry_boxes",
    "dis_flow",
    "farneback_flow",
    "fill_span",
    "fill_spans",
    "inbetween",
]
