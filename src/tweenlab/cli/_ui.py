"""What every command shares: the error boundary, progress bars and the settings."""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from tweenlab.errors import TweenlabError, UsageError
from tweenlab.settings import Settings, load_settings

__all__ = [
    "Context",
    "check_output_file",
    "progress_reporter",
    "refuse_overwriting",
    "run_with_boundary",
]

EXIT_TWEENLAB_ERROR = 2
EXIT_INTERNAL_ERROR = 1


class Context:
    """Per-invocation state handed to every command through click's context object."""

    def __init__(self, *, quiet: bool) -> None:
        self.quiet = quiet
        self.console = Console(stderr=True, quiet=quiet)
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        """Settings, read from the environment on first use."""
        if self._settings is None:
            self._settings = load_settings()
        return self._settings


def refuse_overwriting(
    outputs: Mapping[str, Path | None], inputs: Mapping[str, Path | None]
) -> None:
    """``UsageError`` before anything is read or written where an output would replace one of
    the command's inputs or another output (``--json clip.mp4`` once turned the video into
    JSON). Names are the options or arguments as the person typed them; ``None`` is unset."""
    seen: dict[str, str] = {}
    for name, path in inputs.items():
        if path is not None:
            seen.setdefault(_identity(path), name)
    for name, path in outputs.items():
        if path is None:
            continue
        key = _identity(path)
        if key in seen:
            raise UsageError(f"{name} {path}: is also {seen[key]}; give another file")
        seen[key] = name


def check_output_file(option: str, path: Path | None) -> None:
    """``UsageError`` before any work where ``path`` cannot be written as a file: it is a
    folder, or a part of its folder is a file. A missing folder is fine (it is made)."""
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"{option} {path}: is a folder; give a file name")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"{option} {path}: {parent} is a file, not a folder")
            return


def _identity(path: Path) -> str:
    """One name per file: its device and inode where it exists (links, hard ones too), else
    the resolved path (``./a`` and ``a`` alike)."""
    try:
        found = os.stat(path)
    except OSError:
        return str(Path(os.path.abspath(path)).resolve())
    return f"{found.st_dev}:{found.st_ino}"


@contextmanager
def progress_reporter(ctx: Context) -> Iterator[Any]:
    """A ``Reporter`` (task, done, total) drawing one rich progress bar per task."""
    progress = Progress(
        TextColumn("{task.description:>10}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=ctx.console,
        disable=ctx.quiet or not ctx.console.is_terminal,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def report(task: str, done: int, total: int) -> None:
        if task not in tasks:
            tasks[task] = progress.add_task(task, total=max(total, 1))
        progress.update(tasks[task], completed=done, total=max(total, 1))

    with progress:
        yield report


def run_with_boundary(command: click.Group, argv: list[str] | None = None) -> int:
    """Run the CLI: a ``TweenlabError`` prints one line and exits 2, anything else exits 1.

    ``TWEENLAB_DEBUG=1`` shows the traceback instead.
    """
    debug = os.environ.get("TWEENLAB_DEBUG", "").lower() in ("1", "true", "yes")
    try:
        command.main(args=argv, prog_name="tweenlab", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return EXIT_INTERNAL_ERROR
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except TweenlabError as error:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {error}", err=True)
        return EXIT_TWEENLAB_ERROR
    except Exception as error:  # the one boundary for everything unexpected
        if debug:
            traceback.print_exc()
        else:
            # the first line only: SQLAlchemy's errors go on with the statement and its
            # parameters, which may hold a password hash
            name, lines = type(error).__name__, str(error).strip().splitlines()
            first = lines[0] if lines else ""
            click.echo(
                f"internal error: {name}: {first} (TWEENLAB_DEBUG=1 shows the traceback)", err=True
            )
        return EXIT_INTERNAL_ERROR
    return 0


def exit_with(code: int) -> None:
    """Exit the process with ``code`` (kept apart so tests can call ``run_with_boundary``)."""
    sys.exit(code)
