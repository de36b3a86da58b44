"""The masked median the box carrying uses (``_median``) against its definition: per row, the
median of the kept values (``np.median`` of them; nan where none is kept). An earlier version
padded the dropped values with -inf and +inf and took the middle of the padded row, which is
the kept values' median only when an even number of them is dropped: with one of four dropped
it gave the mean of the second and third kept values instead of the second."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tweenlab.propagation.boxes import _median


def _by_definition(values: npt.NDArray[Any], keep: npt.NDArray[np.bool_]) -> npt.NDArray[Any]:
    flat_values, flat_keep = values.reshape(-1, values.shape[-1]), keep.reshape(-1, keep.shape[-1])
    medians = [
        np.median(row[kept]) if kept.any() else np.nan
        for row, kept in zip(flat_values, flat_keep, strict=True)
    ]
    return np.array(medians, dtype=values.dtype).reshape(values.shape[:-1])


def test_one_dropped_of_four_gives_the_middle_of_the_three_kept() -> None:
    values = np.array([[1.0, 2.0, 3.0, 10.0]], dtype=np.float32)
    keep = np.array([[True, True, True, False]])
    assert _median(values, keep).tolist() == [2.0]


@pytest.mark.parametrize(
    "length, special",
    [(400, None), (144, "ties"), (7, None), (2, None), (9, "inf"), (10, "dropped-nan"), (1, None)],
    ids=["400", "144-ties", "odd-7", "2", "odd-9-inf", "10-dropped-nan", "1"],
)
def test_the_median_is_the_median_of_the_kept_values(length: int, special: str | None) -> None:
    rng = np.random.default_rng(length)
    for _ in range(200):
        values: npt.NDArray[Any] = rng.standard_normal((3, 2, length)).astype(np.float32)
        if special == "ties":
            values = np.round(values * 2) / 2
        elif special == "inf":
            values[rng.random(values.shape) < 0.2] = np.inf
        keep = rng.random(values.shape) < rng.random()
        if special == "dropped-nan":  # what a box outside the picture samples: never kept
            values[~keep & (rng.random(values.shape) < 0.5)] = np.nan
        np.testing.assert_array_equal(_median(values, keep), _by_definition(values, keep))
