"""``repair`` interpolates a bad frame at its place in time between its good neighbours: on a
variable frame rate that is their timestamps, not their indices; and it never blends two shots
(a bad frame next to a hard cut has one good side in its shot, and is left)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from tests.synthesis.scenes import psnr, shifted, texture
from tweenlab.media import VideoReader, VideoWriter
from tweenlab.services.synthesize import repair_video
from tweenlab.settings import Settings
from tweenlab.synthesis import repair

#: Milliseconds: frame 6 comes 20 ms after frame 5 and 80 ms before frame 7.
PTS = [0, 40, 80, 120, 160, 200, 220, 300, 340, 380, 420, 460]
BLURRED = 6
SPEED = 0.1  # pixels per millisecond


def _truth(ms: float) -> np.ndarray:
    return shifted(texture((128, 192), seed=3), SPEED * ms, 0.0)


def test_a_frame_of_a_vfr_video_is_repaired_at_its_time(tmp_path: Path) -> None:
    video = tmp_path / "vfr.mp4"
    with VideoWriter(video, 192, 128, Fraction(1, 1000), crf=8) as writer:
        for n, ms in enumerate(PTS):
            image = _truth(ms)
            writer.write(
                np.asarray(cv2.GaussianBlur(image, (0, 0), 4)) if n == BLURRED else image, ms
            )
    report = repair(video, tmp_path / "fixed.mp4")
    assert [(b.frame, b.between) for b in report.replaced] == [(BLURRED, (5, 7))]
    assert report.replaced[0].t == 0.2  # (220 - 200) / (300 - 200), not 1/2 by index
    with VideoReader(tmp_path / "fixed.mp4") as fixed:
        assert fixed.index.seconds(BLURRED) == Fraction(220, 1000)
        made = psnr(_truth(PTS[BLURRED]), fixed[BLURRED])
        halfway = psnr(_truth(250), fixed[BLURRED])
    assert made > halfway + 3.0, f"{made:.2f} dB at its time, {halfway:.2f} dB halfway"


def test_a_bad_frame_next_to_a_cut_is_left(tmp_path: Path) -> None:
    first, second = texture((128, 192), seed=3), texture((128, 192), seed=11)
    frames = [shifted(first, 2.0 * n, 0) for n in range(8)]
    frames += [shifted(second, 2.0 * n, 0) for n in range(8)]
    frames[8] = np.asarray(cv2.GaussianBlur(frames[8], (0, 0), 4))  # the new shot's first
    frames[12] = np.asarray(cv2.GaussianBlur(frames[12], (0, 0), 4))  # inside the shot
    video = tmp_path / "two-shots.mp4"
    with VideoWriter(video, 192, 128, Fraction(1, 25), crf=8) as writer:
        for n, frame in enumerate(frames):
            writer.write(frame, n)
    report = repair(video, tmp_path / "fixed.mp4", cuts=[8])
    assert [(b.frame, b.between) for b in report.replaced] == [(12, (11, 13))]
    assert [(b.frame, b.between) for b in report.left] == [(8, None)]
    served = repair_video(video, tmp_path / "served.mp4", Settings(data_dir=tmp_path / "data"))
    assert [b.frame for b in served.left] == [8], "the keyframe analysis found the cut at 8"
    with VideoReader(tmp_path / "served.mp4") as fixed, VideoReader(video) as source:
        assert psnr(source[8], fixed[8]) > 34.0, "left as it was (encoded again), not a blend"


def test_repeated_timestamps_fall_back_to_the_frames_places() -> None:
    """A muxer that rounds timestamps (Matroska's milliseconds) can give a bad frame the
    timestamp of a neighbour: its time was 0 or 1, refused as "t: 1.0 is outside (0, 1)"
    (a time the person never gave); it is then placed by frame count."""
    from tweenlab.synthesis.repair import BadFrame, plan

    bad = [BadFrame(2, "blurred", "sharpness 0.1 of its neighbours")]
    for pts in ([0, 40, 80, 80, 120], [0, 40, 40, 80, 120], [0, 40, 40, 40, 120]):
        (fixed,), left = plan(bad, 5, pts=pts)
        assert left == [] and fixed.between == (1, 3) and fixed.t == 0.5, pts
