"""Motion-guided thinning of predicted tracks, on a square going round a circle.

The labeler here is a small real one: it knows the square's texture and finds it by normalised
cross-correlation (it sees only pixels), registered under a test name. On a circle a straight
line between two keyframes cuts the corner, so linear thinning keeps a keyframe every few
frames; the flow follows the curve, so fewer hold.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from tests.propagation import circle_video, texture
from tweenlab.autolabel import Detections, LabelerOptions
from tweenlab.autolabel.base import RGB
from tweenlab.autolabel.run import FrameDetections, label_frames
from tweenlab.autolabel.tracking import to_tracks, track_detections
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.core import Track
from tweenlab.core.thinning import box_iou
from tweenlab.media import VideoReader
from tweenlab.plugins import registry
from tweenlab.services.annotations import load_annotations
from tweenlab.services.autolabel import autolabel_file, make_labeler
from tweenlab.services.autolabel_motion import follow_motion, motion_thinning
from tweenlab.settings import Settings

FRAMES = 48
SIDE = 32
MIN_IOU = 0.9


@dataclass
class TexturedSquare:
    """Finds one known texture in each frame (normalised cross-correlation, best match)."""

    template: npt.NDArray[np.uint8]
    name: str = "textured-square"
    classes: tuple[str, ...] = ("square",)
    batch_size: int = 8
    sequential: bool = False

    def detect(self, frames: Sequence[RGB]) -> list[Detections]:
        found = []
        for image in frames:
            grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY)
            scores = cv2.matchTemplate(grey, self.template, cv2.TM_CCOEFF_NORMED)
            _, best, _, (x, y) = cv2.minMaxLoc(scores)
            if best < 0.5:
                found.append(Detections.empty())
                continue
            box = np.array([[x, y, x + SIDE, y + SIDE]], dtype=np.float64)
            found.append(Detections(box, np.array([best]), np.array([0])))
        return found


def square_template() -> npt.NDArray[np.uint8]:
    """The circling square's texture in grey, drawn as ``circle_video`` draws it (seed 0)."""
    rng = np.random.default_rng(0)
    texture(rng, 144, 192, 2.0)  # the background comes first from the same generator
    square = texture(rng, SIDE, SIDE, 2.0)
    return np.asarray(cv2.cvtColor(square, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


@pytest.fixture(scope="module")
def labeler() -> Iterator[str]:
    template = square_template()
    registry("labelers").register(
        "textured-square", lambda options: TexturedSquare(template), replace=True
    )
    yield "textured-square"


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return circle_video(tmp_path / "circle.mp4", frames=FRAMES)[0]


def detections_of(video: Path, labeler: str) -> FrameDetections:
    with VideoReader(video) as reader:
        return label_frames(reader, make_labeler(labeler, LabelerOptions()), range(FRAMES))


def worst_iou(track: Track, found: FrameDetections) -> float:
    """The lowest IoU between ``track`` and a detection, over every frame with one."""
    ious = []
    for frame, detections in zip(found.frames.tolist(), found.detections, strict=True):
        state = track.at(frame)
        assert state is not None and state.visible, f"no box on frame {frame}"
        shape = state.shape
        mine = [shape.x, shape.y, shape.w, shape.h]  # type: ignore[attr-defined]
        ious.append(float(box_iou(mine, detections.xywh[0])))
    return min(ious)


def test_motion_guided_thinning_keeps_fewer_keyframes_on_a_curve(
    labeler: str, video: Path, tmp_path: Path, settings: Settings
) -> None:
    found = detections_of(video, labeler)
    assert all(len(d) == 1 for d in found.detections)
    runs = {}
    for follow in (False, True):
        out = tmp_path / f"follow-{follow}.json"
        autolabel_file(
            video,
            out,
            settings,
            labeler=labeler,
            options=LabelerOptions(),
            every=1,
            min_iou=MIN_IOU,
            follow_motion=follow,
        )
        (runs[follow],) = load_annotations(out).tracks.values()
    linear, guided = len(runs[False].keyframes), len(runs[True].keyframes)
    counts = f"keyframes: linear {linear}, motion-guided {guided}"
    assert guided < linear, counts
    assert worst_iou(runs[True], found) >= MIN_IOU - 1e-9, counts
    assert worst_iou(runs[False], found) >= MIN_IOU - 1e-9, counts
    assert len(runs[True].inbetween) == FRAMES - guided, counts  # every other frame follows
    assert not runs[False].inbetween


def test_without_the_flag_the_tracks_are_todays(
    labeler: str, video: Path, tmp_path: Path, settings: Settings
) -> None:
    found = detections_of(video, labeler)
    expected = to_tracks(
        track_detections(found.frames, found.detections), found.classes, frame_count=FRAMES
    )
    report = autolabel_file(
        video, tmp_path / "pre.json", settings, labeler=labeler, options=LabelerOptions(), every=1
    )
    assert report.prelabels.tracks == tuple(expected)
    assert not any(t.inbetween for t in report.prelabels.tracks)


def test_no_span_is_filled_by_flow_across_a_cut(
    labeler: str, video: Path, settings: Settings
) -> None:
    found = detections_of(video, labeler)
    detected = track_detections(found.frames, found.detections)
    linear = to_tracks(detected, found.classes, frame_count=FRAMES)
    thinning = replace(motion_thinning(video, settings, min_iou=MIN_IOU), cuts=(20,))
    (track,) = follow_motion(thinning, detected, linear)
    before = max(f for f in track.keyframes if f < 20)
    after = min(f for f in track.keyframes if f >= 20)
    assert not any(before < f < after for f in track.inbetween), (before, after)
    assert track.inbetween  # elsewhere the flow fills
    assert worst_iou(track, found) >= MIN_IOU - 1e-9


def test_the_cli_follows_motion_when_asked(
    labeler: str,
    video: Path,
    tmp_path: Path,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "cli.json"
    arguments = ["autolabel", str(video), "--labeler", labeler, "--every", "2", "--out", str(out)]
    code = run_with_boundary(cli, [*arguments, "--follow-motion"])
    assert code == 0, capsys.readouterr().err
    (track,) = load_annotations(out).tracks.values()
    assert track.inbetween and track.source == "auto"
