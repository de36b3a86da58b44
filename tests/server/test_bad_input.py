"""Regressions the schemathesis run found: numbers past what the database stores are a 422,
never a 500, on both engines."""

from __future__ import annotations

import pytest

from tests.server.conftest import Crew

HUGE = 2**63


@pytest.mark.parametrize(
    ("method", "path", "params"),
    [
        ("DELETE", f"/members/{HUGE}", None),
        ("PATCH", f"/members/{HUGE}", None),
        ("GET", f"/tasks/{HUGE}", None),
        ("GET", f"/videos/{HUGE}", None),
        ("GET", "/tasks/1/journal", {"track": HUGE}),
    ],
)
def test_a_number_too_large_for_the_database_is_422(
    crew: Crew, method: str, path: str, params: dict[str, int] | None
) -> None:
    crew.split()
    body = {"role": "reviewer"} if method == "PATCH" else None
    answer = crew.call("owner", method, path, params=params, json=body)
    assert answer.status_code == 422, answer.text
    assert "out of range" in answer.json()["detail"]
