"""The real local Ray cluster of the Ray tests: one per test module that asks for it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
INSTALL = "pip install 'tweenlab[ray]'"


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """A local Ray cluster with 2 CPUs whose workers import ``tests.`` (the repository root on
    their path); skips, naming the pip command, without Ray."""
    ray = pytest.importorskip("ray", reason=f"Ray is not installed: {INSTALL}")
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    yield ray
    ray.shutdown()
