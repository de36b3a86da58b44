"""Pre-labelling in Chromium against a live server: a manager pre-labels a task from the
dashboard with the real ``motion`` labeler (the form's labeler list comes from
``/api/labelers``; the model and URL fields show only for a labeler that needs them; a labeler
that cannot run is refused with the server's reason) and sees the job end with the tracks it
made; the annotator opens the task in the editor, sees the predictions marked "auto" with their
scores and drawn dotted, edits one (it stays a prediction; the edit is saved before anything is
decided), accepts another (an ordinary track from then on, on the server too) and rejects the
rest (gone, on the server too).

The video: two textured squares crossing a static textured background in opposite directions,
so background subtraction finds two moving objects once its warm-up (30 frames) is over.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from tests.browser.conftest import Live, Person, expect, sign_in
from tests.browser.dashboard_support import signed_in_page
from tests.browser.editor_support import go, shown
from tests.propagation import texture, write_video

FRAMES = 40
WARMUP = 30  # the motion labeler's default: no boxes before this frame


def two_squares(path: Path, *, size: tuple[int, int] = (192, 144), side: int = 24) -> Path:
    """Two squares, one going right along the top, one going left along the bottom."""
    width, height = size
    rng = np.random.default_rng(3)
    background = texture(rng, height, width, 2.0)
    squares = [texture(rng, side, side, 2.0) for _ in range(2)]
    images = []
    for frame in range(FRAMES):
        image = background.copy()
        right = 10 + 2 * frame
        image[20 : 20 + side, right : right + side] = squares[0]
        left = width - side - 10 - 2 * frame
        image[height - 20 - side : height - 20, left : left + side] = squares[1]
        images.append(image)
    return write_video(path, images)


def set_up(live: Live, tmp_path: Path) -> tuple[Person, Person, int, int]:
    """A project (label ``moving``, the labeler's class), the video in one task, started by its
    annotator: (owner, annotator, project, task)."""
    owner = live.person("owner@example.com")
    ana = live.person("ana@example.com")
    schema = [{"name": "moving", "color": "#1c7ed6", "kinds": ["box"]}]
    project = live.call(owner, "POST", "/projects", 201, json={"name": "p", "schema": schema})["id"]
    member = {"email": ana.email, "role": "annotator"}
    live.call(owner, "POST", f"/projects/{project}/members", 201, json=member)
    video = live.upload(owner, project, two_squares(tmp_path / "squares.mp4"))
    split = {"video_id": video["id"], "size": FRAMES}
    (task,) = live.call(owner, "POST", f"/projects/{project}/tasks/split", 201, json=split)
    tasks = f"/projects/{project}/tasks/{task['id']}"
    live.call(owner, "POST", f"{tasks}/assign", json={"assignee_id": ana.id})
    live.call(ana, "POST", f"{tasks}/actions/start", json={})
    return owner, ana, project, task["id"]


def prelabel_from_dashboard(page: Any, project: int, task: int) -> None:
    page.goto(f"/#/projects/{project}")
    row = page.locator(f"[data-testid=task-row][data-task='{task}']")
    row.locator("[data-testid=prelabel-task]").click()
    form = page.locator("[data-testid=prelabel]")
    expect(form.locator("[data-testid=prelabel-title]")).to_contain_text(f"task #{task}")
    labeler = form.locator("[data-testid=prelabel-labeler]")
    expect(labeler.locator("option[value=motion]")).to_have_count(1)
    expect(labeler).to_have_value("yolov3-tiny")  # the server's default
    labeler.select_option("onnx")
    expect(form.locator("[data-testid=prelabel-model]")).to_be_visible()
    expect(form.locator("[data-testid=prelabel-url]")).to_be_hidden()
    labeler.select_option("http")  # an endpoint refusing connections: refused before any job
    form.locator("[data-testid=prelabel-url]").fill("http://127.0.0.1:9/")
    form.locator("[data-testid=prelabel-submit]").click()
    expect(form.locator("[data-testid=prelabel-error]")).to_contain_text("127.0.0.1:9")
    expect(form.locator("[data-testid=prelabel-run]")).to_have_count(0)
    labeler.select_option("motion")
    expect(form.locator("[data-testid=prelabel-model]")).to_be_hidden()
    expect(form.locator("[data-testid=prelabel-about]")).to_contain_text("what moves")
    form.locator("[data-testid=prelabel-every]").fill("1")
    form.locator("[data-testid=prelabel-submit]").click()
    run = form.locator("[data-testid=prelabel-run]")
    expect(run).to_have_attribute("data-state", "succeeded", timeout=60_000)
    expect(run).to_have_attribute("data-tracks", "2")
    expect(run).to_contain_text(f"task #{task} (motion): 2 predicted tracks")


def server_tracks(live: Live, who: Person, project: int, task: int) -> dict[int, dict[str, Any]]:
    answer = live.call(who, "GET", f"/projects/{project}/tasks/{task}/annotations")
    return {t["number"]: t["track"] for t in answer["tracks"]}


def test_prelabel_then_accept_one_and_reject_the_rest(
    page: Any, chromium: Any, live: Live, tmp_path: Path
) -> None:
    owner, ana, project, task = set_up(live, tmp_path)
    sign_in(page, owner.email)
    prelabel_from_dashboard(page, project, task)
    first, second = sorted(server_tracks(live, ana, project, task))

    context, editor = signed_in_page(chromium, live, ana.email)
    errors: list[str] = []
    editor.on("pageerror", lambda error: errors.append(str(error)))
    try:
        editor.goto(f"/#/projects/{project}/tasks/{task}")
        editor.wait_for_selector("[data-testid=editor-canvas][data-frame='0']")
        badges = editor.locator("[data-testid=prediction-badge]")
        expect(badges).to_have_count(2)
        expect(badges.first).to_have_text(re.compile(r"^auto (0\.\d\d|1\.00)$"))
        expect(editor.locator("[data-testid=predictions-bar]")).to_have_attribute("data-count", "2")
        go(editor, WARMUP + 5)
        assert [(s["number"], s["predicted"]) for s in shown(editor)] == [
            (first, True),
            (second, True),
        ]

        # an edit of a prediction (saved before accepting) keeps it a prediction
        row = editor.locator(f"[data-testid=track-row][data-number='{second}']")
        row.locator("[data-testid=toggle-occluded]").check()
        editor.wait_for_function(  # the toggle waits for the server's state before it edits
            "n => window.tweenlabEditor.tracks().some("
            "t => t.number === n && t.track.keyframes.some(k => k.occluded))",
            arg=second,
        )
        row_one = editor.locator(f"[data-testid=track-row][data-number='{first}']")
        row_one.locator("[data-testid=accept-prediction]").click()
        expect(row_one.locator("[data-testid=prediction-badge]")).to_have_count(0)
        expect(badges).to_have_count(1)
        editor.evaluate("window.tweenlabEditor.settled()")  # every edit saved
        stored = server_tracks(live, ana, project, task)
        assert stored[first]["source"] == "manual" and "score" not in stored[first]
        assert stored[second]["source"] == "auto" and 0 < stored[second]["score"] <= 1
        assert any(k["occluded"] for k in stored[second]["keyframes"])

        editor.locator("[data-testid=reject-all]").click()
        expect(editor.locator("[data-testid=track-row]")).to_have_count(1)
        expect(editor.locator("[data-testid=predictions-bar]")).to_have_count(0)
        expect(badges).to_have_count(0)
        assert list(server_tracks(live, ana, project, task)) == [first]
        assert [(s["number"], s["predicted"]) for s in shown(editor)] == [(first, False)]
    finally:
        context.close()
    assert not errors, f"errors in the editor: {errors}"
