"""The review panel (review.js) in Chromium, mounted by a small harness on a page without the
editor: its ctx gives a fixed frame and region and records the pins (setMarkers), jumps and
refreshes the panel asks of the editor. A reviewer pins an issue with a comment and rejects the
task (which goes back with the issue open); the annotator reworks and resubmits (through the
API); the reviewer resolves the issue and accepts in the panel; the dashboard then shows the task
accepted and the annotator's pay statement lists it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, Live, Person, expect, sign_in
from tests.browser.dashboard_support import (
    CLIP,
    box_track,
    signed_in_page,
    upload,
    write_track,
)
from tests.conftest import shared_file

REGION = {"x": 10.0, "y": 20.0, "w": 30.0, "h": 40.0}

# Mounts the panel into a fresh <div> with a fake editor ctx; what the panel asks of the editor
# lands in window.review (markers: each setMarkers call, jumps, refreshes).
HARNESS = """
async ({projectId, taskId, frame, region}) => {
  const api = await import("/api.js");
  const { mountReview } = await import("/review.js");
  if (!document.querySelector("link[href='/style.css']")) {
    document.head.append(Object.assign(document.createElement("link"),
                                       {rel: "stylesheet", href: "/style.css"}));
  }
  const task = await api.get(`/projects/${projectId}/tasks/${taskId}`);
  window.review = {markers: [], jumps: [], refreshes: 0, region};
  const panel = document.createElement("div");
  panel.id = "editor-side";
  panel.style.width = "360px";
  document.body.replaceChildren(panel);
  window.review.unmount = mountReview(panel, {
    api, projectId, taskId, task,
    currentFrame: () => frame,
    selectedRegion: () => window.review.region,
    jump: (f) => window.review.jumps.push(f),
    setMarkers: (pins) => window.review.markers.push(JSON.parse(JSON.stringify(pins))),
    refresh: () => { window.review.refreshes += 1; },
  });
}
"""


@pytest.fixture
def world(live: Live) -> dict[str, Any]:
    """Project "street" (label car): the real clip, task frames 0..99 annotated by ana, reviewed
    by rev, and submitted."""
    people = {
        "manager": live.person("manager@example.com"),
        "ana": live.person("ana@example.com"),
        "rev": live.person("rev@example.com"),
    }
    manager, ana, rev = people["manager"], people["ana"], people["rev"]
    project = live.call(
        manager, "POST", "/projects", 201, json={"name": "street", "schema": [{"name": "car"}]}
    )["id"]
    base = f"/projects/{project}"
    for who, role in ((ana, "annotator"), (rev, "reviewer")):
        live.call(manager, "POST", f"{base}/members", 201, json={"email": who.email, "role": role})
    video = upload(live, manager, project, shared_file(CLIP))
    split = {"video_id": video["id"], "clips": [[0, 100]]}
    task = live.call(manager, "POST", f"{base}/tasks/split", 201, json=split)[0]["id"]
    live.call(
        manager,
        "POST",
        f"{base}/tasks/{task}/assign",
        json={"assignee_id": ana.id, "reviewer_id": rev.id},
    )
    live.call(ana, "POST", f"{base}/tasks/{task}/actions/start")
    write_track(live, ana, project, task, box_track([0, 99]))
    live.call(ana, "POST", f"{base}/tasks/{task}/actions/submit")
    return {**people, "project": project, "task": task, "video": video}


def mount(page: Any, world: dict[str, Any], frame: int = 42) -> None:
    page.goto("/api/health")  # a page of the app's origin with neither editor nor dashboard
    page.evaluate(
        HARNESS,
        {"projectId": world["project"], "taskId": world["task"], "frame": frame, "region": REGION},
    )
    expect(page.locator("[data-testid=review-panel]")).to_be_visible()


def pins(page: Any) -> Any:
    """The pins of the last setMarkers call."""
    return page.evaluate("window.review.markers.at(-1)")


def api_task(live: Live, who: Person, world: dict[str, Any]) -> Any:
    return live.call(who, "GET", f"/projects/{world['project']}/tasks/{world['task']}")


def issues(live: Live, who: Person, world: dict[str, Any]) -> Any:
    return live.call(who, "GET", f"/projects/{world['project']}/tasks/{world['task']}/issues")


def reject_with_an_issue(page: Any, live: Live, world: dict[str, Any]) -> int:
    """The reviewer pins an issue to frame 42 and the selected region, replies, jumps, rejects."""
    rev = world["rev"]
    panel = page.locator("[data-testid=review-panel]")
    expect(panel.locator("[data-testid=review-state]")).to_have_text("submitted")
    expect(panel.locator("[data-testid=accept-task]")).to_be_enabled()
    assert pins(page) == []
    panel.locator("[data-testid=new-issue-text]").fill("the box is too loose")
    panel.locator("[data-testid=new-issue]").click()
    row = panel.locator("[data-testid=issue-row]")
    expect(row).to_have_count(1)
    expect(row).to_have_attribute("data-frame", "42")
    [stored] = issues(live, rev, world)
    assert (stored["frame"], stored["region"], stored["text"]) == (
        42,
        REGION,
        "the box is too loose",
    )
    assert pins(page) == [{"id": stored["id"], "frame": 42, "region": REGION, "resolved": False}]

    row.locator("[data-testid=issue-comment]").fill("see the left edge")
    row.locator("[data-testid=issue-comment-send]").click()
    expect(row.locator("[data-testid=issue-comment-text]")).to_have_text(["see the left edge"])
    assert [c["text"] for c in issues(live, rev, world)[0]["comments"]] == ["see the left edge"]
    row.locator("[data-testid=issue-text]").click()
    assert page.evaluate("window.review.jumps") == [42]

    panel.locator("[data-testid=reject-note]").fill("tighten the box")
    panel.locator("[data-testid=reject-task]").click()
    expect(panel.locator("[data-testid=review-state]")).to_have_text("rejected")
    expect(panel.locator("[data-testid=accept-task]")).to_be_disabled()
    task = api_task(live, rev, world)
    assert (task["state"], task["open_issues"]) == ("rejected", 1)
    history = live.call(rev, "GET", f"/projects/{world['project']}/tasks/{world['task']}/history")
    assert [(e["action"], e["note"]) for e in history][-2:] == [
        ("take_review", ""),
        ("reject", "tighten the box"),
    ]
    assert page.evaluate("window.review.refreshes") == 1
    return int(stored["id"])


def rework(live: Live, world: dict[str, Any], issue: int) -> None:
    """The annotator starts the rework, tightens the box, answers the issue and resubmits."""
    ana, base = world["ana"], f"/projects/{world['project']}/tasks/{world['task']}"
    assert live.call(ana, "GET", f"{base}/issues", params={"open_only": True})[0]["id"] == issue
    assert live.call(ana, "POST", f"{base}/actions/start")["state"] == "rework"
    body = {"track": box_track([0, 99], x=45.0), "base_revision": 1}
    live.call(ana, "PUT", f"{base}/tracks/1", json=body)
    live.call(ana, "POST", f"{base}/issues/{issue}/comments", 201, json={"text": "tightened"})
    live.call(ana, "POST", f"{base}/issues/{issue}/resolve", 403)  # the reviewer decides
    assert live.call(ana, "POST", f"{base}/actions/submit")["state"] == "submitted"


def resolve_and_accept(page: Any, live: Live, world: dict[str, Any], issue: int) -> None:
    """The reviewer reopens the panel, sees the reply, resolves the issue and accepts."""
    page.evaluate("window.review.unmount()")
    expect(page.locator("[data-testid=review-panel]")).to_have_count(0)
    mount(page, world, frame=7)
    panel = page.locator("[data-testid=review-panel]")
    expect(panel.locator("[data-testid=review-state]")).to_have_text("submitted")
    row = panel.locator(f"[data-testid=issue-row][data-issue='{issue}']")
    expect(row.locator("[data-testid=issue-comment-text]")).to_have_text(
        ["see the left edge", "tightened"]
    )
    row.locator("[data-testid=resolve-issue]").click()
    expect(row).to_have_attribute("data-resolved", "true")
    expect(row.locator("[data-testid=resolve-issue]")).to_have_count(0)
    assert issues(live, world["rev"], world)[0]["resolved"] is True
    assert pins(page) == [{"id": issue, "frame": 42, "region": REGION, "resolved": True}]

    page.evaluate("window.review.region = null")  # no region selected: the whole frame
    panel.locator("[data-testid=new-issue-text]").fill("frame 7 looks fine, just noting")
    panel.locator("[data-testid=new-issue]").click()
    expect(panel.locator("[data-testid=issue-row]")).to_have_count(2)
    whole = issues(live, world["rev"], world)[1]
    assert whole["frame"] == 7
    assert whole["region"] == {
        "x": 0,
        "y": 0,
        "w": world["video"]["width"],
        "h": world["video"]["height"],
    }
    page.locator("[data-testid=issue-row]").nth(1).locator("[data-testid=resolve-issue]").click()
    expect(panel.locator("[data-testid=issue-row][data-resolved=true]")).to_have_count(2)

    panel.locator("[data-testid=accept-task]").click()
    expect(panel.locator("[data-testid=review-state]")).to_have_text("accepted")
    expect(panel.locator("[data-testid=reject-task]")).to_be_disabled()
    assert api_task(live, world["rev"], world)["state"] == "accepted"
    page.screenshot(path=str(ARTIFACTS / "review-panel.png"))


def dashboard_shows_it(chromium: Any, live: Live, world: dict[str, Any]) -> None:
    """The manager's dashboard: the task accepted, and ana's statement lists it."""
    manager, ana, project = world["manager"], world["ana"], world["project"]
    rates = {"currency": "EUR", "default": {"basis": "task", "amount": "8.00"}}
    live.call(manager, "PUT", f"/projects/{project}/pay/rates", json=rates)
    context, page = signed_in_page(chromium, live, manager.email)
    try:
        page.goto(f"/#/projects/{project}")
        row = page.locator(f"[data-testid=task-row][data-task='{world['task']}']")
        expect(row.locator("[data-testid=task-state]")).to_have_text("accepted")
        page.select_option("[data-testid=statement-person]", str(ana.id))
        page.click("[data-testid=show-statement]")
        line = page.locator("[data-testid=statement-line]")
        expect(line).to_have_count(1)
        expect(line).to_have_attribute("data-task", str(world["task"]))
        expect(page.locator("[data-testid=statement-total]")).to_have_text("Total 8.00 EUR")
        page.screenshot(path=str(ARTIFACTS / "review-then-dashboard.png"), full_page=True)
    finally:
        context.close()
    context, page = signed_in_page(chromium, live, ana.email)  # her own pay, nobody else's
    try:
        page.goto(f"/#/projects/{project}")
        expect(page.locator("[data-testid=pay-section]")).to_have_count(0)
        mine = page.locator("[data-testid=my-pay-section]")
        expect(mine.locator("[data-testid=statement-person] option")).to_have_count(1)
        mine.locator("[data-testid=show-statement]").click()
        expect(mine.locator("[data-testid=statement-line]")).to_have_attribute(
            "data-task", str(world["task"])
        )
        expect(mine.locator("[data-testid=statement-total]")).to_have_text("Total 8.00 EUR")
    finally:
        context.close()


def test_review_rejects_with_an_issue_then_accepts_the_rework(
    live: Live, page: Any, chromium: Any, world: dict[str, Any]
) -> None:
    sign_in(page, world["rev"].email)
    link = page.locator("[data-testid=my-reviews] [data-testid=my-task] a")
    expect(link).to_have_attribute(
        "href", f"#/projects/{world['project']}/tasks/{world['task']}/review"
    )
    mount(page, world)
    issue = reject_with_an_issue(page, live, world)
    rework(live, world, issue)
    resolve_and_accept(page, live, world, issue)
    dashboard_shows_it(chromium, live, world)
