"""Deep engines: any of the five models (``tweenlab.synthesis.models``) behind the
``FrameSynthesizer`` interface, from a checkpoint.

``DeepSynthesizer("dvf")`` loads the checkpoint tweenlab ships for DVF, ``DeepSynthesizer("dvf",
checkpoint=path)`` one the user trained. The models predict fixed times (t = 0.5; BiPN 1/4, 1/2
and 3/4): other times are reached by bisection, each predicted frame becoming an end of the next
interval, up to ``depth`` times; a time that still falls between two made frames is their
linear blend (times k / 8 are exact with the default depth). Frames of any size are padded by
the model itself. torch is imported when an engine is built, never at import.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from tweenlab.errors import UsageError
from tweenlab.plugins import registry
from tweenlab.synthesis.base import Image, check_pair, check_times, single_time
from tweenlab.synthesis.checkpoint import checkpoint_model, load_checkpoint, shipped_checkpoint

__all__ = [
    "DEEP_MODELS",
    "DeepSynthesizer",
    "adaconv",
    "bipn",
    "dvf",
    "phasenet",
    "register_checkpoint",
    "sepconv",
]

#: The deep engines' names (each also a model name and a ``synthesizers`` registry name).
DEEP_MODELS = ("adaconv", "sepconv", "dvf", "bipn", "phasenet")

_Known = tuple[float, Any]  # a time in (0, 1) and the frame there, (1, 3, H, W) in 0..1


class DeepSynthesizer:
    """Frame interpolation with a trained deep model.

    Args:
        model: ``adaconv``, ``sepconv``, ``dvf``, ``bipn`` or ``phasenet``.
        checkpoint: Its weights file (``tweenlab synth train`` writes one); the checkpoint
            shipped with tweenlab when not given.
        device: ``cpu``, ``cuda``...; a GPU when one is present, else the CPU.
        depth: Bisection steps for times the model does not predict directly.

    Raises:
        UsageError: An unknown model, or a bad depth.
        CheckpointError: A missing or corrupt checkpoint, or one of another model.

    Example:
        >>> engine = DeepSynthesizer("dvf", checkpoint=Path("dvf.pt"))  # doctest: +SKIP
        >>> middle = engine.interpolate(frame0, frame1, 0.5)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: str,
        *,
        checkpoint: str | Path | None = None,
        device: str | None = None,
        depth: int = 3,
    ) -> None:
        if model not in DEEP_MODELS:
            raise UsageError(f"model: {model!r} is not one of {', '.join(DEEP_MODELS)}")
        if depth < 0:
            raise UsageError(f"depth: {depth} must be 0 or more")
        self.name = model
        self.depth = depth
        self.checkpoint = Path(checkpoint) if checkpoint else shipped_checkpoint(model)
        self.model, self.card = load_checkpoint(self.checkpoint, model=model)
        self._torch: Any = importlib.import_module("torch")
        self.device = device or ("cuda" if self._torch.cuda.is_available() else "cpu")
        self.model.to(self.device)

    @overload
    def interpolate(self, frame0: Image, frame1: Image, t: float) -> Image: ...
    @overload
    def interpolate(self, frame0: Image, frame1: Image, t: Sequence[float]) -> list[Image]: ...
    def interpolate(
        self, frame0: Image, frame1: Image, t: float | Sequence[float]
    ) -> Image | list[Image]:
        """Frames at times ``t`` between ``frame0`` and ``frame1``.

        Raises:
            UsageError: Frames of different sizes, not ``(H, W, 3)`` uint8, or a time outside
                (0, 1).
        """
        first, second = check_pair(frame0, frame1)
        times = check_times(t)
        cache: dict[tuple[float, float], list[_Known]] = {}
        with self._torch.inference_mode():
            ends = ((0.0, self._tensor(first)), (1.0, self._tensor(second)))
            frames = [self._image(self._at(ends, when, self.depth, cache)) for when in times]
        return frames[0] if single_time(t) else frames

    def _at(
        self,
        ends: tuple[_Known, _Known],
        when: float,
        depth: int,
        cache: dict[tuple[float, float], list[_Known]],
    ) -> Any:
        """The frame at ``when`` between two known frames: predicted, bisected or blended."""
        (start, _), (stop, _) = ends
        key = (start, stop)
        if key not in cache:
            cache[key] = self._predict(ends)
        points = [ends[0], *cache[key], ends[1]]
        for known_time, frame in cache[key]:
            if abs(known_time - when) < 1e-9:
                return frame
        i = max(j for j, (known_time, _) in enumerate(points[:-1]) if known_time < when)
        (before, frame_before), (after, frame_after) = points[i], points[i + 1]
        if depth <= 0:
            weight = (when - before) / (after - before)
            return frame_before + weight * (frame_after - frame_before)
        return self._at((points[i], points[i + 1]), when, depth - 1, cache)

    def _predict(self, ends: tuple[_Known, _Known]) -> list[_Known]:
        """The model's frames between two known ones, at their absolute times."""
        (start, frame0), (stop, frame1) = ends
        out = self.model(frame0, frame1)
        frames = out.unbind(1) if out.dim() == 5 else (out,)
        times = self.model.times
        return [
            (start + tau * (stop - start), frame.clamp(0, 1))
            for tau, frame in zip(times, frames, strict=True)
        ]

    def _tensor(self, frame: Image) -> Any:
        array = np.ascontiguousarray(frame.transpose(2, 0, 1), dtype=np.float32) / 255.0
        return self._torch.from_numpy(array)[None].to(self.device)

    def _image(self, tensor: Any) -> Image:
        array = (tensor[0].clamp(0, 1) * 255.0).round().byte().permute(1, 2, 0).cpu().numpy()
        image: Image = np.ascontiguousarray(array)
        return image


def adaconv(**options: Any) -> DeepSynthesizer:
    """The ``adaconv`` engine (Adaptive Convolution); ``options`` as for ``DeepSynthesizer``."""
    return DeepSynthesizer("adaconv", **options)


def sepconv(**options: Any) -> DeepSynthesizer:
    """The ``sepconv`` engine (Adaptive Separable Convolution)."""
    return DeepSynthesizer("sepconv", **options)


def dvf(**options: Any) -> DeepSynthesizer:
    """The ``dvf`` engine (Deep Voxel Flow)."""
    return DeepSynthesizer("dvf", **options)


def bipn(**options: Any) -> DeepSynthesizer:
    """The ``bipn`` engine (Bidirectional Predictive Network)."""
    return DeepSynthesizer("bipn", **options)


def phasenet(**options: Any) -> DeepSynthesizer:
    """The ``phasenet`` engine (PhaseNet)."""
    return DeepSynthesizer("phasenet", **options)


def register_checkpoint(model: str | None, checkpoint: str | Path) -> str:
    """Register ``model`` loaded from ``checkpoint`` as an engine of its own in the
    ``synthesizers`` registry, and return its name (``model@checkpoint``), so code that takes
    an engine name (the services, the CLI) can use a user's checkpoint.

    Args:
        model: A deep engine's name, or None for the model the checkpoint holds.
        checkpoint: The weights file.

    Raises:
        UsageError: ``model`` is not a deep engine.
        CheckpointError: ``model`` is None and the checkpoint is missing or unreadable.

    Example:
        >>> name = register_checkpoint("dvf", "mine.pt")
        >>> name
        'dvf@mine.pt'
    """
    if model is None:
        model = checkpoint_model(Path(checkpoint))
    if model not in DEEP_MODELS:
        raise UsageError(f"--model needs a deep engine ({', '.join(DEEP_MODELS)}), not {model!r}")
    name = f"{model}@{checkpoint}"
    factory = functools.partial(DeepSynthesizer, model, checkpoint=Path(checkpoint))
    registry("synthesizers").register(name, factory, replace=True)
    return name
