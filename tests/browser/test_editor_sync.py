"""The annotation editor in Chromium against the live server, keeping work: a reload that loses
nothing, a conflict between two people that asks instead of overwriting, edits made offline
that arrive once the network is back, refused edits, view-only tasks, review mode, heartbeats,
fill in between and the guidelines."""

from __future__ import annotations

import time
from typing import Any

from tests.browser.conftest import ARTIFACTS, Live, expect, sign_in
from tests.browser.editor_support import (
    FRAMES,
    World,
    close_to,
    frame_number,
    go,
    mouse_drag,
    open_editor,
    shown,
    stored_tracks,
    task_split,
    to_screen,
    wait_saved,
    world,
)

__all__ = ["task_split", "world"]  # fixtures


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
