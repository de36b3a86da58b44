"""The ``http`` labeler: a team's own model behind a small JSON-over-HTTP contract.

tweenlab POSTs (``Content-Type: application/json``, standard library only, ``options.timeout_s``
per request) to ``options.url``::

    {"frames": [{"index": 0, "width": 1920, "height": 1080, "image": "<base64 JPEG>"}, ...],
     "min_score": 0.25}

``index`` is the frame's position in this request; images are RGB frames encoded as JPEG
(quality 90). The server answers ``200`` with::

    {"classes": ["person", "car"],
     "detections": [[{"box": [x1, y1, x2, y2], "score": 0.9, "class": "person"}, ...], ...]}

- ``detections`` holds one list per frame sent, in the same order (an empty list: nothing).
- ``box`` is four finite numbers in the frame's pixels, top-left origin.
- ``score`` is a number in ``0..1``; detections under ``min_score`` may be left out (tweenlab
  drops them anyway).
- ``class`` is a name, or an index into the answer's ``classes`` (or, when the answer has none,
  into the labeler's classes).
- ``points`` (optional, on every detection of a frame or on none) is a list of ``[x, y]``
  keypoints, the same number on each.

Before the first frames, unless ``options.classes`` names them, the factory sends a probe
``{"frames": [], "min_score": s}``, which must answer ``{"classes": [...], "detections": []}``:
the labeler's classes must be known before it labels anything. A class name that is not among
them is an error, as are a refused connection, no answer within the timeout, a status other
than 200 (with the start of the body), an answer that is not JSON, the wrong number of frame
lists, a box that is not four finite numbers and a score outside ``0..1``; each error names
the URL and, where it applies, the frame of the request and the detection.

Only ``http`` and ``https`` URLs are taken; a user name and password in one are sent as HTTP
basic authentication and printed as ``***``. Error messages quote at most the first 80
characters of an answer.
"""

from __future__ import annotations

import base64
import json
import math
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any, NoReturn

import cv2
import numpy as np

from tweenlab.autolabel.base import RGB, Detections, LabelerOptions, needs
from tweenlab.errors import LabelerError

__all__ = ["HttpLabeler", "http_labeler"]

NAME = "http"
_JPEG_QUALITY = 90
_BODY_START = 80  # characters of an answer's body quoted in a message, at most


class HttpLabeler:
    """Frames sent to a model server, detections read back (the module's contract).

    Args:
        url: The endpoint.
        classes: The class names its answers use.
        min_score: Sent to the server; detections under it are dropped.
        timeout_s: How long one request may wait for the server.
        batch_size: Frames per request.

    Example:
        >>> labeler = HttpLabeler("http://127.0.0.1:9/", ("person",), timeout_s=0.5)
        >>> labeler.detect([])
        []
    """

    sequential = False

    def __init__(
        self,
        url: str,
        classes: tuple[str, ...],
        *,
        min_score: float = 0.25,
        timeout_s: float = 30.0,
        batch_size: int = 8,
    ) -> None:
        self.name = NAME
        self.url = url
        self.classes = classes
        self.min_score = min_score
        self.timeout_s = timeout_s
        self.batch_size = batch_size

    def detect(self, frames: Sequence[RGB]) -> list[Detections]:
        """One ``Detections`` per frame, in order, from one request."""
        if not frames:
            return []
        payload = {
            "frames": [_encode(frame, index) for index, frame in enumerate(frames)],
            "min_score": self.min_score,
        }
        answer = post_json(self.url, payload, self.timeout_s)
        lists = answer.get("detections")
        if not isinstance(lists, list) or len(lists) != len(frames):
            got = len(lists) if isinstance(lists, list) else type(lists).__name__
            detail = f"sent {len(frames)} frames, the answer's detections hold {got} lists"
            raise LabelerError(NAME, detail, path=shown_url(self.url))
        names = answer.get("classes") or self.classes
        return [self._frame(items, index, names) for index, items in enumerate(lists)]

    def _frame(self, items: object, frame: int, names: Sequence[str]) -> Detections:
        if not isinstance(items, list):
            self._fail(f"frame {frame}: detections must be a list, got {type(items).__name__}")
        rows = [self._detection(item, frame, i, names) for i, item in enumerate(items)]
        rows = [row for row in rows if row[1] >= self.min_score]
        with_points = {row[3] is not None for row in rows}
        if len(with_points) > 1:
            self._fail(f"frame {frame}: points on some detections only")
        if not rows:
            return Detections.empty()
        xyxy = np.array([row[0] for row in rows], dtype=np.float64)
        scores = np.array([row[1] for row in rows], dtype=np.float64)
        class_ids = np.array([row[2] for row in rows], dtype=np.int64)
        points = None
        if rows[0][3] is not None:
            if len({len(row[3] or ()) for row in rows}) > 1:
                self._fail(f"frame {frame}: detections have different numbers of points")
            points = np.array([row[3] for row in rows], dtype=np.float64)
        return Detections(xyxy, scores, class_ids, points=points)

    def _detection(
        self, item: object, frame: int, number: int, names: Sequence[str]
    ) -> tuple[list[float], float, int, list[list[float]] | None]:
        where = f"frame {frame}, detection {number}"
        if not isinstance(item, dict):
            self._fail(f"{where}: not an object but {type(item).__name__}")
        box = _numbers(item.get("box"), 4)
        if box is None:
            self._fail(f"{where}: box {item.get('box')!r} is not 4 finite numbers")
        score = _numbers([item.get("score")], 1)
        if score is None or not 0.0 <= score[0] <= 1.0:
            self._fail(f"{where}: score {item.get('score')!r} is not a number in 0..1")
        class_id = self._class_id(item.get("class"), names, where)
        raw = item.get("points")
        points = None
        if raw is not None:
            pairs = [_numbers(p, 2) for p in raw] if isinstance(raw, list) else [None]
            if any(p is None for p in pairs):
                self._fail(f"{where}: points {raw!r} are not [x, y] pairs")
            points = [p for p in pairs if p is not None]
        return box, score[0], class_id, points

    def _class_id(self, value: object, names: Sequence[str], where: str) -> int:
        name = value
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value < len(names):
                self._fail(f"{where}: class index {value} outside 0..{len(names) - 1}")
            name = names[value]
        if not isinstance(name, str) or name not in self.classes:
            known = ", ".join(self.classes)
            self._fail(f"{where}: unknown class {value!r} (the labeler knows: {known})")
        return self.classes.index(name)

    def _fail(self, detail: str) -> NoReturn:
        raise LabelerError(NAME, detail, path=shown_url(self.url))


def _numbers(value: object, count: int) -> list[float] | None:
    """``value`` as floats when it is a list of ``count`` finite numbers (not booleans)."""
    if not isinstance(value, list) or len(value) != count:
        return None
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        return None
    numbers = [float(v) for v in value]
    return numbers if all(math.isfinite(v) for v in numbers) else None


def _encode(frame: RGB, index: int) -> dict[str, object]:
    bgr = cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:
        raise LabelerError(NAME, f"cannot encode frame {index} of shape {frame.shape} as JPEG")
    height, width = frame.shape[:2]
    image = base64.b64encode(jpeg.tobytes()).decode("ascii")
    return {"index": index, "width": width, "height": height, "image": image}


def post_json(url: str, payload: object, timeout_s: float) -> dict[str, Any]:
    """POST ``payload`` as JSON; the answer, a JSON object.

    Raises:
        LabelerError: Refused, timed out, a status other than 200, or not a JSON object.

    Example:
        >>> post_json("http://127.0.0.1:9/", {"frames": []}, 1.0)  # doctest: +SKIP
        Traceback (most recent call last):
        tweenlab.errors.LabelerError: ... connection refused ...
    """
    target, authorization = checked_url(url)
    shown = shown_url(url)
    headers = {"Content-Type": "application/json", **authorization}
    body = json.dumps(payload).encode()
    request = urllib.request.Request(target, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        start = error.read()[:_BODY_START].decode("utf-8", "replace")
        detail = f"answered HTTP {error.code} {error.reason}: {start!r}"
        raise LabelerError(NAME, detail, path=shown) from error
    except TimeoutError as error:
        raise LabelerError(NAME, f"no answer within {timeout_s} s", path=shown) from error
    except urllib.error.URLError as error:
        raise LabelerError(NAME, _unreachable(error.reason, timeout_s), path=shown) from error
    except OSError as error:  # a connection reset or dropped mid-answer
        raise LabelerError(NAME, f"the connection failed: {error}", path=shown) from error
    if status != 200:
        start = text[:_BODY_START].decode("utf-8", "replace")
        raise LabelerError(NAME, f"answered HTTP {status}, not 200: {start!r}", path=shown)
    try:
        answer = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        start = text[:_BODY_START].decode("utf-8", "replace")
        detail = f"the answer is not JSON ({error}): {start!r}"
        raise LabelerError(NAME, detail, path=shown) from error
    if not isinstance(answer, dict):
        detail = f"the answer is JSON but not an object: {text[:_BODY_START]!r}"
        raise LabelerError(NAME, detail, path=shown)
    return answer


def shown_url(url: str) -> str:
    """``url`` fit to print: a user name and password in it become ``***``.

    Example:
        >>> shown_url("http://me:secret@models:9000/detect")
        'http://***@models:9000/detect'
    """
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "the URL given" if "@" in url else url
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]))


def checked_url(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without its user name and password, and the ``Authorization`` header they make
    (HTTP basic); only ``http`` and ``https`` URLs with a host are taken.

    Raises:
        LabelerError: Another scheme (``file``, ``ftp``), no host, or a URL that does not parse.
    """
    shown = shown_url(url)
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018  (a port that is not a number raises here)
    except ValueError as error:
        raise LabelerError(NAME, f"not a valid URL ({error})", path=shown) from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        detail = "needs an http:// or https:// URL with a host"
        raise LabelerError(NAME, detail, path=shown)
    if parts.username is None and parts.password is None:
        return url, {}
    user = urllib.parse.unquote(parts.username or "")
    secret = urllib.parse.unquote(parts.password or "")
    token = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
    bare = urllib.parse.urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
    return bare, {"Authorization": f"Basic {token}"}


def _unreachable(reason: object, timeout_s: float) -> str:
    if isinstance(reason, TimeoutError):
        return f"no answer within {timeout_s} s"
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused (is the model server running?)"
    return f"cannot reach the server: {reason}"


def _probe_classes(url: str, options: LabelerOptions) -> tuple[str, ...]:
    answer = post_json(url, {"frames": [], "min_score": options.min_score}, options.timeout_s)
    classes = answer.get("classes")
    if (
        not isinstance(classes, list)
        or not classes
        or not all(isinstance(c, str) and c for c in classes)
    ):
        detail = f'the probe {{"frames": []}} must answer "classes": [names], got {classes!r}'
        raise LabelerError(NAME, detail, path=shown_url(url))
    if len(set(classes)) != len(classes):
        detail = f"the server names a class twice: {classes!r}"
        raise LabelerError(NAME, detail, path=shown_url(url))
    return tuple(classes)


@needs("url")
def http_labeler(options: LabelerOptions) -> HttpLabeler:
    """The registered ``http`` factory: needs ``options.url``; probes it for the classes
    unless ``options.classes`` gives them.

    Raises:
        LabelerError: No URL, or the probe failed (see the module's contract).

    Example:
        >>> options = LabelerOptions(url="http://127.0.0.1:8500/detect", classes=("car",))
        >>> http_labeler(options).classes
        ('car',)
    """
    if not options.url:
        raise LabelerError(NAME, "needs the model server's URL (options.url, --url)")
    checked_url(options.url)  # before anything is sent
    classes = options.classes or _probe_classes(options.url, options)
    return HttpLabeler(
        options.url,
        tuple(classes),
        min_score=options.min_score,
        timeout_s=options.timeout_s,
        batch_size=options.batch_size or 8,
    )
