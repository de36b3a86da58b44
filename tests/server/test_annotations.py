"""Annotations of a task over HTTP: tracks with revisions, stale writes refused with 409 and the
stored track, two clients racing on one track (exactly one wins, no write lost), the journal,
undo, and keyframes outside the task refused naming the field."""

from __future__ import annotations

import threading
from itertools import pairwise
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import Crew


def track(*frames: int, x: float = 10.0, label: str = "car") -> dict[str, Any]:
    """A box track in the native format with a keyframe on each of ``frames``."""
    keyframes = [
        {"frame": f, "shape": {"kind": "box", "x": x + f, "y": 5, "w": 20, "h": 10}} for f in frames
    ]
    return {"label": label, "keyframes": keyframes}


@pytest.fixture
def task(crew: Crew) -> int:
    """Task frames 90..189 of video 1, assigned to ``annotator`` and started."""
    task = crew.split(250, 100, 10)[1]["id"]
    crew.assign(task)
    crew.act("annotator", task, "start")
    return int(task)


def put(crew: Crew, who: str, task: int, n: int, body: dict[str, Any], base: int) -> Any:  # noqa: PLR0917
    return crew.call(
        who,
        "PUT",
        f"/tasks/{task}/tracks/{n}",
        json={"track": body},
        headers={"If-Match": f'"{base}"'},
    )


def test_tracks_are_created_updated_and_deleted_with_revisions(crew: Crew, task: int) -> None:
    created = put(crew, "annotator", task, 1, track(90, 120), 0)
    assert created.status_code == 200, created.text
    assert created.json()["revision"] == 1 and created.headers["ETag"] == '"1"'
    assert created.json()["track"]["id"] == 1 and created.json()["kind"] == "box"
    updated = crew.call(
        "annotator",
        "PUT",
        f"/tasks/{task}/tracks/1",
        json={"track": track(90, 150), "base_revision": 1},
    )
    assert updated.json()["revision"] == 2
    assert [k["frame"] for k in updated.json()["track"]["keyframes"]] == [90, 150]
    put(crew, "annotator", task, 2, track(100), 0)
    got = crew.call("reviewer", "GET", f"/tasks/{task}/annotations").json()
    assert got["revision"] == 3
    assert [(t["number"], t["revision"]) for t in got["tracks"]] == [(1, 2), (2, 1)]
    one = crew.call("annotator", "GET", f"/tasks/{task}/tracks/1")
    assert one.headers["ETag"] == '"2"' and one.json()["track"] == updated.json()["track"]

    gone = crew.call("annotator", "DELETE", f"/tasks/{task}/tracks/1", headers={"If-Match": '"2"'})
    assert gone.status_code == 200 and gone.json()["deleted"] and gone.json()["revision"] == 3
    got = crew.call("annotator", "GET", f"/tasks/{task}/annotations").json()
    assert [t["number"] for t in got["tracks"]] == [2]
    assert got["deleted"] == [{"number": 1, "revision": 3}] and got["revision"] == 4
    assert crew.call("annotator", "GET", f"/tasks/{task}/tracks/1").status_code == 404
    again = put(crew, "annotator", task, 1, track(95), 3)  # re-created on the tombstone
    assert again.json()["revision"] == 4 and not again.json()["deleted"]

    journal = crew.call("manager", "GET", f"/tasks/{task}/journal").json()
    assert [(e["number"], e["op"], e["revision"]) for e in journal] == [
        (1, "create", 1),
        (1, "update", 2),
        (2, "create", 1),
        (1, "delete", 3),
        (1, "create", 4),
    ]
    assert {e["actor"] for e in journal} == {"annotator@example.com"}
    assert journal[1]["before"] == created.json()["track"]
    assert journal[3]["after"] is None
    one_track = crew.call("manager", "GET", f"/tasks/{task}/journal", params={"track": 2}).json()
    assert [e["number"] for e in one_track] == [2]


def test_a_stale_write_gets_409_with_the_current_revision_and_track(crew: Crew, task: int) -> None:
    put(crew, "annotator", task, 1, track(90), 0)
    mine = put(crew, "annotator", task, 1, track(90, 100), 1).json()
    stale = put(crew, "manager", task, 1, track(90, 189), 1)
    assert stale.status_code == 409
    body = stale.json()
    assert body["current_revision"] == 2 and body["track"] == mine["track"]
    assert body["field"] == "base_revision"
    assert put(crew, "manager", task, 1, track(99), 0).status_code == 409  # exists already
    assert put(crew, "manager", task, 7, track(99), 3).json()["current_revision"] == 0
    deleted = crew.call("manager", "DELETE", f"/tasks/{task}/tracks/1", headers={"If-Match": "1"})
    assert deleted.status_code == 409 and deleted.json()["current_revision"] == 2
    # nothing of the refused writes is kept
    journal = crew.call("manager", "GET", f"/tasks/{task}/journal").json()
    assert [e["revision"] for e in journal] == [1, 2]
    got = crew.call("manager", "GET", f"/tasks/{task}/annotations").json()
    assert got["tracks"][0]["track"] == mine["track"] and got["revision"] == 2


def test_every_write_names_its_base_revision(crew: Crew, task: int) -> None:
    answer = crew.call("annotator", "PUT", f"/tasks/{task}/tracks/1", json={"track": track(90)})
    assert answer.status_code == 422 and answer.json()["field"] == "base_revision"
    answer = crew.call(
        "annotator",
        "PUT",
        f"/tasks/{task}/tracks/1",
        json={"track": track(90)},
        headers={"If-Match": "x"},
    )
    assert answer.status_code == 422 and answer.json()["field"] == "If-Match"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (track(90, 190), "track.keyframes[1].frame"),  # the task is frames 90..189
        (track(89), "track.keyframes[0].frame"),
        (track(90, 300), "track.keyframes[1].frame"),  # past the video too
        (track(90, label="bus"), "track.label"),
        ({"label": "car", "keyframes": []}, "track.keyframes"),
        ({"label": "car", "keyframes": [{"frame": 95, "shape": {"kind": "box", "x": 1}}]}, "y"),
        ({**track(90), "id": 3}, "track.id"),
    ],
)
def test_a_bad_track_answers_422_naming_the_field(
    crew: Crew, task: int, body: dict[str, Any], field: str
) -> None:
    answer = put(crew, "annotator", task, 1, body, 0)
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["field"], answer.json()
    assert crew.call("annotator", "GET", f"/tasks/{task}/annotations").json()["revision"] == 0


def test_who_may_edit_depends_on_the_task_and_its_state(crew: Crew, task: int) -> None:
    assert put(crew, "annotator2", task, 1, track(90), 0).status_code == 404
    assert put(crew, "reviewer", task, 1, track(90), 0).status_code == 409  # not in review yet
    assert put(crew, "manager", task, 1, track(90), 0).status_code == 200
    crew.act("annotator", task, "submit")
    assert put(crew, "annotator", task, 1, track(91), 1).status_code == 409  # submitted
    crew.act("reviewer", task, "take_review")
    assert put(crew, "reviewer", task, 1, track(92), 1).status_code == 200


def race(crew: Crew, task: int, *, base: int, racers: int) -> list[int]:
    """``racers`` clients (the annotator and the manager, in turn), each with its own connection,
    write track 1 at the same moment from the same base revision; their status codes."""
    barrier = threading.Barrier(racers)
    results: list[int] = [0] * racers

    def write(i: int) -> None:
        client = TestClient(crew.api.client.app)
        who = "annotator" if i % 2 == 0 else "manager"
        barrier.wait()
        answer = client.put(
            crew.url(f"/tasks/{task}/tracks/1"),
            json={"track": track(90, 100 + i), "base_revision": base},
            headers=crew[who].headers,
        )
        results[i] = answer.status_code

    threads = [threading.Thread(target=write, args=(i,)) for i in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_two_clients_racing_on_one_track_exactly_one_wins(crew: Crew, task: int) -> None:
    put(crew, "annotator", task, 1, track(90), 0)
    rounds, racers = 6, 4
    outcomes = [sorted(race(crew, task, base=r + 1, racers=racers)) for r in range(rounds)]
    assert outcomes == [[200, 409, 409, 409]] * rounds
    journal = crew.call("manager", "GET", f"/tasks/{task}/journal").json()
    assert [e["revision"] for e in journal] == list(range(1, rounds + 2))  # one change per round
    for earlier, later in pairwise(journal):
        assert later["before"] == earlier["after"]  # no lost write: each change saw the last
    stored = crew.call("manager", "GET", f"/tasks/{task}/tracks/1").json()
    assert stored["revision"] == rounds + 1 and stored["track"] == journal[-1]["after"]


def test_undo_reverts_my_latest_change_unless_someone_changed_the_track(
    crew: Crew, task: int
) -> None:
    first = put(crew, "annotator", task, 1, track(90), 0).json()["track"]
    put(crew, "annotator", task, 1, track(90, 100), 1)
    put(crew, "annotator", task, 2, track(120), 0)
    undone = crew.call("annotator", "POST", f"/tasks/{task}/undo").json()
    assert (undone["number"], undone["op"], undone["after"]) == (2, "delete", None)
    undone = crew.call("annotator", "POST", f"/tasks/{task}/undo").json()
    assert (undone["number"], undone["op"], undone["revision"]) == (1, "update", 3)
    assert undone["after"] == first
    stored = crew.call("annotator", "GET", f"/tasks/{task}/annotations").json()
    assert [(t["number"], t["track"]) for t in stored["tracks"]] == [(1, first)]

    put(crew, "manager", task, 1, track(95), 3)  # someone else changes track 1
    refused = crew.call("annotator", "POST", f"/tasks/{task}/undo")
    assert refused.status_code == 409 and refused.json()["current_revision"] == 4
    assert crew.call("reviewer", "POST", f"/tasks/{task}/undo").status_code == 409
    undone = crew.call("manager", "POST", f"/tasks/{task}/undo").json()
    assert undone["after"] == first and undone["actor"] == "manager@example.com"
    journal = crew.call("annotator", "GET", f"/tasks/{task}/journal").json()
    assert [e["undoes"] is not None for e in journal] == [
        False,
        False,
        False,
        True,
        True,
        False,
        True,
    ]


def test_track_states_give_every_frame_as_the_server_interpolates_it(crew: Crew, task: int) -> None:
    body = track(100, 120)
    body["keyframes"][1]["shape"]["w"] = 40
    put(crew, "annotator", task, 1, body, 0)
    got = crew.call("annotator", "GET", f"/tasks/{task}/tracks/1/states?first=95&last=125")
    assert got.status_code == 200, got.text
    states = {s["frame"]: s for s in got.json()["states"]}
    assert min(states) == 100 and max(states) == 125  # none before the first keyframe
    assert states[100]["keyframe"] and not states[110]["keyframe"]
    assert states[110]["shape"]["x"] == pytest.approx(120.0)
    assert states[110]["shape"]["w"] == pytest.approx(30.0)
    assert states[125]["shape"] == states[120]["shape"]  # held after the last keyframe
    clipped = crew.call("annotator", "GET", f"/tasks/{task}/tracks/1/states?first=0").json()
    assert max(s["frame"] for s in clipped["states"]) == 189  # the task's last frame
    wrong = crew.call("annotator", "GET", f"/tasks/{task}/tracks/1/states?first=150&last=140")
    assert wrong.status_code == 422 and "last" in wrong.text
    assert crew.call("annotator", "GET", f"/tasks/{task}/tracks/9/states").status_code == 404


def test_a_body_is_read_as_the_standard_library_reads_it(crew: Crew, task: int) -> None:
    """Request bodies are read by the standard library: NaN and the infinities (not JSON) are
    refused naming their field, a number past 64 bits is a number (refused by the shape, not
    the parser), and broken JSON is a 422 that says where it broke."""
    url = crew.url(f"/tasks/{task}/tracks/1")
    headers = {**crew["annotator"].headers, "Content-Type": "application/json", "If-Match": '"0"'}
    shape = '{"kind": "box", "x": %s, "y": 5, "w": 20, "h": 10}'
    body = '{"track": {"label": "car", "keyframes": [{"frame": 90, "shape": %s}]}}'
    for constant in ("NaN", "Infinity", "-Infinity"):
        nan = crew.api.client.put(url, content=body % (shape % constant), headers=headers)
        assert nan.status_code == 422 and "json_invalid" not in nan.text, nan.text
        assert nan.json()["field"] == "track.keyframes[0].shape.x", nan.text
    huge = crew.api.client.put(
        url[:-1] + "2", content=body % (shape % ("1" + "0" * 30)), headers=headers
    )
    assert huge.status_code == 422 and "within" in huge.text, huge.text
    assert crew.api.client.get(url[:-1] + "2", headers=headers).status_code == 404
    broken = crew.api.client.put(url, content='{"track": {"label": ', headers=headers)
    assert broken.status_code == 422 and broken.json()["detail"][0]["type"] == "json_invalid"
    assert broken.json()["detail"][0]["loc"] == ["body", 20]
    fine = crew.api.client.put(url, content=body % (shape % "10.5"), headers=headers)
    assert fine.status_code == 200 and fine.json()["track"]["keyframes"][0]["shape"]["x"] == 10.5
