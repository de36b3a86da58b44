"""Where an export may go (found by an audit, 2026-11-28): an export replaces its folder whole,
so ``--out`` must be a new or empty folder or an earlier export. A folder of other files (the
video and annotations among them) was deleted, exit 0; a file became a folder; ``.`` and ``..``
were internal errors. And ``import --out`` never writes over what it reads."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.formats.helpers import box_annotations
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.errors import UsageError
from tweenlab.formats import ExportOptions
from tweenlab.services.annotations import export_annotations, load_annotations, save_annotations
from tweenlab.settings import Settings


def export_with(format_name: str, out: Path, settings: Settings) -> None:
    export_annotations(box_annotations(), out, format_name, ExportOptions(), settings)


def test_an_export_replaces_an_earlier_export_or_an_empty_folder(
    tmp_path: Path, settings: Settings
) -> None:
    out = tmp_path / "coco"
    export_with("coco", out, settings)
    export_with("yolo", out, settings)  # an earlier export: replaced whole
    assert (out / "data.yaml").is_file() and not (out / "annotations").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    export_with("mot", empty, settings)
    assert (empty / "provenance.json").is_file()


@pytest.mark.parametrize("target", ["folder-of-files", "a-file", "dot"])
def test_an_export_never_replaces_what_is_not_an_export(
    tmp_path: Path, settings: Settings, target: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "work").mkdir()
    keep = tmp_path / "work" / "notes.txt"
    keep.write_text("mine")
    monkeypatch.chdir(tmp_path / "work")
    out = {"folder-of-files": tmp_path / "work", "a-file": keep, "dot": Path(".")}[target]
    with pytest.raises(UsageError, match="--out"):
        export_with("coco", out, settings)
    assert keep.read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["notes.txt"]


def test_cli_refuses_an_out_holding_its_inputs_and_an_import_over_its_file(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    del settings
    labels = tmp_path / "annotations.json"
    save_annotations(box_annotations(), labels)
    before = labels.read_bytes()
    code = run_with_boundary(
        cli, ["export", str(labels), "--format", "coco", "--out", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert code == 2 and "holds ANNOTATIONS" in err, err
    code = run_with_boundary(cli, ["import", str(labels), "--out", str(labels)])
    err = capsys.readouterr().err
    assert code == 2 and "is also FILE" in err, err
    assert labels.read_bytes() == before


def test_importing_a_native_file_keeps_its_keyframes(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """They are a person's: thinning them (the default for dense imports) moved most of the
    demo's hand-placed keyframes (81 -> 79, others chosen)."""
    del settings
    labels = tmp_path / "annotations.json"
    save_annotations(box_annotations(), labels)
    out = tmp_path / "again.json"
    code = run_with_boundary(cli, ["import", str(labels), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert load_annotations(out).tracks == load_annotations(labels).tracks


@pytest.mark.shared_data
def test_an_export_with_images_of_frames_that_cannot_be_decoded_is_refused_whole(
    tmp_path: Path, settings: Settings
) -> None:
    """The COCO file listed every image, and those of frames that could not be decoded were
    never written, exit 0; now the export fails naming them, and nothing is left."""
    from tests.conftest import shared_file
    from tweenlab.core import AnnotationSet, Box, Keyframe, Schema, Track, VideoRef
    from tweenlab.errors import MediaError

    data = bytearray(shared_file("clips/bikes.mp4").read_bytes())  # 250 frames of 640x272
    middle = len(data) // 2
    data[middle : middle + 4000] = bytes(b ^ 0x5A for b in data[middle : middle + 4000])
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    keys = {0: Keyframe(Box(4, 4, 20, 10)), 249: Keyframe(Box(40, 4, 20, 10))}
    labels = AnnotationSet(
        VideoRef("damaged.mp4", 250, 640, 272), Schema.of("car"), {1: Track(1, "car", keys)}
    )
    out = tmp_path / "coco"
    with pytest.raises(MediaError, match="exported frames cannot be decoded"):
        export_annotations(
            labels, out, "coco", ExportOptions(images="jpg"), settings, video=damaged
        )
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.mp4", "tweenlab-data"]


@pytest.mark.parametrize(
    "split", [(math.nan, 0.0, 1.0), (math.inf, 0.0, 0.0), (-0.1, 0.6, 0.5), (0.5, 0.5, 0.5)]
)
def test_split_fractions_are_finite_and_add_up(split: tuple[float, float, float]) -> None:
    """``--split nan,0,1`` passed both checks (NaN compares false) and put everything in train."""
    with pytest.raises(UsageError, match="--split"):
        ExportOptions(split=split)
