"""Exports with synthesised frames: extra training samples labelled at their fractional time."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pycocotools.coco import COCO

from tests.conftest import shared_file
from tests.synthesis.scenes import psnr, shifted, texture
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.core import AnnotationSet, Box, Keyframe, Schema, Track, VideoRef
from tweenlab.errors import FormatError, UsageError
from tweenlab.formats import ExportOptions, plan_export
from tweenlab.media import VideoReader, VideoWriter, probe
from tweenlab.services import annotations as service
from tweenlab.settings import Settings

FRAMES, WIDTH, HEIGHT = 16, 192, 128
SPEED = 3.0  # pixels per frame, to the right
BACKGROUND = texture((HEIGHT, WIDTH + 64), seed=3)


def truth(time: float) -> np.ndarray:
    """The scene at a (fractional) time: the camera pans left, so everything moves right."""
    return shifted(BACKGROUND, SPEED * time, 0.0)[:, :WIDTH]


def box_at(time: float) -> Box:
    return Box(40 + SPEED * time, 30, 50, 40)


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "pan.mp4"
    with VideoWriter(path, WIDTH, HEIGHT, Fraction(1, 25), crf=6) as writer:
        for n in range(FRAMES):
            writer.write(truth(n), pts=n)
    return path


def _annotations(frame_count: int = FRAMES, *, leaves: int | None = None) -> AnnotationSet:
    keys = {0: Keyframe(box_at(0)), frame_count - 1: Keyframe(box_at(frame_count - 1))}
    if leaves is not None:
        keys[leaves] = Keyframe(box_at(leaves), outside=True)
    track = Track(1, "rock", keys)
    ref = VideoRef("pan.mp4", frame_count, WIDTH, HEIGHT, Fraction(25))
    return AnnotationSet(ref, Schema.of("rock"), {1: track})


def test_synthesised_frames_are_exported_with_their_in_between_labels(
    video: Path, tmp_path: Path, settings: Settings
) -> None:
    out = tmp_path / "coco"
    options = ExportOptions(frames="every", step=4, images="png", synthetic=1)
    result = service.export_annotations(_annotations(), out, "coco", options, settings, video=video)
    coco = COCO(str(out / "annotations" / "instances_default.json"))
    names = sorted(image["file_name"] for image in coco.dataset["images"])
    assert names == sorted(
        [f"frame_{n:06d}.png" for n in (0, 4, 8, 12)]
        + [f"frame_{n:06d}_t500.png" for n in (0, 4, 8, 12)]
    )
    for image in coco.dataset["images"]:
        time = int(image["file_name"][6:12]) + (0.5 if "_t500" in image["file_name"] else 0.0)
        (entry,) = coco.loadAnns(coco.getAnnIds(imgIds=[image["id"]]))
        assert entry["bbox"] == pytest.approx(list(box_at(time).bbox()))
        written = np.asarray(Image.open(out / "images" / "default" / image["file_name"]))
        assert psnr(truth(time), written) > 32.0, image["file_name"]
        if time % 1:  # a new picture, not a copy of a neighbour
            for neighbour in (time - 0.5, time + 0.5):
                assert psnr(truth(time), written) > psnr(truth(neighbour), written) + 6
    provenance = json.loads((out / "provenance.json").read_text())
    made = [p for p in provenance if p["synthetic"]]
    assert [(p["frame"], p["t"], p["between"], p["engine"]) for p in made] == [
        (n, 0.5, [n, n + 1], "flow") for n in (0, 4, 8, 12)
    ]
    assert all(
        p["pts"] is None and p["seconds"] == pytest.approx((p["frame"] + 0.5) / 25) for p in made
    )
    assert [p["frame"] for p in provenance if not p["synthetic"]] == [0, 4, 8, 12]
    assert sum(f.synthetic for f in result.plan.frames) == 4
    marked = {i["file_name"]: (i["source_frame"], i["synthetic"]) for i in coco.dataset["images"]}
    assert marked["frame_000004_t500.png"] == (4, True)
    assert marked["frame_000004.png"] == (4, False)
    # such a file is a training set, not annotations to import back: refused, naming why
    with pytest.raises(FormatError, match="is a synthesised frame"):
        service.import_annotations(out, settings, format_name="coco")


def test_no_frame_is_synthesised_where_an_object_leaves_or_a_scene_ends() -> None:
    options = ExportOptions(frames="all", synthetic=3, scene_starts=(0, 6))
    plan = plan_export(_annotations(leaves=10), options)
    made = sorted({f.source for f in plan.frames if f.synthetic})
    # frame 5 is the last of its scene, frame 9 the last the object is on (it is back on the
    # video's last frame, 15, after which there is nothing)
    assert made == [0, 1, 2, 3, 4, 6, 7, 8]
    assert [f.name for f in plan.frames if f.source == 0] == [
        "frame_000000",
        "frame_000000_t250",
        "frame_000000_t500",
        "frame_000000_t750",
    ]


def test_no_frame_is_synthesised_across_two_subsets() -> None:
    options = ExportOptions(frames="all", synthetic=1, split=(0.5, 0.5, 0.0), split_blocks=2)
    plan = plan_export(_annotations(), options)
    made = {f.source for f in plan.frames if f.synthetic}
    assert {f.subset for f in plan.frames} == {"train", "val"}
    assert made == set(range(FRAMES - 1)) - {FRAMES // 2 - 1}  # none at the blocks' border
    for frame in plan.frames:
        if frame.synthetic:
            assert frame.source is not None
            after = next(f for f in plan.frames if f.source == frame.source + 1 and not f.synthetic)
            assert after.subset == frame.subset


@pytest.mark.parametrize(
    ("options", "needs_video", "message"),
    [
        (ExportOptions(frames="all", synthetic=1), True, "--synthetic needs --video and --images"),
        (
            ExportOptions(frames="all", synthetic=1, images="jpg"),
            False,
            "--synthetic needs --video and --images",
        ),
    ],
    ids=["no-images", "no-video"],
)
def test_synthetic_samples_need_the_video_and_images(
    video: Path,
    tmp_path: Path,
    *,
    settings: Settings,
    options: ExportOptions,
    needs_video: bool,
    message: str,
) -> None:
    with pytest.raises(UsageError, match=message):
        service.export_annotations(
            _annotations(),
            tmp_path / "out",
            "yolo",
            options,
            settings,
            video=video if needs_video else None,
        )
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("format_name", ["mot", "cvat_video", "native"], ids=str)
def test_video_formats_refuse_synthetic_samples(
    video: Path, tmp_path: Path, settings: Settings, format_name: str
) -> None:
    options = ExportOptions(frames="all", images="jpg", synthetic=1)
    with pytest.raises(UsageError, match=f"--synthetic: {format_name} is not a dataset of sep"):
        service.export_annotations(
            _annotations(), tmp_path / "out", format_name, options, settings, video=video
        )
    assert not (tmp_path / "out").exists()


def test_too_many_synthetic_frames_are_refused() -> None:
    with pytest.raises(UsageError, match="--synthetic 16: give 0 to 15"):
        ExportOptions(synthetic=16)


def test_cli_exports_yolo_with_synthetic_samples(
    video: Path, tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "pan.json"
    service.save_annotations(_annotations(), source)
    out = tmp_path / "yolo"
    args = ["export", str(source), "--format", "yolo", "--out", str(out), "--video", str(video)]
    args += ["--frames", "every:5", "--images", "jpg", "--synthetic", "2"]
    code = run_with_boundary(cli, args)
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "10 frames exported as yolo" in printed.out and "6 of them synthesised" in printed.out
    labels = sorted(p.name for p in (out / "labels" / "default").iterdir())
    assert "frame_000005_t333.txt" in labels and "frame_000015.txt" in labels
    line = (out / "labels" / "default" / "frame_000005_t666.txt").read_text().split()
    expected = box_at(5 + 2 / 3)
    assert float(line[1]) * WIDTH == pytest.approx(expected.x + expected.w / 2, abs=0.01)


def test_real_footage_synthesised_samples_lie_between_their_neighbours(
    tmp_path: Path, settings: Settings
) -> None:
    clip = shared_file("clips/car-detection.mp4")
    info = probe(clip)
    width, height = info.display_size
    track = Track(
        1,
        "car",
        {10: Keyframe(Box(100, 100, 80, 50)), 30: Keyframe(Box(160, 120, 80, 50))},
    )
    ref = VideoRef(clip.name, info.frame_count, width, height, info.frame_rate)
    annotations = AnnotationSet(ref, Schema.of("car"), {1: track})
    out = tmp_path / "datumaro"
    options = ExportOptions(frames="keyframes", images="png", synthetic=1)
    service.export_annotations(annotations, out, "datumaro", options, settings, video=clip)
    document = json.loads((out / "annotations" / "default.json").read_text())
    items = {item["id"]: item for item in document["items"]}
    assert set(items) == {"frame_000010", "frame_000010_t500", "frame_000030", "frame_000030_t500"}
    made = np.asarray(Image.open(out / "images" / "default" / "frame_000010_t500.png"))
    with VideoReader(clip) as reader:
        before, after = reader[10], reader[11]
    assert min(psnr(before, made), psnr(after, made)) > 25.0
    assert not np.array_equal(made, before) and not np.array_equal(made, after)
    (entry,) = items["frame_000010_t500"]["annotations"]
    assert entry["bbox"] == pytest.approx([101.5, 100.5, 80, 50])


def test_cli_retime_carries_the_annotations_onto_the_new_frames(
    video: Path, tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "pan.json"
    service.save_annotations(_annotations(leaves=10), source)
    out, labels = tmp_path / "pan-50.mp4", tmp_path / "pan-50.json"
    args = ["synth", "retime", str(video), "--factor", "2", "--out", str(out)]
    code = run_with_boundary(
        cli, [*args, "--annotations", str(source), "--annotations-out", str(labels)]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert json.loads(printed.out)["annotations"] == str(labels)
    retimed = service.load_annotations(labels)
    assert retimed.video.frame_count == probe(out).frame_count == 2 * FRAMES - 1
    assert retimed.video.fps == 50
    track = retimed.track(1)
    assert track.at(7).shape.bbox() == pytest.approx(box_at(3.5).bbox())  # type: ignore[union-attr]
    # the object leaves at 10: the frame made at 9.5 no longer shows it
    assert not track.at(18).outside and track.at(19).outside  # type: ignore[union-attr]


def test_cli_retime_labels_name_the_retimed_video(
    video: Path, tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """The labels ``--annotations-out`` writes are of the retimed video: they name it, as
    they carry its frame count and rate (they named the source, whose 16 frames an export with
    ``--video pan.mp4`` then refused against their 31)."""
    source = tmp_path / "pan.json"
    service.save_annotations(_annotations(), source)
    out, labels = tmp_path / "pan-50.mp4", tmp_path / "pan-50.json"
    args = ["synth", "retime", str(video), "--factor", "2", "--out", str(out)]
    code = run_with_boundary(
        cli, [*args, "--annotations", str(source), "--annotations-out", str(labels)]
    )
    assert code == 0, capsys.readouterr().err
    retimed = service.load_annotations(labels).video
    assert (retimed.name, retimed.frame_count) == ("pan-50.mp4", probe(out).frame_count)


def test_cli_retime_refuses_annotations_of_another_video(
    video: Path, tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "other.json"
    service.save_annotations(_annotations(frame_count=FRAMES + 4), source)
    out = tmp_path / "never.mp4"
    args = ["synth", "retime", str(video), "--factor", "2", "--out", str(out)]
    code = run_with_boundary(
        cli, [*args, "--annotations", str(source), "--annotations-out", "x.json"]
    )
    assert code == 2
    assert f"has {FRAMES} frames, the annotations are of a video with {FRAMES + 4}" in (
        capsys.readouterr().err
    )
    assert not out.exists()
    code = run_with_boundary(cli, [*args, "--annotations", str(source)])
    assert code == 2 and "give both --annotations and --annotations-out" in capsys.readouterr().err


def test_no_frame_is_synthesised_across_a_hard_cut_the_analysis_finds(
    tmp_path: Path, settings: Settings
) -> None:
    other = texture((HEIGHT, WIDTH), seed=11)
    frames = [truth(n) for n in range(4)] + [shifted(other, 2.0 * n, 0) for n in range(4)]
    video = tmp_path / "two-shots.mp4"
    with VideoWriter(video, WIDTH, HEIGHT, Fraction(1, 25), crf=8) as writer:
        for n, frame in enumerate(frames):
            writer.write(frame, pts=n)
    out = tmp_path / "coco"
    options = ExportOptions(frames="all", images="jpg", synthetic=1)
    service.export_annotations(_annotations(8), out, "coco", options, settings, video=video)
    provenance = json.loads((out / "provenance.json").read_text())
    made = [p["frame"] for p in provenance if p["synthetic"]]
    assert made == [0, 1, 2, 4, 5, 6]  # none between frame 3 and the new shot's first frame
