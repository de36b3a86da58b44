"""Accounts: users, passwords, sign-in with a rate limit, browser sessions and API tokens.

Each function is one use case over an open ``Session`` and commits what it changes. Secrets
(session ids, API tokens) are random, handed out once and stored only as SHA-256 digests, so a
copy of the database lets nobody sign in. Passwords are hashed with Argon2id; a sign-in with an
unknown e-mail still verifies a hash, so timing does not tell which accounts exist.

Every request asks who is calling, and most ask about a project too, so ``caller_for_token``
and ``caller_for_session`` answer both in one query, built once: the secret's row joined to its
user and, when a project is named, to that project and the user's membership there.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, bindparam, delete, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from tweenlab.errors import (
    AuthenticationError,
    ConflictError,
    FieldError,
    NotFoundError,
    RateLimitedError,
    UsageError,
)
from tweenlab.settings import Settings
from tweenlab.store import (
    ApiToken,
    BrowserSession,
    LoginFailure,
    Membership,
    Project,
    User,
    checks_first,
    utc_now,
)

__all__ = [
    "MAX_EMAIL_LENGTH",
    "MAX_NAME_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "TOKEN_PREFIX",
    "Caller",
    "SignIn",
    "caller_for_session",
    "caller_for_token",
    "create_token",
    "create_user",
    "csrf_matches",
    "digest",
    "list_tokens",
    "list_users",
    "normalise_email",
    "revoke_token",
    "sign_in",
    "sign_out",
    "user_for_session",
    "user_for_token",
]

MIN_PASSWORD_LENGTH = 8
# the columns' sizes (models.User), checked here so that both databases refuse the same values
MAX_EMAIL_LENGTH = 320
MAX_NAME_LENGTH = 200
TOKEN_PREFIX = "twl_"
RATE_WINDOW = timedelta(minutes=1)
TOKEN_TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


@dataclass(frozen=True)
class SignIn:
    """A new browser session: the cookie value and CSRF token are known only to the caller.

    Attributes:
        user: Who signed in.
        session_id: The secret for the session cookie.
        csrf_token: The token the browser sends back in ``X-CSRF-Token`` on unsafe requests.
        expires_at: When the session ends.
    """

    user: User
    session_id: str
    csrf_token: str
    expires_at: datetime


def digest(secret: str) -> str:
    """SHA-256 hex of a secret: what the database keeps of session ids and tokens."""
    return hashlib.sha256(secret.encode()).hexdigest()


@cache
def _hasher(memory_kib: int, time_cost: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=4)


def _hasher_for(settings: Settings) -> PasswordHasher:
    return _hasher(settings.argon2_memory_kib, settings.argon2_time_cost)


@cache
def _decoy_hash(memory_kib: int, time_cost: int) -> str:
    return _hasher(memory_kib, time_cost).hash(secrets.token_hex(16))


def normalise_email(email: str) -> str:
    """E-mail as stored: trimmed and lower-case; raises ``UsageError`` if it is not one."""
    email = email.strip().lower()
    if len(email) > MAX_EMAIL_LENGTH:
        raise FieldError("email", f"at most {MAX_EMAIL_LENGTH} characters, not {len(email)}")
    local, _, domain = email.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in email):
        raise UsageError(f"email: {email!r} is not an e-mail address")
    return email


def create_user(
    db: Session,
    settings: Settings,
    email: str,
    password: str,
    *,
    name: str = "",
    admin: bool = False,
) -> User:
    """Create an account; ``admin`` makes a site owner. A taken e-mail is a ``ConflictError``."""
    email = normalise_email(email)
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise FieldError("name", f"at most {MAX_NAME_LENGTH} characters, not {len(name)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UsageError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    hashed = _hasher_for(settings).hash(password)  # before the transaction: it takes a while
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise ConflictError(f"{email} already has an account", field="email")
    user = User(
        email=email,
        name=name or email.split("@")[0][:MAX_NAME_LENGTH],  # a derived name is cut to fit
        password_hash=hashed,
        is_admin=admin,
        active=True,
    )
    db.add(user)
    db.commit()
    return user


def list_users(db: Session) -> list[User]:
    """Every account, oldest first."""
    return list(db.scalars(select(User).order_by(User.id)))


def sign_in(
    db: Session,
    settings: Settings,
    email: str,
    password: str,
    *,
    ip: str,
    now: datetime | None = None,
) -> SignIn:
    """Check a password and open a session, at most N failures a minute per e-mail and address.

    Raises:
        RateLimitedError: Too many failures for this e-mail from this address in the last minute.
        AuthenticationError: Unknown e-mail, wrong password or a deactivated account (one message
            for all three).
    """
    now = now or utc_now()
    email = email.strip().lower()
    # Argon2 takes a tenth of a second: checked before the writes, so that on SQLite no saves
    # wait for the write lock while it runs
    with checks_first(db):
        _check_rate(db, settings, email, ip, now)
        user = db.scalar(select(User).where(User.email == email))
        if user is None:
            _verify_decoy(settings, password)
        verified = user is not None and user.active and _verify(settings, user, password)
    if user is None or not verified:
        db.add(LoginFailure(email=email, ip=ip, at=now))
        db.commit()
        raise AuthenticationError("wrong e-mail or password")
    if verified is not True:  # the cost settings changed since the hash was made
        user.password_hash = verified
    db.execute(delete(LoginFailure).where(LoginFailure.email == email, LoginFailure.ip == ip))
    db.execute(delete(BrowserSession).where(BrowserSession.expires_at < now))
    session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires = now + timedelta(hours=settings.session_hours)
    db.add(
        BrowserSession(
            id_hash=digest(session_id),
            user=user,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
        )
    )
    db.commit()
    return SignIn(user, session_id, csrf, expires)


def _check_rate(db: Session, settings: Settings, email: str, ip: str, now: datetime) -> None:
    since = now - RATE_WINDOW
    recent = select(func.count(), func.min(LoginFailure.at)).where(
        LoginFailure.email == email, LoginFailure.ip == ip, LoginFailure.at > since
    )
    count, oldest = db.execute(recent).one()
    if count >= settings.login_failures_per_minute:
        wait = (oldest + RATE_WINDOW - now).total_seconds()
        raise RateLimitedError("too many failed sign-ins", retry_after_s=math.ceil(wait))


def _verify(settings: Settings, user: User, password: str) -> bool | str:
    """Whether ``password`` is the user's: False, True, or the new hash to store when the cost
    settings changed since theirs was made."""
    hasher = _hasher_for(settings)
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        return hasher.hash(password)
    return True


def _verify_decoy(settings: Settings, password: str) -> None:
    decoy = _decoy_hash(settings.argon2_memory_kib, settings.argon2_time_cost)
    with contextlib.suppress(VerificationError):
        _hasher_for(settings).verify(decoy, password)


def user_for_session(
    db: Session, session_id: str, *, now: datetime | None = None
) -> tuple[User, BrowserSession]:
    """The user of a session cookie and the session, or ``AuthenticationError``."""
    caller = caller_for_session(db, session_id, now=now)
    assert caller.user is not None and caller.session is not None, "no project asked about"
    return caller.user, caller.session


def csrf_matches(row: BrowserSession, token: str | None) -> bool:
    """True when ``token`` is the session's CSRF token (compared in constant time)."""
    return token is not None and hmac.compare_digest(row.csrf_token, token)


def sign_out(db: Session, session_id: str) -> None:
    """End a browser session (nothing happens if it already ended)."""
    db.execute(delete(BrowserSession).where(BrowserSession.id_hash == digest(session_id)))
    db.commit()


def create_token(db: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """A new API token of ``user``; the secret is returned here and never again."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name.strip() or "token",
        token_hash=digest(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
    )
    db.add(token)
    db.commit()
    return token, secret


def list_tokens(db: Session, user: User) -> list[ApiToken]:
    """The tokens of ``user`` (revoked ones too), newest first."""
    query = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    return list(db.scalars(query))


def revoke_token(db: Session, user: User, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s tokens; another user's token reads as not found."""
    token = db.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFoundError(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utc_now()
        db.commit()
    return token


def user_for_token(db: Session, secret: str, *, now: datetime | None = None) -> User:
    """The user of a bearer token, or ``AuthenticationError`` (unknown, revoked, inactive)."""
    user = caller_for_token(db, secret, now=now).user
    assert user is not None, "no project asked about"
    return user


@dataclass(frozen=True)
class Caller:
    """Who is calling and, when the request names a project, what they are there.

    Attributes:
        user_id: The signed-in account.
        is_admin: Whether it is a site admin.
        session: Their browser session, or None for an API token.
        user: The account's ORM object, when no project was asked about (None otherwise: a
            project route reads the facts above, and loads the object only if it needs it).
        label_schema: The label schema of the project asked about; None when there is no such
            project (or none was asked about).
        role: The user's membership role in that project, None when they are not a member.
    """

    user_id: int
    is_admin: bool
    session: BrowserSession | None
    user: User | None = None
    label_schema: list[dict[str, Any]] | None = None
    role: str | None = None


def _about_project(query: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """``query`` with the project ``:project_id``'s label schema and the user's role there
    (outer joins)."""
    return (
        query.add_columns(Project.label_schema, Membership.role)
        .outerjoin(Project, Project.id == bindparam("project_id"))
        .outerjoin(
            Membership, (Membership.project_id == Project.id) & (Membership.user_id == User.id)
        )
    )


# Every request runs one of these: built once (building a select costs more than running it).
# Asked about a project, they read columns, not ORM objects: a project route loads the user's
# object only if it needs it (``Access``, ``Auth``), and loading it cost a tenth of a frame's CPU.
_TOKEN = (
    select(User, ApiToken.id, ApiToken.revoked_at, ApiToken.last_used_at)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
_TOKEN_AND_PROJECT = _about_project(
    select(
        User.id, ApiToken.id, ApiToken.revoked_at, ApiToken.last_used_at, User.active, User.is_admin
    )
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("token_hash"))
)
_SESSION = (
    select(User, BrowserSession)
    .join(BrowserSession, BrowserSession.user_id == User.id)
    .where(BrowserSession.id_hash == bindparam("id_hash"))
)
_SESSION_AND_PROJECT = _about_project(
    select(User.id, BrowserSession, User.active, User.is_admin)
    .join(BrowserSession, BrowserSession.user_id == User.id)
    .where(BrowserSession.id_hash == bindparam("id_hash"))
)


def caller_for_token(
    db: Session, secret: str, *, project_id: int | None = None, now: datetime | None = None
) -> Caller:
    """The caller of a bearer token (and project ``project_id``), in one query.

    Raises:
        AuthenticationError: An unknown or revoked token, or a deactivated account.
    """
    now = now or utc_now()
    params = {"token_hash": digest(secret), "project_id": project_id}
    if project_id is None:
        row = db.execute(_TOKEN, params).first()
        if row is None:
            raise AuthenticationError("invalid or revoked API token")
        user, token_id, revoked_at, last_used_at = row
        caller = Caller(user.id, user.is_admin, None, user)
        active = user.active
    else:
        found = db.connection().execute(_TOKEN_AND_PROJECT, params).first()
        if found is None:
            raise AuthenticationError("invalid or revoked API token")
        user_id, token_id, revoked_at, last_used_at, active, is_admin, schema, role = found
        caller = Caller(user_id, is_admin, None, None, schema, role)
    if revoked_at is not None or not active:
        raise AuthenticationError("invalid or revoked API token")
    if last_used_at is None or now - last_used_at > TOKEN_TOUCH_EVERY:
        try:
            db.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
            db.commit()
        except OperationalError:  # a read-only request met a writer: touch it next time
            db.rollback()
    return caller


def caller_for_session(
    db: Session, session_id: str, *, project_id: int | None = None, now: datetime | None = None
) -> Caller:
    """The caller of a session cookie (and project ``project_id``), in one query.

    Raises:
        AuthenticationError: No such session, an ended one, or a deactivated account.
    """
    params = {"id_hash": digest(session_id), "project_id": project_id}
    if project_id is None:
        row = db.execute(_SESSION, params).first()
        if row is None:
            raise AuthenticationError("not signed in, or the session has ended")
        user, session = row
        caller = Caller(user.id, user.is_admin, session, user)
        active = user.active
    else:
        found = db.execute(_SESSION_AND_PROJECT, params).first()
        if found is None:
            raise AuthenticationError("not signed in, or the session has ended")
        user_id, session, active, is_admin, schema, role = found
        caller = Caller(user_id, is_admin, session, None, schema, role)
    if session.expires_at <= (now or utc_now()) or not active:
        raise AuthenticationError("not signed in, or the session has ended")
    return caller
