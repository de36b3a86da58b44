"""The masked median the box carrying uses (``_median``) against the definition it keeps: the
dropped values replaced, the first half (by position) by -inf and the rest by +inf, the row
sorted, and the middle value (odd length) or the mean of the two middle values (even length)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from tweenlab.propagation.boxes import _median


def _by_sorting(values: npt.NDArray[Any], keep: npt.NDArray[np.bool_]) -> npt.NDArray[Any]:
    rank = np.cumsum(~keep, axis=-1)
    low = rank <= rank[..., -1:] / 2
    padded = np.where(keep, values, np.where(low, -np.inf, np.inf).astype(values.dtype))
    ordered = np.sort(padded, axis=-1)
    half = values.shape[-1] // 2
    if values.shape[-1] % 2:
        middle: npt.NDArray[Any] = ordered[..., half]
        return middle
    with np.errstate(invalid="ignore"):
        mean: npt.NDArray[Any] = (ordered[..., half - 1] + ordered[..., half]) / 2
    return mean


@pytest.mark.parametrize(
    "length, special",
    [(400, None), (144, "ties"), (7, None), (2, None), (9, "inf"), (10, "nan"), (1, None)],
    ids=["400", "144-ties", "odd-7", "2", "odd-9-inf", "10-nan", "1"],
)
def test_the_median_is_the_middle_of_the_padded_sorted_row(
    length: int, special: str | None
) -> None:
    rng = np.random.default_rng(length)
    for _ in range(200):
        values: npt.NDArray[Any] = rng.standard_normal((3, 2, length)).astype(np.float32)
        if special == "ties":
            values = np.round(values * 2) / 2
        elif special is not None:
            values[rng.random(values.shape) < 0.2] = np.inf if special == "inf" else np.nan
        keep = rng.random(values.shape) < rng.random()
        np.testing.assert_array_equal(_median(values, keep), _by_sorting(values, keep))
