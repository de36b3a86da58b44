"""Auto-labelling as a use case: a labeler's detections become thinned predicted tracks in a
native file; re-running replaces only unaccepted predictions; a failing labeler writes nothing.

The labeler here is a small real one (it finds the bright square of a generated video by
thresholding), registered under a test name, so these tests check the plumbing exactly; the
shipped labelers are tested on real footage in ``tests/autolabel``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from tests.propagation import write_video
from tweenlab.autolabel import Detections, LabelerOptions
from tweenlab.autolabel.base import RGB, read_class_names
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.core import Box, Keyframe, Track
from tweenlab.errors import LabelerError, UsageError
from tweenlab.plugins import registry
from tweenlab.services import autolabel as autolabel_service
from tweenlab.services.annotations import load_annotations, save_annotations
from tweenlab.services.autolabel import (
    accept_predictions,
    autolabel_file,
    labeler_options,
)
from tweenlab.services.demo import _prelabel
from tweenlab.settings import Settings

FRAMES = 60
SIDE = 20


def square_video(path: Path) -> tuple[Path, list[tuple[float, float]]]:
    """A white square moving right at 2 px a frame over black; it leaves at frame 45."""
    images, corners = [], []
    for frame in range(FRAMES):
        image = np.zeros((96, 160, 3), dtype=np.uint8)
        x, y = 10 + 2 * frame, 30
        if frame < 45:
            image[y : y + SIDE, x : x + SIDE] = 255
        images.append(image)
        corners.append((x, y))
    return write_video(path, images), corners


@dataclass
class BrightSquare:
    """Finds the bright pixels' bounding box; ``fail_on`` > 0 raises on that many calls."""

    name: str = "bright"
    classes: tuple[str, ...] = ("square",)
    batch_size: int = 4
    sequential: bool = False
    broken: bool = False

    def detect(self, frames: Sequence[RGB]) -> list[Detections]:
        if self.broken:
            raise RuntimeError("the model crashed")
        found = []
        for image in frames:
            ys, xs = np.nonzero(image[:, :, 0] > 128)
            if not len(xs):
                found.append(Detections.empty())
                continue
            box = [[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]]
            found.append(Detections(np.array(box, float), np.array([0.8]), np.array([0])))
        return found


@pytest.fixture
def bright() -> Iterator[None]:
    labelers = registry("labelers")
    labelers.register("bright", lambda options: BrightSquare(), replace=True)
    labelers.register("broken", lambda options: BrightSquare(broken=True), replace=True)
    yield


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return square_video(tmp_path / "square.mp4")[0]


def test_detections_become_a_thinned_predicted_track(
    bright: None, video: Path, tmp_path: Path, settings: Settings
) -> None:
    out = tmp_path / "pre.json"
    report = autolabel_file(
        video, out, settings, labeler="bright", options=LabelerOptions(), every=3
    )
    annotations = load_annotations(out)
    assert report.frames_labelled == len(range(0, FRAMES, 3)) + 1  # and the last frame
    (track,) = annotations.tracks.values()
    assert track.source == "auto" and track.score == pytest.approx(0.8)
    assert track.label == "square" and "square" in annotations.schema.names
    # straight motion: a keyframe at each end, then outside once the square has gone
    visible = [f for f, k in track.keyframes.items() if not k.outside]
    assert len(track.keyframes) <= 4, dict(track.keyframes)
    outside = [f for f, k in track.keyframes.items() if k.outside]
    assert outside and 43 <= outside[0] <= 48
    state = track.at(21)
    assert state is not None and abs(state.shape.x - 52) < 2.0  # type: ignore[attr-defined]
    assert visible[0] == 0


def test_running_again_replaces_only_unaccepted_predictions(
    bright: None, video: Path, tmp_path: Path, settings: Settings
) -> None:
    out = tmp_path / "pre.json"
    autolabel_file(video, out, settings, labeler="bright", options=LabelerOptions())
    first = load_annotations(out)
    accepted = accept_predictions(first)
    manual = Track(9, "square", {5: Keyframe(Box(1, 1, 5, 5))})
    save_annotations(accepted.with_tracks([manual]), out)

    report = autolabel_file(video, out, settings, labeler="bright", options=LabelerOptions())
    again = load_annotations(out)
    assert report.kept_tracks == 2
    sources = sorted(t.source for t in again.tracks.values())
    assert sources == ["auto", "manual", "manual"]
    assert again.tracks[9] == manual  # people's work untouched
    kept = [t for t in again.tracks.values() if t.source == "manual" and t.id != 9]
    assert kept[0].keyframes == first.tracks[kept[0].id].keyframes and kept[0].score is None

    autolabel_file(video, out, settings, labeler="bright", options=LabelerOptions())
    assert sorted(t.source for t in load_annotations(out).tracks.values()) == sources


def test_a_failing_labeler_writes_nothing(
    bright: None, video: Path, tmp_path: Path, settings: Settings
) -> None:
    out = tmp_path / "pre.json"
    autolabel_file(video, out, settings, labeler="bright", options=LabelerOptions())
    before = out.read_bytes()
    with pytest.raises(LabelerError, match=r"labeler 'bright', frame 0: failed: RuntimeError"):
        autolabel_file(video, out, settings, labeler="broken", options=LabelerOptions())
    assert out.read_bytes() == before


def test_an_unknown_labeler_names_the_known_ones(settings: Settings, video: Path) -> None:
    with pytest.raises(UsageError, match=r"no plugin named .nope.*yolov3-tiny"):
        autolabel_file(
            video, video.with_suffix(".json"), settings, labeler="nope", options=LabelerOptions()
        )


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["input_size"], "is not KEY=VALUE"),
        (["=3"], "is not KEY=VALUE"),
    ],
    ids=["no-equals", "no-key"],
)
def test_bad_labeler_options_are_named(extra: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        labeler_options(extra=extra)


def test_labeler_options_read_numbers_and_class_files(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("# my classes\ncar\n\ntruck\n")
    options = labeler_options(classes=names, extra=["input_size=640", "head=yolov8", "iou=0.5"])
    assert options.classes == ("car", "truck")
    assert options.extra == {"input_size": 640, "head": "yolov8", "iou": 0.5}


def test_the_cli_prelabels_and_prints_what_it_made(
    bright: None,
    video: Path,
    tmp_path: Path,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = tmp_path / "cli.json"
    code = run_with_boundary(
        cli, ["autolabel", str(video), "--labeler", "bright", "--every", "2", "--out", str(out)]
    )
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "1 predicted tracks" in printed.out and str(out) in printed.out
    assert load_annotations(out).tracks[1].source == "auto"

    code = run_with_boundary(
        cli, ["autolabel", str(video), "--labeler", "broken", "--out", str(out)]
    )
    assert code == 2 and "frame 0: failed" in capsys.readouterr().err


def test_presence_becomes_events_and_accepting_all_unmarks_them(
    bright: None, video: Path, tmp_path: Path, settings: Settings
) -> None:
    out = tmp_path / "pre.json"
    autolabel_file(video, out, settings, labeler="bright", options=LabelerOptions(), every=2)
    annotations = load_annotations(out)
    (event,) = annotations.events
    assert (event.label, event.start) == ("square", 0)
    assert 43 <= event.end <= 46  # the square leaves at frame 45
    assert event.attributes["source"] == "auto"
    (clip,) = annotations.classes
    assert clip.label == "square" and clip.attributes["labeler"] == "bright"
    accepted = accept_predictions(annotations)
    assert all(t.source == "manual" for t in accepted.tracks.values())
    assert "source" not in accepted.events[0].attributes
    assert "source" not in accepted.classes[0].attributes


def test_suggested_frames_are_labelled(
    bright: None, video: Path, tmp_path: Path, settings: Settings
) -> None:
    out = tmp_path / "pre.json"
    report = autolabel_file(
        video, out, settings, labeler="bright", options=LabelerOptions(), frames="suggested"
    )
    assert 1 <= report.frames_labelled < FRAMES // 2
    with pytest.raises(UsageError, match="'suggested'"):
        autolabel_file(
            video, out, settings, labeler="bright", options=LabelerOptions(), frames="some"
        )


def _garble_packets(video: Path, frames: range) -> Path:
    """``video`` with the packets of ``frames`` (decode order, non-key) overwritten by 0xff."""
    with av.open(str(video)) as container:
        packets = [(p.pos, p.size) for p in container.demux(container.streams.video[0]) if p.size]
    data = bytearray(video.read_bytes())
    for pos, size in (packets[f] for f in frames):
        data[pos : pos + size] = b"\xff" * size
    broken = video.with_name("broken.mp4")
    broken.write_bytes(bytes(data))
    return broken


def test_frames_that_cannot_be_decoded_are_left_out_and_the_run_completes(
    bright: None, video: Path, tmp_path: Path, settings: Settings
) -> None:
    broken = _garble_packets(video, range(5, 7))  # an audit: "30 frames but 28 detections"
    out = tmp_path / "pre.json"
    report = autolabel_file(
        broken, out, settings, labeler="bright", options=LabelerOptions(), every=1
    )
    assert FRAMES - 4 <= report.frames_labelled < FRAMES
    (track,) = load_annotations(out).tracks.values()
    assert track.source == "auto"


def test_out_to_a_device_or_a_pipe_is_written_into_never_read(
    bright: None, video: Path, tmp_path: Path, settings: Settings
) -> None:
    report = autolabel_file(
        video, Path(os.devnull), settings, labeler="bright", options=LabelerOptions()
    )
    assert len(report.prelabels.tracks) == 1  # an audit: "/dev/null: not valid JSON"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    read: list[bytes] = []
    reader = threading.Thread(target=lambda: read.append(fifo.read_bytes()), daemon=True)
    reader.start()
    autolabel_file(video, fifo, settings, labeler="bright", options=LabelerOptions())
    reader.join(timeout=30)
    assert read and json.loads(read[0])["video"]["name"] == video.name


@pytest.mark.parametrize(
    ("changes", "theirs"),
    [
        ({"frame_count": FRAMES + 1}, r"square.mp4 \(160x96, 61 frames at 25 fps\)"),
        ({"width": 192, "height": 144}, r"square.mp4 \(192x144, 60 frames"),  # an audit's case
        ({"fps": Fraction(30)}, r"square.mp4 \(160x96, 60 frames at 30 fps\)"),
        ({"name": "other.mp4"}, r"other.mp4 \(160x96, 60 frames"),
    ],
    ids=["frame-count", "size", "fps", "name"],
)
def test_out_of_another_video_is_refused_naming_both(
    bright: None,
    video: Path,
    tmp_path: Path,
    settings: Settings,
    *,
    changes: dict[str, Any],
    theirs: str,
) -> None:
    out = tmp_path / "pre.json"
    autolabel_file(video, out, settings, labeler="bright", options=LabelerOptions())
    annotations = load_annotations(out)
    save_annotations(replace(annotations, video=replace(annotations.video, **changes)), out)
    before = out.read_bytes()
    ours = r"not of square.mp4 \(160x96, 60 frames at 25 fps\)"
    with pytest.raises(UsageError, match=rf"holds annotations of {theirs}.*{ours}"):
        autolabel_file(video, out, settings, labeler="bright", options=LabelerOptions())
    assert out.read_bytes() == before


def test_out_naming_a_folder_is_refused_before_any_work(
    video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_with_boundary(cli, ["autolabel", str(video), "--out", str(tmp_path)])
    assert code == 2
    assert f"--out {tmp_path}: is a folder; give a file name" in capsys.readouterr().err


def test_the_demo_prelabels_afresh_where_an_earlier_demo_of_another_video_did(
    bright: None, video: Path, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``tweenlab demo --video B --out D`` after a demo of A into D: ``autolabel --out`` now
    refuses a file of another video, and the demo stopped there."""
    monkeypatch.setattr(autolabel_service, "DEFAULT_LABELER", "bright")
    earlier = square_video(tmp_path / "earlier.mp4")[0]  # same frames, another name
    autolabel_file(
        earlier,
        tmp_path / "annotations-predicted.json",
        settings,
        labeler="bright",
        options=LabelerOptions(),
        every=3,
    )
    said = _prelabel(video, tmp_path, settings, None, lambda *_: None)
    assert "predicted tracks" in said, said
    assert load_annotations(tmp_path / "annotations-predicted.json").video.name == video.name


@pytest.mark.parametrize("min_iou", [float("nan"), float("inf"), 2.0, -1.0, 0.0])
def test_min_iou_outside_0_1_is_refused(
    bright: None, video: Path, tmp_path: Path, settings: Settings, min_iou: float
) -> None:
    with pytest.raises(UsageError, match="--min-iou"):  # accepted before (an audit)
        autolabel_file(
            video,
            tmp_path / "pre.json",
            settings,
            labeler="bright",
            options=LabelerOptions(),
            min_iou=min_iou,
        )


def test_class_names_lose_a_byte_order_mark(tmp_path: Path) -> None:
    names = tmp_path / "names.txt"
    names.write_text("\ufeffperson\ncar\n", encoding="utf-8")  # as Notepad saves (an audit)
    assert read_class_names(names) == ("person", "car")
