"""Editing points of shapes in Chromium against the live server, with the mouse: a polygon's and
a polyline's vertices inserted at an edge's midpoint handle (dragged or clicked) and deleted with
a right-click or alt+click, as CVAT does; a skeleton label's named points typed into the schema
form, a skeleton drawn point by point in the schema's order (one hidden), its points dragged
and shown again, and every named point stored."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest

from tests.browser.conftest import ARTIFACTS, Live, expect
from tests.browser.editor_support import (
    World,
    click,
    go,
    mouse_drag,
    open_editor,
    stored_tracks,
    task_split,
    to_screen,
    wait_saved,
    world,
)

__all__ = ["task_split", "world"]  # fixtures


def points_of(live: Live, world: World, track: int = 0, keyframe: int = 0) -> Any:
    return stored_tracks(live, world)[track]["keyframes"][keyframe]["shape"]["points"]


def alt_click(page: Any, x: float, y: float) -> None:
    page.keyboard.down("Alt")
    click(page, x, y)
    page.keyboard.up("Alt")


def right_click(page: Any, x: float, y: float) -> None:
    page.mouse.click(*to_screen(page, x, y), button="right")


def test_polygon_and_polyline_vertices_are_inserted_at_midpoints_and_deleted(
    live: Live, world: World, page: Any
) -> None:
    open_editor(page, world)
    page.click("[data-testid=tool-polygon]")
    for x, y in [(40, 40), (200, 40), (200, 160), (40, 160)]:
        click(page, x, y)
    page.keyboard.press("Enter")  # made, selected, and the select tool back
    wait_saved(page)
    mouse_drag(page, (120, 40), (120, 20))  # the top edge's midpoint, pulled up: a new vertex
    wait_saved(page)
    square = [[40, 40], [120, 20], [200, 40], [200, 160], [40, 160]]
    assert np.allclose(points_of(live, world), square, atol=1.5)
    click(page, 120, 160)  # a click on the bottom edge's midpoint: a vertex right there
    wait_saved(page)
    square.insert(4, [120, 160])
    assert np.allclose(points_of(live, world), square, atol=1.5)
    right_click(page, 120, 20)  # a right-click on a vertex deletes it
    wait_saved(page)
    del square[1]
    assert np.allclose(points_of(live, world), square, atol=1.5)
    alt_click(page, 200, 40)  # and so does alt+click
    wait_saved(page)
    del square[1]
    assert np.allclose(points_of(live, world), square, atol=1.5)
    right_click(page, 40, 40)
    right_click(page, 200, 160)  # down to three: the last of these is refused, not stored
    wait_saved(page)
    assert len(points_of(live, world)) == 3
    expect(page.locator("#toast")).to_contain_text("needs at least 3 points")
    right_click(page, 300, 230)  # a right-click off the shape deletes nothing
    wait_saved(page)
    assert len(points_of(live, world)) == 3

    page.click("[data-testid=tool-polyline]")
    for x, y in [(20, 200), (100, 200), (180, 200)]:
        click(page, x, y)
    page.keyboard.press("Enter")
    wait_saved(page)
    mouse_drag(page, (140, 200), (140, 180))  # the second segment's midpoint
    wait_saved(page)
    line = [[20, 200], [100, 200], [140, 180], [180, 200]]
    assert np.allclose(points_of(live, world, 1), line, atol=1.5)
    right_click(page, 100, 200)
    wait_saved(page)
    assert np.allclose(points_of(live, world, 1), [line[0], *line[2:]], atol=1.5)
    assert len(stored_tracks(live, world)) == 2  # edits of points, never a new track
    page.screenshot(path=str(ARTIFACTS / "editor-vertices.png"))


POSE = {
    "nodes": ["head", "neck", "left hand", "right hand"],
    "edges": [[0, 1], [1, 2], [1, 3]],
}


def test_a_skeleton_of_the_schemas_points_is_drawn_in_order_and_edited(
    live: Live, world: World, page: Any
) -> None:
    open_editor(page, world)
    page.goto("/#/")  # the schema form: the points and edges of a skeleton label, typed
    form = page.locator("[data-testid=new-project]")
    page.fill("[data-testid=project-name]", "poses")
    form.locator("[data-testid=add-label]").click()
    row = form.locator("[data-testid=label-row]")
    row.locator("[data-testid=label-name]").fill("pose")
    expect(row.locator("[data-testid=skeleton-points]")).to_be_hidden()
    row.locator("[data-testid=kind-skeleton]").check()
    row.locator("[data-testid=skeleton-points]").fill("head, neck, left hand, right hand")
    row.locator("[data-testid=skeleton-edges]").fill("head-neck, neck-left hand, neck-right hand")
    page.click("[data-testid=create-project]")
    expect(page.locator("[data-testid=schema-summary]")).to_contain_text("left hand")
    project = int(page.url.rsplit("/", 1)[1])
    (label,) = live.call(world.owner, "GET", f"/projects/{project}")["schema"]
    assert label["kinds"] == ["skeleton"] and label["skeleton"] == POSE

    label = {"name": "pose", "color": "#7048e8", "kinds": ["skeleton"], "skeleton": POSE}
    live.call(world.owner, "PATCH", f"/projects/{world.project}", json={"schema": [label]})
    page.goto(world.url)
    page.wait_for_selector("[data-testid=editor-canvas][data-frame='0']")
    page.locator("[data-testid=editor-canvas]").focus()
    page.keyboard.press("n")  # the label's kind: a skeleton
    expect(page.locator("[data-testid=tool-skeleton]")).to_have_class(re.compile(r"\bactive\b"))
    click(page, 100, 40)
    page.mouse.move(*to_screen(page, 100, 80))
    draft = page.evaluate("window.tweenlabEditor.draft")
    assert draft["caption"].startswith("neck (2 of 4")  # the next point, named
    assert draft["shape"]["edges"] == [[0, 1]]  # head to neck, drawn while placing
    click(page, 100, 80)
    page.keyboard.down("Shift")
    click(page, 70, 120)  # the left hand placed hidden
    page.keyboard.up("Shift")
    click(page, 130, 120)  # the last point makes the skeleton
    wait_saved(page)
    (track,) = stored_tracks(live, world)
    shape = track["keyframes"][0]["shape"]
    assert shape["kind"] == "skeleton" and shape["nodes"] == POSE["nodes"]
    assert shape["edges"] == POSE["edges"]
    assert shape["visible"] == [True, True, False, True]
    assert np.allclose(shape["points"], [[100, 40], [100, 80], [70, 120], [130, 120]], atol=1.5)

    mouse_drag(page, (100, 40), (110, 30))  # the head, dragged
    right_click(page, 70, 120)  # the hidden hand shown again
    wait_saved(page)
    shape = stored_tracks(live, world)[0]["keyframes"][0]["shape"]
    assert np.allclose(shape["points"][0], [110, 30], atol=1.5)
    assert shape["visible"] == [True, True, True, True]
    go(page, 20)
    mouse_drag(page, (100, 80), (100, 100))  # the neck on frame 20: a keyframe there
    wait_saved(page)
    (track,) = stored_tracks(live, world)
    assert [k["frame"] for k in track["keyframes"]] == [0, 20]
    assert np.allclose(track["keyframes"][1]["shape"]["points"][1], [100, 100], atol=1.5)
    state = live.call(world.owner, "GET", f"{world.base}/tracks/1/states?first=10&last=10")
    between = state["states"][0]["shape"]
    necks = [k["shape"]["points"][1][1] for k in track["keyframes"]]
    assert between["nodes"] == POSE["nodes"]
    assert between["points"][1][1] == pytest.approx(sum(necks) / 2)  # halfway, by name

    go(page, 0)
    page.keyboard.press("n")
    click(page, 200, 40)
    click(page, 200, 80)
    page.keyboard.press("Enter")  # two points placed: the hands are left hidden
    wait_saved(page)
    second = stored_tracks(live, world)[1]["keyframes"][0]["shape"]
    assert second["nodes"] == POSE["nodes"] and second["visible"] == [True, True, False, False]
    page.screenshot(path=str(ARTIFACTS / "editor-skeleton.png"))
