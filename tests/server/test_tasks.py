"""Tasks over HTTP: splitting a video, who sees which task, the whole review cycle with the right
and the wrong actors, the history, and the queue."""

from __future__ import annotations

import pytest

from tests.server.conftest import Crew


def test_a_video_splits_into_overlapping_tasks_that_only_managers_create(crew: Crew) -> None:
    tasks = crew.split(250, 100, 10)
    assert [(t["start"], t["stop"]) for t in tasks] == [(0, 100), (90, 190), (180, 250)]
    assert {t["state"] for t in tasks} == {"new"} and tasks[0]["kind"] == "normal"
    body = {"video_id": 2, "frame_count": 100, "size": 50}
    assert crew.call("annotator", "POST", "/tasks/split", json=body).status_code == 403
    assert crew.call("reviewer", "POST", "/tasks/split", json=body).status_code == 403
    again = crew.call("manager", "POST", "/tasks/split", json={**body, "video_id": 1})
    assert again.status_code == 409 and again.json()["field"] == "video_id"
    scenes = {"video_id": 3, "frame_count": 100, "scenes": [40], "max_size": 30}
    answer = crew.call("owner", "POST", "/tasks/split", json=scenes)
    assert [(t["start"], t["stop"]) for t in answer.json()] == [
        (0, 30),
        (30, 40),
        (40, 70),
        (70, 100),
    ]
    clips = {"video_id": 4, "frame_count": 100, "clips": [[50, 100], [0, 50]]}
    answer = crew.call("owner", "POST", "/tasks/split", json=clips)
    assert [(t["start"], t["stop"]) for t in answer.json()] == [(0, 50), (50, 100)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"video_id": 1, "frame_count": 100}, "size"),
        ({"video_id": 1, "frame_count": 100, "size": 10, "scenes": [5]}, "size"),
        ({"video_id": 1, "frame_count": 0, "size": 10}, "frame_count"),
        ({"video_id": 1, "frame_count": 100, "size": "ten"}, "size"),
        ({"video_id": 1, "frame_count": 100, "size": 50, "copies": 2}, "copies"),
        ({"video_id": 1, "frame_count": 100, "size": 50, "copies": 21}, "copies"),
        (
            {
                "video_id": 1,
                "frame_count": 100,
                "size": 50,
                "kind": "consensus",
                "copies": 2,
                "assignees": [1],
            },
            "assignees",
        ),
    ],
)
def test_a_bad_split_answers_422_naming_the_field(crew: Crew, body: dict, field: str) -> None:
    answer = crew.call("manager", "POST", "/tasks/split", json=body)
    assert answer.status_code == 422
    assert field in str(answer.json())


def test_a_consensus_split_makes_k_copies_of_each_clip_one_per_annotator(crew: Crew) -> None:
    people = [crew["annotator"].id, crew["annotator2"].id]
    body = {"video_id": 2, "frame_count": 100, "clips": [[0, 40], [40, 80]]}
    body |= {"kind": "consensus", "copies": 2, "assignees": people}
    made = crew.call("manager", "POST", "/tasks/split", json=body)
    assert made.status_code == 201, made.text
    got = [(t["start"], t["kind"], t["assignee_id"]) for t in made.json()]
    assert got == [(start, "consensus", who) for start in (0, 40) for who in people]
    mine = crew.call("annotator2", "GET", "/tasks").json()
    assert [(t["start"], t["stop"]) for t in mine] == [(0, 40), (40, 80)]
    twice = {**body, "assignees": [people[0], people[0]]}
    assert crew.call("manager", "POST", "/tasks/split", json=twice).status_code == 422
    stranger = {**body, "assignees": [people[0], crew["outsider"].id]}
    refused = crew.call("manager", "POST", "/tasks/split", json=stranger)
    assert refused.status_code == 422 and refused.json()["field"] == "assignees"


def test_annotators_see_only_their_tasks_and_outsiders_none(crew: Crew) -> None:
    first, second, _ = (t["id"] for t in crew.split())
    crew.assign(first)
    mine = crew.call("annotator", "GET", "/tasks").json()
    assert [t["id"] for t in mine] == [first]
    assert mine[0]["actions"] == ["start"]
    assert crew.call("annotator2", "GET", "/tasks").json() == []
    assert len(crew.call("reviewer", "GET", "/tasks").json()) == 3
    assert crew.call("annotator", "GET", f"/tasks/{second}").status_code == 404
    assert crew.call("annotator", "GET", f"/tasks/{first}").status_code == 200
    assert crew.call("outsider", "GET", "/tasks").status_code == 404
    assert crew.call("outsider", "GET", f"/tasks/{first}").status_code == 404
    assert crew.call("annotator", "GET", "/tasks/9999").status_code == 404
    # a task of another project is not found through this one
    other = crew.api.client.post(
        "/api/projects/2/tasks/split",
        json={"video_id": 1, "frame_count": 10, "size": 10},
        headers=crew["outsider"].headers,
    ).json()[0]["id"]
    assert crew.call("manager", "GET", f"/tasks/{other}").status_code == 404


def test_assignment_checks_membership_and_roles(crew: Crew) -> None:
    task = crew.split()[0]["id"]
    path = f"/tasks/{task}/assign"
    outsider = {"assignee_id": crew["outsider"].id}
    answer = crew.call("manager", "POST", path, json=outsider)
    assert answer.status_code == 422 and answer.json()["field"] == "assignee_id"
    low = {"assignee_id": crew["annotator"].id, "reviewer_id": crew["annotator2"].id}
    answer = crew.call("manager", "POST", path, json=low)
    assert answer.status_code == 422 and answer.json()["field"] == "reviewer_id"
    mine = {"assignee_id": crew["annotator"].id}
    assert crew.call("reviewer", "POST", path, json=mine).status_code == 403
    assert crew.call("annotator", "POST", path, json=mine).status_code == 403
    answer = crew.call("manager", "POST", path, json=mine)
    assert answer.json()["assignee_id"] == crew["annotator"].id
    assert answer.json()["reviewer_id"] is None


def test_the_review_cycle_with_the_right_and_the_wrong_actors(crew: Crew) -> None:
    task = crew.split()[0]["id"]
    crew.assign(task)
    crew.act("annotator2", task, "start", 404)  # not theirs: they cannot even see it
    crew.act("reviewer", task, "start", 403)
    crew.act("annotator", task, "submit", 409)  # not started
    assert crew.act("annotator", task, "start")["state"] == "in_progress"
    crew.act("annotator", task, "start", 409)
    assert crew.act("annotator", task, "submit")["state"] == "submitted"
    crew.act("annotator", task, "take_review", 403)
    crew.act("annotator", task, "accept", 409)  # the state first: it is not in review
    assert crew.act("reviewer", task, "take_review")["state"] == "in_review"
    crew.act("annotator", task, "accept", 403)
    rejected = crew.act("reviewer", task, "reject", note="the red car is missing")
    assert rejected["state"] == "rejected" and rejected["actions"] == []
    assert crew.act("annotator", task, "start")["state"] == "rework"
    assert crew.act("annotator", task, "submit")["state"] == "submitted"
    crew.act("reviewer", task, "take_review")
    crew.act("reviewer", task, "reopen", 409)
    assert crew.act("reviewer", task, "accept")["state"] == "accepted"
    crew.act("reviewer", task, "reopen", 403)  # managers only
    crew.act("annotator", task, "start", 409)
    crew.act("manager", task, "assign", 422)  # assignment has its own route
    crew.act("manager", task, "dance", 422)

    history = crew.call("annotator", "GET", f"/tasks/{task}/history").json()
    steps = [(e["action"], e["actor"].split("@")[0], e["to_state"]) for e in history]
    assert steps == [
        ("assign", "manager", "new"),
        ("start", "annotator", "in_progress"),
        ("submit", "annotator", "submitted"),
        ("take_review", "reviewer", "in_review"),
        ("reject", "reviewer", "rejected"),
        ("start", "annotator", "rework"),
        ("submit", "annotator", "submitted"),
        ("take_review", "reviewer", "in_review"),
        ("accept", "reviewer", "accepted"),
    ]
    assert history[4]["note"] == "the red car is missing"
    assert crew.act("manager", task, "reopen")["state"] == "rework"


def test_the_queue_gives_annotators_their_work_and_reviewers_a_task_each(crew: Crew) -> None:
    first, second, third = (t["id"] for t in crew.split())
    for task in (first, second, third):
        crew.assign(task)
    nothing = crew.call("annotator2", "POST", "/queue/next").json()
    assert nothing == {"task": None}
    assert crew.call("annotator", "POST", "/queue/next").json()["task"]["id"] == first
    crew.act("annotator", second, "start")
    assert crew.call("annotator", "POST", "/queue/next").json()["task"]["id"] == second
    assert crew.call("annotator", "POST", "/queue/next", json={"as": "reviewer"}).status_code == 403
    assert crew.call("reviewer", "POST", "/queue/next").json() == {"task": None}
    crew.act("annotator", second, "submit")
    taken = crew.call("reviewer", "POST", "/queue/next").json()["task"]
    assert taken["id"] == second and taken["state"] == "in_review"
    assert taken["reviewer_id"] == crew["reviewer"].id
    # asked again, the reviewer gets the task they already review
    assert crew.call("reviewer", "POST", "/queue/next").json()["task"]["id"] == second
    # a manager reviews too, but never gets a task that someone else reviews
    assert crew.call("manager", "POST", "/queue/next").json() == {"task": None}
