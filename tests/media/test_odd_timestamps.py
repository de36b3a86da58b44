"""Timestamps a muxer got wrong in an intra-only stream (MJPEG in Matroska): one repeated, or
two swapped. Every packet decodes; frame n is the n-th frame the decoder gives, as FFmpeg shows
them, and none is reported lost (an audit found both reported as frames that cannot be decoded,
and the picture of another frame under a frame's number)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.media.videos import make_video, read_stamp, read_video_stamps
from tweenlab.media import VideoReader, build_index, split_video, write_proxy

FRAMES = 30
REPEATED = [0, 1, 2, 3, 4, 5, 5, *range(6, FRAMES - 1)]  # frame 6 stamped as frame 5
SWAPPED = [0, 1, 2, 3, 5, 4, 6, 7, 9, 8, *range(10, FRAMES)]  # 4 and 5, 8 and 9 swapped


def _odd(folder: Path, table: list[int]) -> Path:
    """An MJPEG in Matroska of ``FRAMES`` stamped frames, its packets restamped by ``table``."""
    intra = make_video(folder / "intra.mkv", frames=FRAMES, codec="mjpeg", pix_fmt="yuvj420p")
    return _restamped(intra, folder / "odd.mkv", table)


def _restamped(source: Path, target: Path, table: list[int]) -> Path:
    """``source``'s packets copied into ``target`` with packet ``i`` stamped ``table[i]``
    frames (decode times left rising, as a muxer writes them)."""
    with av.open(str(source)) as inp, av.open(str(target), "w") as out:
        video = inp.streams.video[0]
        stream = out.add_stream_from_template(video)
        step = round(1 / (video.average_rate * video.time_base))
        for i, packet in enumerate(p for p in inp.demux(video) if p.size):
            packet.pts, packet.dts = table[i] * step, (i - 1) * step
            packet.stream = stream
            out.mux(packet)
    return target


@pytest.mark.parametrize("table", [REPEATED, SWAPPED], ids=["repeated", "swapped"])
def test_every_frame_reads_in_the_order_the_decoder_gives_it(
    tmp_path: Path, table: list[int]
) -> None:
    odd = _odd(tmp_path, table)
    assert read_video_stamps(odd) == list(range(FRAMES))  # what FFmpeg shows
    assert len(build_index(odd)) == FRAMES
    with VideoReader(odd, cache_mb=0) as reader:
        assert [read_stamp(f.image) for f in reader.read_range(0, FRAMES)] == list(range(FRAMES))
        for n in (9, 5, 6, 4, 8, 0, 29):  # by seeking, too
            assert read_stamp(reader[n]) == n, f"frame {n}"
        assert reader.errors == []


def test_a_repeated_timestamp_moves_on_a_tick_as_a_time_and_the_proxy_is_written(
    tmp_path: Path,
) -> None:
    odd = _odd(tmp_path, REPEATED)
    index = build_index(odd)
    assert (np.diff(index.pts) > 0).all()  # every frame its own time
    assert index.tags[6] == index.tags[5]  # what the decoder gives stays
    write_proxy(odd, tmp_path / "proxy.mp4")  # its encoder refused the repeated time
    assert read_video_stamps(tmp_path / "proxy.mp4") == list(range(FRAMES))


@pytest.mark.parametrize("table", [REPEATED, SWAPPED], ids=["repeated", "swapped"])
def test_split_reencodes_a_clip_whose_timestamps_do_not_rise(
    tmp_path: Path, table: list[int]
) -> None:
    odd = _odd(tmp_path, table)
    clips = split_video(odd, tmp_path / "clips", [15])  # every frame a keyframe: copies, else
    assert [c.method for c in clips] == ["reencode", "copy"]  # the muxer refused the first
    assert [s for c in clips for s in read_video_stamps(c.path)] == list(range(FRAMES))
