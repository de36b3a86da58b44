"""Keyframe analysis of real files: bad input (one frame, all black, a corrupt packet, a size
change mid-stream, no usable size) and the shared cut test video scored like eval_cuts.py."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import shared_file
from tests.keyframes.scenes import shot, write_video
from tests.media.videos import make_absurd_dimensions, make_corrupt_middle, make_video
from tweenlab.errors import MediaError
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
    json.dumps(result.to_json())


def test_resolution_change_mid_stream(tmp_path: Path, settings: Settings) -> None:
    first = write_video(tmp_path / "a.ts", shot(1, 30))
    narrow = [np.ascontiguousarray(f[:, :96]) for f in shot(2, 30)]
    second = write_video(tmp_path / "b.ts", narrow, first=30)  # timestamps carry on
    joined = tmp_path / "joined.ts"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    try:
        found = analyse_video(joined, settings).analysis
    except MediaError as error:  # a clear error is acceptable; a crash is not
        assert str(joined) in str(error)
        return
    assert found.suggested and found.suggested[0] == int(found.frames[0])
    assert any(abs(c - 30) <= 2 for c in found.boundaries)


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
