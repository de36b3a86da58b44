"""The annotation editor in Chromium against the live server, drawing: a box drawn with the mouse
and moved on a later frame shows the server's interpolation between (the editor draws the
server's states), frame-exact stepping read back from the canvas pixels, every shape kind, the
keyframe commands, play, zoom and handles, the tracks panel, a task later in the video."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from tests.browser.conftest import ARTIFACTS, Live, expect, sign_in
from tests.browser.editor_support import (
    FRAMES,
    HEIGHT,
    WIDTH,
    World,
    canvas_frame,
    click,
    close_to,
    frame_number,
    go,
    mouse_drag,
    open_editor,
    shown,
    stored_tracks,
    task_split,
    to_screen,
    wait_editor,
    wait_saved,
    world,
)
from tests.media.videos import read_stamp

__all__ = ["task_split", "world"]  # fixtures


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
    # k and o first wait for the server's state of the frame (session.toggle): wait for the edit
    page.wait_for_function(
        f"{hook}.tracks()[0].track.keyframes.some(k => k.frame === 20 && k.outside)"
    )
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
    # the toggle first waits for the server's state of the frame (session.toggle), so the save
    # status still reads "saved" until the edit is made: wait for the edit itself
    page.wait_for_function(
        "window.tweenlabEditor.tracks()[0].track.keyframes.some(k => k.frame === 12 && k.occluded)"
    )
    wait_saved(page)
    (track,) = stored_tracks(live, world)
    assert [k["occluded"] for k in track["keyframes"]] == [False, True]


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
    wait_editor(page, 30)
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
