"""The annotation editor in Chromium against the live server: a box drawn with the mouse and
moved on a later frame shows the server's interpolation between (the editor draws the server's
states), frame-exact stepping read back from the canvas pixels, a reload that loses nothing,
a conflict between two people that asks instead of overwriting, and edits made offline that
arrive once the network is back."""

from __future__ import annotations

import base64
import io
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import numpy as np
import pytest
from PIL import Image

from tests.browser.conftest import ARTIFACTS, Live, Person, expect, sign_in
from tests.media.videos import make_video, read_stamp

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
    page.wait_for_selector("[data-testid=projects]")  # the projects page done, before we leave it
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


def test_stepping_with_the_keyboard_shows_exactly_the_frame_the_counter_names(
    world: World, page: Any
) -> None:
    open_editor(page, world)
    page.evaluate("window.tweenlabEditor.setView({zoom: 1, x: 0, y: 0})")
    page.locator("[data-testid=editor-canvas]").focus()
    steps = [("d", 1)] * (FRAMES - 1) + [("f", -1)] * 5 + [("ArrowLeft", -1)] * 3
    steps += [("Shift+F", -10), ("Shift+F", -10), ("ArrowRight", 1)]
    steps += [("Shift+D", 10), ("Shift+ArrowRight", 10), ("Shift+ArrowLeft", -10)]
    expected = 0
    seen = []
    for key, delta in steps:
        page.keyboard.press(key)
        expected = max(0, min(FRAMES - 1, expected + delta))
        page.wait_for_selector(f"[data-testid=editor-canvas][data-frame='{expected}']")
        counter = frame_number(page)
        assert counter == expected, f"after {key} the counter shows {counter}, not {expected}"
        stamp = read_stamp(canvas_frame(page))
        assert stamp == counter, f"the canvas shows frame {stamp} while the counter says {counter}"
        seen.append(stamp)
    assert seen[: FRAMES - 1] == list(range(1, FRAMES))  # no frame skipped or shown twice
    for _ in range(5):  # quick presses without waiting: still one frame each
        page.keyboard.press("d")
    page.wait_for_selector(f"[data-testid=editor-canvas][data-frame='{expected + 5}']")
    assert frame_number(page) == expected + 5 == read_stamp(canvas_frame(page))


def test_a_reload_keeps_every_track_and_the_edit_that_had_not_reached_the_server(
    live: Live, world: World, page: Any
) -> None:
    open_editor(page, world)
    hook = "window.tweenlabEditor"
    page.evaluate(f"{hook}.drawBox(20, 20, 60, 40)")
    page.evaluate(f"{hook}.drawBox(150, 100, 50, 50)")
    go(page, 20)
    page.evaluate(f"{hook}.select(1); {hook}.moveSelected(30, 10)")
    wait_saved(page)
    # the next save cannot reach the server: the edit must survive the reload in the browser
    blocked = {"on": True}

    def block(route: Any) -> None:
        if blocked["on"] and route.request.method == "PUT":
            route.abort()
        else:
            route.continue_()

    page.route("**/api/projects/*/tasks/*/tracks/*", block)
    go(page, 40)
    page.evaluate(f"{hook}.select(2); {hook}.moveSelected(-40, 20)")
    expect(page.locator("[data-testid=save-status]")).to_have_text("offline")
    edited = page.evaluate(f"{hook}.tracks()")[1]["track"]
    assert [k["frame"] for k in edited["keyframes"]] == [0, 40]
    server = live.call(world.owner, "GET", f"{world.base}/tracks/2")
    assert [k["frame"] for k in server["track"]["keyframes"]] == [0]
    blocked["on"] = False
    page.reload()
    page.wait_for_selector("[data-testid=editor-canvas][data-frame='0']")
    expect(page.locator("[data-testid=track-row]")).to_have_count(2)
    wait_saved(page)
    tracks = page.evaluate(f"{hook}.tracks()")
    assert [[k["frame"] for k in t["track"]["keyframes"]] for t in tracks] == [[0, 20], [0, 40]]
    stored = live.call(world.owner, "GET", f"{world.base}/annotations")["tracks"]
    assert [t["track"]["keyframes"] for t in stored] == [t["track"]["keyframes"] for t in tracks]
    assert stored[1]["track"]["keyframes"][1] == edited["keyframes"][1]


def test_two_people_editing_one_track_get_a_conflict_dialog_not_an_overwrite(
    live: Live, world: World, page: Any, chromium: Any
) -> None:
    annotator = live.person("ann@example.com")
    projects = f"/projects/{world.project}"
    member = {"email": annotator.email, "role": "annotator"}
    live.call(world.owner, "POST", f"{projects}/members", 201, json=member)
    live.call(world.owner, "POST", f"{world.base}/assign", json={"assignee_id": annotator.id})
    live.call(annotator, "POST", f"{world.base}/actions/start")
    box = {"kind": "box", "x": 10, "y": 10, "w": 40, "h": 30, "rotation": 0}
    track = {"id": 1, "label": "car", "keyframes": [{"frame": 0, "shape": box}]}
    body = {"track": track, "base_revision": 0}
    live.call(world.owner, "PUT", f"{world.base}/tracks/1", json=body)

    open_editor(page, world, annotator.email)  # the annotator, in the `context` fixture
    manager_context = chromium.new_context(
        base_url=live.url, viewport={"width": 1400, "height": 900}
    )
    try:
        manager = manager_context.new_page()
        open_editor(manager, world)
        hook = "window.tweenlabEditor"
        go(page, 10)
        page.evaluate(f"{hook}.select(1); {hook}.moveSelected(50, 0)")
        wait_saved(page)
        go(manager, 20)
        manager.evaluate(f"{hook}.select(1); {hook}.moveSelected(0, 80)")
        dialog = manager.locator("[data-testid=conflict]")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("10 (only theirs)")
        expect(dialog).to_contain_text("20 (only yours)")
        expect(manager.locator("[data-testid=save-status]")).to_have_text("conflict")
        stored = live.call(world.owner, "GET", f"{world.base}/tracks/1")
        assert stored["revision"] == 2  # the annotator's, not silently overwritten
        assert [k["frame"] for k in stored["track"]["keyframes"]] == [0, 10]
        manager.screenshot(path=str(ARTIFACTS / "editor-conflict.png"))
        manager.click("[data-testid=keep-mine]")
        wait_saved(manager)
        stored = live.call(world.owner, "GET", f"{world.base}/tracks/1")
        assert stored["revision"] == 3
        assert [k["frame"] for k in stored["track"]["keyframes"]] == [0, 20]
        assert stored["track"]["keyframes"][1]["shape"]["y"] == 90
        journal = live.call(world.owner, "GET", f"{world.base}/journal")
        assert [e["actor"] for e in journal] == [
            world.owner.email,
            annotator.email,
            world.owner.email,
        ]
    finally:
        manager_context.close()


def test_edits_made_offline_reach_the_server_when_the_network_returns(
    live: Live, world: World, context: Any, page: Any
) -> None:
    open_editor(page, world)
    context.set_offline(True)
    page.keyboard.press("n")
    mouse_drag(page, (30, 30), (90, 80))
    expect(page.locator("[data-testid=save-status]")).to_have_text("offline")
    assert page.evaluate("window.tweenlabEditor.pendingCount()") == 1
    assert live.call(world.owner, "GET", f"{world.base}/annotations")["tracks"] == []
    context.set_offline(False)
    wait_saved(page)
    deadline = time.monotonic() + 10
    while not (tracks := live.call(world.owner, "GET", f"{world.base}/annotations")["tracks"]):
        assert time.monotonic() < deadline, "the offline edit never reached the server"
        time.sleep(0.2)
    (stored,) = tracks
    shape = stored["track"]["keyframes"][0]["shape"]
    assert close_to(shape, {"x": 30, "y": 30, "w": 60, "h": 50}, 1.5)
