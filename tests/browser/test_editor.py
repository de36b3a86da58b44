"""The annotation editor in Chromium against the live server: a box drawn with the mouse and
moved on a later frame shows the server's interpolation between (the editor draws the server's
states), frame-exact stepping read back from the canvas pixels, a reload that loses nothing,
a conflict between two people that asks instead of overwriting, and edits made offline that
arrive once the network is back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from tests.browser.conftest import ARTIFACTS, Live, Person, expect, sign_in
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
def world(live: Live, tmp_path: Path) -> World:
    owner = live.person("owner@example.com")
    label = {"name": "car", "color": "#e8590c", "kinds": []}
    project = live.call(owner, "POST", "/projects", 201, json={"name": "cars", "schema": [label]})
    clip = make_video(tmp_path / "clip.mp4", frames=FRAMES, width=WIDTH, height=HEIGHT, bframes=2)
    answer = httpx.post(
        f"{live.url}/api/projects/{project['id']}/videos",
        params={"name": "clip.mp4"},
        content=clip.read_bytes(),
        headers={**owner.headers, "Content-Type": "application/octet-stream"},
        timeout=60,
    )
    assert answer.status_code == 201, answer.text
    video = answer.json()
    live.wait_for_job(owner, video["ingest_job_id"])
    split = {"video_id": video["id"], "size": FRAMES}
    (task,) = live.call(owner, "POST", f"/projects/{project['id']}/tasks/split", 201, json=split)
    return World(owner, project["id"], video["id"], task["id"])


def open_editor(page: Any, world: World, email: str = "owner@example.com") -> None:
    sign_in(page, email)
    page.goto(world.url)
    page.wait_for_selector("[data-testid=editor-canvas][data-frame='0']")


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


def test_a_box_drawn_and_moved_shows_the_servers_states_between(
    live: Live, world: World, page: Any
) -> None:
    open_editor(page, world)
    page.keyboard.press("n")  # the new-shape tool (box: the label allows every kind)
    mouse_drag(page, (40, 40), (120, 100))
    expect(page.locator("[data-testid=track-row]")).to_have_count(1)
    (drawn,) = shown(page)
    assert drawn["source"] == "keyframe"
    assert close_to(drawn["shape"], {"x": 40, "y": 40, "w": 80, "h": 60}, 1.5)
    wait_saved(page)

    go(page, 30)
    page.evaluate("window.tweenlabEditor.select(1)")
    mouse_drag(page, (80, 70), (180, 130))  # grab the box in its middle, move it by (100, 60)
    wait_saved(page)
    (moved,) = shown(page)
    assert moved["source"] == "keyframe"
    x, y = drawn["shape"]["x"] + 100, drawn["shape"]["y"] + 60
    assert close_to(moved["shape"], {**drawn["shape"], "x": x, "y": y}, 1.5)

    stored = live.call(world.owner, "GET", f"{world.base}/tracks/1")
    assert [k["frame"] for k in stored["track"]["keyframes"]] == [0, 30]

    go(page, 15)
    page.wait_for_function("window.tweenlabEditor.shown().every(s => s.source === 'server')")
    (between,) = shown(page)
    server = live.call(world.owner, "GET", f"{world.base}/tracks/1/states?first=15&last=15")
    assert server["states"][0]["frame"] == 15 and not server["states"][0]["keyframe"]
    assert between["shape"] == server["states"][0]["shape"]
    # the interpolated box lies between the two keyframes, not on either
    assert drawn["shape"]["x"] < between["shape"]["x"] < moved["shape"]["x"]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "editor.png"))
