"""Derived files: what tweenlab computes once per video and keeps (index, proxy, filmstrip).

Each video gets a folder under the derived root, named after the file and keyed by its
resolved path, size and modification time, so an edited or replaced video is indexed anew.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tweenlab.media._container import check_file
from tweenlab.media.index import FrameIndex, Progress, build_index

__all__ = ["DerivedFiles"]


class DerivedFiles:
    """The derived files of every video, under one root folder.

    Args:
        root: The folder (``Settings.derived_dir``).

    Example:
        >>> derived = DerivedFiles(Path("/tmp/tw/derived"))  # doctest: +SKIP
        >>> index = derived.index(Path("clip.mp4"))  # demuxes once, then reads the saved file
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def folder(self, video: Path) -> Path:
        """The folder for ``video``'s derived files (not created)."""
        check_file(video)
        stat = video.stat()
        key = f"{video.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}".encode()
        digest = hashlib.sha256(key).hexdigest()[:16]
        return self.root / f"{video.stem[:40]}-{digest}"

    def index(self, video: Path, *, progress: Progress | None = None) -> FrameIndex:
        """``video``'s frame index: read from its derived folder, or built and saved there."""
        target = self.folder(video) / "index.npz"
        if target.exists() and (saved := FrameIndex.load(target, video)) is not None:
            return saved
        index = build_index(video, progress=progress)
        index.save(target)
        return index

    def proxy_index(self, video: Path) -> FrameIndex | None:
        """The frame index of ``video``'s proxy, or ``None`` when it has no proxy."""
        proxy = self.proxy_path(video)
        if not proxy.exists():
            return None
        target = self.folder(video) / "proxy-index.npz"
        if target.exists() and (saved := FrameIndex.load(target, proxy)) is not None:
            return saved
        index = build_index(proxy)
        index.save(target)
        return index

    def proxy_path(self, video: Path) -> Path:
        """Where ``video``'s annotation proxy is (or will be) written."""
        return self.folder(video) / "proxy.mp4"

    def filmstrip_path(self, video: Path) -> Path:
        """Where ``video``'s filmstrip image is (or will be) written."""
        return self.folder(video) / "filmstrip.jpg"
