"""A fill reads only the cached flow around its boxes (memory-mapped float16, one gather of the
sampled pixels): it must give exactly what reading every field whole gives, on real footage.

The peer is a ``FlowCache`` whose pairs are read whole into memory as float32 (numpy's own
``np.load``, no memory map), which the carrying code samples by rows and columns instead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_file
from tweenlab.media import DerivedFiles
from tweenlab.propagation import FlowCache, fill_spans
from tweenlab.propagation.flow import FlowPair

FIRST, LAST = 20, 40  # 20 pairs of uav123-wakeboard7 (a thin, fast wakeboarder)
MAX_SIDE = 640  # flow at 640x360: the span computes in seconds


class WholeFrames(FlowCache):
    """Every pair read whole, as float32, with ``np.load`` (no memory map, no shared header)."""

    def pair(self, n: int) -> FlowPair:
        super().pair(n)  # computes the span when missing
        both = np.load(self._path(n)).astype(np.float32)
        return FlowPair(both[0], both[1])


def _truth(path: Path) -> list[list[float]]:
    return [[float(v) for v in line.split(",")] for line in path.read_text().splitlines()]


@pytest.mark.shared_data
@pytest.mark.slow
def test_a_fill_reading_regions_equals_one_reading_whole_frames(tmp_path: Path) -> None:
    video = shared_file("tracks/uav123-wakeboard7/video.mp4")
    truth = _truth(shared_file("tracks/uav123-wakeboard7/gt.txt"))
    index = DerivedFiles(tmp_path / "derived").index(video)
    regions = FlowCache(video, index, tmp_path / "flow", max_side=MAX_SIDE)
    regions.compute(FIRST, LAST)
    whole = WholeFrames(video, index, tmp_path / "flow", max_side=MAX_SIDE)
    starts = np.array(
        [
            truth[FIRST],  # small: its motion is also checked by matching pixels
            [100.0, 80.0, 300.0, 200.0],  # large: sampled on a grid
            [-40.0, 500.0, 120.0, 90.0],  # partly outside the picture
            [1200.0, 650.0, 70.0, 60.0],  # at the far corner
        ]
    )
    ends = np.array(
        [
            truth[LAST],
            [110.0, 90.0, 310.0, 190.0],
            [-30.0, 480.0, 110.0, 100.0],
            [1190.0, 640.0, 75.0, 65.0],
        ]
    )
    read_regions = fill_spans(regions, FIRST, starts, LAST, ends)
    read_whole = fill_spans(whole, FIRST, starts, LAST, ends)
    for ours, peer in zip(read_regions, read_whole, strict=True):
        np.testing.assert_array_equal(ours.boxes, peer.boxes)
        np.testing.assert_array_equal(ours.confidence, peer.confidence)
    mapped = regions.pair(FIRST).forward  # the path under test: float16 from a read-only map
    assert mapped.dtype == np.float16 and not mapped.flags.writeable
    assert whole.pair(FIRST).forward.dtype == np.float32
