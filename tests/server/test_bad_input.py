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


# --- found by an audit (2026-11-28): inputs FastAPI's validation lets through ------------------

SURROGATE = '"\\ud800"'  # a JSON escape of a lone UTF-16 surrogate: not text


def _put_track(crew: Crew, task: int, track: int, body: str) -> object:
    headers = {**crew["annotator"].headers, "Content-Type": "application/json"}
    return crew.api.client.put(
        crew.url(f"/tasks/{task}/tracks/{track}"), content=body, headers=headers
    )


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ('{"track": {"label": "car", "source": ' + SURROGATE
         + ', "keyframes": []}, "base_revision": 0}', "track.source"),
        ('{"track": {"label": "car", "keyframes": [{"frame": 1, "shape": {"kind": "box", "x": 1, '
         '"y": 1, "w": 2, "h": 2}}]}, "base_revision": NaN}', "base_revision"),
        ('{"track": {"label": "car", "keyframes": []}, "base_revision": 0, ' + SURROGATE
         + ": 1}", "body"),
    ],
    ids=["surrogate-in-a-value", "nan-revision", "surrogate-in-a-key"],
)  # fmt: skip
def test_json_that_is_not_json_is_422_naming_the_field_and_stores_nothing(
    crew: Crew, source: str, field: str
) -> None:
    """A lone surrogate was stored (a 500 while answering), after which every read of the task
    (annotations, journal, undo, exports) was a 500; NaN was quoted back in FastAPI's 422,
    which could not be encoded: a 500."""
    crew.split()
    crew.assign(1)
    crew.act("annotator", 1, "start")
    answer = _put_track(crew, 1, 5, source)
    assert answer.status_code == 422, answer.text  # type: ignore[attr-defined]
    assert answer.json()["field"] == field, answer.text  # type: ignore[attr-defined]
    for path in ("/tasks/1/annotations", "/tasks/1/journal"):
        assert crew.call("annotator", "GET", path).status_code == 200
    assert crew.call("annotator", "GET", "/tasks/1/tracks/5").status_code == 404


def test_a_validation_error_quoting_nan_is_still_a_422(crew: Crew) -> None:
    """FastAPI's own 422 quotes the value it refused; a NaN or a surrogate there was a 500."""
    headers = {**crew["owner"].headers, "Content-Type": "application/json"}
    body = '{"name": "x", "schema": [{"name": "car", "kinds": ["box"], "attributes": NaN}]}'
    answer = crew.api.client.post("/api/projects", content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    body = '{"name": ["a", ' + SURROGATE + "]}"
    answer = crew.api.client.post("/api/projects", content=body, headers=headers)
    assert answer.status_code == 422, answer.text


def test_a_path_number_past_the_database_s_integers_is_422_on_sqlite_too(crew: Crew) -> None:
    """SQLite stored track 2**31 (up to 2**63), which PostgreSQL refuses."""
    crew.split()
    answer = crew.call("owner", "GET", f"/tasks/1/tracks/{2**31}")
    assert answer.status_code == 422 and answer.json()["field"] == "number", answer.text


def test_a_split_is_capped_and_only_of_this_project_s_videos(crew: Crew) -> None:
    """10**8 frames by 50 made two million tasks and held every writer for minutes."""
    body = {"video_id": 7, "frame_count": 100_000_000, "size": 50}
    answer = crew.call("manager", "POST", "/tasks/split", json=body)
    assert answer.status_code == 422 and "tasks" in answer.text, answer.text
    clips = {"video_id": 7, "frame_count": 100, "clips": [[0, 1]] * 10_001}
    assert crew.call("manager", "POST", "/tasks/split", json=clips).status_code == 422
    assert crew.call("manager", "GET", "/tasks").json() == []


def test_fastapi_s_422_drops_the_quoted_values_it_cannot_encode() -> None:
    """The handler behind every 422 of request validation, given errors quoting NaN and a
    lone surrogate (as FastAPI's own handler would, answering a 500 instead)."""
    import asyncio
    import json

    from fastapi.exceptions import RequestValidationError

    from tweenlab.server import errors

    quoted = [
        {"type": "int_type", "loc": ["body", "a"], "msg": "bad", "input": float("nan")},
        {"type": "string_type", "loc": ["body", "b"], "msg": "bad", "input": "\ud800"},
    ]
    answer = asyncio.run(errors._invalid_request(None, RequestValidationError(quoted)))  # type: ignore[arg-type]
    assert answer.status_code == 422
    detail = json.loads(answer.body)["detail"]
    assert [item["loc"] for item in detail] == [["body", "a"], ["body", "b"]]
    assert all("input" not in item for item in detail)


def test_a_schema_may_not_drop_a_label_tracks_still_have(crew: Crew) -> None:
    """It answered 200, after which saving, reading the states of and exporting those tracks
    all failed ("unknown label 'car'")."""
    crew.split()
    crew.assign(1)
    crew.act("annotator", 1, "start")
    track = {
        "label": "car",
        "keyframes": [{"frame": 1, "shape": {"kind": "box", "x": 1, "y": 1, "w": 2, "h": 2}}],
    }
    saved = crew.call(
        "annotator", "PUT", "/tasks/1/tracks/1", json={"track": track, "base_revision": 0}
    )
    assert saved.status_code == 200, saved.text
    bike = {"name": "bike", "kinds": ["box"]}
    answer = crew.call("owner", "PATCH", "", json={"schema": [bike]})
    assert answer.status_code == 409 and "'car' (1 tracks)" in answer.text, answer.text
    assert crew.call("annotator", "GET", "/tasks/1/tracks/1/states").status_code == 200
    added = crew.call(
        "owner", "PATCH", "", json={"schema": [{"name": "car", "kinds": ["box"]}, bike]}
    )
    assert added.status_code == 200, added.text  # adding a label is fine
