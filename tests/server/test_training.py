"""Training tasks: a new annotator's queue gives them first; submitting one scores it against
the ground truth of its clip at once (kept in its history), and the trainee sees the differences."""

from __future__ import annotations

from typing import Any

from tests.server.conftest import Crew


def track(x: float, *frames: int) -> dict[str, Any]:
    keys = [
        {"frame": f, "shape": {"kind": "box", "x": x + f, "y": 5, "w": 20, "h": 10}} for f in frames
    ]
    return {"label": "car", "keyframes": keys}


def split(crew: Crew, kind: str, clips: list[tuple[int, int]]) -> list[int]:
    body = {"video_id": 1, "frame_count": 250, "clips": clips, "kind": kind}
    answer = crew.call("manager", "POST", "/tasks/split", json=body)
    assert answer.status_code == 201, answer.text
    return [task["id"] for task in answer.json()]


def test_a_training_task_comes_first_and_is_scored_on_submit(crew: Crew) -> None:
    (normal,) = split(crew, "normal", [(0, 250)])
    (truth,) = split(crew, "ground_truth", [(0, 50)])
    (training,) = split(crew, "training", [(0, 50)])
    written = crew.call(
        "manager",
        "PUT",
        f"/tasks/{truth}/tracks/1",
        json={"track": track(10, 0, 49), "base_revision": 0},
    )
    assert written.status_code == 200, written.text
    crew.assign(normal)
    crew.assign(training)
    queued = crew.call("annotator", "POST", "/queue/next", json={}).json()
    assert queued["task"]["id"] == training, "training comes before real work"

    crew.act("annotator", training, "start")
    mine = crew.call(
        "annotator",
        "PUT",
        f"/tasks/{training}/tracks/1",
        json={"track": track(14, 0, 49), "base_revision": 0},
    )
    assert mine.status_code == 200, mine.text
    crew.act("annotator", training, "submit")
    history = crew.call("annotator", "GET", f"/tasks/{training}/history").json()
    assert "training score: HOTA" in history[-1]["note"]

    result = crew.call("annotator", "GET", f"/tasks/{training}/training")
    assert result.status_code == 200, result.text
    scores = result.json()
    assert scores["against"] == truth
    assert 0.5 < scores["mean_iou"] < 1.0  # 4 px off on a 20 px box: IoU 2/3
    assert scores["missing"] == 0 and scores["extra"] == 0

    assert crew.call("annotator2", "GET", f"/tasks/{training}/training").status_code == 404
    assert crew.call("manager", "GET", f"/tasks/{normal}/training").status_code == 422
