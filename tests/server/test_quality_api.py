"""Quality over HTTP: a task compared with a ground-truth task or another task of the same frames
(identical work scores 1.0, a shifted box less), consensus ranking the annotator who disagrees
last, and who may ask."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Crew


def track(x: float, *frames: int) -> dict[str, Any]:
    """A box track with a keyframe on each of ``frames``, at ``x``."""
    keys = [
        {"frame": f, "shape": {"kind": "box", "x": x, "y": 5, "w": 20, "h": 10}} for f in frames
    ]
    return {"label": "car", "keyframes": keys}


def clip(crew: Crew, kind: str) -> int:
    """A task of ``kind`` over frames 0..99 of video 1."""
    body = {"video_id": 1, "frame_count": 100, "clips": [[0, 100]], "kind": kind}
    answer = crew.call("manager", "POST", "/tasks/split", json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()[0]["id"])


def annotate(crew: Crew, task: int, *tracks: dict[str, Any]) -> None:
    """Write ``tracks`` (numbered from 1) into a task as the manager."""
    for number, body in enumerate(tracks, start=1):
        answer = crew.call(
            "manager",
            "PUT",
            f"/tasks/{task}/tracks/{number}",
            json={"track": body, "base_revision": 0},
        )
        assert answer.status_code == 200, answer.text


def test_a_task_scores_against_ground_truth(crew: Crew) -> None:
    work = int(crew.split(100, 100, 0)[0]["id"])
    crew.assign(work)
    truth = clip(crew, "ground_truth")
    annotate(crew, truth, track(10, 0, 99), track(60, 0, 50))
    annotate(crew, work, track(10, 0, 99), track(60, 0, 50))

    same = crew.call("manager", "GET", f"/tasks/{work}/quality")  # the ground truth by default
    assert same.status_code == 200, same.text
    body = same.json()
    assert body["against"] == truth and body["against_kind"] == "ground_truth"
    assert body["mean_iou"] == 1.0 and body["idf1"] == 1.0 and body["hota"] > 0.99
    assert body["missing"] == 0 and body["extra"] == 0 and len(body["tracks"]) == 2

    shifted = crew.call(
        "manager",
        "PUT",
        f"/tasks/{work}/tracks/2",
        json={"track": track(66, 0, 50), "base_revision": 1},
    )
    assert shifted.status_code == 200, shifted.text
    lower = crew.call("reviewer", "GET", f"/tasks/{work}/quality", params={"against": truth})
    assert lower.status_code == 200, lower.text  # the task's reviewer may ask
    assert lower.json()["mean_iou"] < 1.0 and lower.json()["hota"] < body["hota"]

    assert crew.call("annotator", "GET", f"/tasks/{work}/quality").status_code == 403
    assert crew.call("annotator2", "GET", f"/tasks/{work}/quality").status_code == 404
    assert crew.call("outsider", "GET", f"/tasks/{work}/quality").status_code == 404
    itself = crew.call("manager", "GET", f"/tasks/{work}/quality", params={"against": work})
    assert itself.status_code == 422 and itself.json()["field"] == "against"
    assert crew.call("manager", "GET", "/tasks/999/quality").status_code == 404


def test_consensus_ranks_the_annotator_who_disagrees_last(crew: Crew) -> None:
    copies = [clip(crew, "consensus") for _ in range(3)]
    for task, who in zip(copies, ("annotator", "annotator2", "reviewer"), strict=True):
        crew.assign(task, who, "manager" if who == "reviewer" else "reviewer")
    annotate(crew, copies[0], track(10, 0, 99))
    annotate(crew, copies[1], track(11, 0, 99))
    annotate(crew, copies[2], track(70, 0, 99))  # somewhere else entirely

    ids = ",".join(map(str, copies))
    answer = crew.call("manager", "GET", "/quality/consensus", params={"tasks": ids})
    assert answer.status_code == 200, answer.text
    ranked = answer.json()["annotators"]
    assert answer.json()["reference"] is None
    assert [a["task_id"] for a in ranked][-1] == copies[2]
    assert ranked[-1]["email"] == "reviewer@example.com" and ranked[-1]["idf1"] == 0.0
    assert ranked[0]["idf1"] == 0.5  # agrees with one of the two others

    truth = clip(crew, "ground_truth")
    annotate(crew, truth, track(10, 0, 99))
    scored = crew.call("manager", "GET", "/quality/consensus", params={"tasks": f"{ids},{truth}"})
    assert scored.status_code == 200, scored.text
    assert scored.json()["reference"] == truth
    assert [a["task_id"] for a in scored.json()["annotators"]] == copies
    assert scored.json()["annotators"][0]["hota"] > 0.99

    assert (
        crew.call("reviewer", "GET", "/quality/consensus", params={"tasks": ids}).status_code == 403
    )
    bad = crew.call("manager", "GET", "/quality/consensus", params={"tasks": "1,x"})
    assert bad.status_code == 422
