"""Fixtures shared by every test: where the real footage is, and a private data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tweenlab.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("TWEENLAB_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_file(relative: str) -> Path:
    """A file of ../shared/data, or a loud skip naming what is missing."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"needs real footage {path} (../shared/data is absent on this machine)")
    return path


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings whose data folder is private to the test (also for the CLI, via the env)."""
    data = tmp_path / "tweenlab-data"
    monkeypatch.setenv("TWEENLAB_DATA_DIR", str(data))
    return Settings(data_dir=data)
