"""The timeline's marks in Chromium against the live server: after "fill in between" a track's
row draws the confidence of every motion-filled frame, whose lowest point is the next keyframe
the server suggests; the scene cut and the keyframes the video's analysis suggests are marked on
the ruler; a click near a mark or a key (. , ' ;) jumps to it."""

from __future__ import annotations

import colorsys
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Live, expect
from tests.browser.editor_support import World, open_editor, wait_saved
from tests.propagation import Box, cut_video, exit_video

FRAMES, CUT = 40, 20


def box(values: Box) -> dict[str, Any]:
    x, y, w, h = values
    return {"kind": "box", "x": x, "y": y, "w": w, "h": h}


@pytest.fixture
def cut_world(live: Live, tmp_path: Path) -> World:
    """A project with a video that cuts to another shot at frame 20, one task over it, and a
    box track keyed on frames 0, 12 and 30 (a span filled by motion, one across the cut)."""
    owner = live.person("owner@example.com")
    label = {"name": "square", "color": "#2f6fed", "kinds": ["box"]}
    project = live.call(owner, "POST", "/projects", 201, json={"name": "cuts", "schema": [label]})
    clip, truth = cut_video(tmp_path / "cut.mp4", frames=FRAMES, cut=CUT)
    video = live.upload(owner, project["id"], clip)
    split = {"video_id": video["id"], "size": FRAMES}
    (task,) = live.call(owner, "POST", f"/projects/{project['id']}/tasks/split", 201, json=split)
    made = World(owner, project["id"], video["id"], task["id"])
    keys = [{"frame": f, "shape": box(truth[f])} for f in (0, 12, 30)]
    body = {"track": {"id": 1, "label": "square", "keyframes": keys}, "base_revision": 0}
    live.call(owner, "PUT", f"{made.base}/tracks/1", json=body)
    return made


def strip_hues(page: Any) -> list[float | None]:
    """The hue (0 red .. 1/3 green) the confidence strip of the first row shows at the middle of
    each frame but the last, None where it shows none (the row's pale background: no confidence
    there). The playhead goes to the last frame first, out of the way (nothing is filled there)."""
    page.evaluate(f"window.tweenlabEditor.go({FRAMES - 1})")
    expect(page.locator("[data-testid=frame-number]")).to_have_text(str(FRAMES - 1))
    pixels = page.evaluate(
        """(frames) => {
            const canvas = document.querySelector('[data-testid=timeline-row]');
            const g = canvas.getContext('2d');
            const y = canvas.height - 2;  // inside the strip (4 CSS px at the bottom)
            return [...Array(frames - 1).keys()].map((f) => {
                const x = Math.floor(((f + 0.5) / frames) * canvas.width);
                return [...g.getImageData(x, y, 1, 1).data.slice(0, 3)];
            });
        }""",
        FRAMES,
    )
    hues: list[float | None] = []
    for r, g, b in pixels:
        h, lightness, s = colorsys.rgb_to_hls(r / 255, g / 255, b / 255)
        hues.append(h if s > 0.3 and 0.3 < lightness < 0.6 else None)  # hsl(_, 70%, 45%)
    return hues


def test_the_confidence_strip_and_the_marks_are_the_servers_and_jump(
    live: Live, cut_world: World, page: Any
) -> None:
    world = cut_world
    open_editor(page, world)
    ruler = page.locator("[data-testid=timeline-ruler]")
    expect(ruler).to_have_attribute("data-cuts", str(CUT))  # the analysis made at ingest
    analysis = live.call(world.owner, "GET", f"{world.base}/keyframes")
    expect(ruler).to_have_attribute("data-suggested", ",".join(map(str, analysis["suggested"])))
    row = page.locator("[data-testid=timeline-row]")
    expect(row).to_have_attribute("data-suggested", f"{CUT - 1},{CUT}")  # the span across it
    expect(row).to_have_attribute("data-lowest", "")  # nothing filled: no strip yet
    hues = strip_hues(page)
    assert all(h is None for h in hues), hues

    page.click("[data-testid=track-row]")
    page.click("[data-testid=fill]")
    expect(row).not_to_have_attribute("data-lowest", "", timeout=120_000)
    wait_saved(page)
    server = live.call(world.owner, "GET", f"{world.base}/tracks/1/confidence")
    filled, across = server["spans"]
    (lowest,) = filled["suggested"]  # the least confident frame of the span filled by motion
    expect(row).to_have_attribute("data-lowest", str(lowest))
    expect(row).to_have_attribute("data-suggested", ",".join(map(str, server["suggested"])))
    assert lowest in server["suggested"] and across["suggested"] == [CUT - 1, CUT]
    hues = strip_hues(page)  # and what is painted: the reddest frame of the strip is that one
    shown = {f: h for f, h in enumerate(hues) if h is not None}
    assert sorted(shown) == list(range(1, 12))  # the filled frames, and only those
    assert shown[lowest] <= min(shown.values()) + 0.004  # hues come in whole degrees
    for frame, value in enumerate(filled["confidence"], start=1):  # frame by frame, the server's
        assert abs(shown[frame] * 360 - 120 * value) <= 1.5, (frame, value, shown[frame])
    page.screenshot(path=str(ARTIFACTS / "editor-timeline.png"))

    bounds = ruler.bounding_box()
    x = bounds["x"] + bounds["width"] * CUT / FRAMES - 2  # in frame 19, two pixels from the cut
    page.mouse.click(x, bounds["y"] + bounds["height"] / 2)
    expect(page.locator("[data-testid=frame-number]")).to_have_text(str(CUT))  # on the cut
    page.evaluate("window.tweenlabEditor.go(0)")
    page.evaluate("window.tweenlabEditor.select(1)")
    page.locator("[data-testid=editor-canvas]").focus()
    page.keyboard.press(".")  # the selected track's next suggested keyframe
    expect(page.locator("[data-testid=frame-number]")).to_have_text(str(lowest))
    page.keyboard.press(".")
    expect(page.locator("[data-testid=frame-number]")).to_have_text(str(CUT - 1))
    page.keyboard.press(",")
    expect(page.locator("[data-testid=frame-number]")).to_have_text(str(lowest))
    page.keyboard.press("'")  # the next scene cut
    expect(page.locator("[data-testid=frame-number]")).to_have_text(str(CUT))
    page.keyboard.press(";")  # no cut before it: stays
    expect(page.locator("[data-testid=frame-number]")).to_have_text(str(CUT))
    page.keyboard.press("?")
    expect(page.locator("[data-testid=help]")).to_contain_text("Next suggested keyframe")


def row_pixels(page: Any, frames: int, y: float) -> list[tuple[int, int, int]]:
    """The first timeline row's colour at the middle of each frame, ``y`` CSS px from its top."""
    pixels = page.evaluate(
        """([frames, y]) => {
            const canvas = document.querySelector('[data-testid=timeline-row]');
            const g = canvas.getContext('2d');
            const ratio = canvas.height / 18;
            return [...Array(frames).keys()].map((f) => {
                const x = Math.floor(((f + 0.5) / frames) * canvas.width);
                return [...g.getImageData(x, Math.floor(y * ratio), 1, 1).data.slice(0, 3)];
            });
        }""",
        [frames, y],
    )
    return [tuple(p) for p in pixels]


def test_the_row_shows_a_track_carried_past_its_keyframe_and_where_it_leaves(
    live: Live, tmp_path: Path, page: Any
) -> None:
    """One keyframe (frame 10) on a square that crosses the picture and leaves it: after "fill
    in between" the row is drawn from frame 0 (carried back) and as outside from the frame the
    server says the object leaves on."""
    owner = live.person("owner@example.com")
    label = {"name": "square", "color": "#2f6fed", "kinds": ["box"]}
    project = live.call(owner, "POST", "/projects", 201, json={"name": "exit", "schema": [label]})
    clip, truth = exit_video(tmp_path / "leaving.mp4", frames=FRAMES)
    video = live.upload(owner, project["id"], clip)
    split = {"video_id": video["id"], "size": FRAMES}
    (task,) = live.call(owner, "POST", f"/projects/{project['id']}/tasks/split", 201, json=split)
    world = World(owner, project["id"], video["id"], task["id"])
    body = {
        "track": {
            "id": 1,
            "label": "square",
            "keyframes": [{"frame": 10, "shape": box(truth[10])}],
        },
        "base_revision": 0,
    }
    live.call(owner, "PUT", f"{world.base}/tracks/1", json=body)
    open_editor(page, world)
    page.evaluate(f"window.tweenlabEditor.go({FRAMES - 1})")
    before = row_pixels(page, FRAMES, 8)
    assert all(p == (255, 255, 255) for p in before[:10]), before  # nothing before the keyframe
    page.click("[data-testid=track-row]")
    page.click("[data-testid=fill]")
    wait_saved(page)
    stored = live.call(owner, "GET", f"{world.base}/tracks/1")["track"]
    leaves = stored.get("leaves")
    for _ in range(600):  # the fill computes the video's flow first
        if leaves is not None:
            break
        page.wait_for_timeout(200)
        stored = live.call(owner, "GET", f"{world.base}/tracks/1")["track"]
        leaves = stored.get("leaves")
    assert leaves is not None and 24 <= leaves <= 29, stored
    page.evaluate(f"window.tweenlabEditor.go({FRAMES - 1})")
    page.wait_for_timeout(300)
    middle = row_pixels(page, FRAMES, 8)  # the row's middle: a span's band or the outside line
    blue = [f for f, (r, g, b) in enumerate(middle[: FRAMES - 1]) if b > 200 and r < 150]
    grey = [f for f, p in enumerate(middle[: FRAMES - 1]) if p == (208, 213, 221)]
    assert blue[0] == 0 and set(range(leaves)) - {10} <= set(blue), (leaves, middle)
    assert grey and grey[0] == leaves and not set(blue) & set(range(leaves, FRAMES)), middle
    page.screenshot(path=str(ARTIFACTS / "editor-timeline-extension.png"))
