"""Regressions the schemathesis run found: numbers past what the database stores are a 422,
never a 500, on both engines."""

from __future__ import annotations

import pytest

from tests.server.conftest import Crew

HUGE = 2**63


@pytest.mark.parametrize(
    ("method", "path", "params", "field"),
    [
        ("DELETE", f"/members/{HUGE}", None, "user_id"),
        ("PATCH", f"/members/{HUGE}", None, "user_id"),
        ("GET", f"/tasks/{HUGE}", None, "task_id"),
        ("GET", f"/videos/{HUGE}", None, "video_id"),
        ("GET", "/tasks/1/journal", {"track": HUGE}, "track"),
    ],
)
def test_a_number_too_large_for_the_database_is_422_naming_it(
    crew: Crew, method: str, path: str, params: dict[str, int] | None, field: str
) -> None:
    crew.split()
    body = {"role": "reviewer"} if method == "PATCH" else None
    answer = crew.call("owner", method, path, params=params, json=body)
    assert answer.status_code == 422, answer.text
    assert "out of range" in answer.json()["detail"]
    assert answer.json()["field"] == field


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/tasks/split", {"video_id": HUGE, "frame_count": 250, "size": 100}, "video_id"),
        ("/tasks/1/assign", {"assignee_id": 1, "reviewer_id": HUGE}, "reviewer_id"),
    ],
)
def test_a_body_number_too_large_for_the_database_is_422_naming_its_field(
    crew: Crew, path: str, body: dict[str, int], field: str
) -> None:
    crew.split()
    answer = crew.call("manager", "POST", path, json=body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field, answer.json()
    assert f"{field}: {HUGE}" in answer.json()["detail"]
