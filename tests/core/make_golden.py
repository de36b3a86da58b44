"""Regenerate ``tests/core/golden/interpolation.json``, the golden cases of interpolation.

Each case is ``{"name", "kind", "a", "b", "t": [...], "expected": [...]}`` with shapes as
``Shape.to_json()`` writes them; ``test_interpolation.py`` recomputes every case and compares
within 1e-6, and a browser port of ``tweenlab.core.interpolation`` is checked against the same
file. Masks are small so the file stays small. Run after changing interpolation on purpose::

    python tests/core/make_golden.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from tweenlab.core.interpolation import interpolate
from tweenlab.core.shapes import (
    Box,
    Cuboid,
    Mask,
    Points,
    Polygon,
    Polyline,
    Shape,
    Skeleton,
)

GOLDEN = Path(__file__).with_name("golden") / "interpolation.json"
STEPS = (0.0, 0.25, 0.5, 0.75, 1.0)


def disc(cx: float, cy: float, radius: float, size: int = 24) -> Mask:
    """A disc of pixel centres within ``radius`` of ``(cx, cy)`` on a ``size`` square frame."""
    yy, xx = np.mgrid[:size, :size] + 0.5
    return Mask.from_dense((xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2)


def rectangles(*boxes: tuple[int, int, int, int], size: int = 24) -> Mask:
    """A mask of the union of ``(x, y, w, h)`` rectangles."""
    dense = np.zeros((size, size), dtype=bool)
    for x, y, w, h in boxes:
        dense[y : y + h, x : x + w] = True
    return Mask.from_dense(dense)


def regular(sides: int, cx: float, cy: float, radius: float, turn: float = 0.0) -> np.ndarray:
    angles = np.deg2rad(turn) + 2 * np.pi * np.arange(sides) / sides
    return np.stack((cx + radius * np.cos(angles), cy + radius * np.sin(angles)), axis=1)


def cases() -> list[tuple[str, Shape, Shape, tuple[float, ...]]]:
    """``(name, a, b, ts)`` of every golden case."""
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)
    ell = np.array([[0, 0], [6, 0], [6, 3], [3, 3], [3, 8], [0, 8]], dtype=float)
    pose = Skeleton([[10, 10], [10, 20], [5, 30]], [True, True, False], ("head", "neck", "tail"),
                    ((0, 1), (1, 2)))  # fmt: skip
    reordered = Skeleton([[25, 40], [20, 10], [24, 22], [0, 0]], [True, True, True, True],
                         ("tail", "head", "neck", "wing"), ((1, 2),))  # fmt: skip
    return [
        ("box-rotation-across-180", Box(0, 0, 10, 20, 170), Box(10, 0, 30, 20, -160),
         (0.0, 0.25, 0.5, 0.75, 0.9, 1.0)),
        ("box-rotation-across-0", Box(5, 5, 10, 10, -20), Box(5, 5, 10, 10, 40), STEPS),
        ("points-visibility", Points([[0, 0], [10, 10]], [True, False]),
         Points([[10, 0], [0, 10]], [False, True]), (0.0, 0.5, 0.999, 1.0)),
        ("skeleton-reordered-and-missing-nodes", pose, reordered, STEPS),
        ("cuboid", Cuboid(np.vstack((square, square + 3))),
         Cuboid(np.vstack((square * 2, square * 2 + 5)) + 7), STEPS),
        ("polygon-square-redrawn", Polygon(square), Polygon(square[[2, 1, 0, 3]]), STEPS),
        ("polygon-translated-other-start", Polygon(square), Polygon(np.roll(square, 1, 0) + 20),
         STEPS),
        ("polygon-rotated", Polygon(regular(4, 50, 50, 20, 10)),
         Polygon(regular(4, 50, 50, 20, 40)[::-1]), STEPS),
        ("polygon-triangle-to-hexagon", Polygon(regular(3, 20, 20, 12, 5)),
         Polygon(regular(6, 24, 21, 10, 20) * [1.0, 1.2]), (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)),
        ("polygon-concave", Polygon(ell), Polygon(np.roll(ell[::-1] * 1.5 + [4, 2], 2, 0)),
         STEPS),
        ("polyline-reversed", Polyline([[0, 0], [10, 0], [10, 10]]),
         Polyline([[12, 14], [12, 2], [2, 2]]), STEPS),
        ("polyline-2-to-4-vertices", Polyline([[0, 0], [30, 0]]),
         Polyline([[0, 10], [10, 14], [20, 6], [30, 10]]), STEPS),
        ("mask-translate", disc(7, 8, 5), disc(15, 13, 5), STEPS),
        ("mask-split", rectangles((4, 9, 16, 6)), rectangles((2, 8, 6, 8), (16, 8, 6, 8)), STEPS),
        ("mask-vanish", disc(12, 12, 7), Mask.from_dense(np.zeros((24, 24), bool)), STEPS),
        ("mask-appear", Mask.from_dense(np.zeros((24, 24), bool)), rectangles((6, 4, 9, 14)),
         STEPS),
        ("mask-square-to-disc", rectangles((4, 4, 12, 12)), disc(13, 12, 8), STEPS),
    ]  # fmt: skip


def build() -> list[dict[str, Any]]:
    """Every case with its expected shapes, as JSON-ready dicts."""
    return [
        {
            "name": name,
            "kind": a.kind.value,
            "a": a.to_json(),
            "b": b.to_json(),
            "t": list(ts),
            "expected": [interpolate(a, b, t).to_json() for t in ts],
        }
        for name, a, b, ts in cases()
    ]


def main() -> None:
    """Write the golden file, one case per line."""
    lines = ",\n".join(json.dumps(case, separators=(",", ":")) for case in build())
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(f"[\n{lines}\n]\n")
    print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
