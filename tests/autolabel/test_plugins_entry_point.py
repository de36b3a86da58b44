"""A labeler from another Python package's entry point, found and run as the CLI runs one.

No pip: the "package" is a folder on ``sys.path`` holding a module and a ``.dist-info`` whose
``entry_points.txt`` names the module's factory in the group ``tweenlab.labelers``, which is
what installing a wheel leaves behind, so ``importlib.metadata`` finds it as it finds an
installed one. The labelers registry is swapped for a fresh one for the test (it reads entry
points once), so other tests see the registry they expect.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.propagation import write_video
from tweenlab.autolabel import Labeler, LabelerOptions
from tweenlab.plugins import BUILTINS, REGISTRIES, Registry
from tweenlab.services.annotations import load_annotations
from tweenlab.services.autolabel import autolabel_file, describe_labelers, make_labeler
from tweenlab.settings import Settings

MODULE = "tweenlab_test_mine_labeler"

PLUGIN = '''
"""Finds the bright pixels: a team's own labeler, in its own package."""

import numpy as np

from tweenlab.autolabel import Detections, LabelerOptions


class Bright:
    name = "mine"
    classes = ("blob",)
    batch_size = 4
    sequential = False

    def __init__(self, min_score: float) -> None:
        self.min_score = min_score

    def detect(self, frames):
        found = []
        for image in frames:
            ys, xs = np.nonzero(image[:, :, 0] > 128)
            if not len(xs):
                found.append(Detections.empty())
                continue
            box = [[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]]
            found.append(Detections(np.array(box, float), np.array([0.7]), np.array([0])))
        return found


def make(options: LabelerOptions) -> Bright:
    return Bright(options.min_score)
'''


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A package ``tweenlab-mine`` on ``sys.path`` with a labeler ``mine`` as an entry point,
    and a fresh labelers registry (the built-ins, and entry points not read yet)."""
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / f"{MODULE}.py").write_text(textwrap.dedent(PLUGIN))
    info = site / "tweenlab_mine-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tweenlab-mine\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[tweenlab.labelers]\nmine = {MODULE}:make\n")
    fresh = Registry[object]("labelers")
    for name, target in BUILTINS["labelers"].items():
        fresh.register(name, target)
    monkeypatch.setitem(REGISTRIES, "labelers", fresh)
    monkeypatch.syspath_prepend(str(site))
    yield
    sys.modules.pop(MODULE, None)


@pytest.fixture
def video(tmp_path: Path) -> Path:
    """A white square moving right over black for 20 frames."""
    images = []
    for frame in range(20):
        image = np.zeros((64, 96, 3), dtype=np.uint8)
        image[20:36, 4 + 2 * frame : 20 + 2 * frame] = 255
        images.append(image)
    return write_video(tmp_path / "square.mp4", images)


def test_an_entry_point_labeler_is_named_lazily_and_described(installed: None) -> None:
    assert "mine" in REGISTRIES["labelers"].names()
    assert MODULE not in sys.modules  # naming imports nothing
    listed = {info.name: info for info in describe_labelers()}
    assert "mine" in listed and "yolov3-tiny" in listed
    assert listed["mine"].error is None
    assert "team's own labeler" in listed["mine"].description


def test_an_entry_point_labeler_is_built_and_labels_a_video(
    installed: None, video: Path, tmp_path: Path, settings: Settings
) -> None:
    labeler = make_labeler("mine", LabelerOptions(min_score=0.3))
    assert isinstance(labeler, Labeler) and labeler.name == "mine"

    out = tmp_path / "mine.json"
    report = autolabel_file(video, out, settings, labeler="mine", options=LabelerOptions(), every=2)
    assert report.labeler == "mine" and report.prelabels.detections == report.frames_labelled
    (track,) = load_annotations(out).tracks.values()
    assert track.label == "blob" and track.source == "auto"
    state = track.at(10)
    assert state is not None and abs(state.shape.x - 24) < 1.5  # type: ignore[attr-defined]
