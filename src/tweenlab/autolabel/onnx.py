"""The ``onnx`` labeler: a detector the user brings as an ONNX file, run by ONNX Runtime on CPU.

Owns loading the file (with errors that name it), the image input (one ``NCHW`` or ``NHWC``
tensor, float scaled to ``0..1`` or raw uint8), letterboxing, batching, and where class names
come from (``--classes FILE``, else the ``names`` that ultralytics writes in the metadata). How
the outputs are read (YOLOv5/v8/v11, YOLOX, RT-DETR, SSD, TensorFlow) is ``heads``.

``LabelerOptions.extra`` settings: ``head`` (``auto``, ``yolov5``, ``yolov8``, ``ssd``,
``detr``), ``input_size`` (``640`` or ``640x384``, width first, for models whose input size is
dynamic; else ultralytics' ``imgsz`` metadata, else 640), ``scale`` (pixel factor, ``1/255``),
``nms_iou`` (0.45) and ``background`` (``auto``, ``first``, ``none``; see ``heads``).
"""

from __future__ import annotations

import ast
import importlib
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.autolabel.base import RGB, Detections, LabelerOptions, needs
from tweenlab.autolabel.decoders import Letterbox, letterbox
from tweenlab.autolabel.heads import BACKGROUNDS, HEADS, Decoding, Layout, Output, choose_head
from tweenlab.core.limits import MAX_SIDE
from tweenlab.errors import LabelerError

__all__ = ["OnnxLabeler", "onnx_labeler"]

NAME = "onnx"
DEFAULT_INPUT_SIZE = 640
DEFAULT_BATCH = 4
_MAX_THREADS = 4  # beyond a few threads a small detector on CPU gains little
_DTYPES: dict[str, type[np.generic]] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(uint8)": np.uint8,
}


@needs("model")
def onnx_labeler(options: LabelerOptions) -> OnnxLabeler:
    """The registered ``onnx`` factory: an ``OnnxLabeler`` for ``options.model``.

    Raises:
        LabelerError: No model given, or the file cannot be used (see ``OnnxLabeler``).

    Example:
        >>> onnx_labeler(LabelerOptions())
        Traceback (most recent call last):
        tweenlab.errors.LabelerError: labeler 'onnx': needs a model file (--model FILE)
    """
    if options.model is None:
        raise LabelerError(NAME, "needs a model file (--model FILE)")
    return OnnxLabeler(options.model, options)


@dataclass(frozen=True)
class _ImageInput:
    """The model's image input: its name, layout, size, element type and pixel scale."""

    name: str
    channels_first: bool
    size_wh: tuple[int, int]
    batch: int | None  # fixed by the model, or None when any batch size runs
    dtype: type[np.generic]
    scale: float


class OnnxLabeler:
    """A detector from an ONNX file; a context manager that frees the runtime session.

    Args:
        model: The ``.onnx`` file.
        options: Class names, ``min_score``, ``batch_size`` and ``extra`` (see the module).

    Raises:
        LabelerError: The file is missing or not an ONNX model, has no single image input, has
            no class names, or its outputs fit no known layout or disagree with the names.

    Example:
        >>> with OnnxLabeler(Path("yolov8n.onnx"), LabelerOptions()) as labeler:  # doctest: +SKIP
        ...     found = labeler.detect([frame])[0]
        ...     found.xyxy, [labeler.classes[i] for i in found.class_ids]
    """

    name = NAME
    sequential = False

    def __init__(self, model: Path, options: LabelerOptions) -> None:
        self.path = Path(model)
        self._session: Any = _open_session(self.path)
        metadata: Mapping[str, str] = self._session.get_modelmeta().custom_metadata_map
        self.classes, names_from = _class_names(options, metadata, self.path)
        self._head = _choice(options.extra, "head", HEADS, self.path)
        self._background = _choice(options.extra, "background", BACKGROUNDS, self.path)
        self._names_from = names_from
        self._input = _image_input(self._session, options.extra, metadata, self.path)
        self.batch_size = options.batch_size or self._input.batch or DEFAULT_BATCH
        self._decoding = Decoding(
            self._input.size_wh,
            len(self.classes),
            options.min_score,
            _number(options.extra, "nms_iou", 0.45, self.path),
        )
        self._layouts: dict[tuple[Output, ...], Layout] = {}
        declared = _declared_outputs(self._session)
        if declared is not None:
            self._layout(declared)  # a static model is checked now, a dynamic one on first use

    def detect(self, frames: Sequence[RGB]) -> list[Detections]:
        """One ``Detections`` per frame, boxes in that frame's pixels.

        Raises:
            LabelerError: A frame is not RGB uint8, the runtime fails, or the answer does not
                fit the model's layout.
        """
        if self._session is None:
            raise LabelerError(NAME, "the labeler is closed", path=self.path)
        run = self._input.batch or self.batch_size
        found: list[Detections] = []
        for start in range(0, len(frames), run):
            found.extend(self._detect_run(frames[start : start + run]))
        return found

    def close(self) -> None:
        """Frees the runtime session; the labeler cannot detect afterwards."""
        self._session = None

    def __enter__(self) -> OnnxLabeler:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _detect_run(self, frames: Sequence[RGB]) -> list[Detections]:
        tensor, boxes = self._tensor(frames)
        try:
            arrays = self._session.run(None, {self._input.name: tensor})
        except Exception as error:  # ONNX Runtime's errors share no base class but Exception
            detail = f"the runtime failed: {error}"
            raise LabelerError(NAME, detail, path=self.path) from error
        names = [output.name for output in self._session.get_outputs()]
        if any(np.ndim(array) == 0 or len(array) < len(frames) for array in arrays):
            shapes = ", ".join(f"{n} {np.shape(a)}" for n, a in zip(names, arrays, strict=True))
            detail = f"answered {shapes} for a batch of {len(frames)} frames"
            raise LabelerError(NAME, detail, path=self.path)
        layout = self._layout(
            tuple(Output(n, (1, *np.shape(a)[1:])) for n, a in zip(names, arrays, strict=True))
        )
        found: list[Detections] = []
        for index, box in enumerate(boxes):
            try:
                item = layout.decode([array[index] for array in arrays], self._decoding)
            except ValueError as error:
                raise LabelerError(NAME, str(error), path=self.path) from error
            found.append(box.undo(item))
        return found

    def _tensor(self, frames: Sequence[RGB]) -> tuple[npt.NDArray[np.generic], list[Letterbox]]:
        """The input tensor for ``frames`` (padded to a fixed batch), and how each was fitted."""
        canvases, boxes = [], []
        for index, frame in enumerate(frames):
            if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
                detail = f"frame {index} of the batch is {frame.dtype} {frame.shape}"
                raise LabelerError(NAME, detail + ", not RGB (H, W, 3) uint8", path=self.path)
            canvas, box = letterbox(frame, self._input.size_wh)
            canvases.append(canvas)
            boxes.append(box)
        batch = np.stack(canvases)
        if self._input.batch is not None and len(batch) < self._input.batch:
            padding = np.zeros((self._input.batch - len(batch), *batch.shape[1:]), np.uint8)
            batch = np.concatenate([batch, padding])
        tensor: npt.NDArray[np.generic] = batch
        if self._input.dtype is not np.uint8:
            tensor = (batch * self._input.scale).astype(self._input.dtype)
        if self._input.channels_first:
            tensor = tensor.transpose(0, 3, 1, 2)
        return np.ascontiguousarray(tensor), boxes

    def _layout(self, outputs: tuple[Output, ...]) -> Layout:
        layout = self._layouts.get(outputs)
        if layout is None:
            layout = choose_head(
                self._head,
                outputs,
                len(self.classes),
                background=self._background,
                model=self.path,
                names_from=self._names_from,
            )
            self._layouts[outputs] = layout
        return layout


def _open_session(path: Path) -> Any:
    """An ONNX Runtime CPU session for ``path``, with errors that name the file."""
    if not path.is_file():
        raise LabelerError(NAME, "the model file does not exist", path=path)
    runtime = importlib.import_module("onnxruntime")  # heavy: only when a labeler is built
    settings = runtime.SessionOptions()
    settings.intra_op_num_threads = max(1, min(os.cpu_count() or 1, _MAX_THREADS))
    settings.inter_op_num_threads = 1
    settings.log_severity_level = 3  # errors only: its warnings would go to stderr, not to us
    try:
        return runtime.InferenceSession(
            str(path), sess_options=settings, providers=["CPUExecutionProvider"]
        )
    except Exception as error:  # ONNX Runtime's errors share no base class but Exception
        reason = str(error).rsplit(" failed:", 1)[-1].strip()
        unreadable = type(error).__name__ == "InvalidProtobuf" or "No graph" in reason
        what = "not an ONNX model" if unreadable else "ONNX Runtime cannot load this model"
        raise LabelerError(NAME, f"{what} ({reason})", path=path) from error


def _class_names(
    options: LabelerOptions, metadata: Mapping[str, str], path: Path
) -> tuple[tuple[str, ...], str]:
    """The class names and where they came from: the options, else the model's metadata."""
    if options.classes:
        return tuple(options.classes), "the class names file"
    names = _metadata_names(metadata.get("names"))
    if not names:
        detail = "needs class names (--classes FILE): the model's metadata has no usable 'names'"
        raise LabelerError(NAME, detail, path=path)
    return names, "the model's metadata"


def _metadata_names(text: str | None) -> tuple[str, ...]:
    """Names from ultralytics' ``"{0: 'person', 1: 'bicycle'}"`` (or a list); () if unusable."""
    if not text:
        return ()
    try:
        value = ast.literal_eval(text)  # a literal only: never runs code from the file
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return ()
    if isinstance(value, dict) and sorted(value) == list(range(len(value))):
        value = [value[key] for key in range(len(value))]
    if isinstance(value, list | tuple) and all(isinstance(n, str) and n for n in value):
        return tuple(value)
    return ()


def _image_input(
    session: Any, extra: Mapping[str, str | float | int], metadata: Mapping[str, str], path: Path
) -> _ImageInput:
    inputs = session.get_inputs()
    found = ", ".join(f"{i.name} {i.type} {i.shape}" for i in inputs)
    if len(inputs) != 1 or len(inputs[0].shape) != 4 or inputs[0].type not in _DTYPES:
        detail = f"needs one image input (N, 3, H, W) or (N, H, W, 3); it has {found}"
        raise LabelerError(NAME, detail, path=path)
    shape = [dim if isinstance(dim, int) and dim > 0 else None for dim in inputs[0].shape]
    channels_first = shape[1] == 3 or shape[3] != 3
    if shape[1 if channels_first else 3] not in (3, None):
        detail = f"needs one image input (N, 3, H, W) or (N, H, W, 3); it has {found}"
        raise LabelerError(NAME, detail, path=path)
    height, width = shape[2:4] if channels_first else shape[1:3]
    wanted = _input_size(extra, metadata, path)
    if "input_size" in extra and (width or wanted[0], height or wanted[1]) != wanted:
        detail = f"input_size {extra['input_size']} but the model's input is {found}"
        raise LabelerError(NAME, detail, path=path)
    size = (width or wanted[0], height or wanted[1])
    if max(size) > MAX_SIDE:  # a 40000 px side took 9.5 GB before numpy gave up
        detail = f"its input of {size[0]}x{size[1]} is over {MAX_SIDE} px a side ({found})"
        raise LabelerError(NAME, detail, path=path)
    return _ImageInput(
        inputs[0].name,
        channels_first,
        size,
        shape[0],
        _DTYPES[inputs[0].type],
        _number(extra, "scale", 1 / 255, path),
    )


def _input_size(
    extra: Mapping[str, str | float | int], metadata: Mapping[str, str], path: Path
) -> tuple[int, int]:
    """``width, height`` from ``input_size`` (``640`` or ``640x384``), else ultralytics'
    ``imgsz`` metadata (``[height, width]``), else 640."""
    text = str(extra.get("input_size", "")).lower()
    if not text:
        return _metadata_size(metadata.get("imgsz"))
    parts = text.split("x")
    if len(parts) in (1, 2) and all(part.strip().isdigit() and int(part) > 0 for part in parts):
        return int(parts[0]), int(parts[-1])
    detail = f"input_size must be like 640 or 640x384 (width x height), not {text!r}"
    raise LabelerError(NAME, detail, path=path)


def _metadata_size(text: str | None) -> tuple[int, int]:
    """``width, height`` from ultralytics' ``"[640, 480]"`` (height first), else 640 x 640."""
    try:
        value = ast.literal_eval(text or "")
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        value = None
    if isinstance(value, list) and len(value) == 2 and all(type(v) is int and v > 0 for v in value):
        return value[1], value[0]
    return DEFAULT_INPUT_SIZE, DEFAULT_INPUT_SIZE


def _declared_outputs(session: Any) -> tuple[Output, ...] | None:
    """The outputs as declared, batch set to 1; ``None`` when a dimension is dynamic."""
    outputs = []
    for output in session.get_outputs():
        rest = output.shape[1:]
        if not all(isinstance(dim, int) and dim >= 0 for dim in rest):
            return None
        outputs.append(Output(output.name, (1, *rest)))
    return tuple(outputs)


def _choice(
    extra: Mapping[str, str | float | int], key: str, allowed: tuple[str, ...], path: Path
) -> str:
    value = str(extra.get(key, allowed[0])).lower()
    if value not in allowed:
        detail = f"{key} must be one of {', '.join(allowed)}, not {value!r}"
        raise LabelerError(NAME, detail, path=path)
    return value


def _number(extra: Mapping[str, str | float | int], key: str, default: float, path: Path) -> float:
    try:
        value = float(extra.get(key, default))
    except ValueError as error:
        detail = f"{key} must be a number, not {extra[key]!r}"
        raise LabelerError(NAME, detail, path=path) from error
    if not value > 0:
        raise LabelerError(NAME, f"{key} must be above 0, not {value}", path=path)
    return value
