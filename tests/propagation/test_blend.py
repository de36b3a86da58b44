"""Blending a span's two chains: the one that missed its far keyframe by less leads."""

from __future__ import annotations

import numpy as np

from tweenlab.propagation.boxes import _blend


def test_the_chain_that_missed_its_far_keyframe_by_less_leads_the_blend() -> None:
    # A box slides 100 px right over 10 frames. The forward chain follows it and lands on B;
    # the backward chain jumps 30 px off halfway (a blur, say) and misses A by 30 px, which
    # spreading its drift cannot undo. Blended by time alone, the middle frames sat 5-7.5 px off.
    span = 10
    t = np.arange(span + 1) / span
    truth = np.stack([100 * t, np.zeros_like(t), np.full_like(t, 20), np.full_like(t, 20)], 1)
    backward = truth.copy()
    backward[t < 0.5, 0] += 30
    ones = np.ones(span + 1)
    fill = _blend(0, span, (truth[0], truth[-1]), (truth, ones, ones), (backward, ones, ones))
    error = np.abs(fill.boxes[:, 0] - truth[:, 0])
    assert error.max() < 2.5, error.round(1).tolist()
    assert fill.boxes[0].tolist() == truth[0].tolist()
    assert fill.boxes[-1].tolist() == truth[-1].tolist()
