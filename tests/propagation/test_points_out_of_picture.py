"""A point carried by the flow while out of the picture: it has no flow to follow, so it stays
where it is, and nothing warns (the suite turns warnings into errors, the CLI printed numpy's
"All-NaN slice encountered" when a polyline's vertex left the picture)."""

from __future__ import annotations

import numpy as np
import pytest

from tweenlab.propagation.shapes import _step


@pytest.mark.parametrize(
    "outside",
    [[-500.0, -500.0], [5000.0, 40.0], [40.0, 900.0]],
    ids=["above-left", "right", "below"],
)
def test_a_point_out_of_the_picture_stays_and_nothing_warns(outside: list[float]) -> None:
    flow = np.zeros((54, 96, 2), np.float32)
    flow[..., 0] = 2.0  # everything in the picture moves 2 cache pixels right
    points = np.array([[20.0, 20.0], outside])
    moved, found, boundary = _step(points, flow, 0.5, 4.0)
    assert found.tolist() == [True, False]
    assert moved[0] == pytest.approx([24.0, 20.0])  # 2 cache pixels at scale 0.5
    assert moved[1].tolist() == outside
    assert not boundary.any()
