"""Tracing mask outlines: pixel-edge polygons that rasterise back to the very same mask."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from tweenlab.core.contours import trace_contours
from tweenlab.core.rle import Rle
from tweenlab.core.shapes import Mask
from tweenlab.errors import AnnotationError


def grid(*rows: str) -> npt.NDArray[np.bool_]:
    """A mask from strings, ``#`` for a set pixel."""
    return np.array([[c == "#" for c in row] for row in rows], dtype=bool)


def signed_area(loop: npt.NDArray[np.float64]) -> float:
    x, y = loop[:, 0], loop[:, 1]
    return float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2


def round_trip(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    return Rle.from_polygons(trace_contours(mask), *mask.shape).decode()


CASES = [
    ("single-pixel", grid("...", ".#.", "..."), [[(1, 1), (2, 1), (2, 2), (1, 2)]]),
    ("rectangle", grid("....", ".##.", ".##.", "...."), [[(1, 1), (3, 1), (3, 3), (1, 3)]]),
    ("whole-frame", grid("###", "###"), [[(0, 0), (3, 0), (3, 2), (0, 2)]]),
    (
        "l-shape",
        grid("#.", "##"),
        [[(0, 0), (1, 0), (1, 1), (2, 1), (2, 2), (0, 2)]],
    ),
    (
        "hole",
        grid("###", "#.#", "###"),
        [[(0, 0), (3, 0), (3, 3), (0, 3)], [(1, 1), (1, 2), (2, 2), (2, 1)]],
    ),
    (
        "diagonal-pixels-are-separate-loops",
        grid("#.", ".#"),
        [[(0, 0), (1, 0), (1, 1), (0, 1)], [(1, 1), (2, 1), (2, 2), (1, 2)]],
    ),
    (
        "anti-diagonal-pixels",
        grid(".#", "#."),
        [[(1, 0), (2, 0), (2, 1), (1, 1)], [(0, 1), (1, 1), (1, 2), (0, 2)]],
    ),
    ("empty", grid("...", "..."), []),
]


@pytest.mark.parametrize(("mask", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_known_outlines(mask: npt.NDArray[np.bool_], expected: list[list[tuple[int, int]]]) -> None:
    loops = trace_contours(mask)
    assert [loop.tolist() for loop in loops] == [[list(p) for p in loop] for loop in expected]
    assert all(loop.dtype == np.float64 for loop in loops)
    assert np.array_equal(round_trip(mask), mask)


def test_outer_boundaries_run_clockwise_on_screen_and_holes_the_other_way() -> None:
    mask = np.zeros((12, 12), dtype=bool)
    mask[1:11, 1:11] = True
    mask[3:6, 3:6] = False
    mask[7:9, 6:9] = False
    mask[4, 4] = True  # an island inside a hole
    areas = sorted(signed_area(loop) for loop in trace_contours(mask))
    assert areas == [-9.0, -6.0, 1.0, 100.0]
    assert sum(areas) == mask.sum()


def test_a_component_touching_itself_diagonally_round_trips() -> None:
    mask = grid("###.", "#.#.", "##..", "....")  # the hole touches the outside at a corner
    [loop] = trace_contours(mask)  # one loop, passing the shared corner (2, 2) twice
    assert loop.tolist() == [
        [0, 0], [3, 0], [3, 2], [2, 2], [2, 1], [1, 1], [1, 2], [2, 2], [2, 3], [0, 3]
    ]  # fmt: skip
    assert signed_area(loop) == mask.sum()
    assert np.array_equal(round_trip(mask), mask)


def test_rejects_anything_but_2d() -> None:
    with pytest.raises(AnnotationError, match="2-D"):
        trace_contours(np.zeros((2, 2, 2), dtype=bool))


def test_mask_to_polygons_round_trips_through_from_polygons() -> None:
    yy, xx = np.mgrid[:40, :50]
    dense = ((xx - 20) ** 2 + (yy - 18) ** 2 < 120) & ~((xx - 21) ** 2 + (yy - 17) ** 2 < 20)
    mask = Mask.from_dense(dense)
    assert Mask.from_polygons(mask.to_polygons(), 40, 50) == mask


masks = arrays(np.bool_, array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12))


@settings(max_examples=300, deadline=None)
@given(masks)
def test_even_odd_rasterisation_gives_the_mask_back(mask: npt.NDArray[np.bool_]) -> None:
    assert np.array_equal(round_trip(mask), mask)


@settings(max_examples=200, deadline=None)
@given(masks)
def test_loops_follow_pixel_edges_without_collinear_vertices(mask: npt.NDArray[np.bool_]) -> None:
    loops = trace_contours(mask)
    for loop in loops:
        assert len(loop) >= 4 and len(loop) % 2 == 0
        assert np.array_equal(loop, np.round(loop))
        steps = np.roll(loop, -1, axis=0) - loop
        assert np.all((steps[:, 0] == 0) != (steps[:, 1] == 0))  # axis-aligned, non-zero
        turns = (
            steps[:, 0] * np.roll(steps, -1, axis=0)[:, 1]
            - steps[:, 1] * np.roll(steps, -1, axis=0)[:, 0]
        )
        assert np.all(turns != 0)  # every vertex is a corner
    assert sum(signed_area(loop) for loop in loops) == mask.sum()


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 7), st.integers(0, 7), masks)
def test_loops_are_in_frame_coordinates(top: int, left: int, mask: npt.NDArray[np.bool_]) -> None:
    framed = np.zeros((mask.shape[0] + top + 3, mask.shape[1] + left + 2), dtype=bool)
    framed[top : top + mask.shape[0], left : left + mask.shape[1]] = mask
    shifted = [loop - [left, top] for loop in trace_contours(framed)]
    assert [loop.tolist() for loop in shifted] == [loop.tolist() for loop in trace_contours(mask)]
