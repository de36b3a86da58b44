"""Run-length encoded binary masks, compatible with COCO's uncompressed RLE.

Runs alternate 0 and 1 starting with 0, over the mask read column by column (Fortran order),
exactly as ``pycocotools.mask`` expects ``{"size": [h, w], "counts": [...]}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tweenlab.core.contours import trace_contours
from tweenlab.core.limits import MAX_SIDE
from tweenlab.errors import AnnotationError

__all__ = ["Rle"]


@dataclass(frozen=True)
class Rle:
    """A ``height x width`` binary mask as alternating run lengths (0-runs first).

    Example:
        >>> dense = np.array([[0, 1], [1, 1]], dtype=bool)
        >>> rle = Rle.encode(dense)
        >>> rle.counts, rle.area
        ((1, 3), 3)
        >>> bool((rle.decode() == dense).all())
        True
    """

    counts: tuple[int, ...]
    height: int
    width: int

    def __post_init__(self) -> None:
        counts = tuple(int(c) for c in self.counts)
        if self.height < 0 or self.width < 0:
            raise AnnotationError(f"size {self.height}x{self.width} is negative", field="mask.size")
        if max(self.height, self.width) > MAX_SIDE:  # decoding 10**6 x 10**6 asked for 931 GB
            raise AnnotationError(
                f"size {self.height}x{self.width}: at most {MAX_SIDE} a side",
                field="mask.size",
            )
        if any(c < 0 for c in counts):
            raise AnnotationError("run lengths must not be negative", field="mask.counts")
        if sum(counts) != self.height * self.width:
            raise AnnotationError(
                f"runs add up to {sum(counts)} pixels, the mask has {self.height * self.width}",
                field="mask.counts",
            )
        object.__setattr__(self, "counts", counts)

    @classmethod
    def encode(cls, dense: npt.NDArray[np.bool_]) -> Rle:
        """Encode a boolean ``(H, W)`` array."""
        if dense.ndim != 2:
            raise AnnotationError(f"needs a 2-D array, got shape {dense.shape}", field="mask")
        flat = np.asarray(dense, dtype=bool).ravel(order="F")
        changes = np.flatnonzero(flat[1:] != flat[:-1]) + 1
        edges = np.concatenate(([0], changes, [flat.size]))
        runs = np.diff(edges).tolist()
        if flat.size and flat[0]:
            runs = [0, *runs]
        return cls(tuple(runs), dense.shape[0], dense.shape[1])

    def decode(self) -> npt.NDArray[np.bool_]:
        """The boolean ``(H, W)`` array."""
        values = np.arange(len(self.counts)) % 2 == 1
        flat = np.repeat(values, self.counts)
        return flat.reshape((self.height, self.width), order="F")

    @property
    def area(self) -> int:
        """Pixels set."""
        return int(sum(self.counts[1::2]))

    def bbox(self) -> tuple[float, float, float, float]:
        """``(x, y, w, h)`` of the set pixels (zeros when empty)."""
        dense = self.decode()
        rows, columns = np.flatnonzero(dense.any(axis=1)), np.flatnonzero(dense.any(axis=0))
        if rows.size == 0:
            return 0.0, 0.0, 0.0, 0.0
        x, y = float(columns[0]), float(rows[0])
        return x, y, float(columns[-1] + 1 - x), float(rows[-1] + 1 - y)

    def to_coco(self) -> dict[str, object]:
        """``{"size": [h, w], "counts": [...]}`` as pycocotools reads it."""
        return {"size": [self.height, self.width], "counts": list(self.counts)}

    @classmethod
    def from_polygons(cls, polygons: Sequence[npt.ArrayLike], height: int, width: int) -> Rle:
        """Rasterise polygons with the even-odd rule, sampling pixel centres."""
        dense = np.zeros((height, width), dtype=bool)
        centres_y = np.arange(height, dtype=np.float64) + 0.5
        for polygon in polygons:
            points = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
            if len(points) >= 3:
                dense ^= _fill(points, centres_y, width)
        return cls.encode(dense)

    def to_polygons(self) -> list[npt.NDArray[np.float64]]:
        """The outlines of the set regions (outer boundaries and holes), each ``(N, 2)``."""
        return trace_contours(self.decode())


def _fill(
    points: npt.NDArray[np.float64], centres_y: npt.NDArray[np.float64], width: int
) -> npt.NDArray[np.bool_]:
    """Pixels whose centres lie inside ``points`` (even-odd), by scanline crossings."""
    start, end = points, np.roll(points, -1, axis=0)
    inside = np.zeros((centres_y.size, width), dtype=bool)
    columns = np.arange(width) + 0.5
    for (x0, y0), (x1, y1) in zip(start, end, strict=True):
        if y0 == y1:
            continue
        rows = np.flatnonzero((np.minimum(y0, y1) <= centres_y) & (centres_y < np.maximum(y0, y1)))
        crossing = x0 + (centres_y[rows] - y0) * (x1 - x0) / (y1 - y0)
        inside[rows] ^= columns[None, :] > crossing[:, None]
    return inside
