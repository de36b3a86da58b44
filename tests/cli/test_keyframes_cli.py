"""``tweenlab keyframes``, ``split --scenes`` and ``frames --keyframes`` on a two-shot video."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.keyframes.scenes import shot, write_video
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.settings import Settings


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frames = shot(1, 40, speed=2) + shot(2, 40, speed=5)
    return write_video(tmp_path_factory.mktemp("kf") / "two.mp4", frames)


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = run_with_boundary(cli, [str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_keyframes_writes_json_and_plot(
    video: Path, tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    del settings
    code, out, _ = run(
        capsys, "keyframes", video, "--json", tmp_path / "k.json", "--plot", tmp_path / "k.png"
    )
    assert code == 0, out
    found = json.loads((tmp_path / "k.json").read_text())
    assert found["cuts"] == found["hard_cuts"] == [40]
    assert found["suggested"][0] == 0 and 40 in found["suggested"]
    assert found["tool"] == "tweenlab" and Path(found["signals"]).exists()
    assert (tmp_path / "k.png").read_bytes()[:4] == b"\x89PNG"
    assert "hard cuts (1): [40]" in out


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--every", "20"], [0, 20, 40, 60]),
        (["--every-seconds", "1.6"], [0, 40]),
        (["--max", "2"], [0, 40]),
        (["--per-minute", "30"], [0, 40]),  # 30 a minute of a 3.2 s video: 2
    ],
    ids=["every", "every-seconds", "max", "per-minute"],
)
def test_keyframes_policies(  # noqa: PLR0917  (pytest passes fixtures positionally)
    video: Path,
    tmp_path: Path,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    expected: list[int],
) -> None:
    del settings
    code, out, _ = run(capsys, "keyframes", video, "--json", tmp_path / "k.json", *options)
    assert code == 0, out
    assert json.loads((tmp_path / "k.json").read_text())["suggested"] == expected


def test_two_policies_are_refused(
    video: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    del settings
    code, _, err = run(capsys, "keyframes", video, "--max", "3", "--every", "5")
    assert code == 2 and "choose at most one" in err


@pytest.mark.parametrize("option", ["--json", "--plot"])
def test_an_output_that_is_a_folder_is_refused_before_analysing(
    video: Path,
    tmp_path: Path,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    option: str,
) -> None:
    """Refused before the analysis, so the other output is not written either."""
    del settings
    folder = tmp_path / "a-folder"
    folder.mkdir()
    other = "--plot" if option == "--json" else "--json"
    code, _, err = run(capsys, "keyframes", video, option, folder, other, tmp_path / "other")
    assert code == 2 and "a-folder" in err and "directory" in err
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize(
    ("options", "words"),
    [
        (["--json", "{video}"], "--json {video}: is also VIDEO"),
        (["--plot", "{video}"], "--plot {video}: is also VIDEO"),
        (["--json", "{tmp}/same", "--plot", "{tmp}/same"], "is also --json"),
        (["--max", "1000000000000", "--per-minute", "inf"], "choose at most one"),
        (["--per-minute", "inf"], "per-minute: must be positive"),
        (["--per-minute", "nan"], "per-minute: must be positive"),
        (["--json", "{video}/k.json"], "clip.mp4 is a file, not a folder"),
    ],
    ids=["json-is-video", "plot-is-video", "json-is-plot", "two", "inf", "nan", "under-a-file"],
)
def test_outputs_never_replace_the_input_and_budgets_are_finite(  # noqa: PLR0917
    video: Path,
    tmp_path: Path,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    words: str,
) -> None:
    """``--json clip.mp4`` turned the video into JSON, exit 0; ``--per-minute inf`` was an
    internal error."""
    del settings
    copy = tmp_path / "clip.mp4"
    copy.write_bytes(video.read_bytes())
    given = [o.format(video=copy, tmp=tmp_path) for o in options]
    code, out, err = run(capsys, "keyframes", copy, *given)
    assert code == 2 and out == "", out
    assert words.format(video=copy) in err and err.startswith("error: "), err
    assert copy.read_bytes() == video.read_bytes()
    assert not (tmp_path / "same").exists()


def test_a_budget_over_the_frame_count_suggests_frames_once(
    video: Path, tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--max 100000`` on 80 frames took minutes; 10**10 was a MemoryError."""
    del settings
    code, _, err = run(
        capsys, "keyframes", video, "--max", "10000000000", "--json", tmp_path / "k.json"
    )
    assert code == 0, err
    suggested = json.loads((tmp_path / "k.json").read_text())["suggested"]
    assert suggested == sorted(set(suggested)) and 0 < len(suggested) <= 80


def test_split_at_scenes_and_extract_keyframes(
    video: Path, tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    del settings
    code, out, _ = run(capsys, "split", video, "--scenes", "--out", tmp_path / "clips")
    assert code == 0, out
    assert [line.split("\t")[1] for line in out.strip().splitlines()] == ["0-39", "40-79"]
    code, out, _ = run(capsys, "frames", video, "--keyframes", "--out", tmp_path / "frames")
    assert code == 0, out
    manifest = json.loads((tmp_path / "frames" / "manifest.json").read_text())
    assert len(manifest) >= 2
    code, _, err = run(capsys, "split", video, "--scenes", "--every", "1s")
    assert code == 2 and "--scenes" in err


def test_the_plot_is_encoded_as_its_name_says(
    video: Path, tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--plot p.jpg`` wrote PNG bytes."""
    del settings
    code, _, err = run(capsys, "keyframes", video, "--plot", tmp_path / "p.jpg")
    assert code == 0, err
    assert (tmp_path / "p.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
