"""The ``FrameSynthesizer`` interface, its registry and the checks every engine's input passes.

An engine makes new frames from existing ones; ``interpolate`` is the one required verb. Engines
are registered by name in the ``synthesizers`` registry (``flow``, the default, needs no weights;
deep models register the same way and import torch only when built), and ``synthesizer(name)``
builds one with its keyword options.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, overload, runtime_checkable

import numpy as np
import numpy.typing as npt

from tweenlab.errors import PluginError, UsageError
from tweenlab.plugins import registry

__all__ = [
    "DEFAULT_ENGINE",
    "FrameSynthesizer",
    "Image",
    "check_frame",
    "check_pair",
    "check_times",
    "interpolate",
    "single_time",
    "synthesizer",
]

#: An RGB frame: ``(H, W, 3)`` uint8.
Image = npt.NDArray[np.uint8]

DEFAULT_ENGINE = "flow"


@runtime_checkable
class FrameSynthesizer(Protocol):
    """Makes the frames between two frames.

    ``interpolate(frame0, frame1, 0.5)`` returns the frame halfway between; a sequence of
    times returns one frame per time, sharing whatever the engine computes once per pair (the
    flow, a feature pyramid).

    Example:
        >>> engine = synthesizer("flow")
        >>> middle = engine.interpolate(frame0, frame1, 0.5)  # doctest: +SKIP
        >>> early, late = engine.interpolate(frame0, frame1, [0.25, 0.75])  # doctest: +SKIP
    """

    name: str

    @overload
    def interpolate(self, frame0: Image, frame1: Image, t: float) -> Image: ...
    @overload
    def interpolate(self, frame0: Image, frame1: Image, t: Sequence[float]) -> list[Image]: ...
    def interpolate(
        self, frame0: Image, frame1: Image, t: float | Sequence[float]
    ) -> Image | list[Image]:
        """Frames at times ``t`` in (0, 1) between ``frame0`` (time 0) and ``frame1`` (time 1)."""
        ...


def synthesizer(name: str = DEFAULT_ENGINE, **options: Any) -> FrameSynthesizer:
    """Build the engine registered as ``name`` with its keyword ``options``.

    Raises:
        PluginError: No engine has that name, or it fails to load.
    """
    factory = registry("synthesizers").get(name)
    if not callable(factory):
        raise PluginError(f"synthesizers: {name!r} is not callable")
    engine = factory(**options)
    if not isinstance(engine, FrameSynthesizer):
        raise PluginError(f"synthesizers: {name!r} built {type(engine).__name__}, no interpolate")
    return engine


_BUILT: dict[str, FrameSynthesizer] = {}


def interpolate(
    frame0: Image, frame1: Image, t: float = 0.5, *, engine: str = DEFAULT_ENGINE
) -> Image:
    """The frame at time ``t`` between ``frame0`` and ``frame1`` by ``engine``, built once and
    kept: the plain function ``../shared/tools/eval_vfi.py`` takes as a method, in process
    (``--method 'tweenlab=tweenlab.synthesis:interpolate'``; the CLI form pays a process start
    per frame).

    Example:
        >>> middle = interpolate(frame0, frame1)  # doctest: +SKIP
    """
    times = check_times(t)
    if len(times) != 1:
        raise UsageError(f"t: one time, not {len(times)} (an engine's interpolate takes several)")
    built = _BUILT.get(engine)
    if built is None:
        built = _BUILT[engine] = synthesizer(engine)
    return built.interpolate(frame0, frame1, times[0])


def check_frame(frame: object, what: str = "frame") -> Image:
    """``frame`` as an RGB uint8 array, or a ``UsageError`` that says what it is instead."""
    if not isinstance(frame, np.ndarray):
        raise UsageError(f"{what}: expected an (H, W, 3) uint8 RGB array, got {type(frame)}")
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise UsageError(f"{what}: expected (H, W, 3) RGB, got shape {frame.shape}")
    if frame.dtype != np.uint8:
        raise UsageError(f"{what}: expected uint8 pixels, got {frame.dtype}")
    if frame.shape[0] < 2 or frame.shape[1] < 2:
        raise UsageError(f"{what}: {frame.shape[1]}x{frame.shape[0]} is too small")
    return frame


def check_pair(frame0: object, frame1: object) -> tuple[Image, Image]:
    """Both frames checked, and of the same size."""
    first, second = check_frame(frame0, "frame0"), check_frame(frame1, "frame1")
    if first.shape != second.shape:
        raise UsageError(
            f"frames differ in size: {first.shape[1]}x{first.shape[0]} and "
            f"{second.shape[1]}x{second.shape[0]}"
        )
    return first, second


def single_time(t: object) -> bool:
    """Whether ``t`` is one time rather than a sequence of them: a number, a numpy scalar or a
    0-d array (an engine's ``interpolate`` then returns one frame, not a list)."""
    one = isinstance(t, int | float | np.integer | np.floating)
    return one or (isinstance(t, np.ndarray) and t.ndim == 0)


def check_times(t: object) -> list[float]:
    """The times as a list of floats, each strictly between 0 and 1.

    ``t`` is one time (a number, a numpy scalar, a 0-d array) or a sequence of them (a 1-d
    array too).

    Raises:
        UsageError: No time, a time that is not a number (a string among them: ``"0.5"`` is
            refused, not read character by character), or one outside (0, 1).
    """
    if isinstance(t, str | bytes):
        raise UsageError(f"t: {t!r} is not a number")
    if single_time(t):
        values: list[object] = [t]
    elif isinstance(t, Iterable):
        values = list(t)
    else:
        raise UsageError(f"t: {t!r} is not a number or a sequence of numbers")
    if not values:
        raise UsageError("t: no times given")
    return [_time(value) for value in values]


def _time(value: object) -> float:
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise UsageError(f"t: {value!r} is not a number")
    number = float(value)
    if not 0.0 < number < 1.0:
        raise UsageError(f"t: {value} is outside (0, 1); 0 and 1 are the given frames")
    return number
