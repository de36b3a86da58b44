"""Atomic writes onto what is not a regular file: a pipe (as ``/dev/stdout`` is, in a shell
pipeline) or a device (``/dev/null``) is written into, never replaced by the renamed temporary
(as root, ``tweenlab keyframes VIDEO --json /dev/full`` replaced the device node with a file)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tweenlab.media._files import atomic_path, write_atomic


@pytest.fixture
def pipe(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    """A FIFO in ``tmp_path``, with its read end open (non-blocking: the writer never waits)."""
    path = tmp_path / "out.json"
    os.mkfifo(path)
    reading = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    yield path, reading
    os.close(reading)


def test_write_atomic_writes_into_a_pipe_and_keeps_it(pipe: tuple[Path, int]) -> None:
    path, reading = pipe
    write_atomic(path, b'{"cuts": []}')
    assert stat.S_ISFIFO(path.stat().st_mode)
    assert os.read(reading, 1024) == b'{"cuts": []}'
    assert list(path.parent.iterdir()) == [path]  # no temporary left beside it


def test_atomic_path_writes_into_a_pipe_and_removes_its_temporary(
    pipe: tuple[Path, int],
) -> None:
    path, reading = pipe
    with atomic_path(path) as temporary:
        temporary.write_bytes(b"frame")
    assert stat.S_ISFIFO(path.stat().st_mode)
    assert os.read(reading, 1024) == b"frame"
    assert not temporary.exists()


def test_a_regular_file_is_still_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    path.write_bytes(b"old and longer")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert list(tmp_path.iterdir()) == [path]


def test_an_interrupt_right_after_the_temporary_is_made_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C between making the temporary file and the block that removes it on failure
    (at its ``os.close``) left an empty hidden file in the flow cache (an audit)."""
    closing = os.close

    def interrupted(handle: int) -> None:
        closing(handle)
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "close", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "grey-0000108.npy", b"data")
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
