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


def pytest_configure(config: pytest.Config) -> None:
    """Dummy AWS credentials for the whole run: the S3 tests talk to a local moto server, and
    no test may reach a real account. Set here, before any job worker starts, because the
    local executor's forkserver copies the environment once, when the first pool starts."""
    del config
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)
    os.environ["AWS_ACCESS_KEY_ID"] = "tweenlab-test"
    os.environ["AWS_SECRET_ACCESS_KEY"] = "tweenlab-test"
    # CPython 3.11 before 3.11.8 (gh-106905) keeps one AST-building depth counter for the whole
    # process: when two threads build ASTs at once, one raises "SystemError: AST constructor
    # recursion depth mismatch". A browser test's live server logs a traceback (3.11's traceback
    # parses each line to place its ^^^ marks) while pytest parses the test file to report a
    # failure: the worker then crashed with INTERNALERROR and the failure itself was lost (CI
    # twice on 3.11.7, 2026-11-27). Without column positions tracebacks parse nothing. Set here,
    # in the controller, before pytest-xdist starts its workers, which inherit it.
    os.environ.setdefault("PYTHONNODEBUGRANGES", "1")
    os.environ["AWS_DEFAULT_REGION"] = "us-east-1"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``, the default options) a module's tests run on
    one worker, so its module-scoped fixtures (encoded videos, a Ray cluster) are made once:
    a test with no ``xdist_group`` gets its module's. The Ray modules share the group ``ray``
    (one local Ray cluster at a time)."""
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            module = getattr(item, "module", None)  # a doctest item has none
            name = module.__name__ if module is not None else item.nodeid.split("::")[0]
            item.add_marker(pytest.mark.xdist_group(name))
