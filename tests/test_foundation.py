"""The leaves every layer uses: the error tree, settings and plugin registries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tweenlab import errors
from tweenlab.errors import FrameOutOfRangeError, MediaError, TweenlabError
from tweenlab.plugins import Registry, registry
from tweenlab.settings import Settings, load_settings


def test_every_error_is_in_the_one_tree_and_drawn_in_its_docstring() -> None:
    for name in errors.__all__:
        kind = getattr(errors, name)
        assert issubclass(kind, TweenlabError)
        assert name in (errors.__doc__ or ""), f"{name} is missing from the tree drawing"


def test_media_errors_name_the_file_and_frame_on_one_line() -> None:
    error = FrameOutOfRangeError(Path("/v/clip.mp4"), "frame 99 is outside 0..9", frame=99)
    assert str(error) == "/v/clip.mp4, frame 99: frame 99 is outside 0..9"
    assert isinstance(error, IndexError) and isinstance(error, MediaError)
    assert "\n" not in str(error)


def test_settings_read_the_environment_with_the_prefix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TWEENLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TWEENLAB_FRAME_CACHE_MB", "32")
    settings = load_settings()
    assert settings.data_dir == tmp_path and settings.frame_cache_mb == 32
    assert settings.derived_dir == tmp_path / "derived"


def test_bad_settings_are_a_config_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWEENLAB_FRAME_CACHE_MB", "lots")
    with pytest.raises(errors.ConfigError, match="TWEENLAB_FRAME_CACHE_MB"):
        load_settings()


def test_settings_are_frozen() -> None:
    settings = Settings(data_dir=Path("/tmp/x"))
    with pytest.raises(ValueError, match="frozen"):
        settings.debug = True  # type: ignore[misc]


def test_registry_loads_lazily_and_names_what_it_knows() -> None:
    things = Registry[object]("things")
    things.register("fractions", "fractions:Fraction")
    things.register("ready", 42)
    assert things.names() == ["fractions", "ready"]
    assert things.get("ready") == 42
    assert things.get("fractions").__name__ == "Fraction"  # type: ignore[attr-defined]
    with pytest.raises(errors.PluginError, match=r"no plugin named 'nope'.*fractions, ready"):
        things.get("nope")
    with pytest.raises(errors.PluginError, match="already registered"):
        things.register("ready", 1)
    things.register("broken", "no_such_module_here:thing")
    with pytest.raises(errors.PluginError, match="failed to load"):
        things.get("broken")


def test_named_registries_exist_for_every_extension_point() -> None:
    for kind in ("formats", "flow_estimators", "synthesizers", "labelers", "executors"):
        assert registry(kind).kind == kind
    with pytest.raises(errors.PluginError, match="no registry"):
        registry("nonsense")


def test_importing_tweenlab_does_no_work_and_loads_no_heavy_library() -> None:
    code = (
        "import sys, tweenlab, tweenlab.cli.main, tweenlab.services;"
        "heavy = {'torch', 'cv2', 'fastapi', 'sqlalchemy'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
