"""The one place errors become HTTP responses: a status per error class, ``{"detail": ...}``.

Every body has ``detail`` (a string for tweenlab's errors, FastAPI's list naming the field for
request validation); errors that know their field add ``field``. 401 adds ``WWW-Authenticate``,
429 adds ``Retry-After``. A stale write's 409 adds what is stored now (``current_revision`` and
the value), so the client can merge and retry without another request. A number too large for
the database (``OverflowError`` from SQLite's driver, ``DataError`` from PostgreSQL) is a 422
naming the parameter or body field that held it.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import DataError

from tweenlab.errors import (
    AccessDeniedError,
    AnnotationError,
    AuthenticationError,
    ConflictError,
    FieldError,
    FormatError,
    LabelerError,
    MediaError,
    NotFoundError,
    RateLimitedError,
    StaleRevisionError,
    StorageError,
    StorageNotFoundError,
    StoreError,
    TweenlabError,
    UsageError,
)
from tweenlab.workflow import NotPermittedError, TransitionError

__all__ = [
    "ERROR_RESPONSES",
    "LARGEST",
    "STATUS",
    "ErrorBody",
    "check_request",
    "install_error_handlers",
    "status_of",
]


class ErrorBody(BaseModel):
    """Every error's body: ``detail`` (a sentence, or FastAPI's list of request-validation
    errors naming each field's location), the ``field`` when one is to blame, and on a stale
    write's 409 what is stored now (``current_revision`` and the value)."""

    model_config = ConfigDict(extra="allow")

    detail: str | list[dict[str, Any]]
    field: str | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in [
        (401, "not signed in"),
        (403, "not allowed"),
        (404, "no such thing, or not visible to the caller"),
        (409, "a conflict: a stale revision, or an action the state does not allow"),
        (422, "a request that names what was wrong in `field` or in `detail`"),
        (429, "too many attempts (see Retry-After)"),
    ]
}

STATUS: dict[type[TweenlabError], int] = {
    AuthenticationError: 401,
    AccessDeniedError: 403,
    NotFoundError: 404,
    ConflictError: 409,
    TransitionError: 409,  # an action the task's state does not allow
    NotPermittedError: 403,  # an actor the state machine does not allow
    UsageError: 422,
    AnnotationError: 422,
    FormatError: 422,
    LabelerError: 422,
    MediaError: 422,
    RateLimitedError: 429,
    StoreError: 503,
    StorageError: 503,  # the media storage failed (unreachable, access denied): not the request
    StorageNotFoundError: 404,
}


def status_of(error: TweenlabError) -> int:
    """The HTTP status of an error: its nearest class in ``STATUS``, else 400."""
    for kind in type(error).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 400


async def _tweenlab_error(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, TweenlabError)
    body: dict[str, object] = {"detail": _text(_without_folders(error))}
    field = getattr(error, "field", None)
    if field is not None:
        body["field"] = _text(str(field))
    if isinstance(error, StaleRevisionError):
        body.update(error.current)
    headers: dict[str, str] = {}
    if isinstance(error, AuthenticationError):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(error, RateLimitedError):
        headers["Retry-After"] = str(error.retry_after_s)
    return JSONResponse(body, status_code=status_of(error), headers=headers)


def _text(text: str) -> str:
    """``text`` as UTF-8 can carry it: a lone surrogate a request smuggled in (``"\\ud800"``)
    written as its escape, so the error about it can still be sent."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


#: Bytes of a JSON body worth a strict second look: Python's JSON reader takes NaN and the
#: infinities, which JSON does not have, and lone UTF-16 surrogates, which are not text (a
#: track saved with one made every later read of its task a 500, as it could not be encoded).
_SUSPECT = re.compile(rb"NaN|Infinity|\\u[dD][89a-fA-F]")


class _Constant:
    """Where a JSON text says ``NaN``, ``Infinity`` or ``-Infinity``."""

    def __init__(self, name: str) -> None:
        self.name = name


async def check_request(request: Request) -> None:
    """What FastAPI's own validation lets through, refused as a 422 naming the field before a
    route runs: a path parameter past the database's integers (SQLite would store 2**40 where
    PostgreSQL refuses it), and in a JSON body NaN, infinity or a lone surrogate. The body is
    searched for them as bytes, parsed again only where one may be."""
    for name, value in request.path_params.items():
        if isinstance(value, str) and value.isdigit() and int(value) > LARGEST:
            raise FieldError(name, f"{value} is out of range (at most {LARGEST})")
    if "json" not in request.headers.get("content-type", ""):
        return
    body = await request.body()
    if not _SUSPECT.search(body):
        return
    try:
        parsed = json.loads(body, parse_constant=_Constant)
    except (ValueError, RecursionError):  # not JSON at all: FastAPI's own error says where
        return
    for where, value in _values(parsed, ""):
        if isinstance(value, _Constant):
            raise FieldError(
                where or "body", f"{value.name} is not a JSON number (they are finite)"
            )
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise FieldError(
                    where or "body",
                    "holds a lone UTF-16 surrogate (\\ud800-\\udfff), which is not text",
                ) from None


def _values(value: object, path: str) -> Iterator[tuple[str, object]]:
    """Every string and ``_Constant`` of a parsed JSON body, keys included, with its path
    (``a.b[2]``)."""
    if isinstance(value, str | _Constant):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path, str(key)
            yield from _values(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _values(item, f"{path}[{index}]")


async def _invalid_request(_request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422 for a body that fails validation, with the values it quotes (``input``)
    made JSON: as FastAPI writes it, a NaN or a lone surrogate quoted back made it a 500."""
    assert isinstance(error, RequestValidationError)
    errors = jsonable_encoder(error.errors())
    try:
        json.dumps(errors, allow_nan=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        errors = [{k: v for k, v in item.items() if k not in ("input", "ctx")} for item in errors]
    return JSONResponse({"detail": errors}, status_code=422)


def _without_folders(error: TweenlabError) -> str:
    """``error``'s message with the file it names (a media or format error's ``path``) by its
    name alone: where the server keeps its media and data is none of a member's business."""
    detail = str(error)
    path = getattr(error, "path", None)
    if isinstance(path, Path) and path.is_absolute() and path.name:
        detail = detail.replace(str(path), path.name)
    return detail


LARGEST = 2**31 - 1  # PostgreSQL's integer, the narrowest column the ids and counts live in


async def _out_of_range(request: Request, _error: Exception) -> JSONResponse:
    # A number from the request past what the database stores (an id or frame of 2**63, say):
    # SQLite's driver refuses to bind it, PostgreSQL answers "out of range"; nothing was written.
    # The path, the query or the JSON body names the culprit (``track.keyframes[2].frame``).
    detail = "a number in the request is out of range (ids and counts are below 2**31)"
    content: dict[str, str] = {"detail": detail}
    given: list[tuple[str, object]] = [*request.path_params.items(), *request.query_params.items()]
    if "json" in request.headers.get("content-type", ""):
        with contextlib.suppress(ValueError):
            given.extend(_numbers(json.loads(await request.body()), ""))
    for name, value in given:
        text = str(value).strip()
        if text.lstrip("+-").isdigit() and abs(int(text)) > LARGEST:
            content = {"detail": f"{name}: {text} is out of range (at most {LARGEST})"}
            content["field"] = name
            break
    return JSONResponse(content, status_code=422)


def _numbers(value: object, path: str) -> Iterator[tuple[str, int]]:
    """Every integer in a parsed JSON body with its path (``a.b[2].c``), depth first."""
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield path or "body", value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _numbers(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _numbers(item, f"{path}[{index}]")


async def _unexpected(_request: Request, _error: Exception) -> JSONResponse:
    # Starlette still re-raises the error after this response, so it is logged with its traceback.
    return JSONResponse({"detail": "internal error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    """Map every ``TweenlabError`` to its status, and anything unexpected to a JSON 500."""
    app.add_exception_handler(TweenlabError, _tweenlab_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(Exception, _unexpected)
