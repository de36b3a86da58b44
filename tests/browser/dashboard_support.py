"""Set-up shared by the dashboard and review browser tests: a real clip uploaded through the API,
a box track written into a task, heartbeats of a known length, and a second signed-in browser."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.browser.conftest import Live, Person, sign_in
from tweenlab.store import HeartbeatRow, utc_now

CLIP = "clips/basketball-handheld.mp4"  # 300 frames at 426x240: ingests in seconds


def upload(live: Live, who: Person, project: int, clip: Path) -> dict[str, Any]:
    """Upload ``clip`` and wait for its ingest; the video as stored (``Live.upload``)."""
    return live.upload(who, project, clip)


def box_track(frames: list[int], x: float = 40.0, label: str = "car") -> dict[str, Any]:
    """A box track with a keyframe on each of ``frames``."""
    keys = [
        {"frame": f, "shape": {"kind": "box", "x": x, "y": 30, "w": 60, "h": 40}} for f in frames
    ]
    return {"label": label, "keyframes": keys}


def write_track(live: Live, who: Person, project: int, task: int, track: dict[str, Any]) -> None:
    """Create track 1 of ``task`` as ``who``."""
    body = {"track": track, "base_revision": 0}
    live.call(who, "PUT", f"/projects/{project}/tasks/{task}/tracks/1", json=body)


def worked(live: Live, who: Person, task: int, seconds: int) -> None:
    """Heartbeats of ``who`` on ``task`` 100 s apart covering ``seconds``, ending an hour ago."""
    start: datetime = utc_now() - timedelta(hours=1, seconds=seconds)
    with live.database.session() as db:
        for offset in range(0, seconds + 1, 100):
            db.add(HeartbeatRow(user_id=who.id, task_id=task, at=start + timedelta(seconds=offset)))
        db.commit()


def signed_in_page(chromium: Any, live: Live, email: str) -> tuple[Any, Any]:
    """A browser context of its own (its own cookies) signed in as ``email``, and its page."""
    context = chromium.new_context(base_url=live.url, viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, email)
    return context, page
