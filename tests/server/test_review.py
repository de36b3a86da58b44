"""Review issues over HTTP (pinned to a frame and region, comments, resolve; a rejected task goes
back with them) and heartbeats turned into activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.server.conftest import Crew
from tweenlab.services import activity


@pytest.fixture
def submitted(crew: Crew) -> int:
    """Task frames 0..99, annotated by ``annotator``, taken for review by ``reviewer``."""
    task = int(crew.split()[0]["id"])
    crew.assign(task)
    crew.act("annotator", task, "start")
    crew.act("annotator", task, "submit")
    crew.act("reviewer", task, "take_review")
    return task


def test_a_rejected_task_goes_back_with_its_open_issues(crew: Crew, submitted: int) -> None:
    issues = f"/tasks/{submitted}/issues"
    region = {"x": 10, "y": 20, "w": 30, "h": 40}
    body = {"frame": 42, "region": region, "text": "this box is too loose"}
    assert crew.call("annotator", "POST", issues, json=body).status_code == 403
    outside = crew.call("reviewer", "POST", issues, json={**body, "frame": 100})
    assert outside.status_code == 422 and outside.json()["field"] == "frame"
    negative = crew.call("reviewer", "POST", issues, json={**body, "region": {**region, "w": -1}})
    assert negative.status_code == 422 and "w" in str(negative.json())
    first = crew.call("reviewer", "POST", issues, json=body)
    assert first.status_code == 201 and first.json()["region"] == region
    second = crew.call("reviewer", "POST", issues, json={**body, "frame": 7, "text": "missed car"})
    rejected = crew.act("reviewer", submitted, "reject", note="two issues")
    assert rejected["state"] == "rejected" and rejected["open_issues"] == 2

    mine = crew.call("annotator", "GET", issues, params={"open_only": True}).json()
    assert [(i["frame"], i["text"]) for i in mine] == [
        (42, "this box is too loose"),
        (7, "missed car"),
    ]
    reply = crew.call(
        "annotator", "POST", f"{issues}/{first.json()['id']}/comments", json={"text": "fixed"}
    )
    assert reply.status_code == 201 and reply.json()["comments"][0]["text"] == "fixed"
    assert reply.json()["comments"][0]["author_id"] == crew["annotator"].id
    resolve = f"{issues}/{second.json()['id']}/resolve"
    assert crew.call("annotator", "POST", resolve).status_code == 403
    done = crew.call("reviewer", "POST", resolve).json()
    assert done["resolved"] and done["resolved_by"] == crew["reviewer"].id
    assert crew.call("reviewer", "POST", resolve).status_code == 409
    assert len(crew.call("annotator", "GET", issues, params={"open_only": True}).json()) == 1
    assert len(crew.call("annotator", "GET", issues).json()) == 2
    assert crew.call("annotator", "GET", f"/tasks/{submitted}").json()["open_issues"] == 1
    assert crew.call("annotator2", "GET", issues).status_code == 404
    assert crew.call("outsider", "GET", issues).status_code == 404
    assert crew.call("reviewer", "POST", f"{issues}/999/resolve").status_code == 404


def test_heartbeats_become_active_seconds_per_person(
    crew: Crew, submitted: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    t0 = datetime(2026, 5, 1, 9, tzinfo=UTC)
    # 0, 30, 60 s, then back after 10 minutes away (cut), then 20 s more: 80 s of work
    for seconds in (0, 30, 60, 660, 680):
        monkeypatch.setattr(activity, "utc_now", lambda s=seconds: t0 + timedelta(seconds=s))
        beat = crew.call("reviewer", "POST", f"/tasks/{submitted}/heartbeat")
        assert beat.status_code == 204, beat.text
    assert crew.call("annotator", "POST", f"/tasks/{submitted}/heartbeat").status_code == 204
    assert crew.call("manager", "POST", f"/tasks/{submitted}/heartbeat").status_code == 403
    assert crew.call("annotator2", "POST", f"/tasks/{submitted}/heartbeat").status_code == 404

    period = {"from": "2026-05-01T00:00:00Z", "to": "2026-05-02T00:00:00Z"}
    answer = crew.call("manager", "GET", "/activity", params=period)
    assert answer.status_code == 200, answer.text
    people = {p["email"]: p for p in answer.json()["people"]}
    assert list(people) == ["reviewer@example.com"]  # the annotator's beat is today, not then
    reviewer = people["reviewer@example.com"]
    assert reviewer["seconds"] == 80.0
    assert reviewer["days"] == {"2026-05-01": 80.0}
    assert reviewer["tasks"] == {str(submitted): 80.0}
    assert crew.call("reviewer", "GET", "/activity", params=period).status_code == 403
    backwards = {"from": period["to"], "to": period["from"]}
    assert crew.call("manager", "GET", "/activity", params=backwards).status_code == 422


def test_activity_counts_the_keyframes_and_tracks_people_make(crew: Crew, submitted: int) -> None:
    box = {"kind": "box", "x": 1, "y": 1, "w": 5, "h": 5}
    keys = [{"frame": f, "shape": box} for f in (0, 10, 20)]
    path = f"/tasks/{submitted}/tracks/1"
    body = {"track": {"label": "car", "keyframes": keys}, "base_revision": 0}
    assert crew.call("reviewer", "PUT", path, json=body).status_code == 200
    moved = [*keys[:2], {"frame": 20, "shape": {**box, "x": 9}}, {"frame": 30, "shape": box}]
    body = {"track": {"label": "car", "keyframes": moved}, "base_revision": 1}
    assert crew.call("reviewer", "PUT", path, json=body).status_code == 200
    people = crew.call("owner", "GET", "/activity").json()["people"]
    assert [(p["email"], p["tracks"], p["keyframes"]) for p in people] == [
        ("reviewer@example.com", 1, 5)
    ]
