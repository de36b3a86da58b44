"""The five deep frame-synthesis models, as pure ``nn.Module``s (importing a model's module
imports torch; this package's ``__init__`` does not).

Each takes two ``(B, 3, H, W)`` frames in 0..1, of any size, and returns the frames at its
``times`` (``(B, 3, H, W)`` for one time, ``(B, N, 3, H, W)`` for several: BiPN). Each is built
from keyword-only hyper-parameters, which it keeps in ``config`` for checkpoints.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["MODELS", "build_model"]

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
