"""Checks of the stamped test videos in :mod:`tests.media.videos` and of the facts it documents."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate, cycle, islice, pairwise
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from tests.media.videos import (
    STAMP_MAX,
    make_absurd_dimensions,
    make_corrupt_middle,
    make_empty_file,
    make_text_as_mp4,
    make_truncated_data_cut,
    make_truncated_no_moov,
    make_unsupported_codec,
    make_video,
    read_stamp,
    read_video_stamps,
    stamp,
)

VFR_GAPS_MS = (33, 40, 17, 100, 25)
VFR_PTS_MS = [0, *accumulate(islice(cycle(VFR_GAPS_MS), 39))]
START_PTS = 75  # 3 s at 1/25

GOOD_CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "cfr": ("cfr.mp4", {}),
    "vfr": ("vfr.mp4", {"frames": 40, "time_base": Fraction(1, 1000), "pts": VFR_PTS_MS}),
    "bframes": ("bframes.mp4", {"bframes": 2}),
    "start": ("start.mp4", {"frames": 30, "start_pts": START_PTS}),
    "start_mkv": ("start.mkv", {"frames": 30, "start_pts": START_PTS}),
    "rotated": ("rotated.mp4", {"frames": 20, "rotation": 90}),
    "odd": ("odd.mp4", {"frames": 30, "width": 67, "height": 37, "pix_fmt": "yuv444p"}),
    "odd_mpeg4": ("odd_mpeg4.avi", {"frames": 30, "width": 67, "height": 37, "codec": "mpeg4"}),
    "long_gop": ("long_gop.mp4", {"frames": 600, "width": 64, "height": 48, "gop": 250}),
    "intra": ("intra.mp4", {"frames": 30, "gop": 1}),
    "msmpeg4": ("msmpeg4.avi", {"codec": "msmpeg4"}),
}


@dataclass(frozen=True)
class Probe:
    """What demuxing and decoding one file gave."""

    packets: list[tuple[int | None, int | None, bool]]  # (pts, dts, keyframe), decode order
    frames: list[tuple[int | None, int, int, int]]  # (pts, stamp, width, height), output order
    rotations: list[int]
    time_base: Fraction
    start_time: int | None
    container_start_time: int | None


def probe(path: Path) -> Probe:
    """Demux (packets with data only) and decode the first video stream of ``path``."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        packets = [
            (packet.pts, packet.dts, packet.is_keyframe)
            for packet in container.demux(stream)
            if packet.size
        ]
        time_base = stream.time_base
        start_time = stream.start_time
        container_start_time = container.start_time
    frames: list[tuple[int | None, int, int, int]] = []
    rotations: list[int] = []
    with av.open(str(path)) as container:
        for frame in container.decode(container.streams.video[0]):
            rgb = frame.to_ndarray(format="rgb24")
            frames.append((frame.pts, read_stamp(rgb), frame.width, frame.height))
            rotations.append(frame.rotation)
    assert time_base is not None
    return Probe(packets, frames, rotations, time_base, start_time, container_start_time)


@pytest.fixture(scope="session")
def good(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, int, Probe]]:
    """Every good case, written once: ``name -> (path, expected frames, probe)``."""
    folder = tmp_path_factory.mktemp("videos")
    out: dict[str, tuple[Path, int, Probe]] = {}
    for name, (filename, kwargs) in GOOD_CASES.items():
        path = make_video(folder / filename, **kwargs)
        frames = int(kwargs.get("frames", 60))
        out[name] = (path, frames, probe(path))
    return out


@pytest.mark.parametrize("name", sorted(GOOD_CASES))
def test_counts_and_stamps(good: dict[str, tuple[Path, int, Probe]], name: str) -> None:
    path, frames, result = good[name]
    assert len(result.packets) == frames
    assert len(result.frames) == frames
    assert [stamp_ for _, stamp_, _, _ in result.frames] == list(range(frames))
    pts = frame_pts(result)
    assert pts == sorted(pts)
    assert read_video_stamps(path) == list(range(frames))


def frame_pts(result: Probe) -> list[int]:
    """The decoded frames' pts, all of which must be set."""
    pts = [value for value, _, _, _ in result.frames]
    assert all(value is not None for value in pts)
    return [value for value in pts if value is not None]


def test_cfr_is_regular_without_bframes(good: dict[str, tuple[Path, int, Probe]]) -> None:
    _, _, result = good["cfr"]
    steps = {b - a for a, b in pairwise(frame_pts(result))}
    assert len(steps) == 1
    assert all(p == d for p, d, _ in result.packets)
    assert [k for k, (_, _, key) in enumerate(result.packets) if key] == [0, 12, 24, 36, 48]


def test_vfr_keeps_the_given_times(good: dict[str, tuple[Path, int, Probe]]) -> None:
    _, _, result = good["vfr"]
    seconds = [value * result.time_base for value in frame_pts(result)]
    assert seconds == [Fraction(ms, 1000) for ms in VFR_PTS_MS]


def test_bframes_reorder(good: dict[str, tuple[Path, int, Probe]]) -> None:
    _, _, result = good["bframes"]
    packet_pts = [pts for pts, _, _ in result.packets if pts is not None]
    assert packet_pts != sorted(packet_pts)  # decode order differs from presentation order
    assert any(pts != dts for pts, dts, _ in result.packets)


def test_no_bframes_unless_asked(good: dict[str, tuple[Path, int, Probe]]) -> None:
    for name in ("cfr", "start", "long_gop"):
        packet_pts = [pts for pts, _, _ in good[name][2].packets if pts is not None]
        assert packet_pts == sorted(packet_pts), name


@pytest.mark.parametrize("name", ["start", "start_mkv"])
def test_nonzero_start(good: dict[str, tuple[Path, int, Probe]], name: str) -> None:
    _, _, result = good[name]
    first = result.frames[0][0]
    assert first is not None
    assert first * result.time_base == 3
    assert result.start_time is not None
    assert result.start_time * result.time_base == 3
    assert result.container_start_time == 3_000_000


def test_rotation_reads_back(good: dict[str, tuple[Path, int, Probe]]) -> None:
    _, _, result = good["rotated"]
    assert set(result.rotations) == {90}
    assert {(w, h) for _, _, w, h in result.frames} == {(160, 96)}  # pixels stored unrotated
    assert set(good["cfr"][2].rotations) == {0}


def test_rotated_display_round_trip(good: dict[str, tuple[Path, int, Probe]]) -> None:
    path, _, _ = good["rotated"]
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            shown = np.rot90(frame.to_ndarray(format="rgb24"), k=frame.rotation // 90)
            assert shown.shape[:2] == (160, 96)
            assert read_stamp(np.rot90(shown, k=-frame.rotation // 90)) == index


@pytest.mark.parametrize("name", ["odd", "odd_mpeg4"])
def test_odd_size(good: dict[str, tuple[Path, int, Probe]], name: str) -> None:
    assert {(w, h) for _, _, w, h in good[name][2].frames} == {(67, 37)}


def test_odd_size_rejected_for_x264_420(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="yuv444p"):
        make_video(tmp_path / "odd.mp4", frames=2, width=67, height=37)


def test_long_gop_keyframes(good: dict[str, tuple[Path, int, Probe]]) -> None:
    keys = [k for k, (_, _, key) in enumerate(good["long_gop"][2].packets) if key]
    assert keys == [0, 250, 500]


def test_all_intra(good: dict[str, tuple[Path, int, Probe]]) -> None:
    assert all(key for _, _, key in good["intra"][2].packets)


def test_msmpeg4_avi(good: dict[str, tuple[Path, int, Probe]]) -> None:
    path, _, _ = good["msmpeg4"]
    with av.open(str(path)) as container:
        assert container.format.name == "avi"
        assert container.streams.video[0].codec_context.name == "msmpeg4"


# --- the stamp itself --------------------------------------------------------------------------


@pytest.mark.parametrize(("width", "height"), [(160, 96), (66, 38), (67, 37), (64, 32)])
def test_stamp_round_trip(width: int, height: int) -> None:
    for index in (0, 1, 2, 255, 256, 4095, 12345, STAMP_MAX):
        rgb = stamp(index, width, height)
        assert rgb.shape == (height, width, 3)
        assert rgb.dtype == np.uint8
        assert read_stamp(rgb) == index
        for k in (1, 2, 3):
            assert read_stamp(np.rot90(np.rot90(rgb, k), -k)) == index
    assert not np.array_equal(stamp(7, width, height), stamp(8, width, height))


def test_stamp_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        stamp(STAMP_MAX + 1, 160, 96)
    with pytest.raises(ValueError):
        stamp(-1, 160, 96)
    with pytest.raises(ValueError):
        stamp(0, 4, 2)


@pytest.mark.parametrize(("width", "height", "pix_fmt"), [(66, 38, "yuv420p"), (67, 37, "yuv444p")])
def test_stamp_survives_crf30_and_half_size(
    tmp_path: Path, width: int, height: int, pix_fmt: str
) -> None:
    frames = 60
    path = make_video(
        tmp_path / "q.mp4",
        frames=frames,
        width=width,
        height=height,
        crf=30,
        bframes=2,
        pix_fmt=pix_fmt,
    )
    with av.open(str(path)) as container:
        decoded = list(container.decode(video=0))
    assert len(decoded) == frames
    for index, frame in enumerate(decoded):
        assert read_stamp(frame.to_ndarray(format="rgb24")) == index
        half = frame.reformat(width=width // 2, height=height // 2, format="rgb24")
        assert read_stamp(half.to_ndarray()) == index


def test_make_video_argument_checks(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="values"):
        make_video(tmp_path / "a.mp4", frames=3, pts=[0, 1])
    with pytest.raises(ValueError, match="increasing"):
        make_video(tmp_path / "b.mp4", frames=3, pts=[0, 2, 2])


# --- bad inputs: the documented PyAV behaviour ------------------------------------------------


@pytest.fixture(scope="session")
def source(good: dict[str, tuple[Path, int, Probe]]) -> Path:
    """The default 60-frame libx264 MP4 (moov at the end)."""
    return good["cfr"][0]


@pytest.mark.parametrize("maker", ["empty", "text", "no_moov"])
def test_unreadable_files_fail_on_open(tmp_path: Path, source: Path, maker: str) -> None:
    path = tmp_path / "bad.mp4"
    if maker == "empty":
        make_empty_file(path)
        assert path.stat().st_size == 0
    elif maker == "text":
        make_text_as_mp4(path)
    else:
        make_truncated_no_moov(source, path)
        assert path.read_bytes()[4:8] == b"ftyp"
        assert b"moov" not in path.read_bytes()
    with pytest.raises(av.error.InvalidDataError) as caught:
        av.open(str(path))
    assert caught.value.errno == 1094995529
    assert str(caught.value) == (
        f"[Errno 1094995529] Invalid data found when processing input: '{path}'"
    )


def test_no_moov_needs_moov_at_end(tmp_path: Path, source: Path) -> None:
    cut = make_truncated_data_cut(source, tmp_path / "faststart_cut.mp4")
    with pytest.raises(ValueError, match="moov"):
        make_truncated_no_moov(cut, tmp_path / "x.mp4")


def test_truncated_data_cut(tmp_path: Path, source: Path) -> None:
    path = make_truncated_data_cut(source, tmp_path / "cut.mp4")
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.frames == 60
        packets = [packet for packet in container.demux(stream) if packet.size]
        assert [packet.is_corrupt for packet in packets] == [False] * 36 + [True]
    frames = 0
    with av.open(str(path)) as container, pytest.raises(av.error.InvalidDataError) as caught:
        for _ in container.decode(video=0):
            frames += 1
    assert frames == 36
    assert str(caught.value) == (
        "[Errno 1094995529] Invalid data found when processing input: 'avcodec_send_packet()'"
    )


@pytest.mark.parametrize("name", ["cfr", "msmpeg4"])
def test_corrupt_middle(
    tmp_path: Path, good: dict[str, tuple[Path, int, Probe]], name: str
) -> None:
    src = good[name][0]
    path = make_corrupt_middle(src, tmp_path / f"corrupt{src.suffix}", 30)
    assert path.stat().st_size == src.stat().st_size
    assert path.read_bytes() != src.read_bytes()
    with av.open(str(path)) as container:
        assert not any(packet.is_corrupt for packet in container.demux(video=0))
    with av.open(str(path)) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 60
    corrupt = [index for index, frame in enumerate(frames) if frame.is_corrupt]
    stamps = [read_stamp(frame.to_ndarray(format="rgb24")) for frame in frames]
    if name == "cfr":
        assert corrupt == [30]
    else:
        assert corrupt == []
        assert stamps[30] != 30
    assert stamps[:30] == list(range(30))


def test_corrupt_middle_refuses_keyframes(tmp_path: Path, source: Path) -> None:
    with pytest.raises(ValueError, match="keyframe"):
        make_corrupt_middle(source, tmp_path / "x.mp4", 12)


def test_unsupported_codec(tmp_path: Path) -> None:
    path = make_unsupported_codec(tmp_path / "zzzz.avi")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.type == "video"
        assert stream.codec_context is None
        with pytest.raises(AttributeError, match="width"):
            _ = stream.width
        assert stream.frames == 12
        packets = [packet for packet in container.demux(stream) if packet.size]
        assert len(packets) == 12
        with pytest.raises(av.error.DecoderNotFoundError) as caught:
            packets[0].decode()
    assert caught.value.errno == 1128613112
    assert str(caught.value) == "[Errno 1128613112] Decoder not found"


@pytest.mark.parametrize("size", [0, 100000])
def test_absurd_dimensions(tmp_path: Path, size: int) -> None:
    path = make_absurd_dimensions(tmp_path / f"dims{size}.avi", width=size, height=size)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "msmpeg4"
        assert (stream.width, stream.height) == (0, 0)
        with pytest.raises(av.error.ArgumentError) as caught:
            next(container.decode(stream))
    assert caught.value.errno == 22
    assert str(caught.value) == "Invalid argument: 'avcodec_open2(\"msmpeg4\", {})' returned 22"
