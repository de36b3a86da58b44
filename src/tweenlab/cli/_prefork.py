"""Several server processes forked from one that has loaded the app (``serve --workers N``).

uvicorn's own ``--workers`` starts each worker as a fresh interpreter (``spawn``) that imports
the whole app again, so N workers hold N copies of the same modules (about 125 MB each) beside a
supervisor that holds its own. Here the supervisor loads the app once, binds the socket, moves
what it has allocated out of the garbage collector's way (``gc.freeze``, so no collection in a
worker writes to those pages), and forks the workers: they share those pages with it until one
writes to them, as gunicorn's ``--preload`` does. Each worker runs ``uvicorn.Server`` on the
shared socket, so its app's lifespan (database engine, job runner, frame server) starts in the
worker, after the fork: nothing that holds a connection, a thread or a lock crosses it.

On SIGINT or SIGTERM the supervisor sends the workers SIGTERM and waits for them (a second
signal kills them); a worker that ends on its own (a crash, a kill) is replaced, except one
that failed to start (exit status 3, uvicorn's ``STARTUP_FAILURE``: an unmigrated database,
say), which stops them all.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import signal
import socket
import sys
import threading
import time
import traceback
from types import FrameType
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    import uvicorn

__all__ = ["STARTUP_FAILURE", "serve_forked"]

STARTUP_FAILURE = 3  # uvicorn's exit status for a server that could not start


def serve_forked(config: uvicorn.Config, workers: int) -> int:
    """Serve ``config``'s app from ``workers`` forked processes; the exit status when all end."""
    if threading.active_count() > 1:  # a fork copies only the calling thread
        raise RuntimeError("serve_forked must be called before any thread is started")
    config.load()  # imports the app here, so the workers share its pages
    sock = config.bind_socket()
    _preload(config)
    gc.freeze()
    return _Supervisor(config, sock, workers).run()


# What every worker imports as it starts serving, beyond the app: anyio's asyncio backend (the
# routes' thread pool) and the standard thread pool. Imported here, they are shared.
_WORKER_MODULES = ("anyio._backends._asyncio", "concurrent.futures.thread")


def _preload(config: uvicorn.Config) -> None:
    """Import before the fork what the workers would each import after it (5 MB less in all
    for two workers): the event loop's module (uvloop) and ``_WORKER_MODULES``."""
    config.get_loop_factory()
    for name in _WORKER_MODULES:
        with contextlib.suppress(ImportError):  # a module a later version moved: just not shared
            importlib.import_module(name)


class _Supervisor:
    """Forks the workers, replaces those that end, and stops them all on a signal."""

    def __init__(self, config: uvicorn.Config, sock: socket.socket, workers: int) -> None:
        self.config, self.sock, self.workers = config, sock, workers
        self.children: set[int] = set()
        self.stopping = False
        self.status = 0

    def run(self) -> int:
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            for _ in range(self.workers):
                self._fork()
            while self.children:
                try:
                    pid, status = os.wait()  # retried after a signal's handler (PEP 475)
                except ChildProcessError:
                    break
                if pid not in self.children:
                    continue
                self.children.discard(pid)
                code = os.waitstatus_to_exitcode(status)
                if self.stopping:
                    continue
                if code == STARTUP_FAILURE:
                    self.status = STARTUP_FAILURE
                    self._stop(signal.SIGTERM)
                    continue
                click.echo(f"server process {pid} ended ({code}); starting another", err=True)
                time.sleep(0.1)  # not a tight loop if workers die as they start
                self._fork()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self.sock.close()
        return self.status

    def _fork(self) -> None:
        pid = os.fork()
        if pid == 0:  # pragma: no cover  (the worker; its exit is checked by the tests)
            _worker(self.config, self.sock)
        self.children.add(pid)

    def _on_signal(self, sig: int, frame: FrameType | None) -> None:
        # SIGTERM whichever came: a Ctrl-C in a terminal also reaches the workers themselves,
        # and a second SIGINT would make uvicorn skip its graceful shutdown. A second signal
        # to the supervisor (a worker still finishing a long response) ends them at once.
        self._stop(signal.SIGKILL if self.stopping else signal.SIGTERM)

    def _stop(self, sig: int) -> None:
        self.stopping = True
        for pid in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def _worker(config: uvicorn.Config, sock: socket.socket) -> None:  # pragma: no cover
    """Run one server on the shared socket in a forked child; never returns."""
    import uvicorn  # noqa: PLC0415  (already loaded by the supervisor)

    # uvicorn handles SIGINT and SIGTERM while it serves, then raises them again under the
    # handlers it found: SIGTERM ends the worker (as it would before uvicorn starts), and a
    # SIGINT (a Ctrl-C in the terminal, which the supervisor follows with a SIGTERM) is ignored
    # rather than raised inside the event loop as KeyboardInterrupt.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    code = 1
    try:
        server = uvicorn.Server(config)
        server.run(sockets=[sock])
        code = 0 if server.started else STARTUP_FAILURE
    except KeyboardInterrupt:
        code = 0
    except BaseException:  # reported, then the worker ends
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
