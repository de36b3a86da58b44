"""A file cut between two keyframes by copying packets (``ffmpeg -c copy`` at a time that is
not a keyframe, a capture joined mid-stream): its first packets reference a keyframe it does
not hold, and no decoder shows them. Frame 0 is the first frame a decoder gives, so frame
numbers agree with FFmpeg's and with ground truth written one line per decoded frame."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media.videos import make_cut_mid_gop, make_video, read_stamp, read_video_stamps
from tweenlab.media import VideoReader, build_index

GOP, DROP, FRAMES = 12, 5, 36


@pytest.fixture
def cut(tmp_path: Path) -> Path:
    whole = make_video(tmp_path / "whole.mp4", frames=FRAMES, gop=GOP)
    return make_cut_mid_gop(whole, tmp_path / "cut.mp4", drop=DROP)


def test_frames_before_the_first_keyframe_are_not_frames(cut: Path) -> None:
    decoded = read_video_stamps(cut)
    assert decoded == list(range(GOP, FRAMES))  # what FFmpeg shows: from the next keyframe on
    index = build_index(cut)
    assert len(index) == len(decoded)
    assert bool(index.keyframe[0])


def test_every_frame_reads_as_the_decoder_shows_it(cut: Path) -> None:
    with VideoReader(cut, cache_mb=0) as reader:
        assert [read_stamp(reader[n]) for n in (0, 7, len(reader) - 1)] == [
            GOP,
            GOP + 7,
            FRAMES - 1,
        ]
        assert [read_stamp(f.image) for f in reader.read_range(0, len(reader))] == list(
            range(GOP, FRAMES)
        )
        assert reader.errors == []
