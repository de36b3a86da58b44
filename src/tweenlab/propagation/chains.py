"""Two chains into one span: what every kind's fill shares.

A fill carries keyframe A forward and keyframe B backward; these weigh the two chains frame by
frame (by time, coherence and reliability), spread a chain's miss of the other keyframe over
the span, bridge what neither reaches, and score the agreement (``ShapeFill.confidence``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tweenlab.core.shapes import Shape

__all__ = ["ShapeFill"]

Array = npt.NDArray[np.float64]
#: A chain's share of the blend is divided by how far it missed the keyframe it ran to (plus
#: the floor) to this power, so two chains that both nearly hit it share by time alone. Over the
#: shared tracks and their eight variants (boxes, in process): 141 -> 137 keyframes for IoU 0.7,
#: mean IoU with a keyframe every 40 frames 0.699 -> 0.709 (power 1: 141, 2: 144, 0.5: 137).
_MISSED_POWER = 0.75
_MISSED_FLOOR = 0.05


@dataclass(frozen=True)
class ShapeFill:
    """The frames ``first .. last`` (both keyframes) filled in, for a shape of any kind.

    Attributes:
        first: Keyframe A.
        last: Keyframe B.
        shapes: ``last - first + 1`` shapes; ``shapes[0]`` is A and ``shapes[-1]`` is B (the very
            objects given).
        confidence: Per frame in [0, 1]; 1 on the keyframes.
    """

    first: int
    last: int
    shapes: list[Shape]
    confidence: npt.NDArray[np.float64]

    @property
    def weakest(self) -> int | None:
        """The frame most worth a keyframe (lowest confidence inside), or None for a span of 2."""
        return weakest(self.first, self.last, self.confidence)


def weakest(first: int, last: int, confidence: npt.NDArray[np.float64]) -> int | None:
    """The frame of ``first .. last`` most worth a keyframe (the lowest of ``confidence``, one
    per frame, strictly inside), or None for a span of 2."""
    if last - first < 2:
        return None
    return first + 1 + int(np.argmin(confidence[1:-1]))


def times(first: int, last: int) -> Array:
    return np.arange(last - first + 1, dtype=np.float64) / (last - first)


def shares(
    t: Array,
    ahead: tuple[Any, Any],
    behind: tuple[Any, Any],
    missed: tuple[float, float] | None = None,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """The forward chain's share of each frame (``(coherence, reliable)`` per chain, arrays of
    frames first), and where either chain is reliable; the ends are always known. ``missed``
    (forward, backward): how far each chain missed the keyframe it ran to, when both reached
    it; each chain's weight is divided by ``(_MISSED_FLOOR + missed) ** _MISSED_POWER``."""
    (coherence_f, reliable_f), (coherence_b, reliable_b) = ahead, behind
    time = t.reshape(-1, *([1] * (np.ndim(reliable_f) - 1)))
    weight_f = (1 - time) * (0.25 + coherence_f) * reliable_f
    weight_b = time * (0.25 + coherence_b) * reliable_b
    if missed is not None:  # the chain that arrived nearer drifted less on the way
        weight_f = weight_f / (_MISSED_FLOOR + missed[0]) ** _MISSED_POWER
        weight_b = weight_b / (_MISSED_FLOOR + missed[1]) ** _MISSED_POWER
    total = weight_f + weight_b
    known = np.asarray(total > 0)
    known[0] = known[-1] = True
    return np.asarray(weight_f / np.maximum(total, 1e-9), dtype=np.float64), known


def bridge(values: Array, t: Array, known: npt.NDArray[np.bool_]) -> Array:
    """``values`` ``(F, N, 2)`` with what is not ``known`` ``(F, N)`` straight between the
    nearest known frames of each point."""
    bridged = values.copy()
    for i in range(values.shape[1]):
        gaps = ~known[:, i]
        if gaps.any():
            for axis in range(values.shape[2]):
                bridged[gaps, i, axis] = np.interp(t[gaps], t[~gaps], values[~gaps, i, axis])
    return bridged


def spread(chain: Array, target: Array, weight: Array, reliable_at_target: bool) -> Array:
    """``chain`` ``(F, ...)`` less its miss of ``target`` at the far end, by ``weight`` ``(F,)``
    (0 at its own keyframe, 1 at the other); a chain lost before the end keeps its course."""
    if not reliable_at_target:
        return chain
    far = -1 if weight[-1] == 1 else 0
    time = weight.reshape(-1, *([1] * (chain.ndim - 1)))
    return np.asarray(chain - time * (chain[far] - target), dtype=np.float64)


def ends(a: Shape, inner: list[Shape], b: Shape) -> list[Shape]:
    return [a, *inner, b]


def confidence(
    agreement: Array, ahead: tuple[Any, Any], behind: tuple[Any, Any]
) -> npt.NDArray[np.float64]:
    """Agreement where both chains are reliable, else half the better one's coherence."""
    (coherence_f, reliable_f), (coherence_b, reliable_b) = ahead, behind
    confidence = np.where(
        reliable_f & reliable_b,
        agreement,
        0.5 * np.maximum(coherence_f * reliable_f, coherence_b * reliable_b),
    )
    confidence = np.asarray(confidence, dtype=np.float64)
    if confidence.ndim > 1:
        confidence = confidence.mean(axis=tuple(range(1, confidence.ndim)))
    confidence[0] = confidence[-1] = 1.0
    return np.clip(confidence, 0.0, 1.0)
