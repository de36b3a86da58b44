"""Every route of the application against every role: who is refused, and how.

The routes come from the application itself (its OpenAPI document), so a new route fails
``test_every_route_has_an_expectation`` until it is given a line in ``ROUTES``. Each line names
the least role that may use the route, the request to send (path with real ids, body) and, where
the route itself refuses some roles the ``require`` check lets through (a heartbeat from
anyone but the task's annotator or reviewer, a submit by a reviewer), those callers.

Each write that should be let through runs on its own copy of one prepared database
(``tests.server.world``: every kind of object exists, so allowed callers get past existence
checks); reads and refused writes share the prepared one.

The expected class of answer:

- anonymous: 401 (``PUBLIC`` routes excepted);
- the outsider (a member of another project): 404 on anything of this project, as if it did not
  exist;
- a member below the least role (or refused by the route): 403;
- a member at or above it, and the site admin: anything but 401, 403 and 404; the objects exist,
  so a 404 there would be an authorisation bug (a 409 or 422 is the route's business).

Authorisation does not depend on the database engine, so this runs on SQLite only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import PASSWORD
from tests.server.world import ROLES, World, build_world, copy_of, track
from tweenlab.server import create_app
from tweenlab.settings import Settings

CALLERS = ("anonymous", "outsider", *ROLES, "admin")
PUBLIC = {("GET", "/api/health"), ("POST", "/api/auth/login")}
TASK = "/api/projects/{project}/tasks/{task}"
REVIEWED = "/api/projects/{project}/tasks/{reviewed}"


@dataclass(frozen=True)
class Case:
    """How to call one route and who may.

    Attributes:
        least: The least project role that may use it; None: any signed-in account;
            "admin": site admins only; "public": anyone, even anonymous.
        url: The path with ``{name}`` placeholders filled from ``World.ids`` (``{me_token}`` is
            the caller's own token).
        body: The JSON body, if any.
        refused: Callers at or above ``least`` (the site admin included) that the route itself
            refuses (403), e.g. who is not the task's annotator or reviewer.
        project: Whether the route belongs to the project (the outsider gets 404).
        content: A raw body instead of JSON.
    """

    least: str | None
    url: str
    body: dict[str, Any] | None = None
    refused: frozenset[str] = field(default_factory=frozenset)
    project: bool = True
    content: bytes | None = None


def _case(least: str | None, url: str, body: dict[str, Any] | None = None, **extra: Any) -> Case:
    return Case(least, url, body, **extra)


ROUTES: dict[tuple[str, str], Case] = {
    ("GET", "/api/health"): _case("public", "/api/health", project=False),
    ("POST", "/api/auth/login"): _case(
        "public",
        "/api/auth/login",
        {"email": "owner@example.com", "password": PASSWORD},
        project=False,
    ),
    ("POST", "/api/auth/logout"): _case(None, "/api/auth/logout", project=False),
    ("GET", "/api/auth/me"): _case(None, "/api/auth/me", project=False),
    ("POST", "/api/tokens"): _case(None, "/api/tokens", {"name": "ci"}, project=False),
    ("GET", "/api/tokens"): _case(None, "/api/tokens", project=False),
    ("GET", "/api/labelers"): _case(None, "/api/labelers", project=False),
    ("DELETE", "/api/tokens/{token_id}"): _case(None, "/api/tokens/{me_token}", project=False),
    ("POST", "/api/users"): _case(
        "admin", "/api/users", {"email": "new@example.com", "password": PASSWORD}, project=False
    ),
    ("GET", "/api/users"): _case("admin", "/api/users", project=False),
    ("POST", "/api/projects"): _case(None, "/api/projects", {"name": "new"}, project=False),
    ("GET", "/api/projects"): _case(None, "/api/projects", project=False),
    ("GET", "/api/projects/{project_id}"): _case("annotator", "/api/projects/{project}"),
    ("GET", "/api/projects/{project_id}/guidelines"): _case(
        "annotator", "/api/projects/{project}/guidelines"
    ),
    ("PATCH", "/api/projects/{project_id}"): _case(
        "manager", "/api/projects/{project}", {"guidelines": "new"}
    ),
    ("GET", "/api/projects/{project_id}/members"): _case(
        "annotator", "/api/projects/{project}/members"
    ),
    ("POST", "/api/projects/{project_id}/members"): _case(
        "manager",
        "/api/projects/{project}/members",
        {"email": "spare@example.com", "role": "annotator"},
    ),
    ("PATCH", "/api/projects/{project_id}/members/{user_id}"): _case(
        "manager", "/api/projects/{project}/members/{annotator2}", {"role": "reviewer"}
    ),
    ("DELETE", "/api/projects/{project_id}/members/{user_id}"): _case(
        "manager", "/api/projects/{project}/members/{annotator2}"
    ),
    ("POST", "/api/projects/{project_id}/videos"): _case(
        "manager", "/api/projects/{project}/videos?name=clip.mp4", content=b"not a video"
    ),
    ("POST", "/api/projects/{project_id}/videos/register"): _case(
        "manager", "/api/projects/{project}/videos/register", {"path": "clip.mp4"}
    ),
    ("GET", "/api/projects/{project_id}/videos"): _case(
        "annotator", "/api/projects/{project}/videos"
    ),
    ("GET", "/api/projects/{project_id}/videos/{video_id}"): _case(
        "annotator", "/api/projects/{project}/videos/{video}"
    ),
    ("DELETE", "/api/projects/{project_id}/videos/{video_id}"): _case(
        "manager", "/api/projects/{project}/videos/{video}"
    ),
    ("POST", "/api/projects/{project_id}/videos/{video_id}/autolabel"): _case(
        "manager",
        "/api/projects/{project}/videos/{video}/autolabel",
        {"labeler": "no-such-labeler"},  # 422 before any job
    ),
    ("GET", "/api/projects/{project_id}/videos/{video_id}/frames/{n}"): _case(
        "annotator", "/api/projects/{project}/videos/{video}/frames/3"
    ),
    ("GET", "/api/projects/{project_id}/videos/{video_id}/codec"): _case(
        "annotator", "/api/projects/{project}/videos/{video}/codec"
    ),
    ("GET", "/api/projects/{project_id}/videos/{video_id}/chunks/{k}"): _case(
        "annotator", "/api/projects/{project}/videos/{video}/chunks/0"
    ),
    ("GET", "/api/jobs/{job_id}"): _case("annotator", "/api/jobs/{job}"),
    ("POST", "/api/jobs/{job_id}/cancel"): _case("manager", "/api/jobs/{job}/cancel"),
    ("GET", "/api/jobs/{job_id}/events"): _case("annotator", "/api/jobs/{job}/events"),
    ("POST", "/api/projects/{project_id}/tasks/split"): _case(
        "manager",
        "/api/projects/{project}/tasks/split",
        {"video_id": "{video}", "frame_count": 24, "size": 12, "overlap": 0},
    ),
    ("GET", "/api/projects/{project_id}/tasks"): _case(
        "annotator", "/api/projects/{project}/tasks"
    ),
    ("GET", "/api/projects/{project_id}/tasks/{task_id}"): _case("annotator", TASK),
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/assign"): _case(
        "manager", TASK + "/assign", {"assignee_id": "{annotator2}", "reviewer_id": "{reviewer}"}
    ),
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/actions/{action}"): _case(
        "annotator",
        TASK + "/actions/submit",
        {"note": ""},
        refused=frozenset({"reviewer"}),  # only its annotator or a manager
    ),
    ("GET", "/api/projects/{project_id}/tasks/{task_id}/history"): _case(
        "annotator", TASK + "/history"
    ),
    ("POST", "/api/projects/{project_id}/queue/next"): _case(
        "annotator", "/api/projects/{project}/queue/next"
    ),
    ("GET", "/api/projects/{project_id}/tasks/{task_id}/annotations"): _case(
        "annotator", TASK + "/annotations"
    ),
    ("GET", "/api/projects/{project_id}/tasks/{task_id}/tracks/{number}"): _case(
        "annotator", TASK + "/tracks/1"
    ),
    ("GET", "/api/projects/{project_id}/tasks/{task_id}/tracks/{number}/states"): _case(
        "annotator", TASK + "/tracks/1/states"
    ),
    ("PUT", "/api/projects/{project_id}/tasks/{task_id}/tracks/{number}"): _case(
        "annotator", TASK + "/tracks/1", {"track": track(0, 10), "base_revision": 1}
    ),
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/tracks/{number}/fill"): _case(
        "annotator", TASK + "/tracks/1/fill", {"base_revision": 1}
    ),
    ("DELETE", "/api/projects/{project_id}/tasks/{task_id}/tracks/{number}"): _case(
        "annotator", TASK + "/tracks/1"
    ),
    ("GET", "/api/projects/{project_id}/tasks/{task_id}/tracks/{number}/confidence"): _case(
        "annotator", TASK + "/tracks/1/confidence"
    ),
    ("GET", "/api/projects/{project_id}/tasks/{task_id}/keyframes"): _case(
        "annotator", TASK + "/keyframes"
    ),
    ("GET", "/api/projects/{project_id}/tasks/{task_id}/journal"): _case(
        "annotator", TASK + "/journal"
    ),
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/undo"): _case("annotator", TASK + "/undo"),
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/autolabel"): _case(
        "manager",
        TASK + "/autolabel",
        {"labeler": "no-such-labeler"},  # 422 before any job
    ),
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/predictions/accept"): _case(
        "annotator", TASK + "/predictions/accept", {"tracks": None}
    ),
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/predictions/reject"): _case(
        "annotator", TASK + "/predictions/reject", {"tracks": None}
    ),
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/issues"): _case(
        "reviewer",
        REVIEWED + "/issues",
        {"frame": 14, "region": {"x": 1, "y": 2, "w": 3, "h": 4}, "text": "loose"},
    ),
    ("GET", "/api/projects/{project_id}/tasks/{task_id}/issues"): _case(
        "annotator", REVIEWED + "/issues"
    ),
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/issues/{issue_id}/comments"): _case(
        "annotator", REVIEWED + "/issues/{issue}/comments", {"text": "why?"}
    ),
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/issues/{issue_id}/resolve"): _case(
        "reviewer", REVIEWED + "/issues/{issue}/resolve"
    ),
    ("POST", "/api/projects/{project_id}/tasks/{task_id}/heartbeat"): _case(
        "annotator",
        TASK + "/heartbeat",
        refused=frozenset({"manager", "owner", "admin"}),  # its annotator or reviewer only
    ),
    ("GET", "/api/projects/{project_id}/tasks/{task_id}/quality"): _case(
        "annotator",
        TASK + "/quality?against={reviewed}",
        refused=frozenset({"annotator"}),  # managers and the task's reviewer
    ),
    ("GET", "/api/projects/{project_id}/tasks/{task_id}/training"): _case(
        "annotator", TASK + "/training"
    ),
    ("GET", "/api/projects/{project_id}/quality/consensus"): _case(
        "manager", "/api/projects/{project}/quality/consensus?tasks={task}&tasks={reviewed}"
    ),
    ("GET", "/api/projects/{project_id}/pay/rates"): _case(
        "annotator", "/api/projects/{project}/pay/rates"
    ),
    ("PUT", "/api/projects/{project_id}/pay/rates"): _case(
        "manager", "/api/projects/{project}/pay/rates", {"currency": "EUR"}
    ),
    ("GET", "/api/projects/{project_id}/pay/statement"): _case(
        "annotator",
        "/api/projects/{project}/pay/statement?person={annotator}",
        refused=frozenset({"reviewer"}),  # managers and owners, or the person themself
    ),
    ("POST", "/api/projects/{project_id}/exports"): _case(
        "manager", "/api/projects/{project}/exports", {"video_id": "{video}", "format": "native"}
    ),
    ("GET", "/api/projects/{project_id}/exports/{job_id}/download"): _case(
        "manager", "/api/projects/{project}/exports/{export}/download"
    ),
    ("GET", "/api/projects/{project_id}/activity"): _case(
        "manager", "/api/projects/{project}/activity"
    ),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The prepared database (built once for the module)."""
    return build_world(tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def shared(world: World) -> Iterator[TestClient]:
    """The application on the prepared database itself, for requests that change nothing
    (reads, and writes that must be refused)."""
    with TestClient(create_app(world.settings)) as client:
        yield client


@pytest.fixture
def fresh(world: World, tmp_path: Path) -> Iterator[TestClient]:
    """The application on a private copy of the prepared database (for writes let through)."""
    yield from copy_of(world, tmp_path)


def _fill(value: Any, ids: dict[str, int | str]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _expected(case: Case, who: str) -> str:
    if case.least == "public":
        return "allowed"
    if who == "anonymous":
        return "401"
    if who == "outsider" and case.project:
        return "404"
    if who == "admin" and who not in case.refused:
        return "allowed"
    if case.least == "admin" or who in case.refused:
        return "403"
    if case.least is None:
        return "allowed"
    if ROLES.index(who) < ROLES.index(case.least):
        return "403"
    return "allowed"


def _routes(app: Any) -> set[tuple[str, str]]:
    document = app.openapi()
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def test_every_route_has_an_expectation() -> None:
    routes = _routes(create_app(Settings(database_url="sqlite://")))
    missing = sorted(routes - ROUTES.keys())
    assert not missing, f"add these routes to ROUTES in {__file__}: {missing}"
    assert not ROUTES.keys() - routes, (
        f"ROUTES names routes that are gone: {ROUTES.keys() - routes}"
    )


@pytest.mark.parametrize("who", CALLERS)
@pytest.mark.parametrize("route", sorted(ROUTES), ids=[f"{m} {p}" for m, p in sorted(ROUTES)])
def test_every_route_against_every_role(
    world: World,
    shared: TestClient,
    request: pytest.FixtureRequest,
    route: tuple[str, str],
    who: str,
) -> None:
    case = ROUTES[route]
    expected = _expected(case, who)
    writes = route[0] != "GET" and expected == "allowed"
    client = request.getfixturevalue("fresh") if writes else shared
    ids = {**world.ids, "me_token": world.tokens.get(who, 0)}
    url = case.url.format(**ids)
    kwargs: dict[str, Any] = {"headers": world.headers[who]}
    if case.content is not None:
        kwargs["content"] = case.content
        kwargs["headers"] = {**kwargs["headers"], "Content-Type": "application/octet-stream"}
    elif case.body is not None:
        kwargs["json"] = _fill(case.body, world.ids)
    answer = client.request(route[0], url, **kwargs)
    what = f"{route[0]} {url} as {who}: {answer.status_code} {answer.text[:300]}"
    if expected == "allowed":
        assert answer.status_code not in {401, 403, 404}, what
        assert answer.status_code < 500, what
    else:
        assert answer.status_code == int(expected), what
