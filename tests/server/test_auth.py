"""Sign-in, sessions, CSRF, API tokens, the sign-in rate limit and accounts, over HTTP."""

from __future__ import annotations

from datetime import timedelta
from threading import get_ident
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import PASSWORD, Api
from tweenlab.core.roles import Role
from tweenlab.core.schema import Schema
from tweenlab.errors import AuthenticationError, NotFoundError, NotMigratedError, RateLimitedError
from tweenlab.server import create_app, deps
from tweenlab.server.deps import AuthorisedRoute
from tweenlab.server.routers import ROUTERS
from tweenlab.server.routers import auth as auth_router
from tweenlab.services import accounts, projects
from tweenlab.services.projects import loaded
from tweenlab.settings import Settings
from tweenlab.store import Database, User, utc_now


def test_the_app_refuses_an_unmigrated_database_naming_the_command(
    server_settings: Settings,
) -> None:
    app = create_app(server_settings)
    with (
        pytest.raises(NotMigratedError, match=r"not set up: run `tweenlab db upgrade`"),
        TestClient(app),
    ):
        pass


def test_health_needs_no_sign_in(api: Api) -> None:
    answer = api.client.get("/api/health")
    assert answer.status_code == 200 and answer.json()["status"] == "ok"


def test_sign_in_sets_an_httponly_samesite_cookie_and_sign_out_ends_it(api: Api) -> None:
    api.account("ann@example.com")
    browser = TestClient(api.client.app)
    answer = browser.post(
        "/api/auth/login", json={"email": " Ann@Example.com", "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("tweenlab_session=")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie
    assert answer.json()["user"]["email"] == "ann@example.com"
    assert "password_hash" not in answer.json()["user"]
    me = browser.get("/api/auth/me")
    assert me.status_code == 200 and me.json()["via"] == "session"
    csrf = answer.json()["csrf_token"]
    assert me.json()["csrf_token"] == csrf  # a reloaded page recovers it
    assert browser.post("/api/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    browser.cookies.clear()
    browser.cookies.set("tweenlab_session", cookie.split(";")[0].split("=", 1)[1])
    assert browser.get("/api/auth/me").status_code == 401  # the old cookie no longer works


@pytest.mark.parametrize(
    ("email", "password"),
    [("ann@example.com", "wrong password"), ("nobody@example.com", PASSWORD)],
    ids=["wrong-password", "unknown-email"],
)
def test_a_failed_sign_in_is_401_with_one_message_for_both_causes(
    api: Api, email: str, password: str
) -> None:
    api.account("ann@example.com")
    answer = api.client.post("/api/auth/login", json={"email": email, "password": password})
    assert answer.status_code == 401
    assert answer.json() == {"detail": "wrong e-mail or password"}
    assert "set-cookie" not in answer.headers


def test_requests_without_credentials_are_401(api: Api) -> None:
    answer = api.client.get("/api/projects")
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"
    bad = api.client.get("/api/projects", headers={"Authorization": "Bearer twl_nope"})
    assert bad.status_code == 401
    basic = api.client.get("/api/projects", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401


def test_sign_in_is_rate_limited_per_account_and_address(api: Api) -> None:
    api.account("ann@example.com")
    wrong = {"email": "ann@example.com", "password": "wrong password"}
    for _ in range(api.settings.login_failures_per_minute):
        assert api.client.post("/api/auth/login", json=wrong).status_code == 401
    limited = api.client.post("/api/auth/login", json=wrong)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    right = {"email": "ann@example.com", "password": PASSWORD}
    assert api.client.post("/api/auth/login", json=right).status_code == 429
    with api.database.session() as db:  # the same account from another address is not limited
        accounts.sign_in(db, api.settings, "ann@example.com", PASSWORD, ip="10.0.0.2")


def test_the_rate_limit_window_slides(api: Api) -> None:
    api.account("ann@example.com")
    start = utc_now()
    with api.database.session() as db:
        for _ in range(api.settings.login_failures_per_minute):
            with pytest.raises(AuthenticationError):
                accounts.sign_in(db, api.settings, "ann@example.com", "nope", ip="a", now=start)
        later = start + timedelta(seconds=59)
        with pytest.raises(RateLimitedError) as limited:
            accounts.sign_in(db, api.settings, "ann@example.com", PASSWORD, ip="a", now=later)
        assert limited.value.retry_after_s == 1
        after = start + timedelta(seconds=61)
        done = accounts.sign_in(db, api.settings, "ann@example.com", PASSWORD, ip="a", now=after)
        assert done.user.email == "ann@example.com"


def test_cookie_requests_that_change_things_need_the_csrf_header(api: Api) -> None:
    api.account("ann@example.com")
    browser, csrf = api.browser("ann@example.com")
    body = {"name": "cars"}
    missing = browser.post("/api/projects", json=body)
    assert missing.status_code == 403 and "X-CSRF-Token" in missing.json()["detail"]
    wrong = browser.post("/api/projects", json=body, headers={"X-CSRF-Token": "x" + csrf})
    assert wrong.status_code == 403
    assert browser.get("/api/projects").json() == []  # nothing was created; GET needs none
    assert (
        browser.post("/api/projects", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    )


def test_bearer_requests_need_no_csrf_header(api: Api) -> None:
    ann = api.account("ann@example.com")
    answer = api.client.post("/api/projects", json={"name": "cars"}, headers=ann.headers)
    assert answer.status_code == 201


def test_api_tokens_are_shown_once_work_and_stop_when_revoked(api: Api) -> None:
    ann = api.account("ann@example.com")
    made = api.client.post("/api/tokens", json={"name": "script"}, headers=ann.headers)
    assert made.status_code == 201
    secret = made.json()["token"]
    assert secret.startswith("twl_") and secret.startswith(made.json()["prefix"])
    mine = {"Authorization": f"Bearer {secret}"}
    me = api.client.get("/api/auth/me", headers=mine)
    assert me.status_code == 200 and me.json() == {**me.json(), "via": "token"}
    assert me.json()["csrf_token"] is None
    listed = api.client.get("/api/tokens", headers=mine).json()
    assert [t["name"] for t in listed] == ["script", "tests"]
    assert all("token" not in t for t in listed) and secret not in str(listed)
    assert api.client.get("/api/tokens", headers=mine).json()[0]["last_used_at"] is not None
    revoked = api.client.delete(f"/api/tokens/{made.json()['id']}", headers=ann.headers)
    assert revoked.status_code == 204
    assert api.client.get("/api/auth/me", headers=mine).status_code == 401


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/auth/me", 200),
        ("POST", "/api/projects", 201),  # a write request: its checks end before its writes
        ("GET", "/api/projects/999999", 404),  # refused, but the token was used
    ],
    ids=["read", "write", "refused"],
)
def test_a_tokens_first_use_is_written_whatever_the_request(
    api: Api, method: str, path: str, status: int
) -> None:
    """A token's ``last_used_at`` is written on its first use, on every kind of request (a
    read, a write whose checks end before its writes, a refused one)."""
    ann = api.account("ann@example.com")
    made = api.client.post("/api/tokens", json={"name": "script"}, headers=ann.headers).json()
    mine = {"Authorization": f"Bearer {made['token']}"}
    body = {"name": "cars"} if method == "POST" else None
    assert api.client.request(method, path, headers=mine, json=body).status_code == status
    listed = api.client.get("/api/tokens", headers=ann.headers).json()
    assert next(t for t in listed if t["id"] == made["id"])["last_used_at"] is not None


def test_nobody_revokes_another_users_token(api: Api) -> None:
    ann, bob = api.account("ann@example.com"), api.account("bob@example.com")
    made = api.client.post("/api/tokens", json={"name": "x"}, headers=ann.headers).json()
    answer = api.client.delete(f"/api/tokens/{made['id']}", headers=bob.headers)
    assert answer.status_code == 404
    assert api.client.get("/api/auth/me", headers={"Authorization": f"Bearer {made['token']}"})


def test_only_a_site_admin_creates_and_lists_accounts(api: Api) -> None:
    admin, ann = api.account("root@example.com", admin=True), api.account("ann@example.com")
    body = {"email": "Cat@Example.com", "password": "long enough", "name": "Cat"}
    assert api.client.post("/api/users", json=body, headers=ann.headers).status_code == 403
    assert api.client.get("/api/users", headers=ann.headers).status_code == 403
    made = api.client.post("/api/users", json=body, headers=admin.headers)
    assert made.status_code == 201 and made.json()["email"] == "cat@example.com"
    again = api.client.post("/api/users", json=body, headers=admin.headers)
    assert again.status_code == 409 and again.json()["field"] == "email"
    emails = [u["email"] for u in api.client.get("/api/users", headers=admin.headers).json()]
    assert emails == ["root@example.com", "ann@example.com", "cat@example.com"]
    api.browser("cat@example.com", "long enough")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": "long enough"}, "email"),
        ({"email": "d@example.com", "password": "short"}, "password"),
        ({"password": "long enough"}, "email"),
        ({"email": "d@example.com", "password": "long enough", "is_admin": "maybe"}, "is_admin"),
    ],
    ids=["bad-email", "short-password", "missing-email", "bad-flag"],
)
def test_invalid_bodies_are_422_naming_the_field(
    api: Api, body: dict[str, object], field: str
) -> None:
    admin = api.account("root@example.com", admin=True)
    answer = api.client.post("/api/users", json=body, headers=admin.headers)
    assert answer.status_code == 422
    assert [e["loc"] for e in answer.json()["detail"]] == [["body", field]]


def test_an_unexpected_error_is_a_json_500(migrated: Settings) -> None:
    app = create_app(migrated)

    def boom() -> None:
        raise RuntimeError("bug")

    app.add_api_route("/api/boom", boom, tags=["test"])
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/api/boom")
    assert answer.status_code == 500 and answer.json() == {"detail": "internal error"}


def test_every_route_is_authorised_in_its_own_thread_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A route gets its ``Auth`` checked in the thread that runs its body: one hand-off to a
    worker thread per request, not one for the check and one for the body."""
    routes = [route for router in ROUTERS for route in router.routes]
    assert routes and all(isinstance(r, AuthorisedRoute) for r in routes), [
        getattr(r, "path", r) for r in routes if not isinstance(r, AuthorisedRoute)
    ]
    threads: list[tuple[str, int]] = []
    check = deps.Pending.check
    validate = auth_router.UserView.model_validate

    def checked(self: deps.Pending) -> deps.Auth:
        threads.append(("check", get_ident()))
        return check(self)

    def body(value: Any) -> Any:  # the first thing /api/auth/me's body does
        threads.append(("body", get_ident()))
        return validate(value)

    monkeypatch.setattr(deps.Pending, "check", checked)
    monkeypatch.setattr(auth_router.UserView, "model_validate", body)
    account = api.account("ann@example.com")
    assert api.client.get("/api/auth/me", headers=account.headers).status_code == 200
    assert [what for what, _ in threads] == ["check", "body"]
    assert threads[0][1] == threads[1][1] != get_ident()
    nobody = api.client.get("/api/auth/me", headers={"Authorization": "Bearer nonsense"})
    assert nobody.status_code == 401 and [what for what, _ in threads][2:] == ["check"]


def test_a_requests_session_is_closed_in_its_routes_thread_whatever_the_answer(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database session of a request is closed by the thread that ran its body, once the
    body is done (answered, refused or failed); a request refused before its body leaves no
    connection checked out either."""
    from sqlalchemy.orm import Session

    closed: list[int] = []
    bodies: list[int] = []
    close = Session.close
    validate = auth_router.UserView.model_validate

    def recorded_close(self: Session) -> None:
        closed.append(get_ident())
        close(self)

    def body(value: Any) -> Any:
        bodies.append(get_ident())
        return validate(value)

    monkeypatch.setattr(Session, "close", recorded_close)
    monkeypatch.setattr(auth_router.UserView, "model_validate", body)
    account = api.account("ann@example.com")
    pool = api.client.app.state.db.engine.pool
    closed.clear()
    assert api.client.get("/api/auth/me", headers=account.headers).status_code == 200
    assert closed == bodies and closed[0] != get_ident()
    assert pool.checkedout() == 0
    closed.clear()
    nobody = api.client.get("/api/auth/me", headers={"Authorization": "Bearer nonsense"})
    assert nobody.status_code == 401 and len(closed) == 1 and pool.checkedout() == 0
    unread = api.client.post("/api/tokens", json={"name": 5}, headers=account.headers)
    assert unread.status_code == 422 and pool.checkedout() == 0
    missing = api.client.get("/api/projects/999999", headers=account.headers)
    assert missing.status_code == 404 and pool.checkedout() == 0


def test_a_project_access_loads_the_user_and_project_only_when_asked(migrated: Settings) -> None:
    with Database(migrated.database) as database, database.session() as db:
        user = accounts.create_user(db, migrated, "who@example.com", "long enough", name="Who")
        project = projects.create_project(db, user, "p", schema=Schema.of("car"))
        user_id, project_id = user.id, project.id
    with Database(migrated.database) as database, database.session() as db:
        secret = accounts.create_token(db, loaded(db, User, user_id), "t")[1]
    with Database(migrated.database) as database, database.session() as db:
        caller = accounts.caller_for_token(db, secret, project_id=project_id)
        assert caller.user is None and caller.role == "owner"
        access = projects.access_from(
            db, caller.user_id, caller.is_admin, project_id, caller.label_schema, caller.role
        )
        assert access.label_schema == Schema.of("car").to_json()
        assert not db.identity_map  # no ORM object yet
        assert access.user.email == "who@example.com" and access.project.name == "p"
        assert access.user is loaded(db, User, user_id)  # one object per row in the session
        with pytest.raises(NotFoundError, match="no project 999"):
            projects.access_from(db, user_id, False, 999, None, None)
        gone = projects.Access(user_id, 999, Role.OWNER, [], db)
        with pytest.raises(NotFoundError, match="no project 999"):
            _ = gone.project
