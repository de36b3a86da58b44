"""The flow cache's default estimator, ``seeded``: DIS, with a second candidate seeded by
tracked corners where they disagree with it (large motion that DIS's coarse-to-fine search
loses)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from tests.synthesis.scenes import dark_block, shifted, texture
from tweenlab.plugins import registry
from tweenlab.settings import Settings


def grey(x: int) -> np.ndarray:
    return cv2.cvtColor(dark_block(x), cv2.COLOR_RGB2GRAY)


@pytest.mark.parametrize(("start", "end", "move"), [(100, 160, 60.0), (160, 100, -60.0)])
def test_large_motion_is_followed_where_dis_loses_it(start: int, end: int, move: float) -> None:
    """A plain dark block moving 60 px, both ways: DIS alone leaves it in place; the seeded
    flow moves it by the 60 px."""
    previous, following = grey(start), grey(end)
    inside = (slice(95, 145), slice(start + 5, start + 45))
    plain = registry("flow_estimators").get("dis")(previous, following)
    seeded = registry("flow_estimators").get("seeded")(previous, following)
    assert abs(np.median(plain[inside][..., 0]) - move) > 30, "DIS alone followed it"
    assert np.median(seeded[inside][..., 0]) == pytest.approx(move, abs=1.0)
    assert np.median(seeded[inside][..., 1]) == pytest.approx(0.0, abs=1.0)


def test_small_motion_is_dis_to_the_bit() -> None:
    """Motion DIS follows: the tracked corners agree with it, and the flow is DIS's."""
    base = texture(seed=21)
    previous, following = (
        cv2.cvtColor(shifted(base, *move), cv2.COLOR_RGB2GRAY) for move in ((0, 0), (3.0, -2.0))
    )
    plain = registry("flow_estimators").get("dis")(previous, following)
    seeded = registry("flow_estimators").get("seeded")(previous, following)
    assert np.array_equal(plain, seeded)


def test_seeded_is_the_default() -> None:
    assert Settings().flow_method == "seeded"
