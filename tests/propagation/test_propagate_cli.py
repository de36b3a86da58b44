"""``tweenlab propagate``: eval_tracks' contract, its linear baseline, bad input, real footage.

Commands run in-process through ``run_with_boundary`` with the ``settings`` fixture (a private
data folder). ``/work/shared/tools/eval_tracks.py`` is imported from its path; the tests that
need it (or the real footage) skip loudly without it.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO, shared_file
from tests.propagation import Box, circle_video
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.settings import Settings

FRAMES = 40
EVAL_TRACKS = REPO.parent / "shared" / "tools" / "eval_tracks.py"


@pytest.fixture(scope="module")
def eval_tracks() -> ModuleType:
    """The evaluation script, imported from its path."""
    if not EVAL_TRACKS.exists():
        pytest.skip(f"needs {EVAL_TRACKS} (../shared/tools is absent on this machine)")
    spec = importlib.util.spec_from_file_location("eval_tracks", EVAL_TRACKS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def circle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Box]]:
    return circle_video(tmp_path_factory.mktemp("cli") / "circle.mp4", frames=FRAMES)


def keyframes_file(path: Path, keys: dict[int, Box | None], frames: int | None = None) -> Path:
    document: dict[str, object] = {
        "keyframes": {str(f): (list(b) if b is not None else None) for f, b in keys.items()}
    }
    if frames is not None:
        document["frames"] = frames
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def propagate(
    capsys: pytest.CaptureFixture[str], video: Path, keys: Path, out: Path, *options: str
) -> tuple[int, str, str]:
    argv = ["-q", "propagate", str(video), "--keyframes", str(keys), "--out", str(out)]
    code = run_with_boundary(cli, [*argv, *options])
    stdout, stderr = capsys.readouterr()
    return code, stdout, stderr


def read_boxes(out: Path, frames: int) -> list[Box | None]:
    boxes = json.loads(out.read_text(encoding="utf-8"))["boxes"]
    assert sorted(boxes, key=int) == [str(f) for f in range(frames)], "not every frame key"
    return [tuple(boxes[str(f)]) if boxes[str(f)] is not None else None for f in range(frames)]


def test_propagate_writes_every_frame(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    tmp_path: Path,
    circle: tuple[Path, list[Box]],
) -> None:
    video, truth = circle
    keys: dict[int, Box | None] = {0: truth[0], 20: truth[20], 39: truth[39]}
    out = tmp_path / "deeper" / "out.json"
    code, stdout, stderr = propagate(
        capsys, video, keyframes_file(tmp_path / "kf.json", keys, FRAMES), out
    )
    assert (code, stderr) == (0, "")
    assert "40 of 40 frames filled" in stdout
    document = json.loads(out.read_text(encoding="utf-8"))
    boxes = read_boxes(out, FRAMES)
    for frame, box in keys.items():
        assert boxes[frame] == box, f"keyframe {frame} changed"
    assert all(box is not None and len(box) == 4 for box in boxes)
    confidence = document["confidence"]
    assert sorted(confidence, key=int) == [str(f) for f in range(FRAMES)]
    assert all(0.0 <= value <= 1.0 for value in confidence.values())
    assert [confidence[str(f)] for f in keys] == [1.0, 1.0, 1.0]
    suggested = document["suggested"]
    assert len(suggested) == 2
    assert 0 < suggested[0] < 20 < suggested[1] < 39
    leftovers = [p.name for p in out.parent.iterdir() if p.name != "out.json"]
    assert leftovers == []


def test_linear_is_eval_tracks_own_baseline(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    tmp_path: Path,
    circle: tuple[Path, list[Box]],
    eval_tracks: ModuleType,
) -> None:
    """Nothing before the first keyframe, straight lines, absent runs, hold after the last."""
    video, truth = circle
    keys: dict[int, Box | None] = {
        3: truth[3],
        9: (50.5, 40.25, 20.0, 60.0),
        16: None,
        22: truth[22],
        23: truth[23],
        31: (0.5, 0.5, 191.0, 143.0),
    }
    out = tmp_path / "out.json"
    code, _, stderr = propagate(
        capsys, video, keyframes_file(tmp_path / "kf.json", keys), out, "--method", "linear"
    )
    assert (code, stderr) == (0, "")
    ours, theirs = read_boxes(out, FRAMES), eval_tracks.linear(FRAMES, keys)
    for frame, (mine, reference) in enumerate(zip(ours, theirs, strict=True)):
        if reference is None:
            assert mine is None, f"frame {frame}"
        else:
            assert mine is not None, f"frame {frame}"
            assert max(abs(a - b) for a, b in zip(mine, reference, strict=True)) < 1e-6
    assert ours[:3] == [None] * 3 and ours[16:22] == [None] * 6
    assert ours[32:] == [keys[31]] * 8


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(('{"keyframes": {"0": [1, 2, 3, 4]', "not valid JSON"), id="bad-json"),
        pytest.param(('{"frames": 40}', "keyframes"), id="missing-keyframes"),
        pytest.param(('{"keyframes": {"x": [1, 2, 3, 4]}}', "keyframes.x"), id="bad-key"),
        pytest.param(('{"keyframes": {"0": [1, 2, 3]}}', "keyframes.0"), id="three-numbers"),
        pytest.param(('{"frames": 60, "keyframes": {}}', "says 60 frames"), id="frames-differ"),
        pytest.param(('{"keyframes": {"40": [1, 2, 3, 4]}}', "outside"), id="frame-outside"),
        pytest.param(('{"keyframes": {"5": [1, 2, 0, 4]}}', "w, h > 0"), id="zero-size"),
        pytest.param(('{"keyframes": {"5": [1, 2, 3, -4]}}', "w, h > 0"), id="negative-size"),
        pytest.param(('{"keyframes": {"5": [NaN, 2, 3, 4]}}', "finite"), id="nan"),
    ],
)
@pytest.mark.parametrize("method", ["flow", "linear"])
@pytest.mark.usefixtures("settings")
def test_bad_input_exits_2_with_one_error_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    circle: tuple[Path, list[Box]],
    case: tuple[str, str],
    method: str,
) -> None:
    text, words = case
    keys = tmp_path / "kf.json"
    keys.write_text(text, encoding="utf-8")
    out = tmp_path / "out.json"
    code, stdout, stderr = propagate(capsys, circle[0], keys, out, "--method", method)
    assert code == 2
    assert stdout == ""
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert words in lines[0]
    assert not out.exists()


def test_missing_files_exit_2(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    tmp_path: Path,
    circle: tuple[Path, list[Box]],
) -> None:
    keys = keyframes_file(tmp_path / "kf.json", {0: circle[1][0]})
    for video, keyframes in ((tmp_path / "absent.mp4", keys), (circle[0], tmp_path / "no.json")):
        code, _, stderr = propagate(capsys, video, keyframes, tmp_path / "out.json")
        assert code == 2
        assert len(stderr.splitlines()) == 1 and stderr.startswith("error: "), stderr
    assert not (tmp_path / "out.json").exists()


@pytest.mark.parametrize("target", ["video", "keyframes", "video-link", "under-the-video"])
@pytest.mark.usefixtures("settings")
def test_out_never_replaces_an_input(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    circle: tuple[Path, list[Box]],
    target: str,
) -> None:
    """``--out clip.mp4`` replaced the video with JSON (and ``--out kf.json`` the person's
    keyframes), exit 0: refused before anything is read, the input untouched."""
    video = tmp_path / "clip.mp4"
    video.write_bytes(circle[0].read_bytes())
    keys = keyframes_file(tmp_path / "kf.json", {0: circle[1][0]})
    before = {video: video.read_bytes(), keys: keys.read_bytes()}
    out = {
        "video": video,
        "keyframes": keys,
        "video-link": tmp_path / "link.mp4",
        "under-the-video": video / "out.json",  # was "cannot write (File exists)"
    }[target]
    if target == "video-link":
        out.symlink_to(video)
    code, stdout, stderr = propagate(capsys, video, keys, out, "--method", "linear")
    assert code == 2 and stdout == ""
    words = "is a file, not a folder" if target == "under-the-video" else "is also"
    assert len(stderr.splitlines()) == 1 and words in stderr, stderr
    assert {path: path.read_bytes() for path in before} == before


@pytest.mark.shared_data
def test_flow_beats_linear_on_real_footage(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    tmp_path: Path,
    eval_tracks: ModuleType,
) -> None:
    """vot-bag (480x360, a bag swinging in the wind), keyframes on frames 0 and 40.

    A null keyframe at 60 bounds the work (flow of about 65 frame pairs, not the whole video);
    only frames 1..39 are scored. Measured: flow 0.697, linear 0.398.
    """
    video = shared_file("tracks/vot-bag/video.mp4")
    truth = eval_tracks.load_gt(shared_file("tracks/vot-bag/gt.txt"))
    keys = {0: truth[0], 40: truth[40], 60: None}
    out = tmp_path / "out.json"
    code, _, stderr = propagate(
        capsys, video, keyframes_file(tmp_path / "kf.json", keys, len(truth)), out
    )
    assert (code, stderr) == (0, "")
    ours = read_boxes(out, len(truth))
    assert ours[0] == truth[0] and ours[40] == truth[40]
    assert ours[60:] == [None] * (len(truth) - 60)
    linear = eval_tracks.linear(len(truth), keys)
    scored = range(1, 40)
    flow_iou = sum(eval_tracks.iou(truth[f], ours[f]) for f in scored) / len(scored)
    linear_iou = sum(eval_tracks.iou(truth[f], linear[f]) for f in scored) / len(scored)
    assert math.isfinite(flow_iou)
    assert flow_iou > linear_iou + 0.15, f"flow {flow_iou:.3f}, linear {linear_iou:.3f}"


def test_flow_estimator_is_chosen_by_name(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    tmp_path: Path,
    circle: tuple[Path, list[Box]],
    eval_tracks: ModuleType,
) -> None:
    """``--flow farneback`` fills from Farneback's flow, kept in its own cache; an unknown
    name is one error line, and nothing is written."""
    video, truth = circle
    keys: dict[int, Box | None] = {0: truth[0], 39: truth[39]}
    keyframes = keyframes_file(tmp_path / "kf.json", keys, FRAMES)
    out = tmp_path / "out.json"
    code, _, stderr = propagate(capsys, video, keyframes, out, "--flow", "farneback")
    assert (code, stderr) == (0, "")
    caches = sorted(p.name.split("-")[1] for p in settings.derived_dir.rglob("flow-*"))
    assert caches == ["farneback"]
    ours = read_boxes(out, FRAMES)
    linear = eval_tracks.linear(FRAMES, keys)
    scored = range(1, FRAMES - 1)
    flow_iou = sum(eval_tracks.iou(truth[f], ours[f]) for f in scored) / len(scored)
    linear_iou = sum(eval_tracks.iou(truth[f], linear[f]) for f in scored) / len(scored)
    assert flow_iou > linear_iou + 0.1, f"farneback {flow_iou:.3f}, linear {linear_iou:.3f}"
    code, _, stderr = propagate(capsys, video, keyframes, tmp_path / "no.json", "--flow", "nope")
    assert code == 2 and "no plugin named 'nope'" in stderr
    assert not (tmp_path / "no.json").exists()


def test_flow_is_computed_ahead_of_time(
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    circle: tuple[Path, list[Box]],
) -> None:
    """``tweenlab flow`` fills the cache that in-betweening then reads: a second run of the
    same range computes nothing; bad ranges are one error line."""
    video = circle[0]

    def flow(*options: str) -> tuple[int, str, str]:
        code = run_with_boundary(cli, ["-q", "flow", str(video), *options])
        stdout, stderr = capsys.readouterr()
        return code, stdout, stderr

    code, stdout, stderr = flow("--range", "0:10")
    assert (code, stderr) == (0, ""), stderr
    assert "9 frame pairs of flow (9 computed now) for frames 0..9" in stdout
    folder = next(settings.derived_dir.rglob("flow-seeded-*"))
    assert len(list(folder.glob("[0-9]*.npy"))) == 9  # and a grey frame per frame
    code, stdout, _ = flow()
    assert code == 0 and f"{FRAMES - 1} frame pairs of flow ({FRAMES - 10} computed now)" in stdout
    assert len(list(folder.glob("[0-9]*.npy"))) == FRAMES - 1
    for bad, words in (("5:6", "not a range of 2 or more"), ("0:99", "0..39"), ("0:9:2", "STEP")):
        code, _, stderr = flow("--range", bad)
        assert code == 2 and words in stderr and len(stderr.splitlines()) == 1, stderr
