"""``synth retime`` and ``synth repair`` given a bad path: one line naming it, exit 2, and no
half-written output (before, a missing annotation file, an unknown video suffix and a folder
as ``--out`` were "internal error"s, the folder only after every frame was encoded, and a
folder as ``--annotations-out`` left the retimed video without its labels)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import pytest

from tests.synthesis.scenes import shifted, texture
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.core.annotations import AnnotationSet, VideoRef
from tweenlab.core.schema import Schema
from tweenlab.core.shapes import Box
from tweenlab.core.track import Keyframe, Track
from tweenlab.media import VideoWriter
from tweenlab.services.annotations import save_annotations
from tweenlab.settings import Settings

FRAMES = 6


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    video = tmp_path / "clip.mp4"
    base = texture((64, 96), seed=5)
    with VideoWriter(video, 96, 64, Fraction(1, 25)) as writer:
        for n in range(FRAMES):
            writer.write(shifted(base, 2.0 * n, 0), n)
    track = Track(1, "car", {0: Keyframe(Box(4, 4, 20, 10)), 5: Keyframe(Box(14, 4, 20, 10))})
    labels = AnnotationSet(VideoRef("clip.mp4", FRAMES, 96, 64), Schema.of("car"), {1: track})
    save_annotations(labels, tmp_path / "clip.json")
    return video


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "folder"
    folder.mkdir(exist_ok=True)
    return folder


def _files(folder: Path) -> list[str]:
    """What the command may write (the data folder holds the video's index and analysis)."""
    return sorted(p.name for p in folder.iterdir() if p.name != "tweenlab-data")


CASES = [
    pytest.param(
        lambda tmp: ["retime", "--factor", "2", "--out", tmp / "x.mp4", "--annotations",
                     tmp / "none.json", "--annotations-out", tmp / "x.json"],
        "none.json: no such file",
        id="retime-missing-annotations",
    ),
    pytest.param(
        lambda tmp: ["retime", "--factor", "2", "--out", tmp / "x.xyz"],
        "x.xyz: cannot start writing",
        id="retime-unknown-suffix",
    ),
    pytest.param(
        lambda tmp: ["retime", "--factor", "2", "--out", _folder(tmp)],
        "folder: is a folder",
        id="retime-out-folder",
    ),
    pytest.param(
        lambda tmp: ["retime", "--factor", "2", "--out", tmp / "x.mp4", "--annotations",
                     tmp / "clip.json", "--annotations-out", _folder(tmp)],
        "--annotations-out",
        id="retime-annotations-out-folder",
    ),
    pytest.param(
        lambda tmp: ["repair", "--out", _folder(tmp)],
        "folder: is a folder",
        id="repair-out-folder",
    ),
    # found by an audit (2026-11-28): each wrote the video first, then failed or overwrote
    pytest.param(
        lambda tmp: ["repair", "--out", tmp / "x.mp4", "--report", _folder(tmp)],
        "--report",
        id="repair-report-folder",
    ),
    pytest.param(
        lambda tmp: ["repair", "--out", tmp / "x.mp4", "--report", tmp / "clip.json" / "r.json"],
        "clip.json is a file, not a folder",
        id="repair-report-under-a-file",
    ),
    pytest.param(
        lambda tmp: ["repair", "--out", tmp / "x.mp4", "--report", tmp / "x.mp4"],
        "--report",
        id="repair-report-is-out",
    ),
    pytest.param(
        lambda tmp: ["repair", "--out", tmp / "x.mp4", "--report", tmp / "clip.mp4"],
        "is also VIDEO",
        id="repair-report-is-the-video",
    ),
    pytest.param(
        lambda tmp: ["retime", "--factor", "2", "--out", tmp / "x.mp4", "--annotations",
                     tmp / "clip.json", "--annotations-out", tmp / "x.mp4"],
        "is also --out",
        id="retime-annotations-out-is-out",
    ),
    pytest.param(  # never returned: a list of factor x frames times
        lambda tmp: ["retime", "--fps", "1e9", "--out", tmp / "x.mp4"],
        "more than 64 for each",
        id="retime-fps-too-high",
    ),
    pytest.param(
        lambda tmp: ["extrapolate", "--out", tmp / "clip.json"],
        "is a file; give a folder",
        id="extrapolate-out-a-file",
    ),
    pytest.param(  # trained for the whole run, then failed
        lambda tmp: ["train", "--model", "dvf", "--steps", "1", "--out", _folder(tmp)],
        "folder: is a folder",
        id="train-out-folder",
    ),
    pytest.param(  # the card was written over the weights, exit 0
        lambda tmp: ["train", "--model", "dvf", "--steps", "1", "--out", tmp / "dvf.json"],
        "is also --out",
        id="train-out-is-its-card",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("arguments", "message"), CASES)
def test_a_bad_path_is_one_line_and_writes_nothing(
    clip: Path,
    tmp_path: Path,
    *,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    arguments: Callable[[Path], list[object]],
    message: str,
) -> None:
    args = [str(a) for a in arguments(tmp_path)]
    before = _files(tmp_path)
    contents = clip.read_bytes(), (tmp_path / "clip.json").read_bytes()
    code = run_with_boundary(cli, ["synth", args[0], str(clip), *args[1:]])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "internal error" not in err and len(err.strip().splitlines()) == 1
    assert _files(tmp_path) == before, "nothing written"
    assert (clip.read_bytes(), (tmp_path / "clip.json").read_bytes()) == contents
    assert list((tmp_path / "folder").iterdir() if (tmp_path / "folder").exists() else []) == []


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param(["retime", "--factor", "65", "--out", "x.mp4"], id="retime-factor"),
        # wrote 1.3 GB of images before it was stopped, with no manifest
        pytest.param(["extrapolate", "--count", "1001", "--out", "x"], id="extrapolate-count"),
    ],
)
def test_counts_past_the_limits_are_refused(
    clip: Path,
    tmp_path: Path,
    *,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    arguments: list[str],
) -> None:
    before = _files(tmp_path)
    code = run_with_boundary(cli, ["synth", arguments[0], str(clip), *arguments[1:]])
    assert code == 2 and "is not in the range" in capsys.readouterr().err
    assert _files(tmp_path) == before


def test_the_command_line_limits_are_the_library_s() -> None:
    """The CLI keeps its own copies (importing the library would slow every command)."""
    import importlib

    from tweenlab.services import synthesize

    command = importlib.import_module("tweenlab.cli.synth")
    retime = importlib.import_module("tweenlab.synthesis.retime")

    assert command.MAX_FACTOR == retime.MAX_FACTOR
    assert command.MAX_EXTRAPOLATED == synthesize.MAX_EXTRAPOLATED
