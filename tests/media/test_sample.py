"""Tests of ``tweenlab.media.sample``: the rendered clip decodes, cuts once, and its truth moves."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from tweenlab.errors import MediaWriteError, UsageError
from tweenlab.media import sample
from tweenlab.media.sample import SampleClip, render_sample_clip

WIDTH, HEIGHT, SECONDS = 320, 180, 2.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> SampleClip:
    return render_sample_clip(
        tmp_path_factory.mktemp("sample") / "sample.mp4",
        width=WIDTH,
        height=HEIGHT,
        seconds=SECONDS,
    )


@pytest.fixture(scope="module")
def frames(clip: SampleClip) -> list[npt.NDArray[np.generic]]:
    with av.open(str(clip.path)) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def test_ground_truth_matches_the_arguments(clip: SampleClip) -> None:
    assert clip.frame_count == round(SECONDS * 25) == 50
    assert (clip.width, clip.height, clip.fps) == (WIDTH, HEIGHT, Fraction(25))
    assert clip.cut_frame == 25
    shots = [(o.first_frame, o.last_frame) for o in clip.objects]
    assert set(shots) == {(0, 24), (25, 49)}
    assert 3 <= shots.count((0, 24)) <= 4 and 3 <= shots.count((25, 49)) <= 4
    assert {o.label for o in clip.objects} == {"ellipse", "rectangle", "triangle"}
    assert len({o.name for o in clip.objects}) == len(clip.objects)


def test_file_decodes_to_every_frame_at_its_pts(clip: SampleClip, frames: list[np.ndarray]) -> None:
    assert len(frames) == clip.frame_count
    assert all(frame.shape == (HEIGHT, WIDTH, 3) for frame in frames)
    with av.open(str(clip.path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.format.name == "yuv420p"
        times = [frame.time for frame in container.decode(stream)]
    assert times == pytest.approx([i / 25 for i in range(clip.frame_count)])


def test_cut_differs_far_more_than_motion_within_a_shot(
    clip: SampleClip, frames: list[np.ndarray]
) -> None:
    diffs = [
        float(np.abs(frames[i + 1].astype(np.int16) - frames[i]).mean())
        for i in range(len(frames) - 1)
    ]
    across = diffs[clip.cut_frame - 1]
    within = diffs[: clip.cut_frame - 1] + diffs[clip.cut_frame :]
    assert min(within) > 0.2, "the camera and objects should move in every frame"
    assert across >= 3 * max(within)


def test_objects_move_and_change_size(clip: SampleClip) -> None:
    for obj in clip.objects:
        boxes = obj.boxes
        assert boxes.shape == (obj.last_frame - obj.first_frame + 1, 4)
        assert not boxes.flags.writeable
        x, y, w, h = boxes.T
        assert np.all(w > 4) and np.all(h > 4), obj.name
        assert np.all(x >= 0) and np.all(y >= 0), obj.name
        assert np.all(x + w <= WIDTH + 1e-6) and np.all(y + h <= HEIGHT + 1e-6), obj.name
        centres = boxes[:, :2] + boxes[:, 2:] / 2
        assert np.ptp(centres, axis=0).max() > 3, f"{obj.name} does not move"
        area = w * h
        assert area.max() > 1.1 * area.min(), f"{obj.name} does not change size"


def test_objects_are_drawn_inside_their_boxes(clip: SampleClip, frames: list[np.ndarray]) -> None:
    for obj in clip.objects:
        index = (obj.first_frame + obj.last_frame) // 2
        x, y, w, h = np.round(obj.boxes[index - obj.first_frame]).astype(int)
        inside = frames[index][y : y + h, x : x + w].astype(float)
        # Saturated objects: the box holds pixels whose channels spread far apart.
        assert np.ptp(inside, axis=2).max() > 120, obj.name


def test_no_temporary_file_is_left(clip: SampleClip) -> None:
    assert sorted(p.name for p in clip.path.parent.iterdir()) == ["sample.mp4"]


def test_to_json_is_serialisable(clip: SampleClip) -> None:
    data = json.loads(json.dumps(clip.to_json()))
    assert data["fps"] == "25/1"
    assert (data["frame_count"], data["cut_frame"]) == (50, 25)
    first = data["objects"][0]
    assert first["name"] == clip.objects[0].name
    assert np.allclose(first["boxes"], clip.objects[0].boxes, atol=0.005)


def test_write_failure_raises_media_write_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_encode(tmp: Path, *args: object) -> None:
        tmp.write_bytes(b"partial")
        raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    monkeypatch.setattr(sample, "_encode", failing_encode)
    target = tmp_path / "clip.mp4"
    with pytest.raises(MediaWriteError) as caught:
        render_sample_clip(target, width=64, height=64, seconds=0.4)
    assert caught.value.path == target
    assert isinstance(caught.value.__cause__, av.FFmpegError)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_raises_media_write_error(tmp_path: Path) -> None:
    with pytest.raises(MediaWriteError):
        render_sample_clip(tmp_path / "missing" / "clip.mp4", width=64, height=64, seconds=0.4)


@pytest.mark.parametrize(
    "kwargs",
    [{"width": 321}, {"height": 0}, {"seconds": 0.0}, {"cut_at": 1.0}, {"seconds": 0.04}],
)
def test_bad_arguments_raise_usage_error(tmp_path: Path, kwargs: dict[str, float]) -> None:
    with pytest.raises(UsageError):
        render_sample_clip(tmp_path / "clip.mp4", **kwargs)
    assert list(tmp_path.iterdir()) == []
