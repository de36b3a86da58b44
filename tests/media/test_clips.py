"""Cutting videos into clips: frame counts add up, every frame is there once, pixels survive.

The stamped test videos carry each frame's index in its pixels, so concatenating the clips'
decoded stamps must give ``0..N-1`` exactly. Copied clips must decode to the very same pixels as
the source; re-encoded ones to nearly the same.
"""

from __future__ import annotations

import json
import logging
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from itertools import accumulate, cycle, islice
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest

import tweenlab.media.clips as clips_module
from tests.conftest import shared_file
from tests.media.videos import make_video, read_video_stamps
from tweenlab import services
from tweenlab.errors import MediaWriteError, UsageError
from tweenlab.media import Clip, FrameIndex, build_index, clip_ranges, split_video
from tweenlab.services import resolve_cuts
from tweenlab.settings import Settings

FRAMES = 72  # keyframes every 12 frames: 0, 12, 24, 36, 48, 60
MAX_REENCODE_DIFF = 3.0

VFR_GAPS_MS = (33, 40, 17, 100, 25)
VFR_PTS_MS = [0, *accumulate(islice(cycle(VFR_GAPS_MS), 39))]  # 40 frames, last at 1.695 s

Image = npt.NDArray[np.uint8]


def decoded(path: Path) -> Iterator[Image]:
    """Every frame of ``path`` as RGB, in presentation order, decoded straight with PyAV."""
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            yield frame.to_ndarray(format="rgb24")


def mean_abs_diff(a: Image, b: Image) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


def leftovers(folder: Path) -> list[str]:
    """Temporary files (``.name.*``) left in ``folder``."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --- clip_ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cuts", "count", "expected"),
    [
        ([], 10, [(0, 10)]),
        ([0], 10, [(0, 10)]),
        ([5], 10, [(0, 5), (5, 10)]),
        ([7, 3, 3, 0], 10, [(0, 3), (3, 7), (7, 10)]),
        ([9], 10, [(0, 9), (9, 10)]),
        ([1, 2, 3], 4, [(0, 1), (1, 2), (2, 3), (3, 4)]),
        ([300, 0, 900], 1000, [(0, 300), (300, 900), (900, 1000)]),
    ],
    ids=["none", "zero", "one", "unsorted_repeated", "last_frame", "every_frame", "docstring"],
)
def test_clip_ranges(cuts: list[int], count: int, expected: list[tuple[int, int]]) -> None:
    ranges = clip_ranges(cuts, count)
    assert ranges == expected
    assert sum(stop - start for start, stop in ranges) == count


@pytest.mark.parametrize(
    ("cuts", "count"),
    [([10], 10), ([3, 11], 10), ([-1], 10), ([1], 1)],
    ids=["at_count", "past_end", "negative", "single_frame_video"],
)
def test_clip_ranges_rejects_cuts_outside_the_video(cuts: list[int], count: int) -> None:
    with pytest.raises(UsageError, match="outside the video"):
        clip_ranges(cuts, count)


# --- split_video on stamped videos ---------------------------------------------------------


@dataclass(frozen=True)
class Split:
    source: Path
    index: FrameIndex
    out: Path
    clips: list[Clip]


# name -> (video, cuts, expected method of each clip)
SPLITS: dict[str, tuple[str, list[int], list[str]]] = {
    "on_keyframes": ("cfr", [12, 24, 48], ["copy"] * 4),
    "mixed": ("cfr", [12, 24, 30, 48], ["copy", "copy", "reencode", "reencode", "copy"]),
    "off_keyframes": ("cfr", [5, 40], ["reencode"] * 3),
    "bframes_on_keyframes": ("bframes", [24, 60], ["copy"] * 3),
    "bframes_mixed": (
        "bframes",
        [12, 24, 30, 48],
        ["copy", "copy", "reencode", "reencode", "copy"],
    ),
    "bframes_off_keyframes": ("bframes", [7, 50], ["reencode"] * 3),
    # MPEG-TS seeks land on the keyframe after the time asked for: the first clip lost its GOP
    "mpegts_on_keyframes": ("mpegts", [12, 24, 48], ["copy"] * 4),
    "mpegts_mixed": ("mpegts", [12, 24, 30, 48], ["copy", "copy", "reencode", "reencode", "copy"]),
}


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clip_sources")
    return {
        "cfr": make_video(folder / "cfr.mp4", frames=FRAMES, gop=12),
        "bframes": make_video(folder / "bframes.mp4", frames=FRAMES, gop=12, bframes=2),
        "mpegts": make_video(folder / "mpegts.ts", frames=FRAMES, gop=12, bframes=2),
    }


@pytest.fixture(scope="session")
def source_frames(videos: dict[str, Path]) -> dict[str, list[Image]]:
    return {name: list(decoded(path)) for name, path in videos.items()}


@pytest.fixture(scope="session")
def splits(tmp_path_factory: pytest.TempPathFactory, videos: dict[str, Path]) -> dict[str, Split]:
    out: dict[str, Split] = {}
    for name, (video, cuts, _) in SPLITS.items():
        source = videos[video]
        index = build_index(source)
        folder = tmp_path_factory.mktemp(f"split_{name}")
        out[name] = Split(source, index, folder, split_video(source, folder, cuts, index=index))
    return out


@pytest.mark.parametrize("case", list(SPLITS), ids=list(SPLITS))
def test_split_methods_and_ranges(splits: dict[str, Split], case: str) -> None:
    split = splits[case]
    _, cuts, methods = SPLITS[case]
    assert [clip.method for clip in split.clips] == methods
    starts = [clip.first_frame for clip in split.clips]
    assert starts == [0, *cuts]
    ends = [clip.last_frame + 1 for clip in split.clips]
    assert ends == [*cuts, FRAMES]
    assert sum(clip.frame_count for clip in split.clips) == FRAMES
    for clip in split.clips:
        assert clip.source == split.source
        assert clip.path.parent == split.out
        assert len(build_index(clip.path)) == clip.frame_count


@pytest.mark.parametrize("case", list(SPLITS), ids=list(SPLITS))
def test_split_stamps_concatenate_to_the_source(splits: dict[str, Split], case: str) -> None:
    stamps: list[int] = []
    for clip in splits[case].clips:
        clip_stamps = read_video_stamps(clip.path)
        assert clip_stamps == list(range(clip.first_frame, clip.last_frame + 1)), clip.path.name
        stamps += clip_stamps
    assert stamps == list(range(FRAMES))


@pytest.mark.parametrize("case", list(SPLITS), ids=list(SPLITS))
def test_split_pixels(
    splits: dict[str, Split], source_frames: dict[str, list[Image]], case: str
) -> None:
    original = source_frames[SPLITS[case][0]]
    for clip in splits[case].clips:
        frames = list(decoded(clip.path))
        assert len(frames) == clip.frame_count
        for offset, image in enumerate(frames):
            expected = original[clip.first_frame + offset]
            where = f"{clip.path.name} frame {clip.first_frame + offset}"
            if clip.method == "copy":
                assert np.array_equal(image, expected), where
            else:
                assert mean_abs_diff(image, expected) < MAX_REENCODE_DIFF, where


@pytest.mark.parametrize("case", list(SPLITS), ids=list(SPLITS))
def test_split_keeps_frame_timing(splits: dict[str, Split], case: str) -> None:
    split = splits[case]
    for clip in split.clips:
        times = build_index(clip.path).all_seconds()
        first = split.index.seconds(clip.first_frame)
        expected = [
            split.index.seconds(n) - first for n in range(clip.first_frame, clip.last_frame + 1)
        ]
        assert times == expected, clip.path.name


@pytest.mark.parametrize("case", list(SPLITS), ids=list(SPLITS))
def test_split_sidecars(splits: dict[str, Split], case: str) -> None:
    split = splits[case]
    for clip in split.clips:
        sidecar = json.loads(clip.path.with_suffix(".json").read_text())
        assert sidecar["clip"] == clip.path.name
        assert sidecar["source"] == str(split.source)
        assert sidecar["first_frame"] == clip.first_frame
        assert sidecar["last_frame"] == clip.last_frame
        assert sidecar["frame_count"] == clip.last_frame - clip.first_frame + 1
        assert sidecar["first_pts"] == int(split.index.pts[clip.first_frame])
        assert sidecar["last_pts"] == int(split.index.pts[clip.last_frame])
        assert Fraction(sidecar["time_base"]) == split.index.time_base
        assert sidecar["method"] == clip.method


@pytest.mark.parametrize("case", list(SPLITS), ids=list(SPLITS))
def test_split_leaves_only_clips_and_sidecars(splits: dict[str, Split], case: str) -> None:
    split = splits[case]
    expected = sorted(
        name for clip in split.clips for name in (clip.path.name, clip.path.stem + ".json")
    )
    assert sorted(p.name for p in split.out.iterdir()) == expected
    assert leftovers(split.out) == []
    assert [clip.path.name for clip in split.clips] == [
        f"{split.source.stem}_{k:04d}{split.source.suffix}" for k in range(len(split.clips))
    ]


# --- a lost frame in a re-encoded clip ---------------------------------------------------------


def zero_packet(src: Path, dst: Path, lost: int) -> Path:
    """Copy ``src`` with packet ``lost`` (decode order) zeroed: the decoder refuses it."""
    with av.open(str(src)) as source, av.open(str(dst), "w") as output:
        stream = output.add_stream_from_template(source.streams.video[0])
        packets = (packet for packet in source.demux(video=0) if packet.size)
        for number, packet in enumerate(packets):
            if number == lost:
                zeroed = av.Packet(bytes(packet.size))
                zeroed.pts, zeroed.dts, zeroed.time_base = packet.pts, packet.dts, packet.time_base
                packet = zeroed  # noqa: PLW2901
            packet.stream = stream
            output.mux(packet)
    return dst


def test_reencode_repeats_only_the_lost_frame(tmp_path: Path) -> None:
    source = make_video(tmp_path / "good.mkv", frames=40, gop=12)
    broken = zero_packet(source, tmp_path / "broken.mkv", 15)  # frame 15, no B-frames
    clips = split_video(broken, tmp_path / "clips", [5])
    assert [c.method for c in clips] == ["reencode", "reencode"]
    # frame 15 is replaced by its predecessor; the frames after it are their own
    assert read_video_stamps(clips[1].path) == [*range(5, 15), 14, *range(16, 40)]


@pytest.mark.parametrize(
    ("suffix", "options"),
    [(".mp4", {"pix_fmt": "yuvj420p"}), (".mkv", {"codec": "libx264rgb", "pix_fmt": "rgb24"})],
    ids=["yuvj420p", "rgb"],
)
def test_reencoded_clips_of_a_full_range_source_keep_its_levels(
    tmp_path: Path, suffix: str, options: dict[str, Any]
) -> None:
    source = make_video(tmp_path / f"full{suffix}", frames=24, gop=12, **options)
    clips = split_video(source, tmp_path / "clips", [5])  # both clips re-encoded from frame 5
    assert clips[1].method == "reencode"
    whole = _decoded_rgb(source)
    part = _decoded_rgb(clips[1].path)
    for n, got in enumerate(part, start=5):  # crushed blacks were 4-11 levels off
        assert np.abs(whole[n].astype(int) - got).mean() < 2.5, f"frame {n}"


def _decoded_rgb(path: Path) -> list[npt.NDArray[np.uint8]]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


# --- the real AVI (MS-MPEG4 v3) ---------------------------------------------------------------


@pytest.mark.shared_data
def test_split_real_avi(tmp_path: Path) -> None:
    source = shared_file("clips/vtest.avi")
    index = build_index(source)
    count = len(index)
    keys = [int(k) for k in index.keyframe_indices()]
    assert len(keys) >= 3, "vtest.avi should have several keyframes"
    on_key, last_key = keys[1], keys[-1]
    off_key = last_key + (count - last_key) // 2  # between the last keyframe and the end
    assert not index.keyframe[off_key]
    clips = split_video(source, tmp_path, [on_key, last_key, off_key], index=index)
    assert [c.method for c in clips] == ["copy", "copy", "reencode", "reencode"]
    assert [c.first_frame for c in clips] == [0, on_key, last_key, off_key]
    assert sum(c.frame_count for c in clips) == count
    assert all(c.path.suffix == ".avi" for c in clips)
    assert leftovers(tmp_path) == []

    originals = decoded(source)
    compared = 0
    for clip in clips:
        assert len(build_index(clip.path)) == clip.frame_count
        sidecar = json.loads(clip.path.with_suffix(".json").read_text())
        assert (sidecar["first_frame"], sidecar["last_frame"]) == (
            clip.first_frame,
            clip.last_frame,
        )
        frames = 0
        for image in decoded(clip.path):
            expected = next(originals)
            where = f"{clip.path.name} frame {clip.first_frame + frames}"
            if clip.method == "copy":
                assert np.array_equal(image, expected), where
            else:
                assert mean_abs_diff(image, expected) < MAX_REENCODE_DIFF, where
            frames += 1
        assert frames == clip.frame_count
        compared += frames
    assert compared == count
    assert next(originals, None) is None


# --- resolve_cuts on a VFR video ----------------------------------------------------------


@pytest.fixture(scope="session")
def vfr(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(
        tmp_path_factory.mktemp("vfr") / "vfr.mp4",
        frames=len(VFR_PTS_MS),
        time_base=Fraction(1, 1000),
        pts=VFR_PTS_MS,
    )


def first_shown_at_or_after(seconds: Fraction) -> int:
    """Brute force over the known pts: the first frame whose time is >= ``seconds``."""
    return next(i for i, ms in enumerate(VFR_PTS_MS) if Fraction(ms, 1000) >= seconds)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"every": Fraction(1, 2)}, [12, 24, 35]),
        ({"every": Fraction(1, 4)}, [7, 12, 19, 24, 29, 35]),
        ({"every": Fraction(2)}, []),
        ({"at": [Fraction(9, 100)]}, [3]),
        ({"at": [Fraction(1, 10)]}, [4]),
        ({"at": [Fraction(1, 3), Fraction(1, 5), Fraction(0), Fraction(1, 10)]}, [4, 5, 9]),
        ({"at": [Fraction(1695, 1000)]}, [39]),
        ({"frames": [17, 5, 5]}, [5, 17]),
    ],
    ids=[
        "every_half_second",
        "every_quarter_second",
        "every_longer_than_video",
        "at_exact_pts",
        "at_between_frames",
        "at_several_unsorted",
        "at_last_frame",
        "frames",
    ],
)
def test_resolve_cuts_on_vfr(vfr: Path, spec: dict[str, Any], expected: list[int]) -> None:
    index = build_index(vfr)
    assert index.all_seconds() == [Fraction(ms, 1000) for ms in VFR_PTS_MS]
    assert resolve_cuts(index, **spec) == expected
    if "frames" in spec:
        return
    # The table agrees with brute force over the known timestamps.
    last = Fraction(VFR_PTS_MS[-1], 1000)
    times = spec["at"] if "at" in spec else [spec["every"] * k for k in range(1, 8)]
    brute = {first_shown_at_or_after(t) for t in times if t <= last}
    assert sorted(brute - {0}) == expected


@pytest.mark.parametrize(
    "spec",
    [{}, {"every": Fraction(1), "frames": [3]}, {"every": Fraction(0)}, {"every": Fraction(-1)}],
    ids=["none", "two", "zero", "negative"],
)
def test_resolve_cuts_rejects_bad_specs(vfr: Path, spec: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        resolve_cuts(build_index(vfr), **spec)


@pytest.mark.parametrize(
    ("at", "shown"),
    [([Fraction(1696, 1000)], "1.696"), ([Fraction(1, 2), Fraction(9999)], "9999")],
    ids=["just_past", "far_past"],
)
def test_resolve_cuts_refuses_at_past_the_end_naming_it(
    vfr: Path, at: list[Fraction], shown: str
) -> None:
    with pytest.raises(
        UsageError, match=rf"--at {shown}: past the video's last frame \(at 1.695 s\)"
    ):
        resolve_cuts(build_index(vfr), at=at)


def test_resolve_cuts_every_shorter_than_a_frame_cuts_each_frame_once(vfr: Path) -> None:
    index = build_index(vfr)
    tracemalloc.start()
    try:
        cuts = resolve_cuts(index, every=Fraction(1, 100_000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert cuts == list(range(1, len(VFR_PTS_MS)))
    assert peak < 1_000_000, "every multiple of --every was built (169,500 here)"
    assert resolve_cuts(index, every=Fraction(1, 10**12)) == cuts  # 1.7e12 multiples


def test_split_service_on_vfr_cuts_at_first_frame_shown(
    vfr: Path, tmp_path: Path, settings: Settings
) -> None:
    times = [Fraction(1, 10), Fraction(1, 2)]
    clips = services.split(vfr, tmp_path / "clips", settings, at=times)
    assert [c.first_frame for c in clips] == [0, 4, 12]
    assert sum(c.frame_count for c in clips) == len(VFR_PTS_MS)
    stamps = [s for c in clips for s in read_video_stamps(c.path)]
    assert stamps == list(range(len(VFR_PTS_MS)))
    index = build_index(vfr)
    for clip, time in zip(clips[1:], times, strict=True):
        assert index.seconds(clip.first_frame) >= time
        assert index.seconds(clip.first_frame - 1) < time


# --- failed writes ---------------------------------------------------------------------------


def test_out_dir_is_a_file(videos: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "clips"
    out.write_text("not a folder")
    with pytest.raises(MediaWriteError) as caught:
        split_video(videos["cfr"], out, [12])
    assert str(out) in str(caught.value)
    assert out.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clips"]


class _FailingStream:
    """Wraps an encoder stream: ``encode`` raises an FFmpeg error after ``ok`` calls."""

    def __init__(self, stream: Any, ok: int) -> None:
        self._stream = stream
        self._ok = ok

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def encode(self, frame: Any = None) -> Any:
        if self._ok <= 0:
            raise av.error.ExternalError(5, "Input/output error")
        self._ok -= 1
        return self._stream.encode(frame)


@pytest.mark.parametrize(
    ("cuts", "failing_clip", "method"),
    [([12, 30], 1, "reencode"), ([12, 24], 1, "copy")],
    ids=["reencode", "copy"],
)
def test_failure_mid_clip_raises_media_write_error_and_leaves_no_partial_clip(
    videos: dict[str, Path],
    tmp_path: Path,
    *,
    monkeypatch: pytest.MonkeyPatch,
    cuts: list[int],
    failing_clip: int,
    method: str,
) -> None:
    source = videos["cfr"]
    calls = {"n": 0}
    if method == "reencode":
        real_encoder = clips_module._encoder

        def failing_encoder(*args: Any) -> Any:
            return _FailingStream(real_encoder(*args), ok=4)

        monkeypatch.setattr(clips_module, "_encoder", failing_encoder)
    else:
        real_shift = clips_module._shift

        def failing_shift(packet: Any, offset: int) -> None:
            calls["n"] += 1
            if calls["n"] > 12 + 4:  # the first clip's 12 packets, then 4 of the second
                raise av.error.InvalidDataError(1094995529, "Invalid data found")
            real_shift(packet, offset)

        monkeypatch.setattr(clips_module, "_shift", failing_shift)

    out = tmp_path / "clips"
    with pytest.raises(MediaWriteError) as caught:
        split_video(source, out, cuts)
    error = caught.value
    failed = out / f"{source.stem}_{failing_clip:04d}.mp4"
    assert error.path == failed
    assert isinstance(error.__cause__, av.error.FFmpegError)
    assert "\n" not in str(error)
    assert not failed.exists()
    assert not failed.with_suffix(".json").exists()
    # All the clips or none (since 2026-11-28): the clip before the failure, written into a
    # temporary folder beside ``out``, went with it; nothing is left anywhere.
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_clip_that_cannot_be_read_back_is_named_not_its_temporary_file(
    videos: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def copy_nothing(clip: Clip, index: FrameIndex, target: Path) -> None:
        del clip, index
        target.write_bytes(b"")

    monkeypatch.setattr(clips_module, "_copy_packets", copy_nothing)
    out = tmp_path / "clips"
    with pytest.raises(MediaWriteError, match="cannot be read back") as caught:
        split_video(videos["cfr"], out, [12])
    assert caught.value.path == out / "cfr_0000.mp4"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# --- sources whose container cannot hold H.264: clips in Matroska -----------------------------


# name -> (file, make_video arguments, cuts, expected method of each clip)
MKV_SPLITS: dict[str, tuple[str, dict[str, Any], list[int], list[str]]] = {
    "webm_vp8": ("vp8.webm", {"codec": "libvpx"}, [12, 30], ["copy", "reencode", "reencode"]),
    "webm_vp9": ("vp9.webm", {"codec": "libvpx-vp9"}, [12, 24], ["copy"] * 3),
    # Matroska does not take GIF's packets: every clip is re-encoded
    "gif": ("anim.gif", {"codec": "gif", "pix_fmt": "rgb8"}, [], ["reencode"]),
    "no_suffix": ("video", {"container_format": "mp4"}, [12, 30], ["copy", "reencode", "reencode"]),
}


@pytest.mark.parametrize("case", list(MKV_SPLITS), ids=list(MKV_SPLITS))
def test_split_writes_mkv_clips_for_other_containers(tmp_path: Path, case: str) -> None:
    name, options, cuts, methods = MKV_SPLITS[case]
    source = make_video(tmp_path / name, frames=36, gop=12, **options)
    clips = split_video(source, tmp_path / "clips", cuts)
    assert [c.method for c in clips] == methods
    assert [c.path.name for c in clips] == [f"{source.stem}_{k:04d}.mkv" for k in range(len(clips))]
    stamps = [s for c in clips for s in read_video_stamps(c.path)]
    assert stamps == list(range(36))
    sidecar = json.loads(clips[0].path.with_suffix(".json").read_text())
    assert sidecar["clip"] == clips[0].path.name


# --- a clip spanning a change of frame size -----------------------------------------------------


def make_size_change(folder: Path) -> Path:
    """An H.264 MPEG-TS: 12 frames 160x96 (stamps 0-11), then 12 frames 320x192 (stamps 0-11)."""
    small = make_video(folder / "small.ts", frames=12, gop=12)
    large = make_video(folder / "large.ts", frames=12, gop=12, width=320, height=192)
    target = folder / "resized.ts"
    with av.open(str(small)) as first, av.open(str(target), "w", format="mpegts") as output:
        stream = output.add_stream_from_template(first.streams.video[0])
        shift = 0
        for part in (small, large):
            with av.open(str(part)) as source:
                for packet in source.demux(video=0):
                    if not packet.size:
                        continue
                    assert packet.pts is not None
                    assert packet.dts is not None
                    packet.pts += shift
                    packet.dts += shift
                    packet.stream = stream
                    output.mux(packet)
            shift = 12 * 3600  # 12 frames of 1/25 s in MPEG-TS's 90 kHz
    return target


def test_a_clip_spanning_a_size_change_is_scaled_and_said_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = make_size_change(tmp_path)
    with caplog.at_level(logging.WARNING, logger="tweenlab.media.clips"):
        clips = split_video(source, tmp_path / "clips", [6])
    assert [c.method for c in clips] == ["reencode", "reencode"]
    with av.open(str(clips[1].path)) as clip:
        sizes = {(f.width, f.height) for f in clip.decode(video=0)}
    assert sizes == {(160, 96)}
    warned = [r.getMessage() for r in caplog.records if r.name == "tweenlab.media.clips"]
    assert warned == [
        f"{source}, frame 12: 320x192, scaled to 160x96 in resized_0001.ts "
        "(the video changes size inside the clip)"
    ]
