"""Use cases: what the CLI and the server do, each one function over the lower layers."""

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
