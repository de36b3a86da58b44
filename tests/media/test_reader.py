"""Frame-exact reading: the index and ``VideoReader`` on generated and real videos."""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from tests.conftest import shared_file
from tests.media.videos import _remux, make_video, read_stamp
from tweenlab.media import FrameIndex, VideoReader, build_index, probe, write_proxy
from tweenlab.media.derived import DerivedFiles

VFR_PTS = [sum([33, 40, 17, 100][: i % 4]) + 190 * (i // 4) for i in range(40)]

CASES: dict[str, dict[str, Any]] = {
    "cfr": {"frames": 60},
    "vfr": {"frames": 40, "time_base": Fraction(1, 1000), "pts": VFR_PTS},
    "bframes": {"frames": 60, "bframes": 2},
    "start-time": {"frames": 50, "start_pts": 75},
    "rotation-90": {"frames": 30, "rotation": 90},
    "rotation-270": {"frames": 30, "rotation": -90},
    "odd-size": {"frames": 30, "width": 67, "height": 37, "pix_fmt": "yuv444p"},
    "long-gop": {"frames": 600, "width": 64, "height": 48, "gop": 250},
    "all-intra": {"frames": 40, "gop": 1},
    "msmpeg4-avi": {"frames": 60, "codec": "msmpeg4", "suffix": ".avi"},
    # FFmpeg's AVI muxer stamps B-frames with their decode time plus one (pts = dts + 1)
    "bframes-avi": {"frames": 60, "bframes": 3, "suffix": ".avi"},
    # MPEG-TS seeks land on the keyframe after the time asked for, never before it
    "mpegts": {"frames": 90, "gop": 30, "bframes": 2, "suffix": ".ts"},
}


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reader-videos")
    made = {}
    for name, case in CASES.items():
        options = dict(case)
        suffix = options.pop("suffix", ".mp4")
        made[name] = make_video(folder / f"{name}{suffix}", **options)
    return made


def _unrotate(image: np.ndarray, rotation: int) -> np.ndarray:
    return np.rot90(image, k=-(rotation % 360) // 90) if rotation % 360 else image


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_random_access_returns_exactly_frame_n(videos: dict[str, Path], case: str) -> None:
    path = videos[case]
    rotation = CASES[case].get("rotation", 0)
    with VideoReader(path, cache_mb=0) as reader:
        assert len(reader) == CASES[case]["frames"]
        order = list(range(len(reader)))
        random.Random(case).shuffle(order)
        for n in [*order[:40], 0, len(reader) - 1, 0]:
            assert read_stamp(_unrotate(reader[n], rotation)) == n, f"{case}: frame {n}"


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_sequential_read_yields_every_frame_in_order(videos: dict[str, Path], case: str) -> None:
    rotation = CASES[case].get("rotation", 0)
    with VideoReader(videos[case]) as reader:
        stamps = [read_stamp(_unrotate(f.image, rotation)) for f in reader]
        indices = [f.index for f in reader.read_range(3, 30, 4)]
    assert stamps == list(range(CASES[case]["frames"]))
    assert indices == list(range(3, 30, 4))


@pytest.mark.parametrize("case", ["cfr", "bframes", "long-gop"], ids=str)
def test_read_range_with_step_matches_random_access(videos: dict[str, Path], case: str) -> None:
    with VideoReader(videos[case], cache_mb=0) as reader:
        stepped = {f.index: f.image for f in reader.read_range(1, len(reader), 7)}
        for n in sorted(stepped, reverse=True)[:6]:
            assert np.array_equal(reader[n], stepped[n])


def test_vfr_index_keeps_each_frames_own_time(videos: dict[str, Path]) -> None:
    index = build_index(videos["vfr"])
    assert index.all_seconds() == [Fraction(p, 1000) for p in VFR_PTS]
    info = probe(videos["vfr"], index=index)
    assert info.vfr
    assert index.frame_at(Fraction(75, 1000)) == VFR_PTS.index(90)  # first frame at/after 75 ms
    assert index.frame_at(Fraction(73, 1000)) == VFR_PTS.index(73)


def test_probe_reports_start_time_rotation_and_gop(videos: dict[str, Path]) -> None:
    assert probe(videos["start-time"]).start_time == 3
    assert probe(videos["cfr"]).start_time == 0
    assert probe(videos["rotation-90"]).rotation == 90
    assert probe(videos["rotation-90"]).display_size == (96, 160)
    assert probe(videos["rotation-270"]).rotation == 270
    long_gop = probe(videos["long-gop"])
    assert (long_gop.keyframes.count, long_gop.keyframes.max_interval) == (3, 250)
    assert probe(videos["all-intra"]).keyframes.max_interval == 1
    cfr = probe(videos["cfr"])
    assert (cfr.frame_rate, cfr.average_rate, cfr.vfr) == (25, 25, False)
    assert cfr.duration == Fraction(60, 25)
    assert (probe(videos["odd-size"]).width, probe(videos["odd-size"]).height) == (67, 37)


def test_bframe_video_really_reorders(videos: dict[str, Path]) -> None:
    index = build_index(videos["bframes"])
    assert not np.array_equal(index.decode_order, np.arange(len(index)))


def test_downscaled_output_is_scaled_in_the_decoder(videos: dict[str, Path]) -> None:
    with VideoReader(videos["cfr"], size=(80, 48)) as reader:
        image = reader[17]
    assert image.shape == (48, 80, 3)
    assert read_stamp(image) == 17


@pytest.mark.parametrize(
    ("case", "size"),
    [("cfr", (80, 48)), ("cfr", (78, 46)), ("rotation-90", (48, 80)), ("odd-size", (32, 18))],
    ids=["planes-averaged", "size-not-by-4", "rotated", "not-420"],
)
def test_fast_reading_matches_the_plain_one(
    videos: dict[str, Path], case: str, size: tuple[int, int]
) -> None:
    """``fast=True`` (no deblocking, planes averaged by OpenCV) gives nearly the same frames."""
    rotation = CASES[case].get("rotation", 0)
    with VideoReader(videos[case], size=size, cache_mb=0) as plain:
        expected = [f.image for f in plain.read_range(0, 20)]
    with VideoReader(videos[case], size=size, cache_mb=0, fast=True) as fast:
        got = [f.image for f in fast.read_range(0, 20)]
    assert [g.shape for g in got] == [e.shape for e in expected]
    assert got[0].shape == (size[1], size[0], 3)  # the size asked for, rotated videos too
    difference = np.mean(
        [np.abs(g.astype(int) - e.astype(int)).mean() for g, e in zip(got, expected, strict=True)]
    )
    assert difference < 6.0
    assert read_stamp(_unrotate(got[17], rotation)) == 17


def test_cache_serves_backward_steps_without_seeking(videos: dict[str, Path]) -> None:
    with VideoReader(videos["long-gop"]) as reader:
        reader[400]
        seeks = _count_seeks(reader)
        for n in range(399, 380, -1):
            assert read_stamp(reader[n]) == n
        assert seeks() == 0


def test_warm_decoder_continues_forward_without_seeking(videos: dict[str, Path]) -> None:
    with VideoReader(videos["long-gop"], cache_mb=0) as reader:
        reader[260]
        seeks = _count_seeks(reader)
        for n in (262, 270, 300, 330):
            assert read_stamp(reader[n]) == n
        assert seeks() == 0
        assert read_stamp(reader[5]) == 5
        assert seeks() == 1


def _count_seeks(reader: VideoReader) -> Any:
    container = reader._container
    calls = []
    original = container.seek

    class Spy:
        def __getattr__(self, name: str) -> Any:
            return getattr(container, name)

        def seek(self, *args: Any, **kwargs: Any) -> Any:
            calls.append(args)
            return original(*args, **kwargs)

    reader._container = Spy()  # type: ignore[assignment]
    return lambda: len(calls)


def test_index_is_saved_once_and_reused(videos: dict[str, Path], tmp_path: Path) -> None:
    derived = DerivedFiles(tmp_path)
    first = derived.index(videos["bframes"])
    saved = derived.folder(videos["bframes"]) / "index.npz"
    assert saved.exists()
    again = FrameIndex.load(saved, videos["bframes"])
    assert again is not None
    assert np.array_equal(again.pts, first.pts) and np.array_equal(again.tags, first.tags)
    assert np.array_equal(again.keyframe, first.keyframe) and again.time_base == first.time_base
    assert [p.name for p in saved.parent.iterdir()] == ["index.npz"]


@pytest.mark.parametrize("case", ["long-gop", "bframes", "msmpeg4-avi", "odd-size"], ids=str)
def test_proxy_has_the_same_frames(videos: dict[str, Path], tmp_path: Path, case: str) -> None:
    source = videos[case]
    proxy = tmp_path / "proxy.mp4"
    proxy_index = write_proxy(source, proxy)
    assert len(proxy_index) == len(build_index(source))
    assert proxy_index.keyframe_indices()[1] <= 8
    with VideoReader(source, proxy=proxy, cache_mb=0) as reader:
        for n in random.Random(1).sample(range(len(reader)), 15):
            assert read_stamp(reader[n]) == n
    assert sorted(p.name for p in tmp_path.iterdir()) == ["proxy.mp4"]


# full-range sources: an MJPEG, H.264 as phones write it (yuvj420p), RGB
FULL_RANGE: dict[str, dict[str, Any]] = {
    "mjpeg-avi": {"codec": "mjpeg", "suffix": ".avi"},
    "yuvj420p-h264": {"pix_fmt": "yuvj420p"},
    "rgb-h264": {"codec": "libx264rgb", "pix_fmt": "rgb24", "suffix": ".mkv"},
}


@pytest.mark.parametrize("case", list(FULL_RANGE), ids=list(FULL_RANGE))
def test_proxy_of_a_full_range_source_keeps_its_levels(tmp_path: Path, case: str) -> None:
    options = dict(FULL_RANGE[case])
    source = make_video(tmp_path / f"source{options.pop('suffix', '.mp4')}", frames=12, **options)
    proxy = tmp_path / "proxy.mp4"
    write_proxy(source, proxy)
    want, got = np.stack(_decode_all(source)), np.stack(_decode_all(proxy))
    assert np.abs(want.astype(int) - got).mean() < 2.5  # 4.3 with crushed blacks, 0.7-1.4 now


def test_proxy_of_a_1x1_video_is_2x2(tmp_path: Path) -> None:
    source = tmp_path / "dot.mkv"  # FFV1: browsers cannot decode it, so it gets a proxy
    with av.open(str(source), "w") as container:
        stream = container.add_stream("ffv1", rate=25)
        stream.width = stream.height = 1
        for n in range(10):
            rgb = np.full((1, 1, 3), 20 * n, np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode(None))
    proxy = tmp_path / "proxy.mp4"
    assert len(write_proxy(source, proxy)) == 10  # rounded down to 0x0 before
    with VideoReader(proxy, cache_mb=0) as reader:
        assert reader[9].shape == (2, 2, 3)
        assert abs(int(reader[9].mean()) - 180) < 4


# -- real footage ------------------------------------------------------------------------------

REAL = [
    "clips/vtest.avi",
    "clips/bgs-traffic-topdown.avi",
    "clips/box.mp4",
    "clips/bikes.mp4",
    "clips/two-people-1080p.mp4",
]


def _decode_all(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


@pytest.mark.shared_data
@pytest.mark.parametrize("relative", REAL, ids=[Path(r).name for r in REAL])
def test_real_clip_random_access_equals_full_decode(relative: str) -> None:
    path = shared_file(relative)
    decoded = _decode_all(path)
    with VideoReader(path, cache_mb=16) as reader:
        assert len(reader) == len(decoded) == probe(path).frame_count
        order = random.Random(relative).sample(range(len(reader)), min(25, len(reader)))
        for n in order:
            assert np.array_equal(reader[n], decoded[n]), f"{relative}: frame {n}"


@pytest.mark.shared_data
def test_real_clip_in_mpegts_reads_every_frame(tmp_path: Path) -> None:
    """bikes.mp4 remuxed into MPEG-TS (as broadcast and many cameras write): its first shot
    (frames 0-29, before the second keyframe) and every later frame come back exactly."""
    path = _remux(shared_file("clips/bikes.mp4"), tmp_path / "bikes.ts")
    decoded = _decode_all(path)
    with VideoReader(path, cache_mb=0) as reader:
        assert len(reader) == len(decoded) == 250
        order = [0, 29, 80, 31, 249, 5, *random.Random(7).sample(range(250), 20)]
        for n in order:
            assert np.array_equal(reader[n], decoded[n]), f"bikes.ts: frame {n}"


@pytest.mark.shared_data
def test_decode_order_timestamps_are_put_in_presentation_order() -> None:
    """box.mp4 stamps B-frames with decode timestamps; frame n is still the n-th shown."""
    path = shared_file("clips/box.mp4")
    index = build_index(path)
    assert not np.array_equal(index.tags, index.pts)
    assert len(index) == 455  # one packet of the 456 is discarded by the edit list


def test_a_frame_the_decoder_drops_is_reported_and_the_pass_goes_on(
    videos: dict[str, Path],
) -> None:
    """Frame 10 never comes out of the decoder: it is listed in errors, the rest still flow."""
    with VideoReader(videos["long-gop"], cache_mb=0) as reader:
        original = reader._decode

        def dropping() -> Any:
            return ((i, f) for i, f in original() if i != 10)

        reader._decode = dropping  # type: ignore[method-assign]
        reader[0]
        seeks = _count_seeks(reader)
        got = [f.index for f in reader.read_range(1, 20)]
        assert got == [n for n in range(1, 20) if n != 10]
        assert seeks() == 0, "the warm decoder must carry on past the missing frame"
        assert [e.frame for e in reader.errors] == [10]
        assert "frame 10" in str(reader.errors[0])
