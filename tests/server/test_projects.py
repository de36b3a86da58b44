"""Projects and members over HTTP: who sees what, who may change what, the last owner, and
label schemas validated field by field; plus the OpenAPI document's stable operation ids."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from tests.server.conftest import Account, Api
from tweenlab.server.routers import ROUTERS

ROLES = ("annotator", "reviewer", "manager", "owner")
CAR = {"name": "car", "kinds": ["box"], "attributes": [{"name": "parked", "kind": "checkbox"}]}


@pytest.fixture
def team(api: Api) -> dict[str, Account]:
    """An owner's project ``cars`` with one member per role, an outsider and a site admin."""
    people = {role: api.account(f"{role}@example.com") for role in ROLES}
    people["outsider"] = api.account("outsider@example.com")
    people["admin"] = api.account("admin@example.com", admin=True)
    project = api.project(people["owner"], schema=[CAR], guidelines="# Cars\nBox every car.")
    assert project["id"] == 1
    for role in ("annotator", "reviewer", "manager"):
        api.add(people["owner"], 1, people[role], role)
    api.project(people["outsider"], "other")
    return people


def test_the_creator_owns_the_project_and_the_schema_is_stored_whole(api: Api) -> None:
    ann = api.account("ann@example.com")
    project = api.project(ann, schema=[CAR], guidelines="Box every car.")
    assert project["role"] == "owner" and project["created_by"] == ann.id
    label = project["schema"][0]
    assert label["name"] == "car" and label["kinds"] == ["box"] and label["color"] == "#e6194b"
    assert label["attributes"][0]["default"] is False
    got = api.client.get(f"/api/projects/{project['id']}", headers=ann.headers).json()
    assert got == project


@pytest.mark.parametrize(
    ("who", "visible"),
    [
        ("annotator", ["cars"]),
        ("manager", ["cars"]),
        ("outsider", ["other"]),
        ("admin", ["cars", "other"]),
    ],
)
def test_each_user_lists_only_their_projects(
    api: Api, team: dict[str, Account], who: str, visible: list[str]
) -> None:
    listed = api.client.get("/api/projects", headers=team[who].headers).json()
    assert [p["name"] for p in listed] == visible


# route, method, the least role that may use it (None: nobody in the project below owner)
MATRIX: list[tuple[str, str, str, dict[str, Any] | None]] = [
    ("GET", "/api/projects/1", "annotator", None),
    ("PATCH", "/api/projects/1", "manager", {"guidelines": "new"}),
    ("GET", "/api/projects/1/members", "annotator", None),
    (
        "POST",
        "/api/projects/1/members",
        "manager",
        {"email": "new@example.com", "role": "annotator"},
    ),
    ("PATCH", "/api/projects/1/members/{annotator}", "manager", {"role": "reviewer"}),
    ("DELETE", "/api/projects/1/members/{annotator}", "manager", None),
]


@pytest.mark.parametrize("route", MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
@pytest.mark.parametrize("who", [*ROLES, "outsider", "admin"])
def test_every_project_route_against_every_role(
    api: Api, team: dict[str, Account], who: str, route: tuple[str, str, str, dict[str, Any] | None]
) -> None:
    method, path, least, body = route
    api.account("new@example.com")
    url = path.format(annotator=team["annotator"].id)
    answer = api.client.request(method, url, json=body, headers=team[who].headers)
    if who == "outsider":
        assert answer.status_code == 404, answer.text  # as if the project did not exist
        assert answer.json() == {"detail": "no project 1"}
        elsewhere = url.replace("/projects/1", "/projects/999")
        missing = api.client.request(method, elsewhere, json=body, headers=team[who].headers)
        assert missing.status_code == 404 and missing.json() == {"detail": "no project 999"}
    elif who == "admin" or ROLES.index(who) >= ROLES.index(least):
        assert answer.status_code in (200, 201, 204), answer.text
    else:
        assert answer.status_code == 403, answer.text


def test_a_role_is_never_granted_above_the_grantors_own(api: Api, team: dict[str, Account]) -> None:
    manager, owner = team["manager"], team["owner"]
    newcomer = api.account("new@example.com")
    up = {"email": newcomer.email, "role": "owner"}
    assert (
        api.client.post("/api/projects/1/members", json=up, headers=manager.headers).status_code
        == 403
    )
    promote = api.client.patch(
        f"/api/projects/1/members/{manager.id}", json={"role": "owner"}, headers=manager.headers
    )
    assert promote.status_code == 403
    demote_owner = api.client.patch(
        f"/api/projects/1/members/{owner.id}", json={"role": "annotator"}, headers=manager.headers
    )
    assert demote_owner.status_code == 403
    assert (
        api.client.post("/api/projects/1/members", json=up, headers=owner.headers).status_code
        == 201
    )


def test_the_last_owner_can_neither_step_down_nor_be_removed(
    api: Api, team: dict[str, Account]
) -> None:
    owner, manager = team["owner"], team["manager"]
    url = f"/api/projects/1/members/{owner.id}"
    step_down = api.client.patch(url, json={"role": "manager"}, headers=owner.headers)
    assert step_down.status_code == 409 and step_down.json()["field"] == "role"
    assert api.client.delete(url, headers=owner.headers).status_code == 409
    promote = api.client.patch(
        f"/api/projects/1/members/{manager.id}", json={"role": "owner"}, headers=owner.headers
    )
    assert promote.status_code == 200 and promote.json()["role"] == "owner"
    assert api.client.delete(url, headers=manager.headers).status_code == 204
    assert api.client.get("/api/projects/1", headers=owner.headers).status_code == 404
    members = api.client.get("/api/projects/1/members", headers=manager.headers).json()
    assert [(m["user"]["email"], m["role"]) for m in members] == [
        ("manager@example.com", "owner"),
        ("reviewer@example.com", "reviewer"),
        ("annotator@example.com", "annotator"),
    ]


def test_adding_members_checks_the_account_and_duplicates(
    api: Api, team: dict[str, Account]
) -> None:
    owner = team["owner"]
    unknown = {"email": "ghost@example.com", "role": "annotator"}
    assert (
        api.client.post("/api/projects/1/members", json=unknown, headers=owner.headers).status_code
        == 404
    )
    again = {"email": team["reviewer"].email, "role": "annotator"}
    twice = api.client.post("/api/projects/1/members", json=again, headers=owner.headers)
    assert twice.status_code == 409 and twice.json()["field"] == "email"
    bad_role = {"email": team["outsider"].email, "role": "boss"}
    answer = api.client.post("/api/projects/1/members", json=bad_role, headers=owner.headers)
    assert answer.status_code == 422 and answer.json()["detail"][0]["loc"] == ["body", "role"]


def test_a_manager_updates_the_schema_and_guidelines(api: Api, team: dict[str, Account]) -> None:
    person = {"name": "person", "kinds": ["box", "points"]}
    answer = api.client.patch(
        "/api/projects/1", json={"schema": [CAR, person]}, headers=team["manager"].headers
    )
    assert answer.status_code == 200, answer.text
    assert [label["name"] for label in answer.json()["schema"]] == ["car", "person"]
    assert answer.json()["guidelines"] == "# Cars\nBox every car."  # left as it was


def test_a_skeleton_label_keeps_its_points_and_edges(api: Api, team: dict[str, Account]) -> None:
    skeleton = {"nodes": ["head", "neck", "hip"], "edges": [[0, 1], [1, 2]]}
    pose = {"name": "pose", "kinds": ["skeleton"], "skeleton": skeleton}
    answer = api.client.patch(
        "/api/projects/1", json={"schema": [CAR, pose]}, headers=team["manager"].headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["schema"][1]["skeleton"] == skeleton
    stored = api.client.get("/api/projects/1", headers=team["manager"].headers).json()
    assert stored["schema"][1]["skeleton"] == skeleton and "skeleton" not in stored["schema"][0]


@pytest.mark.parametrize(
    ("schema", "loc", "message"),
    [
        ([{"name": "car", "kinds": ["boxx"]}], ["body", "schema", 0, "kinds", 0], "box"),
        ([{"name": "car", "color": "red"}], ["body", "schema"], "#rrggbb"),
        ([{"name": "car"}, {"name": "car"}], ["body", "schema"], "label names repeat"),
        (
            [{"name": "car", "attributes": [{"name": "a", "kind": "select"}]}],
            ["body", "schema"],
            "value",
        ),
        ([{"name": "car", "colour": "#ffffff"}], ["body", "schema", 0, "colour"], "Extra"),
        ("car", ["body", "schema"], "list"),
        (
            [{"name": "pose", "skeleton": {"nodes": ["a", "b"], "edges": [[0, 2]]}}],
            ["body", "schema"],
            "edge (0, 2)",
        ),
        (
            [{"name": "pose", "skeleton": {"nodes": []}}],
            ["body", "schema", 0, "skeleton", "nodes"],
            "at least 1",
        ),
    ],
    ids=[
        "shape-kind",
        "colour",
        "repeated",
        "select-without-values",
        "unknown-key",
        "not-a-list",
        "skeleton-edge",
        "skeleton-without-points",
    ],
)
def test_a_bad_schema_is_422_naming_where(
    api: Api, schema: object, loc: list[object], message: str
) -> None:
    ann = api.account("ann@example.com")
    answer = api.client.post(
        "/api/projects", json={"name": "x", "schema": schema}, headers=ann.headers
    )
    assert answer.status_code == 422
    error = answer.json()["detail"][0]
    assert error["loc"] == loc and message in error["msg"]


def test_operation_ids_are_router_and_function(api: Api) -> None:
    spec = api.client.get("/api/openapi.json").json()
    ids = [op["operationId"] for path in spec["paths"].values() for op in path.values()]
    assert len(ids) == len(set(ids))
    for expected in (
        "auth_login",
        "projects_create_project",
        "members_change_role",
        "tokens_revoke_token",
    ):
        assert expected in ids


PUBLIC = {("GET", "/api/health"), ("POST", "/api/auth/login")}


def test_every_route_but_health_and_login_is_authorised_by_require(api: Api) -> None:
    def calls(dependant: Dependant) -> Iterator[object]:
        for sub in dependant.dependencies:
            yield sub.call
            yield from calls(sub)

    # the routers create_app mounts under /api (newer FastAPI keeps app.routes unflattened)
    checked = set()
    for router in ROUTERS:
        for route in router.routes:
            assert isinstance(route, APIRoute), route
            guarded = any(
                getattr(call, "__qualname__", "") == "require.<locals>.authorise"
                for call in calls(route.dependant)
            )
            for method in route.methods:
                key = (method, f"/api{route.path}")
                checked.add(key)
                assert guarded != (key in PUBLIC), key
    spec = api.client.get("/api/openapi.json").json()
    served = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert checked == served  # every route the application serves was checked


def test_no_request_matches_routes_of_two_routers() -> None:
    """ROUTERS is ordered by traffic, so no request may be answered differently by its order:
    two routes of different routers never match one path with one method."""

    def could_both_match(a: str, b: str) -> bool:
        left, right = a.strip("/").split("/"), b.strip("/").split("/")
        if any(":path" in part for part in left + right):
            return True
        return len(left) == len(right) and all(
            x == y or x.startswith("{") or y.startswith("{")
            for x, y in zip(left, right, strict=True)
        )

    routes = [
        (index, route.path, route.methods)
        for index, router in enumerate(ROUTERS)
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    clashes = [
        (a[1], b[1])
        for a, b in itertools.combinations(routes, 2)
        if a[0] != b[0] and a[2] & b[2] and could_both_match(a[1], b[1])
    ]
    assert not clashes


def test_every_operation_declares_the_error_body_it_answers_with(api: Api) -> None:
    """Clients generated from the document know tweenlab's error shape (the schemathesis run
    checks real answers against it)."""
    spec = api.client.get("/api/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            for status in ("404", "409", "422"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
    body = spec["components"]["schemas"]["ErrorBody"]
    assert set(body["required"]) == {"detail"} and "field" in body["properties"]
