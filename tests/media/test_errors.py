"""Bad inputs raise one specific ``TweenlabError`` everywhere, and the CLI turns it into one line.

Every bad file is made once (session scope) by the makers of :mod:`tests.media.videos`; each is
opened by ``build_index``, ``probe`` and ``VideoReader``, which must agree on the error class and
name the file in a one-line message. A corrupt packet in the middle of a good video is not fatal.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tweenlab.services
from tests.conftest import shared_file
from tests.media.videos import (
    make_absurd_dimensions,
    make_corrupt_middle,
    make_empty_file,
    make_raw_h264,
    make_text_as_mp4,
    make_truncated_data_cut,
    make_truncated_no_moov,
    make_unsupported_codec,
    make_video,
    read_stamp,
)
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.errors import (
    CorruptFrameError,
    EmptyFileError,
    FrameOutOfRangeError,
    InvalidDimensionsError,
    MediaError,
    MediaNotFoundError,
    NotAFileError,
    NotAVideoError,
    TruncatedVideoError,
    TweenlabError,
    UnsupportedCodecError,
)
from tweenlab.media import VideoReader, build_index, probe
from tweenlab.settings import Settings

FRAMES = 60
WIDTH, HEIGHT = 160, 96
CORRUPT = 30  # a P-frame: keyframes are at 0, 12, 24, 36, 48
NEXT_KEY = 36

# name -> (how to make it from a folder and a good MP4, the error every opener must raise)
BAD: dict[str, tuple[Callable[[Path, Path], Path], type[MediaError]]] = {
    "missing": (lambda d, _: d / "missing.mp4", MediaNotFoundError),
    "directory": (lambda d, _: _mkdir(d / "folder.mp4"), NotAFileError),
    "empty": (lambda d, _: make_empty_file(d / "empty.mp4"), EmptyFileError),
    "text_as_mp4": (lambda d, _: make_text_as_mp4(d / "text.mp4"), NotAVideoError),
    "mp4_no_moov": (lambda d, s: make_truncated_no_moov(s, d / "no_moov.mp4"), TruncatedVideoError),
    "mp4_data_cut": (
        lambda d, s: make_truncated_data_cut(s, d / "data_cut.mp4"),
        TruncatedVideoError,
    ),
    "raw_h264": (lambda d, _: make_raw_h264(d / "raw.h264"), NotAVideoError),
    "unsupported_codec": (
        lambda d, _: make_unsupported_codec(d / "zzzz.avi"),
        UnsupportedCodecError,
    ),
    "dimensions_0x0": (
        lambda d, _: make_absurd_dimensions(d / "dims0.avi"),
        InvalidDimensionsError,
    ),
    "dimensions_100000": (
        lambda d, _: make_absurd_dimensions(d / "dims100k.avi", width=100_000, height=100_000),
        InvalidDimensionsError,
    ),
}

OPENERS: dict[str, Callable[[Path], Any]] = {
    "build_index": build_index,
    "probe": probe,
    "VideoReader": VideoReader,
}


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def good_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 60-frame stamped H.264 MP4, gop 12, moov at the end."""
    return make_video(tmp_path_factory.mktemp("good") / "good.mp4", frames=FRAMES)


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory: pytest.TempPathFactory, good_mp4: Path) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    return {name: make(folder, good_mp4) for name, (make, _) in BAD.items()}


@pytest.fixture(scope="session")
def corrupt_files(tmp_path_factory: pytest.TempPathFactory, good_mp4: Path) -> dict[str, Path]:
    """Frame 30's packet overwritten with garbage, in an H.264 MP4 and an MS-MPEG4 v3 AVI."""
    folder = tmp_path_factory.mktemp("corrupt")
    avi = make_video(folder / "good.avi", frames=FRAMES, codec="msmpeg4")
    return {
        "h264": make_corrupt_middle(good_mp4, folder / "corrupt_h264.mp4", CORRUPT),
        "msmpeg4": make_corrupt_middle(avi, folder / "corrupt_msmpeg4.avi", CORRUPT),
    }


def _assert_one_line_naming(error: BaseException, path: Path) -> None:
    message = str(error)
    assert "\n" not in message
    assert str(path) in message
    assert message.strip() == message and message


# --- each bad input, each opener ------------------------------------------------------------


@pytest.mark.parametrize("opener", list(OPENERS), ids=list(OPENERS))
@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_raises_its_specific_error(
    bad_files: dict[str, Path], case: str, opener: str
) -> None:
    path = bad_files[case]
    expected = BAD[case][1]
    with pytest.raises(expected) as caught:
        OPENERS[opener](path)
    error = caught.value
    assert type(error) is expected  # the specific class, not merely a MediaError
    assert isinstance(error, TweenlabError)
    assert error.path == path
    assert error.frame is None
    _assert_one_line_naming(error, path)


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("missing", "no such file"),
        ("directory", "directory"),
        ("empty", "0 bytes"),
        ("mp4_no_moov", "moov"),
        ("mp4_data_cut", "of the 60 frames"),
        ("dimensions_0x0", "0x0"),
    ],
    ids=["missing", "directory", "empty", "no_moov", "data_cut", "dims0"],
)
def test_message_says_what_is_wrong(bad_files: dict[str, Path], case: str, words: str) -> None:
    with pytest.raises(MediaError, match=words):
        build_index(bad_files[case])


# --- a corrupt packet in the middle is not fatal -------------------------------------------


@pytest.mark.parametrize("codec", ["h264", "msmpeg4"], ids=["h264_mp4", "msmpeg4_avi"])
def test_corrupt_middle_keeps_every_frame_in_the_index(
    corrupt_files: dict[str, Path], codec: str
) -> None:
    path = corrupt_files[codec]
    index = build_index(path)
    assert len(index) == FRAMES
    assert list(index.keyframe_indices()) == [0, 12, 24, 36, 48]
    assert probe(path, index=index).frame_count == FRAMES


@pytest.mark.parametrize("codec", ["h264", "msmpeg4"], ids=["h264_mp4", "msmpeg4_avi"])
def test_corrupt_middle_reads_sequentially(corrupt_files: dict[str, Path], codec: str) -> None:
    path = corrupt_files[codec]
    with VideoReader(path) as reader:
        frames = list(reader)
        errors = list(reader.errors)
    indices = [frame.index for frame in frames]
    assert indices == sorted(set(indices)), "frames must come once each, in order"
    skipped = set(range(FRAMES)) - set(indices)
    reported = {error.frame for error in errors}
    frames_named = [error.frame for error in errors]
    assert frames_named == sorted(set(frames_named)), "each frame once, in frame order"
    # A frame the decoder refused is skipped and reported; nothing else goes missing. A frame
    # decoded with concealed damage may be reported too, but only one of the damaged GOP.
    assert skipped <= {CORRUPT}
    assert skipped <= reported
    assert reported <= set(range(CORRUPT, NEXT_KEY))
    for error in errors:
        assert isinstance(error, CorruptFrameError)
        assert error.path == path
        assert error.frame is not None
        _assert_one_line_naming(error, path)
        assert f"frame {error.frame}" in str(error)
    # Frames before the damage and from the next keyframe on are exactly right.
    intact = [f for f in frames if f.index < CORRUPT or f.index >= NEXT_KEY]
    assert len(intact) == CORRUPT + FRAMES - NEXT_KEY
    assert [read_stamp(f.image) for f in intact] == [f.index for f in intact]
    assert all(f.image.shape == (HEIGHT, WIDTH, 3) for f in frames)


@pytest.mark.parametrize("codec", ["h264", "msmpeg4"], ids=["h264_mp4", "msmpeg4_avi"])
def test_corrupt_middle_random_access_after_it(corrupt_files: dict[str, Path], codec: str) -> None:
    path = corrupt_files[codec]
    with VideoReader(path) as reader:
        for n in (NEXT_KEY, 59, 45, NEXT_KEY + 1, 29, 0, 50):
            assert read_stamp(reader[n]) == n, f"frame {n}"
        try:
            damaged = reader[CORRUPT]
        except CorruptFrameError as error:
            assert error.path == path
            assert error.frame == CORRUPT
        else:
            assert damaged.shape == (HEIGHT, WIDTH, 3)
        assert read_stamp(reader[NEXT_KEY + 2]) == NEXT_KEY + 2


# --- out-of-range and negative indices ------------------------------------------------------


@pytest.mark.parametrize("n", [FRAMES, FRAMES + 1, 10_000, -FRAMES - 1], ids=str)
def test_out_of_range_frame(good_mp4: Path, n: int) -> None:
    with VideoReader(good_mp4) as reader:
        assert len(reader) == FRAMES
        with pytest.raises(FrameOutOfRangeError) as caught:
            reader[n]
        with pytest.raises(IndexError):
            reader[n]
        with pytest.raises(FrameOutOfRangeError):
            list(reader.read_frames([0, n]))
    error = caught.value
    assert isinstance(error, IndexError)
    assert isinstance(error, MediaError)
    assert error.frame == n
    _assert_one_line_naming(error, good_mp4)


@pytest.mark.parametrize(
    ("n", "expected"),
    [(-1, FRAMES - 1), (-FRAMES, 0), (-12, FRAMES - 12), (-31, FRAMES - 31)],
    ids=["last", "first", "minus12", "minus31"],
)
def test_negative_index_counts_from_the_end(good_mp4: Path, n: int, expected: int) -> None:
    with VideoReader(good_mp4) as reader:
        assert read_stamp(reader[n]) == expected
        assert np.array_equal(reader[n], reader[expected])


def test_a_raw_stream_is_refused_for_its_missing_timestamps(bad_files: dict[str, Path]) -> None:
    """FFmpeg decodes a raw .h264 stream, but nothing in it places a frame in time; it was
    called a stream that \"holds no frames\"."""
    with pytest.raises(NotAVideoError, match="20 video packets carry no timestamps"):
        build_index(bad_files["raw_h264"])


@pytest.mark.shared_data
def test_damaged_real_footage_names_each_lost_frame_once(tmp_path: Path) -> None:
    """4,000 bytes scrambled in the middle of a real H.264 clip (B-frames): the decoder refuses
    some packets (reported by the packet's frame) and those frames are then found missing; each
    was listed twice, in two wordings, in decode order."""
    data = bytearray(shared_file("clips/bikes.mp4").read_bytes())
    middle = len(data) // 2
    data[middle : middle + 4000] = bytes(b ^ 0x5A for b in data[middle : middle + 4000])
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    with VideoReader(damaged) as reader:
        indices = [frame.index for frame in reader]
        errors = list(reader.errors)
    named = [error.frame for error in errors]
    assert errors and named == sorted(set(named)), [str(e) for e in errors]
    lost = {error.frame for error in errors if "cannot be decoded" in str(error)}
    assert set(range(len(reader))) - set(indices) == lost  # those lost, and only those


# --- the CLI's error boundary ----------------------------------------------------------------


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_cli_prints_one_error_line_and_exits_2(
    bad_files: dict[str, Path],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
) -> None:
    del settings
    monkeypatch.delenv("TWEENLAB_DEBUG", raising=False)
    path = bad_files[case]
    code = run_with_boundary(cli, ["probe", str(path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert str(path) in lines[0]
    assert "Traceback" not in err


def test_cli_unexpected_exception_is_an_internal_error(
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    good_mp4: Path,
) -> None:
    del settings
    monkeypatch.delenv("TWEENLAB_DEBUG", raising=False)

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom in the service")

    monkeypatch.setattr(tweenlab.services, "ingest", boom)
    code = run_with_boundary(cli, ["--quiet", "ingest", str(good_mp4)])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("internal error: RuntimeError: boom in the service")
    assert "TWEENLAB_DEBUG=1" in lines[0]
    assert "Traceback" not in err


def test_cli_debug_shows_the_traceback_of_an_unexpected_exception(
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    good_mp4: Path,
) -> None:
    del settings
    monkeypatch.setenv("TWEENLAB_DEBUG", "1")

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom in the service")

    # ``tweenlab probe`` imports ``tweenlab.media.probe`` when it runs: patch it there.
    monkeypatch.setattr(importlib.import_module("tweenlab.media"), "probe", boom)
    code = run_with_boundary(cli, ["probe", str(good_mp4)])
    _, err = capsys.readouterr()
    assert code == 1
    assert "Traceback (most recent call last)" in err
    assert "RuntimeError: boom in the service" in err
    assert "def boom" in err or "in boom" in err  # the frame that raised is shown


def test_cli_debug_shows_the_traceback_of_a_tweenlab_error(
    bad_files: dict[str, Path],
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    del settings
    monkeypatch.setenv("TWEENLAB_DEBUG", "1")
    path = bad_files["empty"]
    code = run_with_boundary(cli, ["probe", str(path)])
    _, err = capsys.readouterr()
    assert code == 2
    assert "Traceback (most recent call last)" in err
    assert "EmptyFileError" in err
    assert err.splitlines()[-1] == f"error: {path}: the file is empty (0 bytes)"


def test_an_mp4_cut_inside_its_moov_box_is_said_to_be_cut_short(
    good_mp4: Path, tmp_path: Path
) -> None:
    """Cut a little short (moov at the end), FFmpeg still opens the file and reports no video
    stream, no codec or no frames, depending on where the cut falls: an audit saw all three."""
    data = good_mp4.read_bytes()
    moov = data.rfind(b"moov") - 4
    said: list[str] = []
    for cut in range(20, len(data) - moov - 8, 40):
        path = tmp_path / f"cut{cut}.mp4"
        path.write_bytes(data[:-cut])
        try:
            build_index(path)  # cut in trailing metadata only: still a video
        except MediaError as error:
            said.append(f"{type(error).__name__}: {str(error).split(': ', 1)[1].split(',')[0]}")
    assert len(said) > 10
    assert set(said) == {"TruncatedVideoError: the file ends inside its 'moov' box"}, set(said)
