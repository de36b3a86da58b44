"""Use cases: what the CLI and the server do, each one function over the lower layers.

The names below are loaded with the module that defines them, on first use (PEP 562): a
command that needs one service does not import every other's dependencies (``tweenlab synth``
does not load the demo, the keyframe analysis or the job runner). ``from tweenlab.services
import run_demo`` works as before.
"""

# no ``from __future__ import annotations``: it would bind ``annotations``, the name of a
# submodule, to the future feature
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tweenlab.services.demo import DemoReport, run_demo
    from tweenlab.services.keyframes import (
        KeyframeResult,
        analyse_video,
        extract_keyframes,
        split_scenes,
    )
    from tweenlab.services.media import (
        Ingested,
        Reporter,
        extract,
        ingest,
        resolve_cuts,
        split,
    )

_WHERE = {
    "DemoReport": "demo",
    "run_demo": "demo",
    "KeyframeResult": "keyframes",
    "analyse_video": "keyframes",
    "extract_keyframes": "keyframes",
    "split_scenes": "keyframes",
    "Ingested": "media",
    "Reporter": "media",
    "extract": "media",
    "ingest": "media",
    "resolve_cuts": "media",
    "split": "media",
}

__all__ = [
    "DemoReport",
    "Ingested",
    "KeyframeResult",
    "Reporter",
    "analyse_video",
    "extract",
    "extract_keyframes",
    "ingest",
    "resolve_cuts",
    "run_demo",
    "split",
    "split_scenes",
]


def __getattr__(name: str) -> Any:
    """A service's name, or one of the submodules (``services.propagate``), loaded on first use."""
    module = _WHERE.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value
        return value
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as missing:
        if missing.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
