"""The ``tweenlab`` command line: the console script, every media command, errors, quiet, demo.

Commands run in-process through ``run_with_boundary`` (the very function the console script
calls) with the ``settings`` fixture, so derived files go to a private data folder. The console
script itself and the demo run once each in a subprocess.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import click
import pytest
from PIL import Image

from tests.media.videos import make_video, read_stamp, read_video_stamps
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import LAZY_COMMANDS, cli
from tweenlab.media import build_index
from tweenlab.settings import Settings

FRAMES = 100  # 4 s at 25 fps, keyframes every 12 frames
COMMANDS = ("demo", "probe", "split", "frames", "ingest")


def console_script() -> str:
    """The installed ``tweenlab`` executable (beside this Python first, then on PATH)."""
    beside = Path(sys.executable).with_name("tweenlab")
    found = str(beside) if beside.exists() else shutil.which("tweenlab")
    assert found, "the tweenlab console script is not installed"
    return found


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWEENLAB_")}
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("cli") / "walk.mp4", frames=FRAMES, gop=12)


@pytest.fixture(scope="session")
def avi(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MS-MPEG4 v3 AVI: browsers cannot decode it, so ingest writes a proxy."""
    return make_video(tmp_path_factory.mktemp("cli_avi") / "old.avi", frames=40, codec="msmpeg4")


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = run_with_boundary(cli, [str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


# --- the console script (subprocess) --------------------------------------------------------


def test_console_script_help_and_version() -> None:
    script = console_script()
    helped = subprocess.run(
        [script, "--help"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
    )
    assert helped.returncode == 0, helped.stderr
    listed = helped.stdout.split("Commands:", 1)[1].split()
    for command in COMMANDS:
        assert command in listed
    versioned = subprocess.run(
        [script, "--version"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
    )
    assert versioned.returncode == 0
    assert versioned.stdout.strip() == f"tweenlab, version {version('tweenlab')}"


def test_help_imports_no_torch_or_cv2() -> None:
    code = "\n".join(
        [
            "import sys",
            "from tweenlab.cli.main import main",
            "sys.argv = ['tweenlab', '--help']",
            "try:",
            "    main()",
            "except SystemExit as stop:",
            "    assert not stop.code, stop.code",
            "heavy = sorted(m for m in ('torch', 'cv2') if m in sys.modules)",
            "print('HEAVY', heavy)",
        ]
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(),
    )
    assert done.returncode == 0, done.stderr
    assert "Commands:" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "HEAVY []"


# --- probe --------------------------------------------------------------------------------------


def test_probe_json(video: Path, settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    del settings
    code, out, err = run(capsys, "probe", video, "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["frame_count"] == FRAMES
    assert info["path"] == str(video)
    assert (info["codec"], info["width"], info["height"]) == ("h264", 160, 96)
    assert info["frame_rate"] == "25/1"
    assert info["vfr"] is False
    assert info["keyframes"]["count"] == len(range(0, FRAMES, 12))
    assert info["duration"] == "4/1"


def test_probe_table(video: Path, settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    del settings
    code, out, _ = run(capsys, "probe", video)
    assert code == 0
    rows = dict(line.strip().split(": ", 1) for line in out.splitlines())
    assert rows["frame_count"] == str(FRAMES)
    assert rows["codec"] == "h264"


# --- split --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "starts"),
    [
        (["--every", "1s"], [0, 25, 50, 75]),
        (["--every", "00:02"], [0, 50]),
        (["--every", "1500ms"], [0, 38, 75]),
        (["--at", "00:01,00:02.5"], [0, 25, 63]),
        (["--frames", "0,30,70"], [0, 30, 70]),
        (["--frames", "36"], [0, 36]),
    ],
    ids=["every_1s", "every_clock", "every_ms", "at", "frames", "frames_on_keyframe"],
)
def test_split(
    video: Path,
    tmp_path: Path,
    *,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    starts: list[int],
) -> None:
    del settings
    out_dir = tmp_path / "clips"
    code, out, err = run(capsys, "--quiet", "split", video, *options, "--out", out_dir)
    assert code == 0, err
    assert err == ""
    lines = [line.split("\t") for line in out.splitlines()]
    assert all(len(parts) == 3 for parts in lines), out
    ranges = [tuple(int(n) for n in span.split("-")) for _, span, _ in lines]
    assert [first for first, _ in ranges] == starts
    assert [last + 1 for _, last in ranges] == [*starts[1:], FRAMES]
    stamps: list[int] = []
    for (path, _, method), (first, last) in zip(lines, ranges, strict=True):
        clip = Path(path)
        assert clip.parent == out_dir and clip.exists()
        on_keyframes = first % 12 == 0 and ((last + 1) % 12 == 0 or last + 1 == FRAMES)
        assert method == ("copy" if on_keyframes else "reencode")
        sidecar = json.loads(clip.with_suffix(".json").read_text())
        assert (sidecar["first_frame"], sidecar["last_frame"]) == (first, last)
        assert sidecar["method"] == method
        stamps += read_video_stamps(clip)
    assert stamps == list(range(FRAMES))


# --- frames -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--every", "10", "--format", "png"], list(range(0, FRAMES, 10))),
        (["--fps", "2", "--format", "png"], [0, 13, 25, 38, 50, 63, 75, 88]),
        (["--fps", "1/2"], [0, 50]),
        (["--at", "1,5,9"], [1, 5, 9]),
        (["--range", "10:20:5", "--format", "webp"], [10, 15]),
        (["--range", "95:"], [95, 96, 97, 98, 99]),
    ],
    ids=["every_png", "fps2", "fps_fraction", "at", "range_step_webp", "range_open"],
)
def test_frames(
    video: Path,
    tmp_path: Path,
    *,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    options: list[str],
    expected: list[int],
) -> None:
    del settings
    out_dir = tmp_path / "frames"
    code, out, err = run(capsys, "--quiet", "frames", video, *options, "--out", out_dir)
    assert code == 0, err
    assert err == ""
    assert out.strip() == (
        f"{len(expected)} frames written to {out_dir}/ (manifest.csv, manifest.json)"
    )
    manifest = json.loads((out_dir / "manifest.json").read_text())
    assert [row["frame"] for row in manifest] == expected
    suffix = options[options.index("--format") + 1] if "--format" in options else "jpg"
    for row in manifest:
        assert row["file"].endswith(f".{suffix}")
        with Image.open(out_dir / row["file"]) as image:
            assert read_stamp(image.convert("RGB")) == row["frame"]
    assert (out_dir / "manifest.csv").exists()


# --- ingest -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "frames", "proxied"),
    [("video", FRAMES, False), ("avi", 40, True)],
    ids=["h264_no_proxy", "msmpeg4_proxy"],
)
def test_ingest(
    request: pytest.FixtureRequest,
    settings: Settings,
    *,
    capsys: pytest.CaptureFixture[str],
    name: str,
    frames: int,
    proxied: bool,
) -> None:
    source: Path = request.getfixturevalue(name)
    code, out, err = run(capsys, "--quiet", "ingest", source)
    assert code == 0, err
    first, second = out.splitlines()
    count, folder = first.split(" frames indexed; derived files in ")
    assert int(count) == frames
    folder_path = Path(folder)
    assert folder_path.parent == settings.derived_dir
    assert (folder_path / "index.npz").exists()
    proxy, strip = second.removeprefix("proxy: ").split("; filmstrip: ")
    assert Path(strip).exists() and Path(strip).with_suffix(".json").exists()
    if proxied:
        assert Path(proxy) == folder_path / "proxy.mp4"
        assert len(build_index(Path(proxy))) == frames
    else:
        assert proxy == "not needed"
        assert not (folder_path / "proxy.mp4").exists()
    # A second ingest reuses the derived files and says the same.
    again = run(capsys, "--quiet", "ingest", source)
    assert again == (0, out, "")


# --- bad option values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["split", "{video}", "--every", "10x"], "--every"),
        (["split", "{video}", "--every", "0s"], "--every"),
        (["split", "{video}", "--at", "1,,2"], "--at"),
        (["split", "{video}", "--frames", "3,x"], "--frames"),
        (["split", "{video}", "--frames", "30,500"], "500"),
        (["split", "{video}", "--every", "1s", "--frames", "30"], "exactly one"),
        (["split", "{video}"], "exactly one"),
        (["frames", "{video}", "--range", "5:2"], "--range"),
        (["frames", "{video}", "--range", "a:b"], "--range"),
        (["frames", "{video}", "--fps", "fast"], "--fps"),
        (["frames", "{video}", "--fps", "0"], "--fps"),
        (["frames", "{video}", "--at", "1,500"], "--at"),
        (["frames", "{video}", "--at", "²"], "--at"),
        (["frames", "{video}", "--fps", "9" * 5000], "longer than 32 characters"),
        (["frames", "{video}", "--every", "10", "--at", "1"], "exactly one"),
        (["frames", "{video}"], "exactly one"),
    ],
    ids=[
        "split_every_10x",
        "split_every_zero",
        "split_at_empty_item",
        "split_frames_not_a_number",
        "split_frames_past_end",
        "split_two_selectors",
        "split_no_selector",
        "frames_range_backwards",
        "frames_range_letters",
        "frames_fps_word",
        "frames_fps_zero",
        "frames_at_past_end",
        "frames_at_superscript",
        "frames_fps_5000_digits",
        "frames_two_selectors",
        "frames_no_selector",
    ],
)
def test_bad_option_values_print_one_error_line(
    video: Path,
    tmp_path: Path,
    *,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    mentions: str,
) -> None:
    del settings
    monkeypatch.delenv("TWEENLAB_DEBUG", raising=False)
    out_dir = tmp_path / "out"
    argv = [arg.format(video=video) for arg in args]
    code, out, err = run(capsys, *argv, "--out", out_dir)
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    assert mentions in lines[0] and len(lines[0]) < 200
    assert not out_dir.exists() or not any(out_dir.iterdir())


@pytest.mark.parametrize(
    "command", [["frames", "--every", "50"], ["split", "--frames", "50"]], ids=["frames", "split"]
)
@pytest.mark.parametrize(
    ("out", "mentions"),
    [
        ("{video}/sub", "{video} is a file, not a folder"),
        ("{video}/a/b", "{video} is a file, not a folder"),
        ("/proc/tweenlab-out", "cannot make the folder"),  # nothing can be made there, as root too
    ],
    ids=["under-the-video", "two-below-the-video", "proc"],
)
def test_an_out_folder_that_cannot_be_made_is_one_error_line(
    video: Path,
    *,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
    out: str,
    mentions: str,
) -> None:
    del settings
    if out.startswith("/proc") and not Path("/proc").is_dir():
        pytest.skip("needs Linux's /proc")
    out = out.format(video=video)
    code, stdout, err = run(capsys, command[0], video, *command[1:], "--out", out)
    assert (code, stdout) == (2, "")
    assert err.startswith(f"error: {out}: cannot make the folder") and err.count("\n") == 1
    assert mentions.format(video=video) in err


@pytest.mark.parametrize(
    "args",
    [
        ["frames", "{video}", "--every", "10x"],
        ["frames", "{video}", "--every", "0"],
        ["frames", "{video}", "--every", "5", "--format", "gif"],
        ["frames", "{video}", "--every", "5", "--quality", "0"],
        ["split", "{video}", "--frames", "3", "--bogus"],
        ["nosuchcommand"],
    ],
    ids=["frames_every_10x", "frames_every_zero", "format_gif", "quality_zero", "bogus", "cmd"],
)
def test_click_usage_errors_exit_2(
    video: Path, settings: Settings, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    del settings
    code, out, err = run(capsys, *[arg.format(video=video) for arg in args])
    assert code == 2
    assert out == ""
    assert "Error" in err
    assert "Traceback" not in err


# --- quiet ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["frames", "{video}", "--every", "25", "--out", "{tmp}/frames"],
        ["split", "{video}", "--frames", "50", "--out", "{tmp}/clips"],
        ["ingest", "{video}"],
    ],
    ids=["frames", "split", "ingest"],
)
def test_quiet_prints_no_progress(
    video: Path,
    tmp_path: Path,
    *,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
) -> None:
    del settings
    # Make rich draw as on a terminal, so that without --quiet progress really shows.
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    argv = [arg.format(video=video, tmp=tmp_path) for arg in args]
    code, loud_out, loud_err = run(capsys, *argv)
    assert code == 0, loud_err
    assert loud_err.strip(), "without --quiet, progress goes to stderr"
    code, quiet_out, quiet_err = run(capsys, "--quiet", *argv)
    assert code == 0
    assert quiet_err == ""
    assert quiet_out == loud_out
    assert quiet_out.strip()


def test_no_stray_output_on_a_non_terminal(
    video: Path,
    tmp_path: Path,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Piped to a log (not a terminal), a successful command writes nothing to stderr."""
    del settings
    monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    code, out, err = run(capsys, "frames", video, "--every", "50", "--out", tmp_path / "f")
    assert code == 0
    assert out.strip()
    assert err == ""


def test_every_command_is_listed_and_a_command_loads_only_what_it_needs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The commands kept in their own modules are loaded when named: ``tweenlab synth`` does not
    import the media layer (PyAV), the server's framework or the other commands (a fresh
    interpreter, so nothing imported by other tests counts)."""
    script = (
        "import sys\n"
        "from tweenlab.cli.main import cli\n"
        "try:\n"
        "    cli.main(['synth', 'interpolate', '--help'], standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(done.stdout.split())
    assert "tweenlab.cli.synth" in loaded
    for heavy in ("av", "fastapi", "sqlalchemy", "tweenlab.media", "tweenlab.cli.server"):
        assert heavy not in loaded, heavy
    code, listing, _ = run(capsys, "--help")
    assert code == 0
    for name in LAZY_COMMANDS:
        assert re.search(rf"^\s+{name}\s", listing, re.MULTILINE), name


def test_an_internal_error_prints_only_the_first_line_of_its_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """SQLAlchemy's errors go on with the statement and its parameters (on PostgreSQL ``user
    create`` printed the new account's Argon2 hash that way)."""
    monkeypatch.delenv("TWEENLAB_DEBUG", raising=False)

    @click.command()
    def failing() -> None:
        raise ValueError(
            "(psycopg.errors.DataError) value too long\n[SQL: INSERT INTO users ...]\n"
            "[parameters: {'password_hash': '$argon2id$v=19$secret'}]"
        )

    assert run_with_boundary(failing, []) == 1
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "internal error: ValueError: (psycopg.errors.DataError) value too long "
        "(TWEENLAB_DEBUG=1 shows the traceback)"
    ]
