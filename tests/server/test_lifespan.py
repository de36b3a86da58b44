"""What the app sets up when it starts, besides the database (``create_app``'s lifespan)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from anyio import to_thread
from fastapi.testclient import TestClient

from tweenlab.server import create_app
from tweenlab.settings import Settings


def _thread_tokens() -> int:
    return int(to_thread.current_default_thread_limiter().total_tokens)


def test_blocking_work_runs_on_the_threads_the_setting_allows(migrated: Settings) -> None:
    assert Settings().server_threads == 4  # anyio's own default is 40
    settings = migrated.model_copy(update={"server_threads": 3})
    with TestClient(create_app(settings)) as client:
        assert client.portal is not None
        assert client.portal.call(_thread_tokens) == 3
        with ThreadPoolExecutor(8) as pool:  # more requests at once than threads: all served
            answers = list(pool.map(lambda _: client.get("/api/health").status_code, range(16)))
    assert answers == [200] * 16
