"""Exact comparisons of keyframe analyses (test support): every signal array, thumbnail, cut,
transition, flash and suggestion equal, arrays by ``np.array_equal``."""

from __future__ import annotations

import numpy as np

from tweenlab.keyframes import SIGNAL_NAMES, Analysis, SpanFeatures


def assert_same_features(a: SpanFeatures, b: SpanFeatures) -> None:
    assert np.array_equal(a.frames, b.frames)
    assert np.array_equal(a.histograms, b.histograms) and np.array_equal(a.thumbs, b.thumbs)
    for name in SIGNAL_NAMES:
        assert np.array_equal(a.rows[name], b.rows[name]), name


def assert_same_analysis(whole: Analysis, merged: Analysis) -> None:
    assert np.array_equal(whole.frames, merged.frames)
    differ = [
        n
        for n in SIGNAL_NAMES
        if not np.array_equal(getattr(whole.signals, n), getattr(merged.signals, n))
    ]
    assert differ == []
    assert np.array_equal(whole.thumbs, merged.thumbs)
    assert merged.cuts == whole.cuts and merged.transitions == whole.transitions
    assert merged.flashes == whole.flashes and merged.suggested == whole.suggested
