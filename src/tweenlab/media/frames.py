"""Extracting frames as image files, with a manifest that says exactly which frame each one is.

Images are written to a temporary name and renamed, and the manifests (CSV and JSON: video,
frame index, pts, seconds, file) are written last, so an interrupted run leaves only whole files.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from tweenlab.errors import MediaWriteError, UsageError
from tweenlab.media._files import atomic_path, staged_folder, write_atomic
from tweenlab.media.index import FrameIndex, build_index
from tweenlab.media.reader import VideoReader

__all__ = [
    "IMAGE_FORMATS",
    "ExtractedFrame",
    "check_targets",
    "extract_frames",
    "save_image",
    "write_manifests",
]

#: File suffix -> Pillow format name and save options.
IMAGE_FORMATS: dict[str, tuple[str, dict[str, Any]]] = {
    "jpg": ("JPEG", {"quality": 95, "subsampling": 0}),
    "png": ("PNG", {"compress_level": 1}),
    "webp": ("WEBP", {"quality": 95, "method": 2}),
}


@dataclass(frozen=True)
class ExtractedFrame:
    """One written frame image and where it came from."""

    video: str
    frame: int
    pts: int
    seconds: float
    file: str


def save_image(image: Any, target: Path, *, quality: int | None = None) -> None:
    """Save an RGB array as ``target``'s format (by suffix: jpg, png, webp), atomically."""
    suffix = target.suffix.lower().lstrip(".").replace("jpeg", "jpg")
    if suffix not in IMAGE_FORMATS:
        raise UsageError(f"{target}: unknown image format {suffix!r} (use jpg, png or webp)")
    name, options = IMAGE_FORMATS[suffix]
    if quality is not None and "quality" in options:
        options = {**options, "quality": quality}
    try:
        with atomic_path(target) as temporary:
            Image.fromarray(image).save(temporary, format=name, **options)
    except OSError as error:
        raise MediaWriteError(target, f"cannot write the image ({error})") from error


def extract_frames(
    source: Path,
    out_dir: Path,
    frames: Sequence[int],
    *,
    index: FrameIndex | None = None,
    image_format: str = "jpg",
    quality: int | None = None,
    size: tuple[int, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[ExtractedFrame]:
    """Write the given frames of ``source`` as images in ``out_dir``, plus ``manifest.csv/json``.

    Frames that cannot be decoded are left out of the manifest (and reported by the reader).

    Example:
        >>> rows = extract_frames(Path("clip.mp4"), Path("out"), [0, 10, 20])  # doctest: +SKIP
        >>> rows[1].file, rows[1].frame  # doctest: +SKIP
        ('clip_000010.jpg', 10)
    """
    index = index if index is not None else build_index(source)
    digits = max(6, len(str(len(index))))
    names = {n: f"{source.stem}_{n:0{digits}d}.{image_format}" for n in map(index.check, frames)}
    check_targets(out_dir, [*names.values(), "manifest.csv", "manifest.json"], source)
    rows = []
    with (  # all of it or none: interrupted, nothing is left; the manifests come last
        staged_folder(out_dir) as staging,
        VideoReader(source, index=index, size=size, cache_mb=0) as reader,
    ):
        for done, frame in enumerate(reader.read_frames(frames), start=1):
            name = names[frame.index]
            save_image(frame.image, staging / name, quality=quality)
            rows.append(
                ExtractedFrame(source.name, frame.index, frame.pts, float(frame.seconds), name)
            )
            if progress is not None:
                progress(done, len(frames))
        write_manifests(staging, rows, list(ExtractedFrame.__dataclass_fields__))
    return rows


def check_targets(folder: Path, names: Sequence[str], *inputs: Path) -> None:
    """``UsageError`` before any work where files named ``names`` cannot be written into
    ``folder``: it is a file, one of them is a folder, or one of them is an input (a video
    named ``manifest.json`` in the output folder was overwritten by its own manifest)."""
    if folder.exists() and not folder.is_dir():
        raise MediaWriteError(folder, "is a file; give a folder")
    if not folder.is_dir():
        return
    kept = {_file_id(path) for path in inputs if path.exists()}
    for name in names:
        target = folder / name
        if target.is_dir():
            raise MediaWriteError(target, "is a folder; it cannot be written")
        if target.exists() and _file_id(target) in kept:
            raise UsageError(f"{target}: is an input of this command; give another folder")


def _file_id(path: Path) -> tuple[int, int]:
    found = path.stat()
    return found.st_dev, found.st_ino


def write_manifests(out_dir: Path, rows: Sequence[Any], fields: list[str]) -> None:
    """``manifest.csv`` and ``manifest.json`` in ``out_dir``: one record per dataclass in
    ``rows`` (columns ``fields``, its fields), each file written whole or not at all."""
    records = [asdict(row) for row in rows]
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=fields)
    writer.writeheader()
    writer.writerows(records)
    write_atomic(out_dir / "manifest.csv", text.getvalue().encode())
    write_atomic(out_dir / "manifest.json", json.dumps(records, indent=1).encode())
