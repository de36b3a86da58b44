"""The ``http`` labeler against a real local server (ThreadingHTTPServer on 127.0.0.1, port 0)
whose answer each test sets: good answers come back exactly, every bad one is a LabelerError
that names the URL and what went wrong.
"""

from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2
import numpy as np
import pytest

from tweenlab.autolabel import LabelerOptions
from tweenlab.autolabel.http import HttpLabeler, http_labeler
from tweenlab.errors import LabelerError

CLASSES = ["person", "car"]


@dataclass
class Script:
    """What the server answers next, and what it was sent."""

    status: int = 200
    body: bytes | None = None  # None: a good answer built from ``detections``
    detections: list[list[dict[str, Any]]] = field(default_factory=list)
    delay_s: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    authorizations: list[str | None] = field(default_factory=list)


class Handler(BaseHTTPRequestHandler):
    script: Script

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.script.requests.append(request)
        self.script.authorizations.append(self.headers.get("Authorization"))
        time.sleep(self.script.delay_s)
        body = self.script.body
        if body is None:
            lists = self.script.detections if request["frames"] else []
            body = json.dumps({"classes": CLASSES, "detections": lists}).encode()
        try:
            self.send_response(self.script.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client gave up (the timeout test)
            pass

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    handler = type("ScriptedHandler", (Handler,), {"script": script})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/detect", script
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def frames(count: int) -> list[np.ndarray[Any, np.dtype[np.uint8]]]:
    return [np.full((48, 64, 3), 40 * i, np.uint8) for i in range(count)]


def labeler(url: str, timeout_s: float = 5.0) -> HttpLabeler:
    return HttpLabeler(url, tuple(CLASSES), timeout_s=timeout_s)


def test_good_answers_come_back_exactly(server: tuple[str, Script]) -> None:
    url, script = server
    script.detections = [
        [
            {"box": [1.5, 2.25, 30, 40], "score": 0.9, "class": "car"},
            {"box": [0, 0, 10, 10], "score": 0.5, "class": 0},
        ],
        [],
    ]
    built = http_labeler(LabelerOptions(url=url))
    assert built.classes == ("person", "car")
    assert script.requests[0] == {"frames": [], "min_score": 0.25}  # the probe
    first, second = built.detect(frames(2))
    assert first.xyxy.tolist() == [[1.5, 2.25, 30, 40], [0, 0, 10, 10]]
    assert first.scores.tolist() == [0.9, 0.5]
    assert first.class_ids.tolist() == [1, 0]
    assert len(second) == 0
    sent = script.requests[1]["frames"]
    assert [(f["index"], f["width"], f["height"]) for f in sent] == [(0, 64, 48), (1, 64, 48)]
    jpeg = np.frombuffer(base64.b64decode(sent[1]["image"]), np.uint8)
    assert cv2.imdecode(jpeg, cv2.IMREAD_COLOR).shape == (48, 64, 3)


def test_points_come_back_and_low_scores_are_dropped(server: tuple[str, Script]) -> None:
    url, script = server
    script.detections = [
        [
            {"box": [0, 0, 9, 9], "score": 0.8, "class": "person", "points": [[1, 2], [3, 4]]},
            {"box": [5, 5, 9, 9], "score": 0.1, "class": "person", "points": [[5, 6], [7, 8]]},
        ]
    ]
    found = labeler(url).detect(frames(1))[0]
    assert found.points is not None and found.points.tolist() == [[[1, 2], [3, 4]]]


def test_classes_given_in_the_options_skip_the_probe(server: tuple[str, Script]) -> None:
    url, script = server
    built = http_labeler(LabelerOptions(url=url, classes=("car",)))
    assert built.classes == ("car",) and script.requests == []


BAD_ANSWERS = [
    pytest.param(200, b"<html>oops</html>", [], "not JSON.*oops", id="garbage"),
    pytest.param(200, None, [[], []], "sent 1 frames.*2 lists", id="wrong-frame-count"),
    pytest.param(
        200,
        None,
        [[{"box": [0, 0, 1, 1], "score": 0.9, "class": "car"}, {"box": [0, 0, 1], "score": 0.9}]],
        r"frame 0, detection 1: box \[0, 0, 1\] is not 4 finite numbers",
        id="short-box",
    ),
    pytest.param(
        200,
        b'{"detections": [[{"box": [0, 0, 1, NaN], "score": 0.9, "class": "car"}]]}',
        [],
        "frame 0, detection 0: box .* not 4 finite numbers",
        id="nan-box",
    ),
    pytest.param(
        200,
        None,
        [[{"box": [0, 0, 1, 1], "score": 0.9, "class": "horse"}]],
        "unknown class 'horse'",
        id="unknown-class",
    ),
    pytest.param(
        200,
        None,
        [[{"box": [0, 0, 1, 1], "score": 1.5, "class": "car"}]],
        r"score 1\.5 is not a number in 0\.\.1",
        id="score-above-1",
    ),
    pytest.param(500, b"Traceback: model exploded", [], "HTTP 500.*model exploded", id="500"),
]


@pytest.mark.parametrize(("status", "body", "detections", "message"), BAD_ANSWERS)
def test_bad_answers_are_errors_naming_the_url(
    server: tuple[str, Script],
    status: int,
    body: bytes | None,
    detections: list[list[dict[str, Any]]],
    message: str,
) -> None:
    url, script = server
    script.status, script.body, script.detections = status, body, detections
    with pytest.raises(LabelerError, match=message) as caught:
        labeler(url).detect(frames(1))
    assert url in str(caught.value)


def test_a_slow_answer_times_out_and_says_the_timeout(server: tuple[str, Script]) -> None:
    url, script = server
    script.delay_s = 1.0
    started = time.perf_counter()
    with pytest.raises(LabelerError, match=r"no answer within 0\.3 s") as caught:
        labeler(url, timeout_s=0.3).detect(frames(1))
    assert time.perf_counter() - started < 0.9
    assert url in str(caught.value)


def test_a_refused_connection_is_an_error() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and is closed now
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/detect"
    with pytest.raises(LabelerError, match="connection refused") as caught:
        http_labeler(LabelerOptions(url=url, timeout_s=2.0))
    assert url in str(caught.value)


def test_a_probe_without_classes_is_an_error(server: tuple[str, Script]) -> None:
    url, script = server
    script.body = b'{"detections": []}'
    with pytest.raises(LabelerError, match="must answer"):
        http_labeler(LabelerOptions(url=url))


def test_no_url_is_an_error() -> None:
    with pytest.raises(LabelerError, match="URL"):
        http_labeler(LabelerOptions())


def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_printed(
    server: tuple[str, Script],
) -> None:
    url, script = server
    secret = url.replace("http://", "http://me:s3cr%40t@")
    http_labeler(LabelerOptions(url=secret))
    assert script.authorizations == ["Basic " + base64.b64encode(b"me:s3cr@t").decode()]
    script.status, script.body = 500, b"oops"
    with pytest.raises(LabelerError) as caught:
        labeler(secret).detect(frames(1))
    message = str(caught.value)  # an audit: 'labeler 'http' (http://user:s3cr3tpw@...'
    assert "s3cr" not in message and "me:" not in message
    assert url.replace("http://", "http://***@") in message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("file:///etc/hostname", "needs an http:// or https:// URL"),
        ("ftp://models/detect", "needs an http:// or https:// URL"),
        ("http:///detect", "URL with a host"),
        ("http://[::1", r"not a valid URL \(Invalid IPv6 URL\)"),
        ("http://models:port/detect", "not a valid URL"),
    ],
    ids=["file", "ftp", "no-host", "bad-ipv6", "bad-port"],
)
def test_only_http_urls_are_taken(url: str, message: str) -> None:
    with pytest.raises(LabelerError, match=message) as caught:
        http_labeler(LabelerOptions(url=url, classes=("car",)))
    assert "\n" not in str(caught.value)
