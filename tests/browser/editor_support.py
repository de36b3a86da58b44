"""What the editor's browser tests share: a project with a stamped video and one task over it
(``world``), opening the editor, stepping, reading the drawn frame back, and mouse gestures in
video pixels."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import Live, Person, expect, sign_in
from tests.media.videos import make_video

FRAMES = 60
WIDTH, HEIGHT = 320, 240


@dataclass
class World:
    """A project with one label, a stamped video ingested, and one task over all of it."""

    owner: Person
    project: int
    video: int
    task: int

    @property
    def base(self) -> str:
        return f"/projects/{self.project}/tasks/{self.task}"

    @property
    def url(self) -> str:
        return f"/#/projects/{self.project}/tasks/{self.task}"


@pytest.fixture
def task_split() -> dict[str, Any]:
    """How the world's video is split into tasks: one over the whole video."""
    return {"size": FRAMES}


@pytest.fixture
def world(live: Live, tmp_path: Path, task_split: dict[str, Any]) -> World:
    owner = live.person("owner@example.com")
    label = {"name": "car", "color": "#e8590c", "kinds": []}
    project = live.call(owner, "POST", "/projects", 201, json={"name": "cars", "schema": [label]})
    clip = make_video(tmp_path / "clip.mp4", frames=FRAMES, width=WIDTH, height=HEIGHT, bframes=2)
    video = live.upload(owner, project["id"], clip)
    split = {"video_id": video["id"], **task_split}
    (task,) = live.call(owner, "POST", f"/projects/{project['id']}/tasks/split", 201, json=split)
    return World(owner, project["id"], video["id"], task["id"])


def open_editor(page: Any, world: World, email: str = "owner@example.com") -> None:
    sign_in(page, email)
    page.wait_for_selector("[data-testid=projects]")  # the projects page done, before we leave it
    page.goto(world.url)
    wait_editor(page, 0)


def wait_editor(page: Any, frame: int) -> None:
    """Wait until the editor shows ``frame`` and its test hook is set (a view mounted twice,
    the first one's canvas can be on the page before the second has set its hook)."""
    page.wait_for_selector(f"[data-testid=editor-canvas][data-frame='{frame}']")
    page.wait_for_function("window.tweenlabEditor !== undefined")


def frame_number(page: Any) -> int:
    return int(page.locator("[data-testid=frame-number]").inner_text())


def go(page: Any, frame: int) -> None:
    """Jump with the frame box and wait until that frame is drawn."""
    page.fill("[data-testid=frame-input]", str(frame))
    page.press("[data-testid=frame-input]", "Enter")
    page.locator("[data-testid=frame-input]").blur()
    page.wait_for_selector(f"[data-testid=editor-canvas][data-frame='{frame}']")


def shown(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("window.tweenlabEditor.shown()"))


def wait_saved(page: Any) -> None:
    expect(page.locator("[data-testid=save-status]")).to_have_text("saved")
    assert page.evaluate("window.tweenlabEditor.pendingCount()") == 0


def to_screen(page: Any, x: float, y: float) -> tuple[float, float]:
    """Video pixel (x, y) in page coordinates, from the canvas's box and the editor's view."""
    box = page.locator("[data-testid=editor-canvas]").bounding_box()
    view = page.evaluate("window.tweenlabEditor.view")
    return box["x"] + view["x"] + x * view["zoom"], box["y"] + view["y"] + y * view["zoom"]


def mouse_drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*to_screen(page, *start))
    page.mouse.down()
    for t in (0.25, 0.5, 0.75, 1.0):
        x = start[0] + (end[0] - start[0]) * t
        y = start[1] + (end[1] - start[1]) * t
        page.mouse.move(*to_screen(page, x, y))
    page.mouse.up()


def close_to(a: dict[str, Any], b: dict[str, Any], tolerance: float = 0.75) -> bool:
    return all(abs(float(a[k]) - float(b[k])) <= tolerance for k in ("x", "y", "w", "h"))


def canvas_frame(page: Any) -> np.ndarray:
    """The video's pixels as the canvas shows them (the view at zoom 1, origin top-left)."""
    url = page.evaluate(
        """([width, height]) => {
            const canvas = document.querySelector('[data-testid=editor-canvas]');
            const out = document.createElement('canvas');
            out.width = width; out.height = height;
            out.getContext('2d').drawImage(canvas, 0, 0, width, height, 0, 0, width, height);
            return out.toDataURL('image/png');
        }""",
        [WIDTH, HEIGHT],
    )
    data = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def stored_tracks(live: Live, world: World) -> list[dict[str, Any]]:
    answer = live.call(world.owner, "GET", f"{world.base}/annotations")
    return [t["track"] for t in answer["tracks"]]


def click(page: Any, x: float, y: float) -> None:
    page.mouse.click(*to_screen(page, x, y))
