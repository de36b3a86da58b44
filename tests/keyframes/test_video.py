"""Keyframe analysis of real files: bad input (one frame, all black, a corrupt packet, a size
change mid-stream, no usable size) and the shared cut test video scored like eval_cuts.py."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.conftest import shared_file
from tests.keyframes.scenes import shot, write_video
from tests.media.videos import make_absurd_dimensions, make_corrupt_middle, make_video
from tweenlab.errors import MediaError, PluginError
from tweenlab.keyframes import Analysis, KeyframeDetector
from tweenlab.plugins import registry
from tweenlab.services.keyframes import analyse_video
from tweenlab.settings import Settings


def test_one_frame_video(tmp_path: Path, settings: Settings) -> None:
    video = make_video(tmp_path / "one.mp4", frames=1)
    found = analyse_video(video, settings).analysis
    assert found.cuts == [] and found.transitions == [] and found.suggested == [0]


def test_all_black_video(tmp_path: Path, settings: Settings) -> None:
    video = write_video(tmp_path / "black.mp4", [np.zeros((96, 160, 3), np.uint8)] * 30)
    found = analyse_video(video, settings).analysis
    assert found.cuts == [] and found.transitions == [] and found.suggested == [0]


def test_corrupt_packet_is_reported_not_fatal(tmp_path: Path, settings: Settings) -> None:
    source = make_video(tmp_path / "good.mp4", frames=60, gop=12)
    video = make_corrupt_middle(source, tmp_path / "bad.mp4", 30)
    result = analyse_video(video, settings)
    assert len(result.analysis.frames) >= 59
    assert result.analysis.suggested[0] == 0
    assert result.errors and "frame 30" in result.errors[0]
    json.dumps(result.to_json())
    again = analyse_video(video, settings)  # the kept signals, read back: the same report
    assert again.fps is None and again.errors == result.errors


def test_resolution_change_mid_stream(tmp_path: Path, settings: Settings) -> None:
    first = write_video(tmp_path / "a.ts", shot(1, 30))
    narrow = [np.ascontiguousarray(f[:, :96]) for f in shot(2, 30)]
    # timestamps carry on after the first part's (which the muxer shifts 2 frames later)
    second = write_video(tmp_path / "b.ts", narrow, first=33)
    joined = tmp_path / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    found = analyse_video(joined, settings).analysis  # every frame, each scaled as it comes
    assert len(found.frames) == 60
    assert found.suggested[:2] == [0, 30] and found.cuts == [30]


def test_video_without_a_usable_size_is_a_media_error(tmp_path: Path, settings: Settings) -> None:
    video = make_absurd_dimensions(tmp_path / "zero.avi")
    with pytest.raises(MediaError):
        analyse_video(video, settings)


def test_signals_are_kept_and_reused(tmp_path: Path, settings: Settings) -> None:
    video = write_video(tmp_path / "two.mp4", shot(1, 30) + shot(2, 30, speed=4))
    first = analyse_video(video, settings)
    assert first.signals_path.exists() and first.fps is not None
    again = analyse_video(video, settings)
    assert again.fps is None  # read back, not decoded
    assert again.analysis.cuts == first.analysis.cuts == [30]


class EveryTenth(KeyframeDetector):
    """A plugin detector: tweenlab's, but a cut on every tenth frame."""

    def analysis(self) -> Analysis:
        found = super().analysis()
        return replace(found, cuts=[int(f) for f in found.frames if f and f % 10 == 0])


def test_a_registered_detector_serves_the_analysis(tmp_path: Path, settings: Settings) -> None:
    """``keyframe_detectors`` is where the analysis gets its detector: a plugin's findings are
    its own (kept apart from the default's), an unknown name is refused before decoding."""
    registry("keyframe_detectors").register("every-tenth", EveryTenth, replace=True)
    video = write_video(tmp_path / "two.mp4", shot(1, 30) + shot(2, 30, speed=4))
    plugged = analyse_video(video, settings, detector="every-tenth")
    assert plugged.analysis.cuts == [10, 20, 30, 40, 50]
    assert plugged.to_json()["detector"] == "every-tenth"
    default = analyse_video(video, settings)
    assert default.fps is not None and default.analysis.cuts == [30]  # not the plugin's file
    again = analyse_video(video, settings, detector="every-tenth")
    assert again.fps is None and again.analysis.cuts == plugged.analysis.cuts
    with pytest.raises(PluginError, match="no-such"):
        analyse_video(video, settings, detector="no-such")


def _eval_cuts() -> object:
    path = shared_file("../tools/eval_cuts.py")
    spec = importlib.util.spec_from_file_location("eval_cuts", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.shared_data
@pytest.mark.slow
def test_cuts_dev_scores_like_the_judge(settings: Settings) -> None:
    video = shared_file("cuts/cuts_dev.mp4")
    scorer = _eval_cuts()
    data = json.loads(shared_file("cuts/cuts_dev.gt.json").read_text())
    truth, segments = data["cuts"], data["segments"]  # the scorer's own loader leaks a file
    found = analyse_video(video, settings).analysis
    score = scorer.score(truth, segments, found.boundaries, 2)  # type: ignore[attr-defined]
    hard = [g for g in truth if g["type"] == "hard"]
    pairs = scorer.match(hard, sorted(found.cuts), 2)  # type: ignore[attr-defined]
    precision = len(pairs) / max(len(found.cuts), 1)
    recall = len(pairs) / len(hard)
    assert 2 * precision * recall / (precision + recall) >= 0.98
    dissolves = score["by_type"]["dissolve"]
    assert dissolves["found"] / dissolves["n"] >= 0.9
    assert score["fp_in_fast_motion_segments"] == 0


def _write_timed(path: Path, frames: list[np.ndarray], ticks: list[int]) -> Path:
    """``frames`` encoded (libx264) at presentation times ``ticks`` in 1/25 s: a VFR file."""
    with av.open(str(path), mode="w") as output:
        stream = output.add_stream("libx264", rate=25, options={"crf": "18", "bf": "0"})
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for image, tick in zip(frames, ticks, strict=True):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = tick, Fraction(1, 25)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return path


def test_a_vfr_video_is_analysed_by_frame_index_not_time_times_rate(
    tmp_path: Path, settings: Settings
) -> None:
    """Frames 0-19 come every 40 ms, 20-39 every 120 ms, then a cut to another shot (frames
    40-59, every 40 ms): the cut is at index 40 (at 3.2 s, where time x 25 fps says 80), and the
    every-second policy picks the first frame at or after each second from the index's times."""
    frames = [*shot(1, 40), *shot(2, 20)]
    ticks = [*range(20), *range(20, 80, 3), *range(80, 100)]
    video = _write_timed(tmp_path / "vfr.mp4", frames, ticks)
    found = analyse_video(video, settings).analysis
    assert len(found.frames) == 60
    assert [c for c in found.cuts if abs(c - 40) <= 1], found.cuts
    assert all(c < 60 for c in found.boundaries)
    seconds = [t / 25 for t in ticks]
    expected = [next(i for i, s in enumerate(seconds) if s >= whole) for whole in range(4)]
    assert expected == [0, 22, 30, 39]  # the file as designed
    timed = analyse_video(video, settings, every_seconds=Fraction(1)).analysis
    assert set(expected) <= set(timed.suggested), timed.suggested


def test_the_first_sharp_frame_after_a_cut_is_suggested_not_a_blurred_one(
    tmp_path: Path, settings: Settings
) -> None:
    """The new shot's first two frames are blurred (a camera settling): the cut is found where it
    is, and the suggestion for the shot is its first sharp frame."""
    second = shot(2, 30)
    blurred = [cv2.GaussianBlur(f, (0, 0), 6) for f in second[:2]]
    video = write_video(tmp_path / "blur.mp4", [*shot(1, 30), *blurred, *second[2:]])
    found = analyse_video(video, settings).analysis
    assert [c for c in found.cuts if abs(c - 30) <= 1], found.cuts
    after = [f for f in found.suggested if 28 <= f <= 38]
    assert after == [32], found.suggested
