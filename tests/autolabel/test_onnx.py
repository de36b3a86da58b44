"""The ``onnx`` labeler reads every output layout it claims, in the original frame's pixels, and
says which file is wrong and how.

The models are tiny graphs whose answer is a constant (plus ``0 * sum(input)``, so the input is
used and the batch follows it): the decoding is checked exactly, not a network's accuracy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tweenlab.autolabel import Detections, Labeler, LabelerOptions
from tweenlab.autolabel.onnx import OnnxLabeler, onnx_labeler
from tweenlab.errors import LabelerError
from tweenlab.plugins import registry

NAMES = ("person", "car", "dog")
FRAME = np.zeros((360, 640, 3), np.uint8)  # letterboxed into 320 x 320: scale 0.5, 70 px bars
# what every layout below encodes, in FRAME's pixels: a car and a dog, best first
EXPECTED_XYXY = [[220.0, 130.0, 420.0, 230.0], [40.0, 20.0, 120.0, 100.0]]
EXPECTED_SCORES = [0.9, 0.625]
EXPECTED_CLASSES = [1, 2]

# rows of cx, cy, w, h in the 320 x 320 input: the car, a weaker copy of it (NMS drops it),
# the dog, and a weak person (under min_score)
BOXES_CXCYWH = np.array(
    [[160, 160, 100, 50], [162, 160, 100, 50], [40, 100, 40, 40], [300, 300, 10, 10]]
)
CLASS_SCORES = np.array([[0, 0.9, 0], [0, 0.8, 0], [0, 0, 0.625], [0.1, 0, 0]])
V8_ROWS = np.hstack([BOXES_CXCYWH, CLASS_SCORES])
V5_ROWS = np.hstack([BOXES_CXCYWH, np.ones((4, 1)), CLASS_SCORES])
V5_ROWS[2, [4, 7]] = [0.625, 1.0]  # the dog: objectness 0.625 x class score 1.0
# RT-DETR: no duplicate (it has no NMS), boxes normalised to the input
DETR_ROWS = np.hstack([BOXES_CXCYWH / 320, CLASS_SCORES])[[0, 2, 3]]
XYXY_NORMALISED = (
    np.hstack(
        [
            BOXES_CXCYWH[:, :2] - BOXES_CXCYWH[:, 2:] / 2,
            BOXES_CXCYWH[:, :2] + BOXES_CXCYWH[:, 2:] / 2,
        ]
    )
    / 320
)

Outputs = Mapping[str, np.ndarray]
MakeModel = Callable[..., Path]


def _graph_nodes(
    outputs: Outputs, *, input_rank: int, dynamic: bool
) -> tuple[list[onnx.NodeProto], list[onnx.TensorProto]]:
    nodes = [
        helper.make_node("Cast", ["images"], ["image_f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["image_f", "axes"], ["total"], keepdims=1),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),
    ]
    initialisers = [
        numpy_helper.from_array(np.arange(1, input_rank, dtype=np.int64), "axes"),
        numpy_helper.from_array(np.zeros((), np.float32), "zero"),
    ]
    for name, value in outputs.items():
        rank = value.ndim
        final = f"{name}_static" if dynamic else name
        nodes += [
            helper.make_node("Reshape", ["nothing", f"{name}_shape"], [f"{name}_zero"]),
            helper.make_node("Add", [f"{name}_zero", f"{name}_value"], [final]),
        ]
        if dynamic:  # a reshape to its own runtime shape hides every dimension from the runtime
            nodes += [
                helper.make_node("Shape", [final], [f"{name}_dims"]),
                helper.make_node("Reshape", [final, f"{name}_dims"], [name]),
            ]
        initialisers += [
            numpy_helper.from_array(np.array([-1] + [1] * (rank - 1), np.int64), f"{name}_shape"),
            numpy_helper.from_array(value.astype(np.float32), f"{name}_value"),
        ]
    return nodes, initialisers


@pytest.fixture
def make_model(tmp_path: Path) -> MakeModel:
    """Writes a model whose outputs are ``outputs`` (each ``(1, ...)``) for any input."""

    def make(
        outputs: Outputs,
        *,
        input_shape: tuple[int | str, ...] = ("batch", 3, 320, 320),
        input_type: int = TensorProto.FLOAT,
        dynamic: bool = False,
        metadata: Mapping[str, str] | None = None,
        name: str = "model.onnx",
    ) -> Path:
        nodes, initialisers = _graph_nodes(outputs, input_rank=len(input_shape), dynamic=dynamic)
        batch = input_shape[0]
        declared = [
            helper.make_tensor_value_info(
                key,
                TensorProto.FLOAT,
                [f"d{key}{i}" for i in range(value.ndim)] if dynamic else [batch, *value.shape[1:]],
            )
            for key, value in outputs.items()
        ]
        graph = helper.make_graph(
            nodes,
            "constant-detector",
            [helper.make_tensor_value_info("images", input_type, list(input_shape))],
            declared,
            initialisers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        for key, value in (metadata or {}).items():
            model.metadata_props.add(key=key, value=value)
        onnx.checker.check_model(model)
        path = tmp_path / name
        onnx.save(model, path)
        return path

    return make


def _labeler(
    path: Path,
    classes: tuple[str, ...] | None = NAMES,
    extra: Mapping[str, str | float | int] | None = None,
) -> OnnxLabeler:
    return OnnxLabeler(path, LabelerOptions(model=path, classes=classes, extra=dict(extra or {})))


def _assert_expected(found: Detections) -> None:
    assert found.xyxy.tolist() == EXPECTED_XYXY
    assert found.scores.tolist() == pytest.approx(EXPECTED_SCORES)
    assert found.class_ids.tolist() == EXPECTED_CLASSES


TF_OUTPUTS = {
    "detection_boxes": XYXY_NORMALISED[[0, 2, 3, 1]][:, [1, 0, 3, 2]][None],
    "detection_scores": np.array([[0.9, 0.625, 0.1, 0.95]]),
    "detection_classes": np.array([[2.0, 3.0, 1.0, 2.0]]),  # label-map ids start at 1
    "num_detections": np.array([3.0]),  # the fourth row is past the count
}

LAYOUTS = [
    # outputs, extra options
    pytest.param({"output0": V5_ROWS[None]}, {}, id="yolov5-auto"),
    pytest.param({"output0": V5_ROWS[None]}, {"head": "yolov5"}, id="yolov5"),
    pytest.param({"output0": V8_ROWS.T[None]}, {}, id="yolov8-transposed-auto"),
    pytest.param({"output0": V8_ROWS.T[None]}, {"head": "yolov8"}, id="yolov8-transposed"),
    pytest.param({"output0": V8_ROWS[None]}, {}, id="yolov8-rows-auto"),
    pytest.param({"output0": V8_ROWS[None]}, {"head": "yolov8"}, id="yolov8-rows"),
    pytest.param({"output0": DETR_ROWS[None]}, {}, id="detr-auto"),
    pytest.param({"output0": DETR_ROWS[None]}, {"head": "detr"}, id="detr"),
    pytest.param({"boxes": XYXY_NORMALISED[None], "scores": CLASS_SCORES[None]}, {}, id="ssd-auto"),
    pytest.param(
        {
            "scores": np.hstack([np.zeros((4, 1)), CLASS_SCORES])[None],
            "boxes": XYXY_NORMALISED[None],
        },
        {"head": "ssd"},
        id="ssd-background-found",
    ),
    pytest.param(
        {
            "boxes": XYXY_NORMALISED[None],
            "scores": np.hstack([np.ones((4, 1)), CLASS_SCORES])[None],
        },
        {"background": "first"},
        id="ssd-background-first",
    ),
    pytest.param(TF_OUTPUTS, {}, id="tensorflow-auto"),
    pytest.param(TF_OUTPUTS, {"head": "ssd"}, id="tensorflow"),
]


@pytest.mark.parametrize(("outputs", "extra"), LAYOUTS)
def test_every_layout_decodes_into_the_frames_pixels(
    make_model: MakeModel, outputs: Outputs, extra: dict[str, str]
) -> None:
    with _labeler(make_model(outputs), extra=extra) as labeler:
        (found,) = labeler.detect([FRAME])
    _assert_expected(found)


@pytest.mark.parametrize(
    ("input_shape", "frames", "batch_size", "runs"),
    [
        pytest.param(("batch", 3, 320, 320), 5, 2, [2, 2, 1], id="dynamic-batch-of-2"),
        pytest.param(("batch", 3, 320, 320), 3, None, [3], id="dynamic-batch-default-4"),
        pytest.param((1, 3, 320, 320), 3, None, [1, 1, 1], id="fixed-batch-of-1"),
        pytest.param((1, 3, 320, 320), 3, 8, [1, 1, 1], id="fixed-batch-wins-over-option"),
        pytest.param((2, 3, 320, 320), 3, None, [2, 2], id="fixed-batch-of-2-padded"),
        pytest.param(("batch", 320, 320, 3), 3, None, [3], id="nhwc"),
    ],
)
def test_batches_give_one_answer_per_frame_each_in_its_own_pixels(
    make_model: MakeModel,
    input_shape: tuple[int | str, ...],
    frames: int,
    batch_size: int | None,
    runs: list[int],
) -> None:
    path = make_model({"output0": V8_ROWS.T[None]}, input_shape=input_shape)
    options = LabelerOptions(model=path, classes=NAMES, batch_size=batch_size)
    small = np.zeros((160, 160, 3), np.uint8)  # scaled up by 2, no bars
    with onnx_labeler(options) as labeler:
        session = labeler._session
        seen: list[int] = []

        def run(names: None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
            seen.append(len(feeds["images"]))
            return session.run(names, feeds)  # type: ignore[no-any-return]

        labeler._session = SimpleNamespace(run=run, get_outputs=session.get_outputs)
        found = labeler.detect([FRAME if i % 2 == 0 else small for i in range(frames)])
    assert seen == runs
    assert len(found) == frames
    for index, item in enumerate(found):
        if index % 2 == 0:
            _assert_expected(item)
        else:
            assert item.xyxy.tolist() == [[55.0, 67.5, 105.0, 92.5], [10.0, 40.0, 30.0, 60.0]]


def test_the_registry_builds_it_and_min_score_applies(make_model: MakeModel) -> None:
    path = make_model({"output0": V8_ROWS.T[None]})
    factory = registry("labelers").get("onnx")
    labeler = factory(LabelerOptions(model=path, classes=NAMES, min_score=0.7))  # type: ignore[operator]
    assert isinstance(labeler, Labeler)
    assert (labeler.name, labeler.classes, labeler.batch_size) == ("onnx", NAMES, 4)
    assert not labeler.sequential
    (found,) = labeler.detect([FRAME])
    assert found.xyxy.tolist() == EXPECTED_XYXY[:1]


def test_class_names_come_from_ultralytics_metadata(make_model: MakeModel) -> None:
    names = "{0: 'person', 1: 'car', 2: 'dog'}"
    path = make_model(
        {"output0": V8_ROWS.T[None]},
        input_shape=("batch", 3, "height", "width"),
        metadata={"names": names, "imgsz": "[320, 320]"},
    )
    with _labeler(path, classes=None) as labeler:
        (found,) = labeler.detect([FRAME])
    assert labeler.classes == NAMES
    _assert_expected(found)


@pytest.mark.parametrize("input_size", ["320", "320x320", "320X320"])
def test_input_size_sets_a_dynamic_input(make_model: MakeModel, input_size: str) -> None:
    path = make_model({"output0": V8_ROWS.T[None]}, input_shape=("batch", 3, "height", "width"))
    with _labeler(path, extra={"input_size": input_size}) as labeler:
        (found,) = labeler.detect([FRAME])
    _assert_expected(found)


def test_a_uint8_input_gets_raw_pixels(make_model: MakeModel) -> None:
    path = make_model(TF_OUTPUTS, input_shape=(1, 320, 320, 3), input_type=TensorProto.UINT8)
    with _labeler(path) as labeler:
        (found,) = labeler.detect([FRAME])
    _assert_expected(found)


def test_a_dynamic_answer_is_checked_on_first_use(make_model: MakeModel) -> None:
    path = make_model({"output0": V8_ROWS.T[None]}, dynamic=True)
    with _labeler(path) as labeler:
        (found,) = labeler.detect([FRAME])
    _assert_expected(found)
    wrong = make_model({"output0": np.zeros((1, 84, 100))}, dynamic=True, name="wide.onnx")
    labeler = _labeler(wrong)  # nothing to check before it answers
    with pytest.raises(
        LabelerError,
        match=r"wide\.onnx.*the model gives 80 class scores but the class names file names 3",
    ):
        labeler.detect([FRAME])


def _text_file(folder: Path) -> Path:
    path = folder / "notes.onnx"
    path.write_text("these are not weights\n")
    return path


def _truncated(folder: Path) -> Path:
    good = folder / "good.onnx"
    data = good.read_bytes()
    path = folder / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    return path


def _empty(folder: Path) -> Path:
    path = folder / "empty.onnx"
    path.write_bytes(b"")
    return path


def _unknown_operator(folder: Path) -> Path:
    node = helper.make_node("NoSuchOperator", ["images"], ["output0"])
    value = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 320, 320])
    answer = helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 7, 4])
    graph = helper.make_graph([node], "odd", [value], [answer])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    path = folder / "odd.onnx"
    onnx.save(model, path)
    return path


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        pytest.param(_text_file, r"notes\.onnx\): not an ONNX model", id="text-file"),
        pytest.param(_truncated, r"cut\.onnx\): not an ONNX model", id="truncated"),
        pytest.param(
            lambda folder: folder / "gone.onnx",
            r"gone\.onnx\): the model file does not exist",
            id="missing",
        ),
        pytest.param(_empty, r"empty\.onnx\): not an ONNX model \(No graph", id="empty"),
        pytest.param(
            _unknown_operator,
            r"odd\.onnx\): ONNX Runtime cannot load this model \(.*NoSuchOperator",
            id="unknown-operator",
        ),
    ],
)
def test_a_file_that_is_not_a_model_is_named(
    make_model: MakeModel, tmp_path: Path, broken: Callable[[Path], Path], message: str
) -> None:
    make_model({"output0": V8_ROWS.T[None]}, name="good.onnx")
    with pytest.raises(LabelerError, match=message):
        onnx_labeler(LabelerOptions(model=broken(tmp_path), classes=NAMES))


def test_no_model_given() -> None:
    with pytest.raises(LabelerError, match=r"needs a model file \(--model FILE\)"):
        onnx_labeler(LabelerOptions(classes=NAMES))


@pytest.mark.parametrize(
    ("outputs", "extra", "classes", "message"),
    [
        pytest.param(
            {"output0": np.zeros((1, 7))},
            {},
            NAMES,
            r"model\.onnx\): its outputs output0 \(1, 7\) fit no auto layout; known: yolov5",
            id="unknown-shape",
        ),
        pytest.param(
            {"output0": V8_ROWS.T[None]},
            {"head": "ssd"},
            NAMES,
            r"model\.onnx\): its outputs output0 \(1, 7, 4\) fit no ssd layout",
            id="head-that-does-not-fit",
        ),
        pytest.param(
            {"output0": np.zeros((1, 84, 100))},
            {"head": "yolov8"},
            NAMES,
            r"model\.onnx\): the model gives 80 class scores but the class names file names 3$",
            id="yolov8-names-mismatch",
        ),
        pytest.param(
            {"output0": np.zeros((1, 100, 85))},
            {},
            NAMES,
            r"gives 80 class scores but the class names file names 3 \(reading it as yolov5; "
            r"81 as yolov8 or detr\)",
            id="auto-rows-names-mismatch",
        ),
        pytest.param(
            {"boxes": np.zeros((1, 10, 4)), "scores": np.zeros((1, 10, 91))},
            {},
            NAMES,
            r"the model gives 91 class scores but the class names file names 3",
            id="ssd-names-mismatch",
        ),
        pytest.param(
            {"output0": V8_ROWS.T[None]},
            {},
            None,
            r"model\.onnx\): needs class names \(--classes FILE\)",
            id="no-names",
        ),
        pytest.param(
            {"output0": V8_ROWS.T[None]},
            {"head": "yolov9"},
            NAMES,
            r"head must be one of auto, yolov5, yolov8, ssd, detr, not 'yolov9'",
            id="unknown-head",
        ),
        pytest.param(
            {"output0": V8_ROWS.T[None]},
            {"input_size": "640"},
            NAMES,
            r"input_size 640 but the model's input is images tensor\(float\) "
            r"\['batch', 3, 320, 320\]",
            id="input-size-against-a-fixed-input",
        ),
        pytest.param(
            {"output0": V8_ROWS.T[None]},
            {"input_size": "big"},
            NAMES,
            r"input_size must be like 640 or 640x384 \(width x height\), not 'big'",
            id="input-size-unreadable",
        ),
        pytest.param(
            {"output0": V8_ROWS.T[None]},
            {"nms_iou": "x"},
            NAMES,
            r"nms_iou must be a number, not 'x'",
            id="nms-iou-unreadable",
        ),
    ],
)
def test_errors_name_the_file_and_what_is_wrong(
    make_model: MakeModel,
    outputs: Outputs,
    extra: dict[str, str],
    classes: tuple[str, ...] | None,
    message: str,
) -> None:
    path = make_model(outputs)
    with pytest.raises(LabelerError, match=message) as caught:
        _labeler(path, classes, extra)
    assert caught.value.path == path


def test_an_input_that_is_not_one_image_is_refused(make_model: MakeModel) -> None:
    path = make_model({"output0": V8_ROWS.T[None]}, input_shape=("batch", 320, 320))
    with pytest.raises(
        LabelerError,
        match=r"needs one image input .* it has images tensor\(float\) \['batch', 320, 320\]",
    ):
        _labeler(path)


def test_a_tensorflow_class_id_past_the_names_is_refused(make_model: MakeModel) -> None:
    outputs = {**TF_OUTPUTS, "detection_classes": np.array([[2.0, 88.0, 1.0, 2.0]])}
    labeler = _labeler(make_model(outputs))
    with pytest.raises(
        LabelerError,
        match=r"model\.onnx\): the model gives class id 88 but there are 3 class names",
    ):
        labeler.detect([FRAME])


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"num_detections": np.array([-1.0])}, "num_detections -1.0, not a count from 0 to 4"),
        ({"num_detections": np.array([np.nan])}, "num_detections nan, not a count"),
        ({"num_detections": np.array([9.0])}, "num_detections 9.0, not a count from 0 to 4"),
        (
            {"detection_classes": np.array([[2.0, np.nan, 1.0, 2.0]])},
            "a class id that is not a number",
        ),
    ],
    ids=["minus-one", "nan", "past-the-rows", "nan-class"],
)
def test_tensorflow_counts_and_ids_that_are_no_numbers_are_refused(
    make_model: MakeModel, changed: dict[str, np.ndarray], message: str
) -> None:
    """-1 kept all rows but the last; NaN said 'cannot convert float NaN to integer' or gave
    class id 9223372036854775808 (an audit)."""
    labeler = _labeler(make_model({**TF_OUTPUTS, **changed}))
    with pytest.raises(LabelerError, match=message):
        labeler.detect([FRAME])


def test_a_frame_that_is_not_rgb_uint8_is_refused(make_model: MakeModel) -> None:
    labeler = _labeler(make_model({"output0": V8_ROWS.T[None]}))
    with pytest.raises(LabelerError, match=r"frame 1 of the batch is float32 \(360, 640, 3\)"):
        labeler.detect([FRAME, FRAME.astype(np.float32)])


def test_a_closed_labeler_says_so(make_model: MakeModel) -> None:
    with _labeler(make_model({"output0": V8_ROWS.T[None]})) as labeler:
        pass
    with pytest.raises(LabelerError, match=r"model\.onnx\): the labeler is closed"):
        labeler.detect([FRAME])


@pytest.mark.parametrize(
    ("input_shape", "extra"),
    [((1, 3, 40000, 40000), {}), (("batch", 3, "height", "width"), {"input_size": "40000"})],
    ids=["declared", "input_size"],
)
def test_an_input_over_the_largest_side_is_refused(
    make_model: MakeModel, input_shape: tuple[int | str, ...], extra: dict[str, str]
) -> None:
    """A 40000 x 40000 input took 9.5 GB before numpy's MemoryError (an audit)."""
    path = make_model({"output0": V8_ROWS.T[None]}, input_shape=input_shape)
    with pytest.raises(LabelerError, match="40000x40000 is over 16384 px a side"):
        _labeler(path, extra=extra)
