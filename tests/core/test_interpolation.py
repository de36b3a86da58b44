"""Interpolating shapes between keyframes: every kind, the vectorised boxes, the golden file."""

from __future__ import annotations

import itertools
import json
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.make_golden import GOLDEN, cases, disc, rectangles, regular
from tweenlab.core.contours import trace_contours
from tweenlab.core.interpolation import (
    interpolate,
    interpolate_boxes,
    interpolate_many,
    register_interpolator,
)
from tweenlab.core.shapes import (
    Box,
    Cuboid,
    Mask,
    Points,
    Polygon,
    Polyline,
    Shape,
    ShapeKind,
    Skeleton,
    shape_from_json,
)
from tweenlab.errors import AnnotationError

Array = npt.NDArray[np.float64]
SQUARE = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], dtype=float)


def angle_gap(a: float, b: float) -> float:
    """How far apart two angles in degrees are, around the circle."""
    return abs((a - b + 180.0) % 360.0 - 180.0)


# -- boxes ------------------------------------------------------------------------------------

BOXES = [
    ("across-180", Box(0, 0, 10, 10, 170), Box(0, 0, 10, 10, -170), 0.25, Box(0, 0, 10, 10, 175)),
    ("across-180-midway", Box(0, 0, 10, 10, 170), Box(0, 0, 10, 10, -170), 0.5,
     Box(0, 0, 10, 10, 180)),
    ("across-180-backwards", Box(0, 0, 10, 10, -170), Box(0, 0, 10, 10, 170), 0.25,
     Box(0, 0, 10, 10, -175)),
    ("across-0", Box(0, 0, 10, 10, -20), Box(0, 0, 10, 10, 40), 0.5, Box(0, 0, 10, 10, 10)),
    ("move-and-resize", Box(0, 10, 4, 8), Box(10, 30, 8, 4), 0.25, Box(2.5, 15, 5, 7)),
]  # fmt: skip


@pytest.mark.parametrize(("a", "b", "t", "expected"), [c[1:] for c in BOXES],
                         ids=[c[0] for c in BOXES])  # fmt: skip
def test_boxes(a: Box, b: Box, t: float, expected: Box) -> None:
    got = interpolate(a, b, t)
    assert isinstance(got, Box)
    assert np.allclose(got.array[:4], expected.array[:4])
    assert angle_gap(got.rotation, expected.rotation) < 1e-9


def test_endpoints_are_the_keyframes_themselves() -> None:
    a, b = Box(0.1, 0.2, 3.3, 4.4, 0.1), Box(7, 8, 9, 10, -179.9)
    assert interpolate(a, b, 0) is a
    assert interpolate(a, b, 1.0) is b
    assert interpolate_many(a, b, [0, 1]) == [a, b]


# -- points, skeletons, cuboids -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("t", "visible"),
    [(0.0, [True, False]), (0.5, [True, False]), (0.999, [True, False]), (1.0, [False, True])],
    ids=["t0", "t0.5", "t0.999", "t1"],
)
def test_points_move_linearly_and_visibility_steps_at_the_end(
    t: float, visible: list[bool]
) -> None:
    a = Points([[0, 0], [10, 10]], [True, False])
    b = Points([[10, 0], [0, 20]], [False, True])
    got = interpolate(a, b, t)
    assert isinstance(got, Points) and got.visible is not None
    assert np.allclose(got.points, [[10 * t, 0], [10 - 10 * t, 10 + 10 * t]])
    assert got.visible.tolist() == visible


def test_skeleton_matches_nodes_by_name() -> None:
    a = Skeleton([[10, 10], [10, 20], [5, 30]], [True, True, False], ("head", "neck", "tail"),
                 ((0, 1), (1, 2)))  # fmt: skip
    b = Skeleton([[25, 40], [20, 10], [24, 22], [0, 0]], None, ("tail", "head", "neck", "wing"),
                 ((1, 2),))  # fmt: skip
    got = interpolate(a, b, 0.5)
    assert isinstance(got, Skeleton) and got.visible is not None
    assert got.nodes == ("head", "neck", "tail", "wing")
    assert got.edges == a.edges
    assert np.allclose(got.points, [[15, 10], [17, 21], [15, 35], [0, 0]])
    assert got.visible.tolist() == [True, True, False, False]  # wing exists only in b


def test_skeleton_node_missing_from_b_stays_put_and_hidden() -> None:
    a = Skeleton([[0, 0], [4, 4]], None, ("head", "hand"))
    b = Skeleton([[10, 0]], None, ("head",))
    got = interpolate(a, b, 0.5)
    assert isinstance(got, Skeleton) and got.visible is not None
    assert got.points.tolist() == [[5, 0], [4, 4]] and got.visible.tolist() == [True, False]


def test_cuboid_moves_each_vertex() -> None:
    a = Cuboid(np.vstack((SQUARE, SQUARE + 3)))
    b = Cuboid(np.vstack((SQUARE * 2, SQUARE * 2 + 5)))
    got = interpolate(a, b, 0.25)
    assert isinstance(got, Cuboid)
    assert np.allclose(got.points, 0.75 * a.points + 0.25 * b.points)


# -- polygons and polylines ---------------------------------------------------------------------

REDRAWN = [
    ("same-start-same-direction", SQUARE),
    ("other-start", np.roll(SQUARE, 2, axis=0)),
    ("opposite-direction", SQUARE[::-1]),
    ("other-start-opposite-direction", SQUARE[[2, 1, 0, 3]]),
]


@pytest.mark.parametrize("b", [c[1] for c in REDRAWN], ids=[c[0] for c in REDRAWN])
@pytest.mark.parametrize("t", [0.1, 0.25, 0.5, 0.75, 0.9])
def test_the_same_square_drawn_differently_stays_that_square(b: Array, t: float) -> None:
    got = interpolate(Polygon(SQUARE), Polygon(b), t)
    assert isinstance(got, Polygon)
    assert np.allclose(got.points, SQUARE)  # no swirl: never a twisted or shrunk square


def test_a_translated_polygon_moves_without_changing_shape() -> None:
    ell = np.array([[0, 0], [6, 0], [6, 3], [3, 3], [3, 8], [0, 8]], dtype=float)
    b = np.roll(ell[::-1], 3, axis=0) + np.array([20, -5])
    for t in (0.2, 0.5, 0.8):
        got = interpolate(Polygon(ell), Polygon(b), t)
        assert isinstance(got, Polygon)
        assert np.allclose(got.points, ell + t * np.array([20, -5]))


def outline_distance(points: Array, polygon: Array) -> float:
    """The farthest any of ``points`` lies from the outline of ``polygon``."""
    start, end = polygon, np.roll(polygon, -1, axis=0)
    along = end - start
    share = ((points[:, None] - start[None]) * along[None]).sum(axis=2) / (along**2).sum(axis=1)
    nearest = start[None] + np.clip(share, 0, 1)[..., None] * along[None]
    return float(np.hypot(*(points[:, None] - nearest).transpose(2, 0, 1)).min(axis=1).max())


def test_a_turned_square_stays_close_to_a_square() -> None:
    # Linear blending cannot turn a shape rigidly; the best-fitting correspondence keeps the
    # blend within a small fraction of the size of the half-turned square.
    a, b = regular(4, 50, 50, 20, 10), regular(4, 50, 50, 20, 30)
    got = interpolate(Polygon(a), Polygon(np.roll(b[::-1], 1, axis=0)), 0.5)
    assert isinstance(got, Polygon)
    assert outline_distance(got.points, regular(4, 50, 50, 20, 20)) < 0.5  # side: 28 px


def test_triangle_to_hexagon_changes_vertex_count_smoothly() -> None:
    triangle = regular(3, 0, 0, 10, 90)
    doubled = np.empty((6, 2))  # the triangle with its midpoints: 6 vertices
    doubled[0::2], doubled[1::2] = triangle, (triangle + np.roll(triangle, -1, axis=0)) / 2
    bigger = Polygon(doubled[::-1] * 2)  # twice the size, from a midpoint, the other way round
    got = interpolate(Polygon(triangle), bigger, 0.5)
    assert isinstance(got, Polygon)
    assert np.allclose(got.points, triangle * 1.5)  # 3 vertices: the midpoints lie on the sides
    hexagon = Polygon(regular(6, 1, 2, 12, 20))
    blends = [interpolate(Polygon(triangle), hexagon, t) for t in (0.01, 0.5, 0.99)]
    counts = [len(blend.points) for blend in blends if isinstance(blend, Polygon)]
    assert counts[0] == 3 and counts[-1] == 6 and 3 <= counts[1] <= 9


def test_polyline_reversed_does_not_cross_over() -> None:
    a = np.array([[0, 0], [10, 0], [20, 0]], dtype=float)
    b = Polyline(a[::-1] + np.array([0, 10]))
    got = interpolate(Polyline(a), b, 0.5)
    assert isinstance(got, Polyline)
    assert np.allclose(got.points, [[0, 5], [20, 5]])  # the middle vertex is collinear: dropped


def test_polyline_gains_vertices() -> None:
    a = Polyline([[0, 0], [30, 0]])
    b = Polyline([[0, 10], [10, 16], [20, 10], [30, 16]])  # equal sides: vertices at thirds
    got = interpolate(a, b, 0.5)
    assert isinstance(got, Polyline)
    assert np.allclose(got.points, [[0, 5], [10, 8], [20, 5], [30, 8]])


# -- masks ----------------------------------------------------------------------------------------

EMPTY = Mask.from_dense(np.zeros((24, 24), dtype=bool))


def components(mask: Shape) -> int:
    """4-connected regions of a mask: its outer boundaries (the loops of positive area)."""
    assert isinstance(mask, Mask)
    count = 0
    for x, y in (loop.T for loop in trace_contours(mask.to_dense())):
        count += np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)) > 0
    return count


def iou(a: Shape, b: Shape) -> float:
    assert isinstance(a, Mask) and isinstance(b, Mask)
    da, db = a.to_dense(), b.to_dense()
    return float((da & db).sum() / (da | db).sum())


def test_mask_translates_as_a_whole() -> None:
    a, b = disc(7, 8, 5), disc(17, 14, 5)  # 11.7 px apart: a cross-fade would be empty midway
    got = interpolate(a, b, 0.5)
    assert isinstance(got, Mask)
    assert iou(got, disc(12, 11, 5)) > 0.9
    assert abs(got.area - a.area) <= 0.1 * a.area


def test_mask_splits_into_two() -> None:
    one = rectangles((4, 9, 16, 6))
    two = rectangles((2, 8, 6, 8), (16, 8, 6, 8))
    assert [components(interpolate(one, two, t)) for t in (0.25, 0.5, 0.75)] == [1, 2, 2]


@pytest.mark.parametrize("vanish", [True, False], ids=["vanish", "appear"])
def test_mask_shrinks_away_or_grows_from_its_core(vanish: bool) -> None:
    shape = disc(12, 12, 7)
    areas = []
    for t in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        got = interpolate(shape, EMPTY, t) if vanish else interpolate(EMPTY, shape, 1 - t)
        assert isinstance(got, Mask)
        assert not (got.to_dense() & ~shape.to_dense()).any()  # never outside the shape
        areas.append(got.area)
    assert areas[0] == shape.area and areas[-1] == 0
    assert all(x > y for x, y in itertools.pairwise(areas))
    assert areas[-2] > 0  # still there just before the end


def test_mask_changes_shape_between_both() -> None:
    square, round_ = rectangles((4, 4, 12, 12)), disc(10, 10, 7)
    got = interpolate(square, round_, 0.5)
    assert isinstance(got, Mask)
    dense, a, b = got.to_dense(), square.to_dense(), round_.to_dense()
    assert dense[a & b].all() and not dense[~(a | b)].any()
    assert not np.array_equal(dense, a) and not np.array_equal(dense, b)


def test_two_empty_masks_stay_empty() -> None:
    assert interpolate(EMPTY, EMPTY, 0.5) == EMPTY


# -- errors and the registry ---------------------------------------------------------------------

ERRORS = [
    ("kinds", Box(0, 0, 1, 1), Polygon(SQUARE), 0.5, "cannot interpolate a box"),
    ("t-above-1", Box(0, 0, 1, 1), Box(0, 0, 2, 2), 1.5, "within"),
    ("t-nan", Box(0, 0, 1, 1), Box(0, 0, 2, 2), float("nan"), "within"),
    ("point-counts", Points([[0, 0]]), Points([[0, 0], [1, 1]]), 0.5, "same number"),
    ("mask-sizes", EMPTY, Mask.from_dense(np.zeros((2, 3), bool)), 0.5, "sizes differ"),
]


@pytest.mark.parametrize(("a", "b", "t", "message"), [c[1:] for c in ERRORS],
                         ids=[c[0] for c in ERRORS])  # fmt: skip
def test_refuses(a: Shape, b: Shape, t: float, message: str) -> None:
    with pytest.raises(AnnotationError, match=message):
        interpolate(a, b, t)


def test_register_interpolator_replaces_and_restores() -> None:
    a, b = Box(0, 0, 1, 1), Box(10, 0, 1, 1)
    built_in = register_interpolator(ShapeKind.BOX, lambda a, b, t: a)
    try:
        assert interpolate(a, b, 0.5) is a
    finally:
        assert built_in is not None
        register_interpolator(ShapeKind.BOX, built_in)
    assert interpolate(a, b, 0.5) == Box(5, 0, 1, 1)


# -- properties -------------------------------------------------------------------------------

coordinate = st.floats(-1000, 1000, allow_nan=False)
size = st.floats(0, 500, allow_nan=False)
angle = st.floats(-720, 720, allow_nan=False)
boxes = st.builds(Box, coordinate, coordinate, size, size, angle)
fractions = st.floats(0, 1, allow_nan=False)


def vertices(count: int) -> st.SearchStrategy[Array]:
    pairs = st.lists(st.tuples(coordinate, coordinate), min_size=count, max_size=count)
    return pairs.map(lambda points: np.array(points, dtype=float))


def outline(minimum: int) -> st.SearchStrategy[Array]:
    return st.integers(minimum, 12).flatmap(vertices)


@settings(max_examples=100, deadline=None)
@given(boxes, boxes, fractions)
def test_box_endpoints_and_bounds(a: Box, b: Box, t: float) -> None:
    assert interpolate(a, b, 0.0) == a and interpolate(a, b, 1.0) == b
    got = interpolate(a, b, t)
    assert isinstance(got, Box)
    for field in ("x", "y", "w", "h"):
        low, high = sorted((getattr(a, field), getattr(b, field)))
        assert low - 1e-9 <= getattr(got, field) <= high + 1e-9
    assert angle_gap(got.rotation, a.rotation) <= angle_gap(a.rotation, b.rotation) + 1e-9


@settings(max_examples=100, deadline=None)
@given(outline(3), outline(3), fractions)
def test_polygon_endpoints_and_any_blend(a: Array, b: Array, t: float) -> None:
    pa, pb = Polygon(a), Polygon(b)
    assert interpolate(pa, pb, 0.0) == pa and interpolate(pa, pb, 1.0) == pb
    got = interpolate(pa, pb, t)
    assert isinstance(got, Polygon) and len(got.points) >= 3
    low = np.minimum(a.min(axis=0), b.min(axis=0)) - 1e-6
    high = np.maximum(a.max(axis=0), b.max(axis=0)) + 1e-6
    assert ((got.points >= low) & (got.points <= high)).all()


@settings(max_examples=60, deadline=None)
@given(outline(2), outline(2), fractions)
def test_polyline_endpoints_stay_matched(a: Array, b: Array, t: float) -> None:
    got = interpolate(Polyline(a), Polyline(b), t)
    assert isinstance(got, Polyline)
    ends = (got.points[0], got.points[-1])
    forward = (a[0] + (b[0] - a[0]) * t, a[-1] + (b[-1] - a[-1]) * t)
    backward = (a[0] + (b[-1] - a[0]) * t, a[-1] + (b[0] - a[-1]) * t)
    assert any(np.allclose(ends, option, atol=1e-6) for option in (forward, backward))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(vertices(n), vertices(n))), fractions)
def test_points_endpoints(pair: tuple[Array, Array], t: float) -> None:
    a, b = Points(pair[0]), Points(pair[1], np.zeros(len(pair[1]), dtype=bool))
    assert interpolate(a, b, 0.0) == a and interpolate(a, b, 1.0) == b
    got = interpolate(a, b, t)
    assert isinstance(got, Points)
    assert np.allclose(got.points, a.points + (b.points - a.points) * t)


# -- many boxes at once -----------------------------------------------------------------------


def reference(keys: list[int], key_boxes: list[Box], frame: int) -> Box:
    """``interpolate`` frame by frame, holding the ends."""
    if frame <= keys[0]:
        return key_boxes[0]
    if frame >= keys[-1]:
        return key_boxes[-1]
    i = int(np.searchsorted(keys, frame, side="right")) - 1
    got = interpolate(key_boxes[i], key_boxes[i + 1], (frame - keys[i]) / (keys[i + 1] - keys[i]))
    assert isinstance(got, Box)
    return got


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(-50, 200), boxes), min_size=1, max_size=8,
                unique_by=lambda pair: pair[0]))  # fmt: skip
def test_interpolate_boxes_agrees_with_interpolate(track: list[tuple[int, Box]]) -> None:
    track.sort(key=lambda pair: pair[0])
    keys, key_boxes = [f for f, _ in track], [b for _, b in track]
    frames = np.arange(keys[0] - 5, keys[-1] + 6)
    got = interpolate_boxes(np.array(keys), np.array([b.array for b in key_boxes]), frames)
    assert got.shape == (len(frames), 5)
    for frame, row in zip(frames.tolist(), got, strict=True):
        expected = reference(keys, key_boxes, frame).array
        assert np.allclose(row[:4], expected[:4], rtol=1e-12, atol=1e-9)
        assert angle_gap(row[4], expected[4]) < 1e-9
        assert -180.0 <= row[4] < 180.0


def test_interpolate_boxes_gives_keyframes_exactly() -> None:
    keys = np.array([3, 10, 11, 40])
    values = np.array([Box(0.1, 0.2, 3, 4, 0.1).array, Box(5, 6, 7, 8, 179.9).array,
                       Box(1, 1, 1, 1, -179.9).array, Box(9, 9, 9, 9, -33.3).array])  # fmt: skip
    frames = np.array([40, 3, 10, 11, 0, 99])
    got = interpolate_boxes(keys, values, frames)
    assert np.array_equal(got, values[[3, 0, 1, 2, 0, 3]])


@pytest.mark.parametrize(
    ("keys", "values", "message"),
    [
        ([0, 0], np.zeros((2, 5)), "increasing"),
        ([5, 1], np.zeros((2, 5)), "increasing"),
        ([0, 1], np.zeros((2, 4)), "key_boxes"),
        ([], np.zeros((0, 5)), "K >= 1"),
        ([0], [[0, 0, 1, np.inf, 0]], "finite"),
    ],
    ids=["repeated", "unsorted", "four-columns", "no-keyframes", "infinite"],
)
def test_interpolate_boxes_refuses(keys: list[int], values: Any, message: str) -> None:
    with pytest.raises(AnnotationError, match=message):
        interpolate_boxes(np.array(keys, dtype=np.int64), np.asarray(values), np.arange(3))


def test_interpolate_boxes_leaves_its_input_alone() -> None:
    values = np.asfortranarray([[0.0, 0, 1, 1, 350], [1, 1, 1, 1, 10]])
    interpolate_boxes(np.array([0, 10]), values, np.arange(11))
    assert values[0, 4] == 350


# -- golden cases ---------------------------------------------------------------------------


def golden() -> list[dict[str, Any]]:
    return json.loads(GOLDEN.read_text())  # type: ignore[no-any-return]


def close(got: Any, expected: Any, path: str) -> None:
    """JSON values equal, numbers within 1e-6 (and booleans, strings, lengths exactly)."""
    assert type(got) is type(expected) or {type(got), type(expected)} <= {int, float}, path
    if isinstance(expected, dict):
        assert got.keys() == expected.keys(), path
        for key in expected:
            close(got[key], expected[key], f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(got) == len(expected), path
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            close(g, e, f"{path}[{i}]")
    elif isinstance(expected, float | int) and not isinstance(expected, bool):
        assert abs(got - expected) <= 1e-6, f"{path}: {got} != {expected}"
    else:
        assert got == expected, path


def test_golden_file_has_every_case_and_stays_small() -> None:
    assert [case["name"] for case in golden()] == [name for name, *_ in cases()], (
        "regenerate with: python tests/core/make_golden.py"
    )
    assert GOLDEN.stat().st_size < 200_000


@pytest.mark.parametrize("case", golden(), ids=lambda case: case["name"])
def test_golden(case: dict[str, Any]) -> None:
    a, b = shape_from_json(case["a"]), shape_from_json(case["b"])
    assert a.kind.value == b.kind.value == case["kind"]
    assert len(case["t"]) == len(case["expected"])
    for t, expected in zip(case["t"], case["expected"], strict=True):
        close(interpolate(a, b, t).to_json(), expected, f"{case['name']} t={t}")
