"""Unusual but legitimate inputs of ``tweenlab propagate``: boxes too small
for OpenCV's MIL tracker (it never returned), frames too small for the flow, keyframes files
that are not UTF-8 text or that give one frame twice."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.propagation import write_keyframes
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.errors import FormatError, UsageError
from tweenlab.services.propagate import propagate_file, read_keyframes
from tweenlab.settings import Settings

_TRACK_TINY_BOX = """
import sys
import numpy as np
from tweenlab.propagation.tracker import _run
rng = np.random.default_rng(0)
images = [rng.integers(0, 255, (96, 128, 3), dtype=np.uint8) for _ in range(3)]
w, h = float(sys.argv[1]), float(sys.argv[2])
boxes, found = _run(images, np.array([40.0, 30.0, w, h]), 1.0)
assert found.tolist() == [1.0, 0.0, 0.0], found
assert (boxes == boxes[0]).all(), boxes
print("held")
"""


@pytest.mark.parametrize(
    ("width", "height"),
    [
        pytest.param(1, 1, id="1x1"),
        pytest.param(4, 4, id="4x4"),
        pytest.param(10, 2, id="10x2"),
        pytest.param(1, 40, id="1x40"),
    ],
)
def test_the_tracker_holds_a_box_too_small_for_mil_instead_of_hanging(
    width: int, height: int
) -> None:
    """MIL's ``init`` loops forever on such boxes; in a subprocess so a regression fails."""
    try:
        done = subprocess.run(
            [sys.executable, "-c", _TRACK_TINY_BOX, str(width), str(height)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"tracking a {width}x{height} box did not return")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "held"


def test_a_keyframes_file_that_is_not_utf8_is_a_format_error(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_bytes(b'\xff\xfe{"keyframes": {}}')
    with pytest.raises(FormatError, match=r"keys\.json: not UTF-8 text") as caught:
        read_keyframes(path)
    assert caught.value.path == path


def test_a_frame_given_twice_in_a_keyframes_file_is_a_format_error(tmp_path: Path) -> None:
    """JSON objects keep the last of two equal keys: one of the person's boxes would vanish."""
    text = '{"keyframes": {"0": [1, 2, 3, 4], "9": null, "0": [5, 6, 7, 8]}}'
    path = write_keyframes(tmp_path / "keys.json", text)
    with pytest.raises(FormatError, match="given twice") as caught:
        read_keyframes(path)
    assert caught.value.field == "keyframes.0"


def _small_video(path: Path, width: int, height: int, frames: int = 6) -> Path:
    """A 4:4:4 H.264 video of ``width`` x ``height`` noise frames."""
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv444p"
        for _ in range(frames):
            image = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.mark.parametrize(
    ("width", "height", "method"),
    [
        pytest.param(2, 2, "flow", id="2x2-flow"),
        pytest.param(2, 2, "tracker", id="2x2-tracker"),
        pytest.param(4, 64, "flow", id="4x64-flow"),
    ],
)
@pytest.mark.usefixtures("settings")  # its data folder, through the environment
def test_frames_too_small_for_the_flow_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], width: int, height: int, method: str
) -> None:
    """DIS refused 2x2 frames with an OpenCV error (an internal error); a 4 px side was
    stretched to 8 while the cache's one scale stayed 1.0, so x and y disagreed."""
    video = _small_video(tmp_path / "small.mp4", width, height)
    keys = write_keyframes(
        tmp_path / "keys.json", json.dumps({"keyframes": {"0": [0, 0, 1, 1], "5": [0, 0, 1, 1]}})
    )
    out = tmp_path / "out.json"
    argv = ["-q", "propagate", str(video), "--keyframes", str(keys), "--out", str(out)]
    code = run_with_boundary(cli, [*argv, "--method", method])
    stderr = capsys.readouterr().err
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("error: ")
    assert f"{video}: frames of {width}x{height} are too small" in stderr
    assert not out.exists()


@pytest.mark.usefixtures("settings")
def test_linear_still_fills_frames_too_small_for_the_flow(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video = _small_video(tmp_path / "small.mp4", 2, 2)
    keys = write_keyframes(
        tmp_path / "keys.json", json.dumps({"keyframes": {"0": [0, 0, 1, 1], "5": [1, 1, 1, 1]}})
    )
    out = tmp_path / "out.json"
    argv = ["-q", "propagate", str(video), "--keyframes", str(keys), "--out", str(out)]
    assert run_with_boundary(cli, [*argv, "--method", "linear"]) == 0, capsys.readouterr().err
    boxes = json.loads(out.read_text(encoding="utf-8"))["boxes"]
    assert len(boxes) == 6 and boxes["1"] == [0.2, 0.2, 1.0, 1.0]


@pytest.mark.parametrize(
    ("claimed", "message"),
    [
        pytest.param(
            10, 'frame 29 is outside the 10 frames its "frames" gives (0..9)', id="frames"
        ),
        pytest.param(None, "frame 40 is outside", id="video"),
    ],
)
def test_a_keyframe_outside_the_frames_is_an_error_naming_the_file(
    tmp_path: Path, claimed: int | None, message: str
) -> None:
    """The error names the keyframes file and says which count the keyframe is outside of:
    the file's own ``frames`` when it gives one (not "the video", which has more)."""
    video = _small_video(tmp_path / "clip.mp4", 64, 48, frames=30)
    frame = 29 if claimed is not None else 40
    keyframes = tmp_path / "k.json"
    document: dict[str, object] = {"keyframes": {"0": [4, 4, 10, 10], str(frame): [8, 8, 10, 10]}}
    if claimed is not None:
        document["frames"] = claimed
    keyframes.write_text(json.dumps(document))
    settings = Settings(data_dir=tmp_path / "data")
    out = tmp_path / "out.json"
    with pytest.raises(UsageError) as raised:
        propagate_file(video, keyframes, out, settings, method="linear")
    assert str(keyframes) in str(raised.value) and message in str(raised.value)
    assert f"keyframes.{frame}" in str(raised.value)
    assert not out.exists()
