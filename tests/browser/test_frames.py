"""``web/frames.js`` in Chromium: ``FrameSource.frame(n)`` is exactly frame n, by both ways of
getting pixels (WebCodecs on the server's chunks, and server-decoded JPEGs), over forward and
backward steps, random jumps and the ends; the decoded frames kept stay within the budget.

The video has B-frames and a keyframe every 30 frames; ingest writes its annotation proxy
(``proxy_max_gop`` is 24 here), which is what both ways read. Each frame is drawn on a canvas in
the page, read back and its stamp decoded here.
"""

from __future__ import annotations

import base64
import io
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import Live, Person, sign_in
from tests.media.videos import make_video, read_stamp
from tweenlab.settings import Settings

FRAMES, WIDTH, HEIGHT = 90, 320, 240


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """A proxy for GOPs over 24 frames, one ingest worker and no keyframe analysis."""
    update = {"proxy_max_gop": 24, "job_workers": 1, "ingest_keyframes": False}
    return settings.model_copy(update=update)


@pytest.fixture
def video(live: Live, tmp_path: Path) -> tuple[Person, dict[str, Any]]:
    """The owner of a project and its ingested stamped video (B-frames, GOP 30)."""
    source = make_video(
        tmp_path / "stamped.mp4", frames=FRAMES, width=WIDTH, height=HEIGHT, gop=30, bframes=2
    )
    owner = live.person("owner@example.com")
    return owner, ingested(live, owner, source)


OPEN = """async (options) => {
  const { FrameSource } = await import("/frames.js");
  const { budgetBytes, recycleBytes, ...rest } = options;
  window.source = new FrameSource({
    ...rest,
    budgetBytes: budgetBytes ?? undefined,
    recycleBytes: recycleBytes ?? undefined,
  });
  window.canvas = Object.assign(document.createElement("canvas"), {
    width: options.width,
    height: options.height,
  });
  return window.source.ready;
}"""


def open_source(
    page: Any,
    made: dict[str, Any],
    decoder: str,
    budget: int | None = None,
    recycle: int | None = None,
) -> str:
    """Make ``window.source`` in the page for the video ``made``; the decoder it took."""
    options = {
        "projectId": made["project_id"],
        "videoId": made["id"],
        "frameCount": made["frame_count"],
        "width": made["width"],
        "height": made["height"],
        "decoder": decoder,
        "budgetBytes": budget,
        "recycleBytes": recycle,
    }
    return str(page.evaluate(OPEN, options))


def ingested(live: Live, owner: Person, source: Path) -> dict[str, Any]:
    """Upload ``source`` to a new project of ``owner`` and wait for its ingest; the video."""
    project = live.call(owner, "POST", "/projects", 201, json={"name": source.stem})
    return live.upload(owner, project["id"], source)


SHOW = """async ([n, direction]) => {
  const bitmap = await window.source.frame(n);
  const context = window.canvas.getContext("2d", {willReadFrequently: true});
  context.drawImage(bitmap, 0, 0);
  window.source.prefetch(n, direction);
  return window.canvas.toDataURL("image/png");  // lossless
}"""


def walk() -> list[tuple[int, int]]:
    """(frame, direction): forward steps, backward steps, random jumps, the first and last."""
    jumps = random.Random(7).sample(range(FRAMES), 12)
    return [
        *((n, 1) for n in range(0, 20)),
        *((n, -1) for n in range(45, 25, -1)),
        *((n, 1) for n in jumps),
        (0, 1),
        (FRAMES - 1, -1),
        (FRAMES - 1, 1),
        (0, -1),
    ]


def stamps(page: Any, frames: list[tuple[int, int]]) -> list[int]:
    seen = []
    for n, direction in frames:
        url = page.evaluate(SHOW, [n, direction])
        png = base64.b64decode(url.removeprefix("data:image/png;base64,"))
        seen.append(read_stamp(np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))))
    return seen


@pytest.mark.parametrize("decoder", ["webcodecs", "images"])
def test_each_frame_is_exactly_frame_n(
    live: Live, page: Any, video: tuple[Person, dict[str, Any]], decoder: str
) -> None:
    owner, made = video
    sign_in(page, owner.email)
    assert open_source(page, made, decoder) == decoder  # Debian's Chromium has H.264 WebCodecs
    frames = walk()
    assert stamps(page, frames) == [n for n, _ in frames]
    assert page.evaluate("window.source.stats().decoder") == decoder  # no fallback on the way


def test_auto_takes_webcodecs_and_the_cache_stays_within_its_budget(
    live: Live, page: Any, video: tuple[Person, dict[str, Any]]
) -> None:
    owner, made = video
    sign_in(page, owner.email)
    budget = 12 * 4 * WIDTH * HEIGHT  # 12 frames
    assert open_source(page, made, "auto", budget) == "webcodecs"
    forward = [(n, 1) for n in range(FRAMES)]
    assert stamps(page, forward) == list(range(FRAMES))
    page.wait_for_timeout(300)  # let the last prefetches land
    kept = page.evaluate("window.source.stats()")
    assert kept["decoder"] == "webcodecs" and kept["budgetBytes"] == budget
    assert 0 < kept["frames"] <= 12 and kept["bytes"] <= budget
    page.evaluate("window.source.close()")


def test_an_idle_webcodecs_worker_is_let_go_and_started_again_for_the_next_frame(
    live: Live, page: Any, video: tuple[Person, dict[str, Any]]
) -> None:
    owner, made = video
    sign_in(page, owner.email)
    page.clock.install()
    assert open_source(page, made, "webcodecs") == "webcodecs"
    assert stamps(page, [(n, 1) for n in range(0, 6)]) == list(range(6))
    page.clock.run_for(1000)
    assert page.evaluate("window.source.stats()")["worker"]  # still wanted a second later
    page.clock.run_for(6000)  # five seconds with nothing to decode: let go
    page.wait_for_function("!window.source.stats().worker")
    frames = [(60, 1), (61, 1), (30, -1), (5, 1)]  # 5 from the page's cache, the rest decoded
    assert stamps(page, frames) == [n for n, _ in frames]
    kept = page.evaluate("window.source.stats()")
    assert kept["worker"] and kept["workersStarted"] == 2 and kept["decoder"] == "webcodecs"


def test_a_webcodecs_worker_is_replaced_between_decodes_once_it_has_fetched_its_share(
    live: Live, page: Any, video: tuple[Person, dict[str, Any]]
) -> None:
    owner, made = video
    sign_in(page, owner.email)
    assert open_source(page, made, "webcodecs", recycle=1) == "webcodecs"  # after every chunk
    frames = walk()
    assert stamps(page, frames) == [n for n, _ in frames]
    kept = page.evaluate("window.source.stats()")
    assert kept["workersStarted"] >= 4 and kept["decoder"] == "webcodecs"


def test_a_video_without_chunks_falls_back_to_images(live: Live, page: Any, tmp_path: Path) -> None:
    # B-frames and a keyframe every 12 frames: no proxy is written, and the source itself
    # cannot be served in chunks (B-frames), so /codec refuses and auto takes the images
    short = make_video(tmp_path / "short.mp4", frames=30, width=WIDTH, height=HEIGHT, bframes=2)
    owner = live.person("owner@example.com")
    made = ingested(live, owner, short)
    sign_in(page, owner.email)
    assert open_source(page, made, "auto") == "images"
    frames = [(n, 1) for n in (0, 1, 2, 29, 13, 12, 11)]
    assert stamps(page, frames) == [n for n, _ in frames]


@pytest.mark.parametrize("decoder", ["webcodecs", "images"])
def test_max_side_scales_the_frames_down(
    live: Live, page: Any, video: tuple[Person, dict[str, Any]], decoder: str
) -> None:
    owner, made = video
    sign_in(page, owner.email)
    options = {
        "projectId": made["project_id"],
        "videoId": made["id"],
        "frameCount": made["frame_count"],
        "width": made["width"],
        "height": made["height"],
        "decoder": decoder,
        "maxSide": 160,
    }
    size = page.evaluate(
        """async (options) => {
          const { FrameSource } = await import("/frames.js");
          const source = new FrameSource(options);
          const bitmap = await source.frame(41);
          const canvas = Object.assign(document.createElement("canvas"), {width: 160, height: 120});
          canvas.getContext("2d").drawImage(bitmap, 0, 0);
          return [bitmap.width, bitmap.height, await source.ready, canvas.toDataURL("image/png")];
        }""",
        options,
    )
    assert size[:3] == [160, 120, decoder]
    png = base64.b64decode(size[3].removeprefix("data:image/png;base64,"))
    assert read_stamp(np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))) == 41
