"""``serve --max-workers``' wrapper around the app: it closes the connections it is told to,
after their next response, and knows when the last request ended."""

from __future__ import annotations

import asyncio
from typing import Any

from tweenlab.cli._ondemand import Gate


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(gate: Gate, kind: str = "http") -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    asyncio.run(gate({"type": kind}, receive, send))
    return sent


def test_gate_closes_as_many_connections_as_it_is_told_then_keeps_them() -> None:
    gate = Gate(_app)
    gate.shed = 2
    heads = [_call(gate)[0]["headers"] for _ in range(3)]
    assert heads[0] == heads[1] == [(b"x-a", b"1"), (b"connection", b"close")]
    assert heads[2] == [(b"x-a", b"1")]
    assert gate.shed == 0 and gate.active == 0


def test_gate_notes_when_the_last_request_ended_and_passes_other_scopes() -> None:
    gate = Gate(_app)
    before = gate.last_request
    gate.shed = 1
    assert _call(gate, "lifespan")[1]["body"] == b"ok"  # not a request: not counted, not shed
    assert gate.shed == 1 and gate.last_request == before
    _call(gate)
    assert gate.last_request > before and gate.shed == 0
