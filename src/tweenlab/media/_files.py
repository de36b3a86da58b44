"""Writing files so that nothing half-written is ever left: a temporary name, then a rename."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tweenlab.errors import MediaWriteError

__all__ = ["atomic_path", "staged_folder", "write_atomic"]


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` if the block succeeds.

    The temporary keeps ``target``'s suffix so that writers which pick a format by extension
    (FFmpeg muxers, Pillow) still do. On any exception the temporary file is removed. A target
    that is a device or a pipe (``/dev/stdout``, ``/dev/null``, a FIFO) is written into instead:
    renaming onto it would replace the device node itself (as root), and there is no half-written
    file to avoid there.

    Example:
        >>> with atomic_path(Path("/tmp/frame.png")) as temporary:  # doctest: +SKIP
        ...     image.save(temporary)
    """
    special = _is_special(target)
    if not special:
        target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=target.suffix, dir=None if special else target.parent
    )
    temporary = Path(name)
    try:  # from here on (a Ctrl-C at os.close left the empty temporary behind)
        os.close(handle)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        yield temporary
        if special:
            _copy_into(temporary, target)
            temporary.unlink()
        else:
            os.replace(temporary, target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def staged_folder(folder: Path) -> Iterator[Path]:
    """Yield a new, empty temporary folder beside ``folder``; if the block succeeds, move what
    it wrote into ``folder`` (made if missing; a file of the same name there is replaced),
    names beginning ``manifest`` last, so that a manifest never lists a file not yet there. On
    any exception the temporary folder and all in it are removed: ``folder`` gets all of the
    files or none.

    Example:
        >>> with staged_folder(Path("out")) as staging:  # doctest: +SKIP
        ...     (staging / "a.png").write_bytes(data)

    Raises:
        MediaWriteError: When the temporary folder cannot be made (``/proc/out``, a folder
            below a file), naming ``folder``.
    """
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError as error:
        raise MediaWriteError(folder, _cannot_make(folder, error)) from error
    try:
        yield staging
        folder.mkdir(exist_ok=True)
        names = sorted(p.name for p in staging.iterdir())
        for name in sorted(names, key=lambda n: n.startswith("manifest")):
            os.replace(staging / name, folder / name)
        staging.rmdir()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def write_atomic(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` atomically."""
    try:
        with atomic_path(target) as temporary:
            temporary.write_bytes(data)
    except OSError as error:
        raise MediaWriteError(target, f"cannot write ({error.strerror or error})") from error


def _cannot_make(folder: Path, error: OSError) -> str:
    """Why ``folder`` cannot be made: the part of its path that is a file, if one is."""
    for parent in folder.parents:
        if parent.exists():
            if not parent.is_dir():
                return f"cannot make the folder: {parent} is a file, not a folder"
            break
    return f"cannot make the folder ({error.strerror or error})"


def _is_special(target: Path) -> bool:
    """Whether ``target`` exists and is neither a regular file nor a folder (a device, a pipe)."""
    try:
        mode = target.stat().st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def _copy_into(source: Path, target: Path) -> None:
    with source.open("rb") as reading, target.open("wb") as writing:
        shutil.copyfileobj(reading, writing)


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
