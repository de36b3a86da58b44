"""Schemathesis against the application's own OpenAPI document: no request, however odd, gets a
5xx.

Each operation runs on a private copy of the prepared world (``tests.server.world``), signed in
as the project's owner with an API token; the project, task, video, job and issue in the path
are the world's real ones (the other path parameters, queries and bodies are generated), so the
requests get past authorisation and existence checks into the handlers. Bounded: a few examples
per operation, derandomized so a failure reproduces. SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.server.world import World, build_world, copy_of

EXAMPLES = 4
REAL = ("project_id", "task_id", "video_id", "job_id", "issue_id")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The prepared database (built once for the module)."""
    return build_world(tmp_path_factory.mktemp("world"))


@pytest.fixture
def client(world: World, tmp_path: Path) -> Iterator[TestClient]:
    """The application, started, on a private copy of the world."""
    yield from copy_of(world, tmp_path)


@pytest.fixture
def api_schema(client: TestClient, world: World) -> Any:
    """The OpenAPI document of the started application, with the world's ids in the paths."""
    loaded = schemathesis.openapi.from_asgi("/api/openapi.json", client.app)
    ids = {
        "project_id": world.ids["project"],
        "task_id": world.ids["task"],
        "video_id": world.ids["video"],
        "job_id": world.ids["job"],
        "issue_id": world.ids["issue"],
    }
    owner_token = world.tokens["owner"]

    @loaded.hook
    def map_path_parameters(_context: Any, path_parameters: dict[str, Any] | None) -> Any:
        if not isinstance(path_parameters, dict):
            return path_parameters
        mapped = {**path_parameters, **{k: ids[k] for k in REAL if k in path_parameters}}
        if mapped.get("token_id") == owner_token:  # revoking it would sign the run out
            mapped["token_id"] = owner_token + 1000
        return mapped

    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_request_gets_a_server_error(case: Any, world: World) -> None:
    case.call_and_validate(
        headers=world.headers["owner"],
        checks=[not_a_server_error, response_schema_conformance],
    )
