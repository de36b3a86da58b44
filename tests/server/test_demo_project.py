"""``tweenlab serve --demo``'s project: made once (a second load changes nothing), its video
ready and served, split at the sample's cut, the sample's objects as tracks of the tasks; the
demo account signs in."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tweenlab.server import create_app
from tweenlab.services.demo_project import DEMO_EMAIL, DEMO_PASSWORD, load_demo_project
from tweenlab.settings import Settings


def test_the_demo_project_is_made_once_and_served(server_settings: Settings) -> None:
    first = load_demo_project(server_settings)
    again = load_demo_project(server_settings)
    assert (again.project_id, again.video_id) == (first.project_id, first.video_id)
    assert first.tasks == 2
    with TestClient(create_app(server_settings)) as client:
        login = client.post(
            "/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}
        )
        assert login.status_code == 200, login.text
        base = f"/api/projects/{first.project_id}"
        video = client.get(f"{base}/videos/{first.video_id}").json()
        assert video["status"] == "ready" and video["frame_count"] == 200
        frame = client.get(f"{base}/videos/{first.video_id}/frames/150")
        assert frame.status_code == 200 and frame.headers["content-type"] == "image/jpeg"
        tasks = client.get(f"{base}/tasks").json()
        assert [(t["start"], t["stop"]) for t in tasks] == [(0, 100), (100, 200)]
        for task in tasks:
            tracks = client.get(f"{base}/tasks/{task['id']}/annotations").json()["tracks"]
            assert tracks, f"task {task['id']} has no tracks"
            frames = [k["frame"] for t in tracks for k in t["track"]["keyframes"]]
            assert all(task["start"] <= f < task["stop"] for f in frames)
        assert client.get("/api/projects").json()[0]["name"] == "demo"
