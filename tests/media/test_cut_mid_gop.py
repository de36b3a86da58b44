"""A file cut between two keyframes by copying packets (``ffmpeg -c copy`` at a time that is
not a keyframe, a capture joined mid-stream): its first packets reference a keyframe it does
not hold, and no decoder shows them. Frame 0 is the first frame a decoder gives, so frame
numbers agree with FFmpeg's and with ground truth written one line per decoded frame."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from tests.media.videos import make_cut_mid_gop, make_video, read_stamp, read_video_stamps
from tweenlab.errors import UsageError
from tweenlab.media import VideoReader, build_index, needs_proxy, probe
from tweenlab.media.chunks import codec_config

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


# -- a copy trimmed by an edit list ------------------------------------------------------------
# ``ffmpeg -ss T -c copy`` keeps the whole GOP that T falls in and writes an edit list hiding the
# frames before T: the keyframe is in the file, discarded, and the decoder still decodes it to
# show the frames the list keeps. Here the first 10 frames (of a GOP of 25) are hidden.

HIDDEN, TRIM_GOP, TRIM_FRAMES = 10, 25, 60


@pytest.fixture
def trimmed(tmp_path: Path) -> Path:
    return _trimmed(tmp_path, bframes=2)


def _trimmed(tmp_path: Path, *, bframes: int) -> Path:
    whole = make_video(tmp_path / "whole.mp4", frames=TRIM_FRAMES, gop=TRIM_GOP, bframes=bframes)
    with av.open(str(whole)) as source, av.open(str(tmp_path / "trimmed.mp4"), "w") as target:
        video = source.streams.video[0]
        stream = target.add_stream_from_template(video)
        shift = round(HIDDEN / video.average_rate / video.time_base)
        for packet in source.demux(video):
            if packet.size:
                packet.pts, packet.dts = packet.pts - shift, packet.dts - shift
                packet.stream = stream
                target.mux(packet)
    return tmp_path / "trimmed.mp4"


def test_frames_an_edit_list_keeps_after_a_hidden_keyframe_are_frames(trimmed: Path) -> None:
    decoded = read_video_stamps(trimmed)
    assert decoded == list(range(HIDDEN, TRIM_FRAMES))  # what FFmpeg shows
    assert len(build_index(trimmed)) == len(decoded)  # 35 before: 15 shown frames dropped
    with VideoReader(trimmed, cache_mb=0) as reader:
        order = [30, 0, 14, 3, len(reader) - 1, 1, 20, 13]  # seeks back into the hidden GOP
        assert [read_stamp(reader[n]) for n in order] == [HIDDEN + n for n in order]
        assert [read_stamp(f.image) for f in reader.read_range(0, len(reader))] == decoded
        assert reader.errors == []


def test_a_copy_trimmed_mid_gop_gets_a_proxy_and_is_not_served_in_chunks(tmp_path: Path) -> None:
    """No B-frames and a GOP of 25: nothing else asks for a proxy. The editor's chunks start at
    keyframes, so the frames before the first visible one were in no chunk (an audit)."""
    video = _trimmed(tmp_path, bframes=0)
    info = probe(video)
    assert info.keyframes.first == TRIM_GOP - HIDDEN
    assert needs_proxy(info)
    with pytest.raises(UsageError, match="edit list hides") as refused:
        codec_config(video, build_index(video))
    assert str(tmp_path) not in str(refused.value)  # the server quotes it: the name alone
