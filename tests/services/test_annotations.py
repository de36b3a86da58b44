"""Export and import end to end: a real video, frame images, provenance, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.media.videos import make_video, read_stamp
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.core import AnnotationSet, Box, Keyframe, Schema, Track, VideoRef
from tweenlab.errors import UsageError
from tweenlab.formats import ExportOptions
from tweenlab.media import build_index
from tweenlab.services import annotations as service
from tweenlab.settings import Settings

FRAMES = 48


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "clip.mp4", frames=FRAMES, bframes=2)


def _annotations(frame_count: int = FRAMES) -> AnnotationSet:
    ref = VideoRef("clip.mp4", frame_count, 160, 96)
    walker = Track(
        1, "person", {0: Keyframe(Box(10, 50, 20, 30)), 40: Keyframe(Box(120, 50, 20, 30))}
    )
    car = Track(
        2, "car", {5: Keyframe(Box(0, 0, 30, 20)), 20: Keyframe(Box(0, 0, 30, 20), outside=True)}
    )
    return AnnotationSet(ref, Schema.of("person", "car"), {1: walker, 2: car})


@pytest.mark.parametrize("format_name", ["coco", "yolo", "mot", "cvat_video", "datumaro"], ids=str)
def test_export_writes_the_exact_frames_with_provenance(
    video: Path, tmp_path: Path, settings: Settings, format_name: str
) -> None:
    out = tmp_path / "export"
    options = ExportOptions(frames="every", step=5, images="png")
    result = service.export_annotations(
        _annotations(), out, format_name, options, settings, video=video
    )
    assert [f.frame for f in result.plan.frames] == list(range(0, FRAMES, 5))
    provenance = json.loads((out / "provenance.json").read_text())
    index = build_index(video)
    assert [(p["frame"], p["pts"]) for p in provenance] == [
        (n, int(index.pts[n])) for n in range(0, FRAMES, 5)
    ]
    images = sorted(p for p in out.rglob("*.png"))
    assert len(images) == len(provenance)
    for image in images:
        stem = int("".join(ch for ch in image.stem if ch.isdigit()))
        frame = stem - 1 if format_name == "mot" else stem  # MOT numbers images from 1
        assert read_stamp(np.asarray(Image.open(image).convert("RGB"))) == frame, image
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_failed_export_leaves_nothing(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tweenlab.formats import coco

    def broken(*args: object, **kwargs: object) -> None:
        (Path(args[1]) / "annotations").mkdir()
        raise OSError("disk full")

    monkeypatch.setattr(coco.FORMAT, "export", broken)
    with pytest.raises(OSError, match="disk full"):
        service.export_annotations(
            _annotations(), tmp_path / "out", "coco", ExportOptions(), settings
        )
    assert (
        list(tmp_path.iterdir()) == [settings.data_dir]
        or not list(tmp_path.iterdir())
        or all(p == settings.data_dir for p in tmp_path.iterdir())
    )


def test_a_video_of_another_length_is_refused(
    video: Path, tmp_path: Path, settings: Settings
) -> None:
    with pytest.raises(UsageError, match="frames"):
        service.export_annotations(
            _annotations(FRAMES + 1), tmp_path / "o", "coco", ExportOptions(), settings, video=video
        )


def test_split_keeps_each_scene_in_one_subset(tmp_path: Path, settings: Settings) -> None:
    scenes = (0, 10, 20, 30, 40)
    options = ExportOptions(split=(0.6, 0.2, 0.2), scene_starts=scenes)
    result = service.export_annotations(_annotations(), tmp_path / "o", "coco", options, settings)
    subset_of_scene: dict[int, set[str]] = {}
    for frame in result.plan.frames:
        scene = max(s for s in scenes if s <= frame.frame)
        subset_of_scene.setdefault(scene, set()).add(frame.subset)
    assert all(len(subsets) == 1 for subsets in subset_of_scene.values())
    assert {"train", "val", "test"} == {s for v in subset_of_scene.values() for s in v}


def test_cli_import_then_export_round_trip(
    video: Path, tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    native = tmp_path / "a.json"
    service.save_annotations(_annotations(), native)
    mot = tmp_path / "mot"
    code = run_with_boundary(
        cli,
        ["-q", "export", str(native), "--format", "mot", "--out", str(mot), "--video", str(video)],
    )
    assert code == 0, capsys.readouterr().err
    back = tmp_path / "back.json"
    code = run_with_boundary(
        cli,
        ["-q", "import", str(mot), "--format", "mot", "--video", str(video), "--out", str(back)],
    )
    assert code == 0, capsys.readouterr().err
    imported = service.load_annotations(back)
    original = _annotations()
    for frame in range(FRAMES):
        for want, got in zip(original.tracks.values(), imported.tracks.values(), strict=True):
            a, b = want.at(frame), got.at(frame)
            shown_a = a is not None and not a.outside
            shown_b = b is not None and not b.outside
            assert shown_a == shown_b, frame
            if shown_a and a is not None and b is not None:
                assert np.allclose(a.shape.bbox(), b.shape.bbox(), atol=0.5), frame


@pytest.mark.parametrize(
    "argv",
    [
        ["export", "A", "--format", "coco", "--out", "O", "--frames", "sometimes"],
        ["export", "A", "--format", "coco", "--out", "O", "--split", "0.5,0.5"],
        ["export", "A", "--format", "coco", "--out", "O", "--images", "png"],
        ["export", "A", "--format", "nonsense", "--out", "O"],
        ["import", "A", "--format", "nonsense", "--out", "O"],
    ],
    ids=["bad-frames", "two-fractions", "images-without-video", "unknown-export", "unknown-import"],
)
def test_cli_bad_options_exit_2_with_one_line(
    argv: list[str], tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    native = tmp_path / "a.json"
    service.save_annotations(_annotations(), native)
    argv = [str(native) if a == "A" else str(tmp_path / "o") if a == "O" else a for a in argv]
    assert run_with_boundary(cli, argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:"), err
