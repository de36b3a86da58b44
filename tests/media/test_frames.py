"""Extracting frames and filmstrips: the right frames, readable images, manifests that agree.

Frames of the stamped test videos carry their index in their pixels, so every image says which
frame it really is; PNG is lossless, so those images must equal the reader's frames exactly.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict
from fractions import Fraction
from itertools import accumulate, cycle, islice
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from tests.media.videos import make_video, read_stamp
from tweenlab import services
from tweenlab.core.time import FrameSelection
from tweenlab.errors import MediaWriteError, UsageError
from tweenlab.media import VideoReader, build_index, extract_frames, make_filmstrip
from tweenlab.settings import Settings

FRAMES = 60  # CFR, 25 fps: frame i at i/25 s, the last at 2.36 s
WIDTH, HEIGHT = 160, 96
VFR_GAPS_MS = (33, 40, 17, 100, 25)
VFR_PTS_MS = [0, *accumulate(islice(cycle(VFR_GAPS_MS), 39))]  # 40 frames, the last at 1.695 s

Rgb = npt.NDArray[np.uint8]


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("frame_sources")
    return {
        "cfr": make_video(folder / "cfr.mp4", frames=FRAMES, width=WIDTH, height=HEIGHT),
        "vfr": make_video(
            folder / "vfr.mp4",
            frames=len(VFR_PTS_MS),
            width=WIDTH,
            height=HEIGHT,
            time_base=Fraction(1, 1000),
            pts=VFR_PTS_MS,
        ),
    }


def times_of(video: str) -> list[Fraction]:
    if video == "cfr":
        return [Fraction(i, 25) for i in range(FRAMES)]
    return [Fraction(ms, 1000) for ms in VFR_PTS_MS]


def pillow_rgb(path: Path) -> Rgb:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*"))


# --- extract_frames and its manifests ------------------------------------------------------


@pytest.mark.parametrize(
    ("video", "wanted", "expected"),
    [
        ("cfr", [0, 7, 12, 59, 30, 7], [0, 7, 12, 30, 59]),
        ("cfr", [-1], [59]),
        ("vfr", [3, 4, 39, 25], [3, 4, 25, 39]),
    ],
    ids=["cfr_unsorted_repeated", "cfr_negative", "vfr"],
)
def test_extract_png_frames_and_manifests(
    videos: dict[str, Path], tmp_path: Path, video: str, wanted: list[int], expected: list[int]
) -> None:
    source = videos[video]
    index = build_index(source)
    out = tmp_path / "frames"
    rows = extract_frames(source, out, wanted, index=index, image_format="png")
    assert [row.frame for row in rows] == expected

    with VideoReader(source, index=index) as reader:
        for row in rows:
            image = pillow_rgb(out / row.file)
            assert read_stamp(image) == row.frame
            assert np.array_equal(image, reader[row.frame]), "PNG must be lossless"
            assert row.file == f"{source.stem}_{row.frame:06d}.png"
            assert row.video == source.name
            assert row.pts == int(index.pts[row.frame])
            assert row.seconds == float(times_of(video)[row.frame])

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest == [asdict(row) for row in rows]
    with (out / "manifest.csv").open(newline="") as handle:
        table = list(csv.DictReader(handle))
    assert list(table[0]) == ["video", "frame", "pts", "seconds", "file"]
    as_read = [
        {
            "video": r["video"],
            "frame": int(r["frame"]),
            "pts": int(r["pts"]),
            "seconds": float(r["seconds"]),
            "file": r["file"],
        }
        for r in table
    ]
    assert as_read == manifest
    images = sorted(p.name for p in out.iterdir() if p.suffix == ".png")
    assert images == sorted(row.file for row in rows)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*images, "manifest.csv", "manifest.json"]
    )
    assert leftovers(out) == []


def test_extract_scaled(videos: dict[str, Path], tmp_path: Path) -> None:
    rows = extract_frames(videos["cfr"], tmp_path, [5, 50], image_format="png", size=(80, 48))
    for row in rows:
        image = pillow_rgb(tmp_path / row.file)
        assert image.shape == (48, 80, 3)
        assert read_stamp(image) == row.frame


@pytest.mark.parametrize(
    ("image_format", "pillow_format", "max_diff"),
    [("jpg", "JPEG", 4.0), ("png", "PNG", 0.0), ("webp", "WEBP", 6.0)],
    ids=["jpg", "png", "webp"],
)
def test_image_formats_are_readable(
    videos: dict[str, Path], tmp_path: Path, image_format: str, pillow_format: str, max_diff: float
) -> None:
    source = videos["cfr"]
    rows = extract_frames(source, tmp_path, [0, 13, 42], image_format=image_format)
    assert [row.frame for row in rows] == [0, 13, 42]
    with VideoReader(source) as reader:
        for row in rows:
            path = tmp_path / row.file
            assert path.suffix == f".{image_format}"
            with Image.open(path) as image:
                assert image.format == pillow_format
                assert image.size == (WIDTH, HEIGHT)
                pixels = np.asarray(image.convert("RGB"))
            assert read_stamp(pixels) == row.frame
            diff = np.abs(pixels.astype(np.int16) - reader[row.frame].astype(np.int16)).mean()
            assert diff <= max_diff
    assert leftovers(tmp_path) == []


def test_jpeg_quality_changes_the_file(videos: dict[str, Path], tmp_path: Path) -> None:
    low = extract_frames(videos["cfr"], tmp_path / "low", [20], quality=20)[0]
    high = extract_frames(videos["cfr"], tmp_path / "high", [20], quality=95)[0]
    low_size = (tmp_path / "low" / low.file).stat().st_size
    high_size = (tmp_path / "high" / high.file).stat().st_size
    assert low_size < high_size
    assert read_stamp(pillow_rgb(tmp_path / "low" / low.file)) == 20


# --- FrameSelection on CFR and VFR -----------------------------------------------------------


def first_at_or_after(times: list[Fraction], seconds: Fraction) -> int:
    return next(i for i, t in enumerate(times) if t >= seconds)


def brute_fps(times: list[Fraction], fps: Fraction) -> list[int]:
    """The first frame at or after each k / fps seconds, for every slot the video reaches."""
    slots = (k / fps for k in range(int(times[-1] * fps) + 1))
    return sorted({first_at_or_after(times, slot) for slot in slots})


SELECTIONS: list[tuple[str, dict[str, Any], list[int]]] = [
    ("cfr", {"every": 10}, [0, 10, 20, 30, 40, 50]),
    ("cfr", {"every": 1}, list(range(FRAMES))),
    ("cfr", {"every": 100}, [0]),
    ("vfr", {"every": 10}, [0, 10, 20, 30]),
    ("cfr", {"fps": Fraction(2)}, [0, 13, 25, 38, 50]),
    ("cfr", {"fps": Fraction(25)}, list(range(FRAMES))),
    ("cfr", {"fps": Fraction(1, 5)}, [0]),
    ("vfr", {"fps": Fraction(2)}, [0, 12, 24, 35]),
    ("vfr", {"fps": Fraction(4)}, [0, 7, 12, 19, 24, 29, 35]),
    ("vfr", {"fps": Fraction(10)}, [0, 4, 5, 8, 9, 12, 14, 17, 19, 22, 24, 26, 29, 31, 34, 35, 39]),
    ("cfr", {"at": (1, 5, 9)}, [1, 5, 9]),
    ("vfr", {"at": (39, 0, 39)}, [0, 39]),
    ("cfr", {"range": (10, 20, 5)}, [10, 15]),
    ("cfr", {"range": (30, None, 10)}, [30, 40, 50]),
    ("cfr", {"range": (50, 100, 3)}, [50, 53, 56, 59]),
    ("vfr", {"range": (0, 4, 1)}, [0, 1, 2, 3]),
]


@pytest.mark.parametrize(
    ("video", "fields", "expected"),
    SELECTIONS,
    ids=[
        "cfr_every10",
        "cfr_every1",
        "cfr_every_past_end",
        "vfr_every10",
        "cfr_fps2",
        "cfr_fps_native",
        "cfr_fps_one_fifth",
        "vfr_fps2",
        "vfr_fps4",
        "vfr_fps10",
        "cfr_at",
        "vfr_at_repeated",
        "cfr_range_step",
        "cfr_range_open_end",
        "cfr_range_past_end",
        "vfr_range",
    ],
)
def test_frame_selection(
    videos: dict[str, Path], video: str, fields: dict[str, Any], expected: list[int]
) -> None:
    index = build_index(videos[video])
    seconds = index.all_seconds()
    assert seconds == times_of(video)
    chosen = FrameSelection(**fields).indices(len(index), seconds)
    assert chosen == expected
    if "fps" in fields:
        assert chosen == brute_fps(seconds, fields["fps"])


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"every": 2, "at": (1,)},
        {"fps": Fraction(1), "range": (0, 5, 1)},
        {"every": 0},
        {"fps": Fraction(0)},
        {"fps": Fraction(-2)},
    ],
    ids=["none", "every_and_at", "fps_and_range", "every_zero", "fps_zero", "fps_negative"],
)
def test_frame_selection_rejects(fields: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        FrameSelection(**fields)


def test_frame_selection_at_past_the_end() -> None:
    with pytest.raises(UsageError, match="past the last frame"):
        FrameSelection(at=(3, FRAMES)).indices(FRAMES)


def test_extract_service_fps_on_vfr(
    videos: dict[str, Path], tmp_path: Path, settings: Settings
) -> None:
    source = videos["vfr"]
    rows = services.extract(
        source, tmp_path, FrameSelection(fps=Fraction(2)), settings, image_format="png"
    )
    assert [row.frame for row in rows] == [0, 12, 24, 35]
    for row in rows:
        assert read_stamp(pillow_rgb(tmp_path / row.file)) == row.frame
        assert row.seconds == VFR_PTS_MS[row.frame] / 1000


# --- filmstrips -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "frames", "tile", "columns", "rows"),
    [
        ({"every": 10, "columns": 4, "tile_height": 48}, list(range(0, 60, 10)), (80, 48), 4, 2),
        ({"every": 15, "tile_height": 32}, [0, 15, 30, 45], (53, 32), 4, 1),
        ({"max_tiles": 12, "columns": 5}, list(range(0, 60, 5)), (107, 64), 5, 3),
        ({}, list(range(FRAMES)), (107, 64), 20, 3),
    ],
    ids=["every10_4cols", "every15_one_row", "max_tiles", "defaults"],
)
def test_filmstrip(
    videos: dict[str, Path],
    tmp_path: Path,
    *,
    options: dict[str, Any],
    frames: list[int],
    tile: tuple[int, int],
    columns: int,
    rows: int,
) -> None:
    target = tmp_path / "strip.jpg"
    strip = make_filmstrip(videos["cfr"], target, **options)
    tile_width, tile_height = tile
    assert list(strip.frames) == frames
    assert (strip.tile_width, strip.tile_height, strip.columns) == (
        tile_width,
        tile_height,
        columns,
    )
    with Image.open(target) as image:
        assert image.format == "JPEG"
        assert image.size == (columns * tile_width, rows * tile_height)
        sheet = np.asarray(image.convert("RGB"))
    for i, frame in enumerate(frames):
        row, column = divmod(i, columns)
        cell = sheet[
            row * tile_height : (row + 1) * tile_height,
            column * tile_width : (column + 1) * tile_width,
        ]
        assert read_stamp(cell) == frame, f"tile {i}"
    sidecar = json.loads(target.with_suffix(".json").read_text())
    assert sidecar == {
        "image": "strip.jpg",
        "frames": frames,
        "tile_width": tile_width,
        "tile_height": tile_height,
        "columns": columns,
    }
    assert sorted(p.name for p in tmp_path.iterdir()) == ["strip.jpg", "strip.json"]


def test_filmstrip_of_a_very_wide_video_squeezes_its_tiles(tmp_path: Path) -> None:
    source = make_video(tmp_path / "wide.mp4", frames=30, width=4000, height=16)
    target = tmp_path / "strip.jpg"
    strip = make_filmstrip(source, target)  # 16000 px tiles to scale: 320000 px over JPEG's max
    assert (strip.tile_width, strip.tile_height, strip.columns) == (512, 64, 20)
    with Image.open(target) as image:
        assert image.size == (20 * 512, 2 * 64)


# --- failed writes ---------------------------------------------------------------------------


@pytest.mark.parametrize("what", ["frames", "filmstrip"], ids=["frames", "filmstrip"])
def test_out_dir_is_a_file(videos: dict[str, Path], tmp_path: Path, what: str) -> None:
    out = tmp_path / "out"
    out.write_text("not a folder")
    with pytest.raises(MediaWriteError) as caught:
        if what == "frames":
            extract_frames(videos["cfr"], out, [1, 2], image_format="png")
        else:
            make_filmstrip(videos["cfr"], out / "strip.jpg", every=10)
    assert str(out) in str(caught.value)
    assert "\n" not in str(caught.value)
    assert out.read_text() == "not a folder"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_frames_are_written_all_or_none(
    videos: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure (or Ctrl-C) after some images left them in the folder without a manifest; the
    images are now made in a temporary folder beside it and moved in, manifests last."""
    from tweenlab.media import frames as frames_module

    real, saved = frames_module.save_image, []

    def failing(image: Any, target: Path, **options: Any) -> None:
        if len(saved) == 2:
            raise KeyboardInterrupt
        saved.append(target)
        real(image, target, **options)

    monkeypatch.setattr(frames_module, "save_image", failing)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        extract_frames(videos["cfr"], out, [1, 2, 3, 4], image_format="png")
    assert len(saved) == 2 and not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_video_named_like_an_output_is_never_written_over(
    videos: dict[str, Path], tmp_path: Path
) -> None:
    """A video named ``manifest.json`` in the output folder became its own manifest, exit 0."""
    video = tmp_path / "manifest.json"
    video.write_bytes(videos["cfr"].read_bytes())
    with pytest.raises(UsageError, match="is an input of this command"):
        extract_frames(video, tmp_path, [1, 2], image_format="png")
    assert video.read_bytes() == videos["cfr"].read_bytes()
