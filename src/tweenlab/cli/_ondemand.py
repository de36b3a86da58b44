"""One server process that starts more while it is busy (``serve --max-workers N``).

``--workers N`` keeps N processes from the start: throughput on N cores, and N processes'
memory while nobody is working. Here one process serves; when it has used most of a core for
``BUSY_ROUNDS`` seconds in a row, it starts a helper (up to ``N - 1``), a fresh interpreter
given the listening socket, that serves the same app beside it and ends after ``IDLE_S``
seconds without a request, as uWSGI's "cheaper" mode and php-fpm's on-demand workers do. So the
server idles at the memory of one process and uses more cores only while there is load.

Clients keep their connections open (HTTP keep-alive), so a helper that starts under load would
get none of the connections already open. When a helper is ready, the first process closes
about half of its open connections after their next response (``Connection: close``, which
every HTTP client follows by connecting again): the kernel gives the new connections to
whichever process accepts first, mostly the idle helper. After that, each process that is busy
while another runs closes one connection a second, so connections keep drifting to the least
busy process. No request is refused or cut.

A helper ends with the first process: it is stopped with it, and it stops itself when its
parent is gone (a killed server leaves no helper behind).

``TWEENLAB_SERVE_BUSY_SHARE`` and ``TWEENLAB_SERVE_HELPER_IDLE_S`` override ``BUSY_SHARE`` and
``IDLE_S`` (the tests use them to start and end helpers quickly).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from tweenlab.cli._prefork import STARTUP_FAILURE

if TYPE_CHECKING:
    import uvicorn

__all__ = ["BUSY_ROUNDS", "BUSY_SHARE", "IDLE_S", "serve_on_demand"]

BUSY_SHARE = 0.85  # of one core: the first process is busy above this
BUSY_ROUNDS = 2  # rounds of ROUND_S in a row that start a helper
ROUND_S = 1.0
IDLE_S = 30.0  # a helper ends after this long without a request
_ENV_BUSY = "TWEENLAB_SERVE_BUSY_SHARE"
_ENV_IDLE = "TWEENLAB_SERVE_HELPER_IDLE_S"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Gate:
    """Wraps the app: when the last request ended, and connections to close after a response.

    ``shed`` is set from another thread and counted down on the event loop; an extra or a
    missing close is harmless, so it takes no lock.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.shed = 0
        self.active = 0
        self.last_request = time.monotonic()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.active += 1
        try:
            if self.shed > 0:
                self.shed -= 1
                await self.app(scope, receive, _closing(send))
            else:
                await self.app(scope, receive, send)
        finally:
            self.active -= 1
            self.last_request = time.monotonic()


def _closing(send: Send) -> Send:
    """``send`` with ``Connection: close`` added to the response's headers."""

    async def closing_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", []), (b"connection", b"close")]
            message = {**message, "headers": headers}
        await send(message)

    return closing_send


def serve_on_demand(config: uvicorn.Config, max_workers: int) -> int:
    """Serve ``config``'s app here, with up to ``max_workers - 1`` helpers while busy; the exit
    status (``STARTUP_FAILURE`` when it could not start)."""
    import uvicorn  # noqa: PLC0415  (loaded by the caller)

    sock = config.bind_socket()
    config.load()
    gate = Gate(config.loaded_app)
    config.loaded_app = gate
    server = uvicorn.Server(config)
    scaler = _Scaler(server, gate, sock, max_workers - 1)
    scaler.start()
    try:
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises the SIGINT it handled
            server.run(sockets=[sock])
    finally:
        scaler.stop()
        sock.close()
    return 0 if server.started else STARTUP_FAILURE


class _Meter:
    """Whether this process used more than ``BUSY_SHARE`` of a core since the last look."""

    def __init__(self) -> None:
        self.share = float(os.environ.get(_ENV_BUSY, BUSY_SHARE))
        self.cpu, self.wall = time.process_time(), time.monotonic()

    def busy(self) -> bool:
        cpu, wall = time.process_time(), time.monotonic()
        used = (cpu - self.cpu) / max(wall - self.wall, 1e-6)
        self.cpu, self.wall = cpu, wall
        return used >= self.share


def _shed_one(gate: Gate) -> None:
    """A busy process with company closes one connection a round: its client connects again
    and reaches whichever process accepts first, most often a less busy one. Connections
    opened after a helper started, or moved to one that then got busy, find their balance."""
    gate.shed = max(gate.shed, 1)


class _Scaler(threading.Thread):
    """Watches the first process's CPU; starts helpers, reaps them, balances connections."""

    def __init__(self, server: uvicorn.Server, gate: Gate, sock: socket.socket, most: int) -> None:
        super().__init__(name="serve-scaler", daemon=True)
        self.server, self.gate, self.sock, self.most = server, gate, sock, most
        self.helpers: dict[int, tuple[subprocess.Popen[bytes], int]] = {}  # pid -> (it, ready)
        self.halt = threading.Event()
        self.lock = threading.Lock()

    def run(self) -> None:
        meter, busy_rounds = _Meter(), 0
        while not self.halt.wait(ROUND_S):
            busy = meter.busy()
            busy_rounds = busy_rounds + 1 if busy else 0
            with self.lock:
                self._reap()
                self._note_ready()
                starting = sum(ready >= 0 for _, ready in self.helpers.values())
                if busy and len(self.helpers) > starting:  # a helper serves beside it
                    _shed_one(self.gate)
                if (
                    busy_rounds >= BUSY_ROUNDS
                    and len(self.helpers) < self.most
                    and not starting
                    and not self.halt.is_set()
                ):
                    self._spawn()
                    busy_rounds = 0

    def stop(self) -> None:
        """Stop the thread, then the helpers (SIGTERM: they finish what they serve)."""
        self.halt.set()
        self.join(timeout=5)
        with self.lock:
            for process, ready in self.helpers.values():
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
                if ready >= 0:
                    os.close(ready)
            for process, _ in self.helpers.values():
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            self.helpers.clear()

    def _spawn(self) -> None:
        ready_read, ready_write = os.pipe()
        fd = self.sock.fileno()
        command = [sys.executable, "-m", "tweenlab.cli._ondemand", "--fd", str(fd)]
        command += ["--ready", str(ready_write), "--parent", str(os.getpid())]
        # In a process group of its own, so that a terminal's Ctrl-C reaches only this process,
        # which stops its helpers with SIGTERM. A SIGINT in a helper would be uvicorn's to
        # handle, and one that found it already ending (idle) would force it out without its
        # app's shutdown.
        process = subprocess.Popen(command, pass_fds=(fd, ready_write), process_group=0)
        os.close(ready_write)
        self.helpers[process.pid] = (process, ready_read)

    def _reap(self) -> None:
        for pid, (process, ready) in list(self.helpers.items()):
            if process.poll() is not None:
                if ready >= 0:
                    os.close(ready)
                del self.helpers[pid]

    def _note_ready(self) -> None:
        """A helper that says it serves: close half the open connections after their next
        response, so that clients connect again and some reach it."""
        for pid, (process, ready) in list(self.helpers.items()):
            if ready < 0 or not select.select([ready], [], [], 0)[0]:
                continue
            said = os.read(ready, 1)
            os.close(ready)
            self.helpers[pid] = (process, -1)
            if said:
                open_now = len(self.server.server_state.connections)
                self.gate.shed = open_now * len(self.helpers) // (len(self.helpers) + 1)


def _helper(fd: int, ready: int, parent: int) -> int:  # pragma: no cover (a subprocess)
    """A helper's life: serve on the inherited socket, say when serving, end when idle."""
    import uvicorn  # noqa: PLC0415

    from tweenlab.cli.server import APP_FACTORY  # noqa: PLC0415

    idle_s = float(os.environ.get(_ENV_IDLE, IDLE_S))
    config = uvicorn.Config(APP_FACTORY, factory=True, log_level="warning", access_log=False)
    config.load()
    gate = Gate(config.loaded_app)
    config.loaded_app = gate
    server = uvicorn.Server(config)

    def watch() -> None:
        told, meter, last_look = False, _Meter(), time.monotonic()
        while not server.should_exit:
            time.sleep(0.2)
            if server.started and not told:
                os.write(ready, b"1")
                os.close(ready)
                told = True
            now = time.monotonic()
            if now - last_look >= ROUND_S:
                last_look = now
                if meter.busy():
                    _shed_one(gate)
            quiet = now - gate.last_request
            if os.getppid() != parent or (told and gate.active == 0 and quiet > idle_s):
                server.should_exit = True

    threading.Thread(target=watch, name="serve-helper-watch", daemon=True).start()
    server.run(sockets=[socket.socket(fileno=fd)])
    return 0 if server.started else STARTUP_FAILURE


if __name__ == "__main__":  # pragma: no cover (a helper process)
    parser = argparse.ArgumentParser(description="a helper of tweenlab serve --max-workers")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--ready", type=int, required=True)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args()
    sys.exit(_helper(args.fd, args.ready, args.parent))
