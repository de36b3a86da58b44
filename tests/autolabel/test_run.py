"""Running a labeler over a video (``autolabel.run``): a frame's detections are capped at
``MAX_DETECTIONS`` (the best kept, one warning naming the frames), so a dense model's thousands
of boxes cannot make tracking quadratic in them; boxes of no size are dropped, and said."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from tests.propagation import write_video
from tweenlab.autolabel import MAX_DETECTIONS, Detections, label_frames
from tweenlab.autolabel.base import RGB
from tweenlab.media import VideoReader


@dataclass
class Dense:
    """``count`` tiny boxes a frame in a row, box ``i`` scored ``i / count``."""

    count: int
    name: str = "dense"
    classes: tuple[str, ...] = ("dot",)
    batch_size: int = 2
    sequential: bool = False

    def detect(self, frames: Sequence[RGB]) -> list[Detections]:
        x = np.arange(self.count, dtype=np.float64)
        xyxy = np.stack([x, x * 0, x + 1, x * 0 + 1], axis=1)
        scores = np.arange(self.count) / self.count
        return [Detections(xyxy, scores, np.zeros(self.count, np.int64)) for _ in frames]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    return write_video(folder / "grey.mp4", [np.full((48, 64, 3), 90, np.uint8)] * 6)


@pytest.mark.parametrize(
    ("count", "limit", "kept"),
    [(10, 3, 3), (3, 3, 3), (MAX_DETECTIONS + 100, MAX_DETECTIONS, MAX_DETECTIONS)],
    ids=["over", "at-the-cap", "default-cap"],
)
def test_each_frame_keeps_its_best_detections(
    video: Path, count: int, limit: int, kept: int, caplog: pytest.LogCaptureFixture
) -> None:
    with VideoReader(video) as reader, caplog.at_level(logging.WARNING):
        found = label_frames(reader, Dense(count), [0, 2, 4, 5], max_detections=limit)
    assert found.frames.tolist() == [0, 2, 4, 5]
    for detections in found.detections:
        assert len(detections) == kept
        assert detections.scores.tolist() == sorted(detections.scores.tolist())  # order kept
        assert detections.scores.min() == (count - kept) / count  # the best ones
    warnings = [r.getMessage() for r in caplog.records if r.name == "tweenlab.autolabel.run"]
    if count == kept:
        assert warnings == []
    else:
        (line,) = warnings  # one line for the whole run
        dropped = count - limit
        assert f"frame 0 ({dropped}), 2 ({dropped}), 4 ({dropped}), 5 ({dropped})" in line
        assert f"{4 * dropped} in all" in line


def test_the_cap_must_keep_something(video: Path) -> None:
    with VideoReader(video) as reader, pytest.raises(ValueError, match="at least 1"):
        label_frames(reader, Dense(3), [0], max_detections=0)


@dataclass
class Flat(Dense):
    """``Dense``, every other box of no width (its right edge on its left)."""

    def detect(self, frames: Sequence[RGB]) -> list[Detections]:
        found = super().detect(frames)
        for detections in found:
            detections.xyxy[::2, 2] = detections.xyxy[::2, 0]
        return found


def test_boxes_of_no_size_are_dropped_and_said(
    video: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """They were kept, then lost no track but counted in video classes and events, which said
    three objects were on every frame where the file held none (an audit)."""
    with VideoReader(video) as reader, caplog.at_level(logging.WARNING):
        found = label_frames(reader, Flat(6), [0, 3])
    assert [len(d) for d in found.detections] == [3, 3]
    assert all((d.xyxy[:, 2] > d.xyxy[:, 0]).all() for d in found.detections)
    warnings = [r.getMessage() for r in caplog.records if r.name == "tweenlab.autolabel.run"]
    assert warnings == [
        "labeler 'dense': 6 boxes of no size (right edge not past the left, or bottom not "
        "below the top) dropped on 2 frames, the first on frame 0"
    ]
