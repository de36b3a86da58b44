"""The five deep frame-synthesis models, as pure ``nn.Module``s (importing a model's module
imports torch; this package's ``__init__`` does not).

Each takes two ``(B, 3, H, W)`` frames in 0..1, of any size, and returns the frames at its
``times`` (``(B, 3, H, W)`` for one time, ``(B, N, 3, H, W)`` for several: BiPN). Each is built
from keyword-only hyper-parameters, which it keeps in ``config`` for checkpoints.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

__all__ = ["MODELS", "build_model", "working_model"]

#: Model name -> ``module:class`` (imported on first use).
MODELS: dict[str, str] = {
    "adaconv": "tweenlab.synthesis.models.adaconv:AdaConv",
    "sepconv": "tweenlab.synthesis.models.sepconv:SepConv",
    "dvf": "tweenlab.synthesis.models.dvf:DeepVoxelFlow",
    "bipn": "tweenlab.synthesis.models.bipn:BidirectionalPredictiveNetwork",
    "phasenet": "tweenlab.synthesis.models.phasenet:PhaseNet",
}


def build_model(name: str, **config: Any) -> Any:
    """The model registered as ``name``, built with ``config`` (an ``nn.Module``).

    Raises:
        KeyError: No model has that name.
        TypeError: A hyper-parameter it does not take.
    """
    module_name, _, attribute = MODELS[name].partition(":")
    return getattr(importlib.import_module(module_name), attribute)(**config)


#: Side of the frames a model is tried on once built (``working_model``).
TRIAL_SIDE = 64


def working_model(name: str, **config: Any) -> Any:
    """``build_model``, then the model tried once on two grey ``TRIAL_SIDE``-pixel frames, so
    hyper-parameters it accepts but cannot run with (no scales, a negative kernel, more levels
    than a frame has pixels) fail here, in one line, and not later, deep inside torch.

    Raises:
        KeyError: No model has that name.
        ValueError: Hyper-parameters it does not take, or cannot work with; the message is
            the first line of the model's or torch's own.
    """
    torch = importlib.import_module("torch")
    try:
        with warnings.catch_warnings():  # torch's warnings on degenerate layers: errors below
            warnings.simplefilter("ignore", UserWarning)
            model = build_model(name, **config)
            frame = torch.full((1, 3, TRIAL_SIDE, TRIAL_SIDE), 0.5)
            with torch.no_grad():
                made = model(frame, frame)
    except (TypeError, ValueError, RuntimeError, IndexError, OverflowError) as error:
        lines = str(error).strip().splitlines()
        raise ValueError(lines[0] if lines else type(error).__name__) from error
    if made.shape[-3:] != frame.shape[-3:]:
        raise ValueError(f"made frames of {tuple(made.shape)} from {tuple(frame.shape)}")
    return model
