"""Letterboxing and its undo are exact; NMS is per class; YOLO rows decode with and without
objectness."""

from __future__ import annotations

import numpy as np
import pytest

from tweenlab.autolabel import Detections, decode_yolo_rows, letterbox, nms

LETTERBOXES = [
    # (frame rows, cols), input (width, height), scale, pad_x, pad_y
    pytest.param((360, 640), (320, 320), 0.5, 0.0, 70.0, id="landscape-into-square"),
    pytest.param((640, 360), (320, 320), 0.5, 70.0, 0.0, id="portrait-into-square"),
    pytest.param((100, 100), (200, 100), 1.0, 50.0, 0.0, id="square-into-wide"),
    pytest.param((384, 640), (640, 384), 1.0, 0.0, 0.0, id="same-size"),
    pytest.param((720, 1280), (640, 640), 0.5, 0.0, 140.0, id="hd-into-640"),
]


@pytest.mark.parametrize(("frame_hw", "size", "scale", "pad_x", "pad_y"), LETTERBOXES)
def test_letterbox_scales_to_fit_and_centres_on_grey(
    frame_hw: tuple[int, int], size: tuple[int, int], scale: float, pad_x: float, pad_y: float
) -> None:
    frame = np.full((*frame_hw, 3), 255, np.uint8)
    canvas, box = letterbox(frame, size)
    assert canvas.shape == (size[1], size[0], 3)
    assert (box.scale, box.pad_x, box.pad_y) == (scale, pad_x, pad_y)
    assert (box.width, box.height) == (frame_hw[1], frame_hw[0])
    left, top = int(pad_x), int(pad_y)
    inner = canvas[top : size[1] - top, left : size[0] - left]
    assert (inner == 255).all()
    assert (canvas == 114).sum() == canvas.size - inner.size  # the rest is YOLO grey


@pytest.mark.parametrize(("frame_hw", "size", "scale", "pad_x", "pad_y"), LETTERBOXES)
def test_undo_maps_input_pixels_back_exactly(
    frame_hw: tuple[int, int], size: tuple[int, int], scale: float, pad_x: float, pad_y: float
) -> None:
    rows, cols = frame_hw
    original = np.array([[cols / 8, rows / 4, cols / 2, rows / 2]])
    points = np.array([[[cols / 8, rows / 4], [cols / 2, rows / 2]]])
    _, box = letterbox(np.zeros((*frame_hw, 3), np.uint8), size)
    shift = np.array([pad_x, pad_y, pad_x, pad_y])
    found = Detections(
        original * scale + shift,
        np.array([0.5]),
        np.array([0]),
        points=points * scale + shift[:2],
    )
    undone = box.undo(found)
    assert undone.xyxy.tolist() == original.tolist()
    assert undone.points is not None
    assert undone.points.tolist() == points.tolist()


@pytest.mark.parametrize(
    ("input_box", "frame_box"),
    [
        pytest.param([-10, 60, 50, 100], [0, 0, 100, 60], id="left-and-top-clipped"),
        pytest.param([300, 240, 400, 300], [600, 340, 640, 360], id="right-and-bottom-clipped"),
        pytest.param([0, 70, 320, 250], [0, 0, 640, 360], id="the-whole-frame"),
    ],
)
def test_undo_clips_boxes_to_the_frame(input_box: list[float], frame_box: list[float]) -> None:
    _, box = letterbox(np.zeros((360, 640, 3), np.uint8), (320, 320))
    found = box.undo(Detections(np.array([input_box], float), np.array([0.5]), np.array([0])))
    assert found.xyxy.tolist() == [frame_box]


def test_undo_of_nothing_is_nothing() -> None:
    _, box = letterbox(np.zeros((360, 640, 3), np.uint8), (320, 320))
    assert len(box.undo(Detections.empty())) == 0


@pytest.mark.parametrize(
    ("boxes", "scores", "class_ids", "iou", "kept"),
    [
        pytest.param(
            [[0, 0, 10, 10], [1, 0, 11, 10]], [0.8, 0.9], [0, 0], 0.45, [1], id="same-class-dup"
        ),
        pytest.param(
            [[0, 0, 10, 10], [1, 0, 11, 10]], [0.9, 0.8], [0, 1], 0.45, [0, 1], id="other-class"
        ),
        pytest.param(
            [[0, 0, 10, 10], [5, 0, 15, 10]], [0.9, 0.8], [0, 0], 0.45, [0, 1], id="iou-1/3-kept"
        ),
        pytest.param(
            [[0, 0, 10, 10], [5, 0, 15, 10]], [0.9, 0.8], [0, 0], 0.3, [0], id="iou-1/3-dropped"
        ),
        pytest.param(
            [[0, 0, 10, 10], [0, 0, 10, 10]], [0.9, 0.8], [0, 0], 1.0, [0, 1], id="iou-equal-kept"
        ),
        pytest.param(
            [[0, 0, 10, 10], [50, 50, 60, 60], [1, 1, 10, 10]],
            [0.5, 0.7, 0.6],
            [2, 2, 2],
            0.45,
            [1, 2],
            id="best-first",
        ),
        pytest.param([], [], [], 0.45, [], id="nothing"),
    ],
)
def test_nms_suppresses_overlaps_within_a_class(
    boxes: list[list[float]],
    scores: list[float],
    class_ids: list[int],
    iou: float,
    kept: list[int],
) -> None:
    found = nms(
        np.array(boxes, float).reshape(-1, 4),
        np.array(scores, float),
        np.array(class_ids, np.int64),
        iou,
    )
    assert found.tolist() == kept


#: rows, objectness, min_score, then what is kept: xyxy, scores, class ids
YOLO_ROWS = [
    pytest.param(
        [[50, 50, 20, 10, 0.5, 0.25, 1.0]],
        True,
        0.25,
        ([[40, 45, 60, 55]], [0.5], [1]),
        id="objectness-times-class",
    ),
    pytest.param([[50, 50, 20, 10, 0.4, 0.5, 0.5]], True, 0.25, ([], [], []), id="obj-drops"),
    pytest.param(
        [[50, 50, 20, 10, 0.25, 0.75]], False, 0.25, ([[40, 45, 60, 55]], [0.75], [1]), id="v8"
    ),
    pytest.param(
        [[50, 50, 20, 10, 0.25, 0.75], [51, 50, 20, 10, 0.5, 0.0]],
        False,
        0.25,
        ([[40, 45, 60, 55], [41, 45, 61, 55]], [0.75, 0.5], [1, 0]),
        id="v8-two-classes-both-kept",
    ),
    pytest.param(
        [[50, 50, 20, 10, 0.25, 0.75], [51, 50, 20, 10, 0.0, 0.5]],
        False,
        0.25,
        ([[40, 45, 60, 55]], [0.75], [1]),
        id="v8-duplicate-suppressed",
    ),
    pytest.param([[50, 50, 20, 10, 0.2, 0.1]], False, 0.25, ([], [], []), id="v8-under-min"),
    pytest.param(
        [[50, 50, 20, 10, 0.2, 0.1]], False, 0.2, ([[40, 45, 60, 55]], [0.2], [0]), id="at-min"
    ),
]


@pytest.mark.parametrize(("rows", "objectness", "min_score", "kept"), YOLO_ROWS)
def test_decode_yolo_rows(
    rows: list[list[float]],
    objectness: bool,
    min_score: float,
    kept: tuple[list[list[float]], list[float], list[int]],
) -> None:
    found = decode_yolo_rows(rows, objectness=objectness, min_score=min_score)
    assert found.xyxy.tolist() == kept[0]
    assert found.scores.tolist() == pytest.approx(kept[1])
    assert found.class_ids.tolist() == kept[2]


@pytest.mark.parametrize(
    ("shape", "objectness"),
    [
        pytest.param((3, 5), True, id="objectness-without-classes"),
        pytest.param((3, 4), False, id="no-classes"),
        pytest.param((7,), False, id="one-dimension"),
    ],
)
def test_decode_yolo_rows_refuses_rows_without_class_scores(
    shape: tuple[int, ...], objectness: bool
) -> None:
    with pytest.raises(ValueError, match=r"YOLO rows need shape"):
        decode_yolo_rows(np.zeros(shape), objectness=objectness)
