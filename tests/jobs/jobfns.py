"""Job functions for the executor tests (imported by name in worker processes)."""

from __future__ import annotations

import importlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tweenlab.errors import MediaNotFoundError
from tweenlab.jobs import JobContext


def count(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    total = int(params["n"])
    for done in range(1, total + 1):
        context.progress(done, total)
    return {"sum": total * (total + 1) // 2, "pid": os.getpid()}


def fail(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    raise ValueError(f"bad value {params['value']!r}")


def slow(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Works in 20 ms steps until ``steps`` are done or it is cancelled."""
    steps = int(params["steps"])
    for step in range(steps):
        if context.cancelled:
            return {"stopped_at": step}
        context.progress(step + 1, steps)
        time.sleep(0.02)
    return {"stopped_at": steps}


def stubborn(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Sleeps ``s`` seconds without ever looking at ``cancelled``."""
    context.progress(0, 1)
    time.sleep(float(params["s"]))
    return {"slept": params["s"]}


def die(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    os._exit(3)  # a worker killed mid-job


def media_error(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Raises an error that cannot be unpickled as it is (its ``__init__`` takes two arguments)."""
    raise MediaNotFoundError(params["path"], "no such file")


def square_part(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """One part: squares its numbers, reporting progress per number."""
    numbers = list(params["numbers"])
    if params.get("fail") in numbers:
        raise ValueError(f"bad number {params['fail']}")
    for done in range(1, len(numbers) + 1):
        context.progress(done, len(numbers))
    return {"squares": [n * n for n in numbers], "pid": os.getpid()}


def squares(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Splits ``n`` numbers into ``parts`` parts and merges their results in order."""
    numbers = list(range(int(params["n"])))
    size = -(-len(numbers) // int(params["parts"]))
    fail = params.get("fail")
    items = [{"numbers": numbers[i : i + size], "fail": fail} for i in range(0, len(numbers), size)]
    results = context.map(f"{__name__}:square_part", items)
    return {
        "squares": [s for r in results for s in r["squares"]],
        "pids": sorted({r["pid"] for r in results}),
        "pid": os.getpid(),
    }


def marked_part(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """One part that leaves ``<folder>/<name>-<pid>`` behind each time it runs; a ``hold`` part
    sleeps on its first run (so a test can kill its worker), not on a second."""
    folder, name = Path(params["folder"]), params["name"]
    earlier = list(folder.glob(f"{name}-*"))
    (folder / f"{name}-{os.getpid()}").touch()
    if params["hold"] and not earlier:
        time.sleep(60)
    numbers = list(params["numbers"])
    context.progress(len(numbers), len(numbers))
    return {"squares": [n * n for n in numbers]}


def marked(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """``n`` numbers squared in ``parts`` marked parts; part 0 holds."""
    numbers = list(range(int(params["n"])))
    size = -(-len(numbers) // int(params["parts"]))
    items = [
        {
            "numbers": numbers[i : i + size],
            "folder": params["folder"],
            "name": f"part{i // size}",
            "hold": i == 0,
        }
        for i in range(0, len(numbers), size)
    ]
    results = context.map(f"{__name__}:marked_part", items)
    return {"squares": [s for r in results for s in r["squares"]]}


# -- a real job with its parts watched: which process ran each, and one held for a kill --------


class _HoldingContext:
    """A part's context that holds (sleeps) at the first progress the part reports between its
    start and its end, after leaving ``<folder>/held-<pid>``, so that a test kills its worker
    in the middle of the part."""

    def __init__(self, context: JobContext, folder: Path) -> None:
        self.job_id, self._context, self._folder = context.job_id, context, folder

    def progress(self, done: int, total: int | None = None) -> None:
        self._context.progress(done, total)
        if total and 0 < done < total:
            (self._folder / f"held-{os.getpid()}").touch()
            time.sleep(60)

    @property
    def cancelled(self) -> bool:
        return self._context.cancelled

    def map(self, target: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return self._context.map(target, items)


class _WatchingContext:
    """A job's context whose ``map`` runs each part through ``watched_part``."""

    def __init__(self, context: JobContext, folder: str, hold: int | None) -> None:
        self.job_id, self._context = context.job_id, context
        self._folder, self._hold = folder, hold

    def progress(self, done: int, total: int | None = None) -> None:
        self._context.progress(done, total)

    @property
    def cancelled(self) -> bool:
        return self._context.cancelled

    def map(self, target: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        watched = [
            {"target": target, "item": dict(item), "folder": self._folder, "number": i}
            for i, item in enumerate(items)
        ]
        for item in watched:
            item["hold"] = item["number"] == self._hold
        return self._context.map(f"{__name__}:watched_part", watched)


def _function(target: str) -> Callable[[JobContext, dict[str, Any]], dict[str, Any]]:
    module, name = target.split(":")
    found: Callable[[JobContext, dict[str, Any]], dict[str, Any]]
    found = getattr(importlib.import_module(module), name)
    return found


def watched_part(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """Runs the real part ``params["target"]`` on ``params["item"]``, leaving
    ``<folder>/part<number>-<pid>`` each time; a ``hold`` part holds on its first run."""
    folder, name = Path(params["folder"]), f"part{params['number']}"
    first = not list(folder.glob(f"{name}-*"))
    (folder / f"{name}-{os.getpid()}").touch()
    if params["hold"] and first:
        context = _HoldingContext(context, folder)
    return _function(params["target"])(context, params["item"])


def watched(context: JobContext, params: dict[str, Any]) -> dict[str, Any]:
    """The job function ``params["job"]`` on ``params["params"]``, its parts watched (see
    ``watched_part``); part ``params["hold"]`` (an index of its ``map``, if any) is held.
    Leaves ``<folder>/job-<pid>`` each time it runs."""
    (Path(params["folder"]) / f"job-{os.getpid()}").touch()
    watching = _WatchingContext(context, params["folder"], params.get("hold"))
    return _function(params["job"])(watching, params["params"])
