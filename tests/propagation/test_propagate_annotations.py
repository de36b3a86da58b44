"""``tweenlab propagate VIDEO --annotations``: every track of a native file filled by motion, as
in-between shapes that exports use; keyframes untouched; spans across a cut left straight."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.propagation import Box, circle_video, cut_video, exit_video
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.core import AnnotationSet, Keyframe, Mask, Polygon, Schema, Track, VideoRef
from tweenlab.core import Box as BoxShape
from tweenlab.formats import native
from tweenlab.formats.base import ExportOptions
from tweenlab.media import DerivedFiles
from tweenlab.propagation import FlowCache
from tweenlab.services.annotations import export_annotations, load_annotations
from tweenlab.services.propagate import fill_annotations
from tweenlab.settings import Settings

FRAMES = 40
pytestmark = pytest.mark.usefixtures("settings")


def iou(a: Box, b: Box) -> float:
    iw = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return iw * ih / (a[2] * a[3] + b[2] * b[3] - iw * ih)


def annotation_file(path: Path, truth: list[Box], keys: list[int], *, copies: int = 2) -> Path:
    """``copies`` box tracks of the same object keyed on ``keys`` (one a pixel off), plus one
    track that is outside after its first keyframe."""
    tracks = {}
    for number in range(1, copies + 1):
        shift = float(number - 1)
        frames = {
            k: Keyframe(BoxShape(*truth[k][:2], truth[k][2] + shift, truth[k][3])) for k in keys
        }
        tracks[number] = Track(number, "square", frames)
    gone = {0: Keyframe(BoxShape(*truth[0])), 5: Keyframe(BoxShape(*truth[5]), outside=True)}
    tracks[copies + 1] = Track(copies + 1, "square", gone)
    video = VideoRef("circle.mp4", frame_count=FRAMES, width=192, height=144)
    path.write_text(native.dumps(AnnotationSet(video, Schema.of("square"), tracks)))
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = run_with_boundary(cli, ["-q", *(str(a) for a in args)])
    out, err = capsys.readouterr()
    return code, out, err


def propagated(
    capsys: pytest.CaptureFixture[str],
    folder: Path,
    video: Path,
    tracks: dict[int, Track],
    name: str = "circle.mp4",
) -> tuple[str, AnnotationSet]:
    """``tracks`` (of ``video``) written to a file and filled by ``tweenlab propagate
    --annotations``: what it printed, and what it wrote."""
    ref = VideoRef(name, frame_count=FRAMES, width=192, height=144)
    source, out = folder / "in.json", folder / "filled.json"
    source.write_text(native.dumps(AnnotationSet(ref, Schema.of("square"), tracks)))
    code, stdout, stderr = run(capsys, "propagate", video, "--annotations", source, "--out", out)
    assert code == 0, stderr
    return stdout, load_annotations(out)


def test_every_track_is_filled_by_motion_and_exports_use_it(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    video, truth = circle_video(tmp_path / "circle.mp4", frames=FRAMES)
    source = annotation_file(tmp_path / "in.json", truth, [0, 20, 39])
    out = tmp_path / "filled.json"
    code, stdout, stderr = run(capsys, "propagate", video, "--annotations", source, "--out", out)
    assert code == 0, stderr
    assert "track 1: 37 frames filled" in stdout
    before, after = load_annotations(source), load_annotations(out)
    for number in (1, 2):
        track = after.tracks[number]
        assert dict(track.keyframes) == dict(before.tracks[number].keyframes)
        assert sorted(track.inbetween) == [f for f in range(1, 39) if f != 20]
        assert sorted(track.confidence) == sorted(track.inbetween)  # one per filled frame
        assert all(0.0 <= c <= 1.0 for c in track.confidence.values())
        guided = np.mean([iou(track.at(f).shape.bbox(), truth[f]) for f in range(1, 20)])  # type: ignore[union-attr]
        straight = np.mean(
            [iou(before.tracks[number].at(f).shape.bbox(), truth[f]) for f in range(1, 20)]  # type: ignore[union-attr]
        )
        assert guided > 0.8 > straight + 0.1, (guided, straight)
    # toward an outside keyframe the object is still in the picture (as in CVAT); after it, not
    assert sorted(after.tracks[3].inbetween) == [1, 2, 3, 4]
    exported = export_annotations(
        after, tmp_path / "coco", "coco", ExportOptions(frames="all"), settings
    )
    document = json.loads((exported.folder / "annotations" / "instances_default.json").read_text())
    frame_10 = next(i["id"] for i in document["images"] if i["file_name"].endswith("000010.jpg"))
    boxes = [a["bbox"] for a in document["annotations"] if a["image_id"] == frame_10]
    expected = after.tracks[1].at(10).shape.bbox()  # type: ignore[union-attr]
    assert any(np.allclose(b, expected, atol=0.01) for b in boxes)


def test_a_span_across_a_cut_is_left_straight_and_its_sides_suggested(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video, truth = cut_video(tmp_path / "cut.mp4", frames=FRAMES, cut=20)
    source = annotation_file(tmp_path / "in.json", truth, [0, 10, 30], copies=1)
    out = tmp_path / "filled.json"
    code, stdout, stderr = run(capsys, "propagate", video, "--annotations", source, "--out", out)
    assert code == 0, stderr
    assert "left straight across a cut: [(10, 30)]" in stdout
    assert "19, 20" in stdout
    track = load_annotations(out).tracks[1]
    # carried on after its last keyframe (30) to the end of its shot, which is the video's
    assert sorted(track.inbetween) == [*range(1, 10), *range(31, FRAMES)]
    assert track.leaves is None


def test_tracks_are_carried_past_their_ends_until_the_object_leaves(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """A square crosses the picture and leaves on the right (in the picture up to frame 23, gone
    from 29): a box track keyed on 6 and 10 and a polygon track keyed on 8 alone are carried
    back to frame 0 and on until it leaves, and from there the object is outside."""
    video, truth = exit_video(tmp_path / "leaving.mp4", frames=FRAMES)

    def corners(box: Box) -> list[list[float]]:
        x, y, w, h = box
        return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]

    tracks = {
        1: Track(1, "square", {f: Keyframe(BoxShape(*truth[f])) for f in (6, 10)}),
        2: Track(2, "square", {8: Keyframe(Polygon(corners(truth[8])))}),
    }
    stdout, filled = propagated(capsys, tmp_path, video, tracks, "leaving.mp4")
    for number, track in filled.tracks.items():
        assert track.leaves is not None and 24 <= track.leaves <= 29, (number, track.leaves)
        assert (
            f"track {number}: " in stdout
            and f"leaves the picture on frame {track.leaves}" in stdout
        )
        assert track.start == 0 and dict(track.keyframes) == dict(tracks[number].keyframes)
        seen = [f for f in range(FRAMES) if track.at(f) is not None and track.at(f).visible]  # type: ignore[union-attr]
        assert seen == list(range(track.leaves))
        for frame in range(min(track.leaves, 24)):
            shown = track.at(frame).shape.bbox()  # type: ignore[union-attr]
            assert iou(shown, truth[frame]) > 0.7, (number, frame, shown, truth[frame])
    exported = export_annotations(
        filled, tmp_path / "coco", "coco", ExportOptions(frames="all"), settings
    )
    document = json.loads((exported.folder / "annotations" / "instances_default.json").read_text())
    names = {
        i["id"]: int(i["file_name"].rsplit("_", 1)[-1].split(".")[0]) for i in document["images"]
    }
    boxed = {names[a["image_id"]] for a in document["annotations"]}
    leaves = min(t.leaves for t in filled.tracks.values())  # type: ignore[type-var]
    assert boxed == set(range(max(t.leaves for t in filled.tracks.values())))  # type: ignore[type-var]
    assert 0 in boxed and leaves > 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "o.json"], "give one of --keyframes"),
        (["--annotations", "a.json", "--keyframes", "k.json", "--out", "o.json"], "give one of"),
        (["--annotations", "a.json", "--out", "o.json", "--method", "linear"], "fills by flow"),
    ],
)
def test_bad_option_sets_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, stderr = run(capsys, "propagate", tmp_path / "v.mp4", *args)
    assert code == 2 and message in stderr


def test_annotations_of_another_video_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video, truth = circle_video(tmp_path / "short.mp4", frames=12)
    source = annotation_file(tmp_path / "in.json", truth + truth * 3, [0, 39])
    code, _, stderr = run(
        capsys, "propagate", video, "--annotations", source, "--out", tmp_path / "o.json"
    )
    assert code == 2 and "annotates 40 frames" in stderr and "has 12" in stderr
    assert not (tmp_path / "o.json").exists()


def test_polygon_and_mask_tracks_are_filled_by_motion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    video, truth = circle_video(tmp_path / "circle.mp4", frames=FRAMES)

    def corners(box: Box) -> list[list[float]]:
        x, y, w, h = box
        return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]

    def mask(box: Box) -> np.ndarray:
        dense = np.zeros((144, 192), dtype=bool)
        x, y, w, h = (int(v) for v in box)
        dense[y : y + h, x : x + w] = True
        return dense

    tracks = {
        1: Track(1, "square", {f: Keyframe(Polygon(corners(truth[f]))) for f in (0, 20)}),
        2: Track(2, "square", {f: Keyframe(Mask.from_dense(mask(truth[f]))) for f in (0, 20)}),
    }
    _, filled = propagated(capsys, tmp_path, video, tracks)
    polygon, region = filled.tracks[1], filled.tracks[2]
    shown = [f for f in range(1, FRAMES) if f != 20]  # carried on after 20 to the end
    assert sorted(polygon.inbetween) == sorted(region.inbetween) == shown
    assert sorted(polygon.confidence) == sorted(region.confidence) == shown
    error = [
        np.abs(polygon.inbetween[f].points - np.array(corners(truth[f]))).max()  # type: ignore[attr-defined]
        for f in shown
    ]
    assert max(error[:19]) < 4.0 and max(error[19:]) < 8.0, error
    overlap = []
    for f in shown:
        guessed, actual = region.inbetween[f].to_dense(), mask(truth[f])  # type: ignore[attr-defined]
        overlap.append((guessed & actual).sum() / (guessed | actual).sum())
    assert min(overlap[:19]) > 0.8 and min(overlap[19:]) > 0.7, overlap


def test_the_tracker_fills_box_tracks_of_an_annotation_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--method tracker`` with ``--annotations``: box spans by the MIL tracker (both ways,
    blended like the flow chains), closer to the truth than straight lines."""
    video, truth = circle_video(tmp_path / "circle.mp4", frames=FRAMES)
    source = annotation_file(tmp_path / "in.json", truth, [0, 20, 39], copies=1)
    out = tmp_path / "tracked.json"
    code, stdout, stderr = run(
        capsys, "propagate", video, "--annotations", source, "--out", out, "--method", "tracker"
    )
    assert code == 0, stderr
    assert "track 1: 37 frames filled" in stdout
    before, track = load_annotations(source).tracks[1], load_annotations(out).tracks[1]
    assert dict(track.keyframes) == dict(before.keyframes)
    inner = [f for f in range(1, FRAMES - 1) if f != 20]
    assert sorted(f for f in track.inbetween if f < FRAMES) == inner
    tracked = np.mean([iou(track.at(f).shape.bbox(), truth[f]) for f in inner])  # type: ignore[union-attr]
    straight = np.mean([iou(before.at(f).shape.bbox(), truth[f]) for f in inner])  # type: ignore[union-attr]
    assert tracked > 0.7 and tracked > straight + 0.1, (tracked, straight)
    flowed = tmp_path / "flowed.json"
    assert run(capsys, "propagate", video, "--annotations", source, "--out", flowed)[0] == 0
    by_flow = load_annotations(flowed).tracks[1]
    assert any(by_flow.inbetween[f] != track.inbetween[f] for f in inner)  # not the flow's


def test_a_range_extends_a_track_only_from_an_end_it_reaches(tmp_path: Path) -> None:
    """``within``: the frames before a track's first keyframe are carried only when the range
    reaches the frame before it, and then within the range; nothing is carried otherwise."""
    video, truth = exit_video(tmp_path / "leaving.mp4", frames=FRAMES)
    derived = DerivedFiles(tmp_path / "derived")
    cache = FlowCache(video, derived.index(video), derived.folder(video))
    ref = VideoRef("leaving.mp4", frame_count=FRAMES, width=192, height=144)
    track = Track(1, "square", {12: Keyframe(BoxShape(*truth[12]))})
    labelled = AnnotationSet(ref, Schema.of("square"), {1: track})
    far, _ = fill_annotations(labelled, cache, within=(2, 6))
    assert dict(far.tracks[1].inbetween) == {}
    near, reports = fill_annotations(labelled, cache, within=(6, 11))
    assert sorted(near.tracks[1].inbetween) == list(range(6, 12)) and reports[0].extended == 6
    after, _ = fill_annotations(labelled, cache, within=(20, 25))
    assert dict(after.tracks[1].inbetween) == {}


def test_a_box_of_zero_size_is_left_straight_and_reported(
    tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    """A keyframe box with no width or height has no pixels to follow: the spans that end on
    it keep straight interpolation and it is not carried past the track's ends, while the
    track's other spans are filled; the CLI names the frame."""
    video, truth = circle_video(tmp_path / "circle.mp4", frames=FRAMES)
    frames = {k: Keyframe(BoxShape(*truth[k])) for k in (0, 20)}
    frames[39] = Keyframe(BoxShape(truth[39][0], truth[39][1], 0.0, 0.0))
    stdout, filled = propagated(capsys, tmp_path, video, {1: Track(1, "square", frames)})
    assert "boxes of zero size on frames [39]" in stdout, stdout
    track = filled.tracks[1]
    assert sorted(track.inbetween) == list(range(1, 20))  # 0-20 by motion; 20-39 straight
    assert track.leaves is None
    halfway = track.at(30).shape.bbox()  # type: ignore[union-attr]
    assert halfway[2] == pytest.approx(truth[20][2] * 9 / 19, abs=0.01)  # linear in w
