"""The annotation editor in Chromium against the live server: a box drawn with the mouse and
moved on a later frame shows the server's interpolation between (the editor draws the server's
states), frame-exact stepping read back from the canvas pixels, a reload that loses nothing,
a conflict between two people that asks instead of overwriting, and edits made offline that
arrive once the network is back."""

from __future__ import annotations

import base64
import io
import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    # IndexedDB holds it (the localStorage copy, only there for a reload racing IndexedDB's
    # commit, is dropped so that the reload must find it in IndexedDB)
    kept = page.evaluate(
        """() => new Promise((resolve, reject) => {
            const open = indexedDB.open('tweenlab-editor');
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
                const all = open.result.transaction('pending').objectStore('pending').getAll();
                all.onsuccess = () => resolve(all.result);
            };
        })"""
    )
    assert [(r["number"], r["revision"], r["track"]) for r in kept] == [(2, 1, edited)]
    page.evaluate(
        "Object.keys(localStorage).filter(k => k.startsWith('tweenlab.pending.'))"
        ".forEach(k => localStorage.removeItem(k))"
    )
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

        # the annotator, still on revision 2, edits again: this time they take theirs
        page.evaluate(f"{hook}.moveSelected(0, 5)")
        expect(page.locator("[data-testid=conflict]")).to_be_visible()
        page.click("[data-testid=take-theirs]")
        wait_saved(page)
        held = page.evaluate(f"{hook}.tracks()")[0]
        assert held["revision"] == 3 and held["track"] == stored["track"]
        assert live.call(world.owner, "GET", f"{world.base}/tracks/1") == stored
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


def stored_tracks(live: Live, world: World) -> list[dict[str, Any]]:
    answer = live.call(world.owner, "GET", f"{world.base}/annotations")
    return [t["track"] for t in answer["tracks"]]


def click(page: Any, x: float, y: float) -> None:
    page.mouse.click(*to_screen(page, x, y))


def test_every_kind_is_drawn_with_the_mouse_moved_and_stored_natively(
    live: Live, world: World, page: Any
) -> None:
    open_editor(page, world)
    page.click("[data-testid=tool-polygon]")
    for x, y in [(20, 20), (100, 30), (60, 90)]:
        click(page, x, y)
    page.keyboard.press("Enter")
    page.click("[data-testid=tool-polyline]")
    for x, y in [(150, 20), (200, 60)]:
        click(page, x, y)
    page.keyboard.press("Enter")
    page.click("[data-testid=tool-points]")
    for x, y in [(250, 30), (270, 40), (290, 50)]:
        click(page, x, y)
    page.keyboard.press("Enter")
    page.click("[data-testid=tool-cuboid]")
    mouse_drag(page, (30, 150), (90, 200))
    page.click("[data-testid=tool-mask]")
    page.keyboard.press("Escape")  # the select tool: the mask brush must paint a new track
    page.click("[data-testid=tool-mask]")
    mouse_drag(page, (200, 150), (260, 150))
    expect(page.locator("[data-testid=track-row]")).to_have_count(5)
    wait_saved(page)
    polygon, polyline, points, cuboid, mask = stored_tracks(live, world)
    kinds = [t["keyframes"][0]["shape"]["kind"] for t in stored_tracks(live, world)]
    assert kinds == ["polygon", "polyline", "points", "cuboid", "mask"]
    shape = polygon["keyframes"][0]["shape"]
    assert np.allclose(shape["points"], [[20, 20], [100, 30], [60, 90]], atol=1.5)
    assert len(polyline["keyframes"][0]["shape"]["points"]) == 2
    assert points["keyframes"][0]["shape"]["visible"] == [True] * 3
    assert len(cuboid["keyframes"][0]["shape"]["points"]) == 8
    rle = mask["keyframes"][0]["shape"]
    assert rle["size"] == [HEIGHT, WIDTH] and sum(rle["counts"]) == WIDTH * HEIGHT
    dense = np.repeat(np.arange(len(rle["counts"])) % 2, rle["counts"]).reshape(
        (HEIGHT, WIDTH), order="F"
    )
    ys, xs = np.nonzero(dense)  # a stroke of radius 8 along y = 150 from x = 200 to 260
    assert abs(ys.mean() - 150) < 2 and xs.min() >= 190 and xs.max() <= 270 and ys.max() <= 160

    page.evaluate("window.tweenlabEditor.select(3)")  # the points: alt+click drops a vertex
    page.keyboard.down("Alt")
    click(page, 270, 40)
    page.keyboard.up("Alt")
    page.wait_for_function(
        "window.tweenlabEditor.tracks()[2].track.keyframes[0].shape.points.length === 2"
    )
    go(page, 10)  # moving on another frame makes keyframes there
    mouse_drag(page, (60, 45), (80, 65))  # inside the polygon: select it and move it by (20, 20)
    mouse_drag(page, (230, 150), (230, 100))  # the mask, up by 50
    wait_saved(page)
    polygon, _, points, _, mask = stored_tracks(live, world)
    assert np.allclose(points["keyframes"][0]["shape"]["points"], [[250, 30], [290, 50]], atol=1.5)
    assert points["keyframes"][0]["shape"]["visible"] == [True, True]
    moved = polygon["keyframes"][1]
    assert moved["frame"] == 10
    assert np.allclose(moved["shape"]["points"], [[40, 40], [120, 50], [80, 110]], atol=2)
    rle = mask["keyframes"][1]["shape"]
    dense = np.repeat(np.arange(len(rle["counts"])) % 2, rle["counts"]).reshape(
        (HEIGHT, WIDTH), order="F"
    )
    assert abs(np.nonzero(dense)[0].mean() - 100) < 2
    page.click("[data-testid=eraser]")  # the eraser, along the left half of the stroke
    page.click("[data-testid=tool-mask]")
    mouse_drag(page, (190, 100), (229, 100))
    wait_saved(page)
    rle = stored_tracks(live, world)[4]["keyframes"][1]["shape"]
    erased = np.repeat(np.arange(len(rle["counts"])) % 2, rle["counts"]).reshape(
        (HEIGHT, WIDTH), order="F"
    )
    assert erased[:, :220].sum() == 0 and erased[:, 240:].sum() == dense[:, 240:].sum() > 0
    page.screenshot(path=str(ARTIFACTS / "editor-kinds.png"))


def test_keyframe_commands_delete_only_what_they_say_and_undo_redo(
    live: Live, world: World, page: Any
) -> None:
    open_editor(page, world)
    hook = "window.tweenlabEditor"
    page.evaluate(f"{hook}.drawBox(50, 50, 40, 40)")
    go(page, 30)
    page.evaluate(f"{hook}.moveSelected(60, 0)")
    wait_saved(page)
    page.locator("[data-testid=editor-canvas]").focus()
    go(page, 10)
    page.keyboard.press("k")  # a keyframe here, where the server's interpolation has the box
    go(page, 20)
    page.keyboard.press("o")  # gone from frame 20
    wait_saved(page)
    (track,) = stored_tracks(live, world)
    frames = [(k["frame"], k["outside"]) for k in track["keyframes"]]
    assert frames == [(0, False), (10, False), (20, True), (30, False)]
    assert track["keyframes"][1]["shape"]["x"] == pytest.approx(70, abs=0.01)

    go(page, 5)
    page.click("[data-testid=delete-frame]")  # only frame 5 goes
    page.wait_for_function(f"{hook}.tracks()[0].track.keyframes.length === 6")
    wait_saved(page)
    (track,) = stored_tracks(live, world)
    assert [(k["frame"], k["outside"]) for k in track["keyframes"][:3]] == [
        (0, False),
        (5, True),
        (6, False),
    ]
    assert track["keyframes"][2]["shape"]["x"] == pytest.approx(62, abs=0.01)
    before_delete = track
    go(page, 8)
    page.click("[data-testid=delete-from]")  # frames 8 on go; 0..7 stay
    wait_saved(page)
    (track,) = stored_tracks(live, world)
    assert [(k["frame"], k["outside"]) for k in track["keyframes"]] == [
        (0, False),
        (5, True),
        (6, False),
        (8, True),
    ]
    page.keyboard.press("[")
    expect(page.locator("[data-testid=frame-number]")).to_have_text("6")
    page.keyboard.press("]")
    expect(page.locator("[data-testid=frame-number]")).to_have_text("8")

    page.keyboard.press("Control+z")
    page.wait_for_function(f"{hook}.tracks()[0].track.keyframes.length === 6")
    assert stored_tracks(live, world) == [before_delete]
    page.keyboard.press("Control+Shift+Z")
    page.wait_for_function(f"{hook}.tracks()[0].track.keyframes.length === 4")
    wait_saved(page)
    assert [k["frame"] for k in stored_tracks(live, world)[0]["keyframes"]] == [0, 5, 6, 8]
    go(page, 2)
    page.keyboard.press("Control+c")  # copy to the next frame, and go there
    expect(page.locator("[data-testid=frame-number]")).to_have_text("3")
    wait_saved(page)
    (track,) = stored_tracks(live, world)
    assert [k["frame"] for k in track["keyframes"]] == [0, 3, 5, 6, 8]
    state = live.call(world.owner, "GET", f"{world.base}/tracks/1/states?first=2&last=2")
    assert track["keyframes"][1]["shape"] == state["states"][0]["shape"]
    page.click("[data-testid=delete-track]")
    wait_saved(page)
    assert stored_tracks(live, world) == []
    expect(page.locator("[data-testid=track-row]")).to_have_count(0)


REVIEW_STUB = """
export function mountReview(panel, ctx) {
  window.reviewCtx = ctx;
  panel.textContent = "stub review panel";
  panel.dataset.mounted = "yes";
  return () => { window.reviewUnmounted = true; };
}
"""


def test_review_mode_mounts_the_review_panel_with_region_markers_and_jumps(
    world: World, page: Any
) -> None:
    sign_in(page, "owner@example.com")
    page.wait_for_selector("[data-testid=projects]")
    page.goto(world.url + "/review")
    page.wait_for_selector("[data-testid=editor-canvas][data-frame='0']")
    side = page.locator("[data-testid=review-side]")
    expect(side.locator("[data-testid=review-panel]")).to_be_visible()  # the real review.js
    expect(side.locator("[data-testid=new-issue]")).to_be_visible()

    page.route("**/review.js", lambda route: route.fulfill(status=404, body="gone"))
    page.reload()
    page.wait_for_selector("[data-testid=editor-canvas][data-frame='0']")
    expect(side).to_contain_text("review panel not available")  # said, not a blank side

    page.unroute("**/review.js")
    page.route(
        "**/review.js",
        lambda route: route.fulfill(body=REVIEW_STUB, content_type="text/javascript"),
    )
    page.reload()
    page.wait_for_selector("[data-testid=review-side][data-mounted=yes]")
    page.locator("[data-testid=editor-canvas]").focus()
    page.keyboard.press("r")  # the region tool
    mouse_drag(page, (100, 60), (180, 120))
    region = page.evaluate("window.reviewCtx.selectedRegion()")
    assert close_to(region, {"x": 100, "y": 60, "w": 80, "h": 60}, 1.5)
    page.evaluate("window.reviewCtx.jump(12)")
    page.wait_for_selector("[data-testid=editor-canvas][data-frame='12']")
    assert page.evaluate("window.reviewCtx.currentFrame()") == 12 == frame_number(page)
    issue = {"id": 1, "frame": 12, "region": {"x": 40, "y": 150, "w": 30, "h": 30}}
    page.evaluate("(issue) => window.reviewCtx.setMarkers([{...issue, resolved: false}])", issue)
    x, y = to_screen(page, 55, 150)  # the pin sits on the top middle of its region
    pixel = page.evaluate(
        """([x, y]) => {
            const canvas = document.querySelector('[data-testid=editor-canvas]');
            const box = canvas.getBoundingClientRect();
            const ctx = canvas.getContext('2d');
            return Array.from(ctx.getImageData(x - box.left, y - box.top, 1, 1).data);
        }""",
        [x, y],
    )
    assert pixel[:3] == [0xE0, 0x31, 0x31]  # an open issue's red pin
    page.screenshot(path=str(ARTIFACTS / "editor-review.png"))
    page.goto("/#/")
    page.wait_for_selector("[data-testid=projects]")
    assert page.evaluate("window.reviewUnmounted") is True


def test_help_lists_the_shortcuts_and_heartbeats_come_only_while_working(
    live: Live, world: World, page: Any
) -> None:
    annotator = live.person("ann@example.com")
    member = {"email": annotator.email, "role": "annotator"}
    live.call(world.owner, "POST", f"/projects/{world.project}/members", 201, json=member)
    live.call(world.owner, "POST", f"{world.base}/assign", json={"assignee_id": annotator.id})
    live.call(annotator, "POST", f"{world.base}/actions/start")
    beats: list[str] = []
    page.on("request", lambda r: r.url.endswith("/heartbeat") and beats.append(r.method))
    page.clock.install()
    open_editor(page, world, annotator.email)
    page.locator("[data-testid=editor-canvas]").focus()
    page.keyboard.press("?")
    help_box = page.locator("[data-testid=help]")
    expect(help_box).to_be_visible()
    for text in ("Next frame", "ctrl+shift+z", "Toggle outside", "Next keyframe"):
        expect(help_box).to_contain_text(text)
    page.keyboard.press("?")
    expect(help_box).to_have_count(0)

    def beats_after(count: int) -> int:
        deadline = time.monotonic() + 5
        while len(beats) < count and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        page.wait_for_timeout(300)  # and no more than that
        return len(beats)

    assert beats == []  # nothing before the first 30 s
    page.keyboard.press("d")  # acting...
    page.clock.run_for(31_000)
    assert beats_after(1) == 1 and beats == ["POST"]
    page.clock.run_for(200_000)  # ...then idle for minutes: beats stop within the idle limit
    idle = beats_after(2)
    assert 2 <= idle <= 4
    page.clock.run_for(120_000)
    assert beats_after(idle) == idle
    page.keyboard.press("d")
    page.clock.run_for(31_000)
    assert beats_after(idle + 1) == idle + 1
    page.evaluate("Object.defineProperty(document, 'visibilityState', {get: () => 'hidden'})")
    page.keyboard.press("d")  # acting, but the tab is hidden
    page.clock.run_for(31_000)
    assert beats_after(idle + 1) == idle + 1


def test_fill_in_between_shows_the_motion_filled_frames(
    live: Live, world: World, page: Any
) -> None:
    box = {"kind": "box", "x": 40, "y": 130, "w": 60, "h": 60, "rotation": 0}
    keys = [{"frame": 0, "shape": box}, {"frame": 30, "shape": {**box, "x": 200}}]
    body = {"track": {"id": 1, "label": "car", "keyframes": keys}, "base_revision": 0}
    live.call(world.owner, "PUT", f"{world.base}/tracks/1", json=body)
    open_editor(page, world)
    page.click("[data-testid=track-row]")
    page.click("[data-testid=fill]")
    page.wait_for_function(
        "window.tweenlabEditor.tracks()[0].track.inbetween?.length > 0", timeout=120_000
    )
    wait_saved(page)
    (track,) = stored_tracks(live, world)
    held = page.evaluate("window.tweenlabEditor.tracks()[0]")
    assert held["track"] == track and held["revision"] == 2
    go(page, 15)
    page.wait_for_function("window.tweenlabEditor.shown().every(s => s.source === 'server')")
    server = live.call(world.owner, "GET", f"{world.base}/tracks/1/states?first=15&last=15")
    (state,) = server["states"]
    assert state["inbetween"] and shown(page)[0]["shape"] == state["shape"]
    page.screenshot(path=str(ARTIFACTS / "editor-filled.png"))
    page.evaluate("window.tweenlabEditor.select(null)")
    row = page.locator("[data-testid=timeline-row]").bounding_box()
    page.mouse.click(row["x"] + row["width"] * 45.5 / FRAMES, row["y"] + row["height"] / 2)
    expect(page.locator("[data-testid=frame-number]")).to_have_text("45")  # a click jumps
    assert page.evaluate("window.tweenlabEditor.selected") == 1  # and picks the row's track


def test_play_shows_every_frame_in_order_at_no_more_than_the_video_rate(
    world: World, page: Any
) -> None:
    open_editor(page, world)
    page.evaluate(
        """() => {
            const canvas = document.querySelector('[data-testid=editor-canvas]');
            window.drawnFrames = [];
            const note = () => window.drawnFrames.push([Number(canvas.dataset.frame),
                performance.now()]);
            new MutationObserver(note).observe(canvas, {attributeFilter: ['data-frame']});
        }"""
    )
    page.locator("[data-testid=editor-canvas]").focus()
    page.keyboard.press("Space")
    last = f"[data-testid=editor-canvas][data-frame='{FRAMES - 1}']"
    page.wait_for_selector(last, timeout=30_000)
    expect(page.locator("[data-testid=play]")).to_have_text("▶")  # stopped at the end
    drawn = page.evaluate("window.drawnFrames")
    frames = [f for f, _ in drawn]
    assert sorted(set(frames)) == list(range(1, FRAMES))  # every frame, none skipped
    assert all(b >= a for a, b in itertools.pairwise(frames))  # never backwards
    seconds = (drawn[-1][1] - drawn[0][1]) / 1000
    assert seconds >= (FRAMES - 2) / 25 * 0.95  # 25 fps: not faster than the video


def test_wheel_zooms_about_the_pointer_and_box_handles_resize_and_rotate(
    live: Live, world: World, page: Any
) -> None:
    open_editor(page, world)
    page.evaluate("window.tweenlabEditor.drawBox(100, 80, 80, 40)")
    wait_saved(page)
    before = page.evaluate("window.tweenlabEditor.view")
    x, y = to_screen(page, 140, 100)
    page.mouse.move(x, y)
    page.mouse.wheel(0, -400)
    page.wait_for_function(f"window.tweenlabEditor.view.zoom > {before['zoom']} * 1.2")
    assert all(abs(a - b) < 0.5 for a, b in zip(to_screen(page, 140, 100), (x, y), strict=True))
    mouse_drag(page, (180, 120), (200, 150))  # the south-east corner handle
    wait_saved(page)
    (track,) = stored_tracks(live, world)
    shape = track["keyframes"][0]["shape"]
    assert close_to(shape, {"x": 100, "y": 80, "w": 100, "h": 70}, 1)
    zoom = page.evaluate("window.tweenlabEditor.view.zoom")
    handle = (150, 80 - 24 / zoom)  # the rotation handle above the top edge's middle
    mouse_drag(page, handle, (250, 115))  # pointing right of the centre: 90 degrees clockwise
    wait_saved(page)
    (track,) = stored_tracks(live, world)
    shape = track["keyframes"][0]["shape"]
    assert shape["rotation"] == pytest.approx(90, abs=1)
    assert close_to(shape, {"x": 100, "y": 80, "w": 100, "h": 70}, 0.01)  # turned, not moved


def test_the_tracks_panel_edits_label_and_attributes(live: Live, world: World, page: Any) -> None:
    labels = [
        {
            "name": "car",
            "color": "#e8590c",
            "attributes": [
                {"name": "make", "kind": "select", "values": ["ford", "fiat"], "default": "ford"},
                {"name": "parked", "kind": "checkbox", "per_frame": True, "default": False},
            ],
        },
        {"name": "bus", "color": "#2b8a3e", "kinds": ["box"]},
    ]
    live.call(world.owner, "PATCH", f"/projects/{world.project}", json={"schema": labels})
    open_editor(page, world)
    page.evaluate("window.tweenlabEditor.drawBox(10, 10, 50, 50)")
    details = page.locator("[data-testid=track-details]")
    details.locator("[data-testid=attribute-make]").select_option("fiat")
    go(page, 12)
    details.locator("[data-testid=attribute-parked]").check()
    wait_saved(page)
    (track,) = stored_tracks(live, world)
    assert track["attributes"] == {"make": "fiat"}
    assert [(k["frame"], k["attributes"]) for k in track["keyframes"]] == [
        (0, {"parked": False}),
        (12, {"parked": True}),
    ]
    page.locator("[data-testid=track-row] [data-testid=track-label]").select_option("bus")
    wait_saved(page)
    (track,) = stored_tracks(live, world)
    assert track["label"] == "bus" and track["attributes"] == {}  # bus has no "make"
    assert [k["attributes"] for k in track["keyframes"]] == [{}, {}]
    page.locator("[data-testid=track-row] [data-testid=toggle-occluded]").check()
    wait_saved(page)
    (track,) = stored_tracks(live, world)
    assert [k["occluded"] for k in track["keyframes"]] == [False, True]


def test_a_task_not_yet_started_is_view_only_until_its_annotator_starts_it(
    live: Live, world: World, page: Any
) -> None:
    annotator = live.person("ann@example.com")
    member = {"email": annotator.email, "role": "annotator"}
    live.call(world.owner, "POST", f"/projects/{world.project}/members", 201, json=member)
    live.call(world.owner, "POST", f"{world.base}/assign", json={"assignee_id": annotator.id})
    open_editor(page, world, annotator.email)
    expect(page.locator("[data-testid=read-only]")).to_contain_text("the task is new")
    page.evaluate("window.tweenlabEditor.drawBox(10, 10, 40, 40)")
    expect(page.locator("#toast")).to_contain_text("view only")
    assert page.evaluate("window.tweenlabEditor.pendingCount()") == 0
    assert stored_tracks(live, world) == []
    page.click("[data-testid=start-task]")
    page.wait_for_function(
        "window.tweenlabEditor && !document.querySelector('[data-testid=read-only]')"
    )
    page.evaluate("window.tweenlabEditor.drawBox(10, 10, 40, 40)")
    wait_saved(page)
    assert len(stored_tracks(live, world)) == 1
    task = live.call(world.owner, "GET", world.base)
    assert task["state"] == "in_progress"


def test_two_people_making_a_track_at_once_keep_both(live: Live, world: World, page: Any) -> None:
    other_context = page.context.browser.new_context(base_url=live.url)
    try:
        other = other_context.new_page()
        open_editor(page, world)
        open_editor(other, world)  # both think the next track is #1
        page.evaluate("window.tweenlabEditor.drawBox(10, 10, 40, 40)")
        wait_saved(page)
        other.evaluate("window.tweenlabEditor.drawBox(200, 100, 40, 40)")
        wait_saved(other)  # no dialog: the second one became #2 on its own
        other.wait_for_timeout(500)  # and nothing more is written (no loop of new numbers)
        assert other.locator("[data-testid=conflict]").count() == 0
        numbers = [t["number"] for t in other.evaluate("window.tweenlabEditor.tracks()")]
        assert numbers == [1, 2]
        assert other.evaluate("window.tweenlabEditor.selected") == 2
        stored = stored_tracks(live, world)
        assert [(t["id"], t["keyframes"][0]["shape"]["x"]) for t in stored] == [(1, 10), (2, 200)]
    finally:
        other_context.close()


@pytest.mark.parametrize("task_split", [{"clips": [[30, 46]]}])
def test_a_task_later_in_the_video_counts_and_keys_by_the_videos_frames(
    live: Live, world: World, page: Any
) -> None:
    later = world
    task = live.call(world.owner, "GET", world.base)
    assert (task["start"], task["stop"]) == (30, 46)
    sign_in(page, "owner@example.com")
    page.wait_for_selector("[data-testid=projects]")
    page.goto(later.url)
    page.wait_for_selector("[data-testid=editor-canvas][data-frame='30']")
    assert frame_number(page) == 30
    page.evaluate("window.tweenlabEditor.setView({zoom: 1, x: 0, y: 0})")
    assert read_stamp(canvas_frame(page)) == 30
    page.locator("[data-testid=editor-canvas]").focus()
    page.keyboard.press("f")  # before the task's first frame: stays
    assert frame_number(page) == 30
    page.keyboard.press("Shift+D")
    page.wait_for_selector("[data-testid=editor-canvas][data-frame='40']")
    assert read_stamp(canvas_frame(page)) == 40 == frame_number(page)
    page.keyboard.press("Shift+D")  # past the task's last frame: its last
    page.wait_for_selector(f"[data-testid=editor-canvas][data-frame='{task['stop'] - 1}']")
    page.evaluate("window.tweenlabEditor.drawBox(10, 10, 40, 40)")
    wait_saved(page)
    (track,) = stored_tracks(live, later)
    assert [k["frame"] for k in track["keyframes"]] == [task["stop"] - 1]


def test_an_edit_the_server_refuses_is_named_and_can_be_discarded(
    live: Live, world: World, page: Any
) -> None:
    open_editor(page, world)
    page.evaluate("window.tweenlabEditor.drawBox(10, 10, 40, 40)")
    wait_saved(page)
    refusal = {"detail": "track.keyframes[1]: refused for the test", "field": "keyframes"}
    page.route(
        "**/api/projects/*/tasks/*/tracks/1",
        lambda route: (
            route.fulfill(status=422, json=refusal)
            if route.request.method == "PUT"
            else route.continue_()
        ),
    )
    go(page, 5)
    page.evaluate("window.tweenlabEditor.select(1); window.tweenlabEditor.moveSelected(20, 0)")
    status = page.locator("[data-testid=save-status]")
    expect(status).to_have_text("error")
    expect(status).to_have_attribute("title", "track 1: track.keyframes[1]: refused for the test")
    page.unroute("**/api/projects/*/tasks/*/tracks/1")
    page.click("[data-testid=discard-failed]")
    expect(status).to_have_text("saved")
    expect(page.locator("[data-testid=discard-failed]")).to_be_hidden()
    held = page.evaluate("window.tweenlabEditor.tracks()")[0]["track"]
    assert held == stored_tracks(live, world)[0] and len(held["keyframes"]) == 1
    page.reload()  # and nothing of it comes back from the browser's storage
    page.wait_for_selector("[data-testid=editor-canvas][data-frame='0']")
    wait_saved(page)
    assert page.evaluate("window.tweenlabEditor.tracks()")[0]["track"] == held


def test_the_guidelines_open_in_the_editor_with_their_example_frames(
    live: Live, world: World, page: Any
) -> None:
    text = f"# How to box\n\nTight boxes.\n\n![an example](frame:{world.video}/7)"
    live.call(world.owner, "PATCH", f"/projects/{world.project}", json={"guidelines": text})
    open_editor(page, world)
    page.click("[data-testid=guidelines-button]")
    shown = page.locator("[data-testid=guidelines]")
    expect(shown.locator("h2")).to_have_text("How to box")
    expect(shown.locator("figure.example")).to_have_attribute("data-frame", "7")
    page.click("[data-testid=guidelines-close]")
    expect(shown).to_have_count(0)
