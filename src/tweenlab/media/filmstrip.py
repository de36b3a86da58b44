"""The filmstrip: small frames every *k* frames in one image, for timelines and overviews."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tweenlab.media._files import write_atomic
from tweenlab.media.frames import save_image
from tweenlab.media.index import FrameIndex, build_index
from tweenlab.media.reader import VideoReader

__all__ = ["Filmstrip", "make_filmstrip"]


@dataclass(frozen=True)
class Filmstrip:
    """A grid of thumbnails: tile *i* shows ``frames[i]`` at row ``i // columns``.

    Attributes:
        path: The image file.
        frames: The frame index shown in each tile, in order.
        tile_width: Width of one tile in pixels.
        tile_height: Height of one tile in pixels.
        columns: Tiles per row.
    """

    path: Path
    frames: tuple[int, ...]
    tile_width: int
    tile_height: int
    columns: int

    @classmethod
    def read(cls, path: Path) -> Filmstrip | None:
        """The filmstrip saved at ``path`` (image and ``.json`` sidecar), or None if absent."""
        sidecar = path.with_suffix(".json")
        if not (path.exists() and sidecar.exists()):
            return None
        data = json.loads(sidecar.read_text())
        return cls(
            path, tuple(data["frames"]), data["tile_width"], data["tile_height"], data["columns"]
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON sidecar (``filmstrip.json``) a timeline reads to place tiles."""
        return {
            "image": self.path.name,
            "frames": list(self.frames),
            "tile_width": self.tile_width,
            "tile_height": self.tile_height,
            "columns": self.columns,
        }


def make_filmstrip(
    source: Path,
    target: Path,
    *,
    index: FrameIndex | None = None,
    every: int | None = None,
    max_tiles: int = 200,
    tile_height: int = 64,
    columns: int = 20,
) -> Filmstrip:
    """Write a filmstrip of ``source`` to ``target`` (JPEG) and ``target``'s ``.json`` sidecar.

    Args:
        every: Frames between tiles; by default chosen so there are at most ``max_tiles``.

    Example:
        >>> strip = make_filmstrip(Path("clip.mp4"), Path("strip.jpg"), every=25)  # doctest: +SKIP
        >>> strip.frames[:3]  # doctest: +SKIP
        (0, 25, 50)
    """
    index = index if index is not None else build_index(source)
    step = every or max(1, math.ceil(len(index) / max_tiles))
    wanted = range(0, len(index), step)
    with VideoReader(source, index=index, cache_mb=0) as reader:
        height, width = reader[0].shape[:2]
        # squeezed past 8:1: 20 tiles of a 4000x16 video to scale were wider than JPEG allows
        tile_width = min(max(2, round(width * tile_height / height)), 8 * tile_height)
        reader.size = (tile_width, tile_height)
        tiles = [(frame.index, frame.image) for frame in reader.read_frames(wanted)]
    columns = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / columns)
    sheet = np.zeros((rows * tile_height, columns * tile_width, 3), dtype=np.uint8)
    for i, (_, image) in enumerate(tiles):
        row, column = divmod(i, columns)
        h, w = image.shape[:2]
        sheet[
            row * tile_height : row * tile_height + h, column * tile_width : column * tile_width + w
        ] = image
    save_image(sheet, target)
    strip = Filmstrip(target, tuple(i for i, _ in tiles), tile_width, tile_height, columns)
    write_atomic(target.with_suffix(".json"), json.dumps(strip.to_json(), indent=1).encode())
    return strip
