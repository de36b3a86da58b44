"""Deep engines: checkpoints (round trip, bad files), the engine behind ``FrameSynthesizer``
(times by bisection, padding, bad input), the registry, training and the ``synth`` CLI, and
torch staying unimported until a deep engine is built."""

from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.synthesis.scenes import shifted, texture
from tweenlab.cli._ui import run_with_boundary
from tweenlab.cli.main import cli
from tweenlab.errors import UsageError
from tweenlab.media import VideoWriter
from tweenlab.plugins import registry
from tweenlab.synthesis import (
    DEEP_MODELS,
    CheckpointError,
    DeepSynthesizer,
    FrameSynthesizer,
    load_checkpoint,
    save_checkpoint,
    synthesizer,
)

torch = pytest.importorskip("torch")

from tweenlab.synthesis import checkpoint as checkpoint_module  # noqa: E402
from tweenlab.synthesis.models import build_model  # noqa: E402
from tweenlab.synthesis.training import TrainOptions, train  # noqa: E402

TINY = {
    "adaconv": {"width": 4, "depth": 1, "kernel": 3},
    "sepconv": {"width": 4, "depth": 1, "kernel": 3},
    "dvf": {"width": 4, "depth": 1, "scales": 2},
    "bipn": {"width": 4, "depth": 1},
    "phasenet": {"width": 4},
}


def _perturbed(name: str) -> object:
    """A tiny model whose weights are all moved off their initial values."""
    torch.manual_seed(1)
    model = build_model(name, **TINY[name])
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.01 * torch.randn_like(parameter))
    return model.eval()


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("checkpoints")
    paths = {}
    for name in DEEP_MODELS:
        paths[name] = folder / f"{name}.pt"
        save_checkpoint(_perturbed(name), paths[name], {"note": "test"})
    return paths


def frames(size: tuple[int, int] = (37, 51)) -> tuple[np.ndarray, np.ndarray]:
    base = texture(size, seed=4)
    return shifted(base, 0, 0), shifted(base, 2, 1)


@pytest.mark.parametrize("name", DEEP_MODELS)
def test_checkpoint_round_trip_gives_identical_outputs(
    name: str, checkpoints: dict[str, Path]
) -> None:
    original = _perturbed(name)
    loaded, card = load_checkpoint(checkpoints[name], model=name)
    pair = torch.rand(1, 3, 24, 40), torch.rand(1, 3, 24, 40)
    with torch.no_grad():
        assert torch.equal(original(*pair), loaded(*pair))  # type: ignore[operator]
    assert card["note"] == "test" and card["model"] == name
    assert card["config"].items() >= TINY[name].items()
    assert len(card["sha256"]) == 64 and card["bytes"] == checkpoints[name].stat().st_size


@pytest.mark.parametrize("name", DEEP_MODELS)
def test_engine_interpolates_any_size(name: str, checkpoints: dict[str, Path]) -> None:
    engine = synthesizer(name, checkpoint=checkpoints[name], device="cpu")
    assert isinstance(engine, DeepSynthesizer) and isinstance(engine, FrameSynthesizer)
    first, second = frames()
    made = engine.interpolate(first, second, 0.5)
    assert made.shape == first.shape and made.dtype == np.uint8
    again = synthesizer(name, checkpoint=checkpoints[name], device="cpu")
    np.testing.assert_array_equal(made, again.interpolate(first, second, 0.5))


def test_other_times_bisect(checkpoints: dict[str, Path]) -> None:
    engine = DeepSynthesizer("dvf", checkpoint=checkpoints["dvf"], depth=2)
    first, second = frames()
    middle = engine.interpolate(first, second, 0.5)
    quarter, three_eighths = engine.interpolate(first, second, [0.25, 0.375])
    direct = DeepSynthesizer("dvf", checkpoint=checkpoints["dvf"], depth=0)
    # 1/4 is the model between frame 0 and the (unrounded) middle; depth 0 blends instead
    assert np.abs(quarter.astype(int) - engine.interpolate(first, second, 0.25)).max() == 0
    assert not np.array_equal(quarter, direct.interpolate(first, second, 0.25))
    assert three_eighths.shape == middle.shape
    bipn = DeepSynthesizer("bipn", checkpoint=checkpoints["bipn"])
    made = bipn.interpolate(first, second, [0.25, 0.5, 0.75, 0.1])
    assert len(made) == 4 and all(m.shape == first.shape for m in made)


GOOD = np.zeros((24, 32, 3), np.uint8)
BAD_INPUT = [
    pytest.param(GOOD, np.zeros((24, 30, 3), np.uint8), 0.5, "differ in size", id="sizes"),
    pytest.param(GOOD[..., 0], GOOD, 0.5, r"expected \(H, W, 3\)", id="grey"),
    pytest.param(GOOD, GOOD, 1.0, r"outside \(0, 1\)", id="t-one"),
    pytest.param(GOOD, GOOD, -0.5, r"outside \(0, 1\)", id="t-negative"),
]


@pytest.mark.parametrize(("frame0", "frame1", "t", "message"), BAD_INPUT)
def test_bad_input_is_refused(
    checkpoints: dict[str, Path], frame0: object, frame1: object, t: float, message: str
) -> None:
    engine = DeepSynthesizer("sepconv", checkpoint=checkpoints["sepconv"])
    with pytest.raises(UsageError, match=message):
        engine.interpolate(frame0, frame1, t)  # type: ignore[arg-type]


def test_bad_checkpoints_are_refused(
    checkpoints: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(checkpoints["dvf"].read_bytes()[:5000])
    pickled = tmp_path / "pickled.pt"  # torch.load(weights_only=True) refuses other objects
    torch.save({**torch.load(checkpoints["dvf"], weights_only=True), "x": Fraction(1, 2)}, pickled)
    misfit = tmp_path / "misfit.pt"
    stored = torch.load(checkpoints["dvf"], weights_only=True)
    torch.save({**stored, "config": {**stored["config"], "width": 6}}, misfit)
    cases = [
        (tmp_path / "none.pt", "no such checkpoint file"),
        (garbage, "not a readable checkpoint"),
        (truncated, "not a readable checkpoint"),
        (pickled, r"holds a Python object, fractions.Fraction, besides weights; not loaded"),
        (foreign, "not a tweenlab synthesis checkpoint"),
        (checkpoints["sepconv"], "holds a sepconv model, not dvf"),
        (misfit, "weights do not fit a dvf model"),
    ]
    for path, message in cases:
        with pytest.raises(CheckpointError, match=message) as caught:
            DeepSynthesizer("dvf", checkpoint=path)
        assert caught.value.path == path
        assert "\n" not in str(caught.value) and "weights_only" not in str(caught.value)
    monkeypatch.setattr(checkpoint_module, "SHIPPED", tmp_path / "empty")
    with pytest.raises(CheckpointError, match="no trained dvf checkpoint ships"):
        DeepSynthesizer("dvf")
    with pytest.raises(UsageError, match="not one of"):
        DeepSynthesizer("rife")


def test_registry_lists_the_deep_engines() -> None:
    names = registry("synthesizers").names()
    assert set(DEEP_MODELS) <= set(names) and "flow" in names


def test_importing_synthesis_does_not_import_torch() -> None:
    code = (
        "import sys, tweenlab.synthesis, tweenlab.cli.main, tweenlab.services.synthesize; "
        "from tweenlab.plugins import registry; registry('synthesizers').names(); "
        "print('torch' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.fixture(scope="module")
def moving_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("videos") / "moving.mp4"
    base = texture((80, 96), seed=9)
    with VideoWriter(path, 96, 80, Fraction(1, 25), crf=10) as writer:
        for n in range(16):
            writer.write(shifted(base, 1.5 * n, 0.5 * n), pts=n)
    return path


def test_training_writes_a_checkpoint_with_its_card(moving_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "dvf.pt"
    options = TrainOptions(steps=6, crop=32, batch=4, width=4, validate_every=3, per_video=12)
    done = train("dvf", [moving_video], out, options)
    card = json.loads(out.with_suffix(".json").read_text())
    assert done.card == card and out.is_file()
    assert card["model"] == "dvf" and card["config"]["width"] == 4
    assert card["run"]["steps"] == 6 and card["steps"] in (3, 6)
    assert card["validation"]["psnr"] > 0 and card["validation"]["blend_psnr"] > 0
    assert card["data"][0]["video"] == str(moving_video) and card["windows"]["train"] > 0
    assert [h["step"] for h in card["history"]] == [3, 6]
    engine = DeepSynthesizer("dvf", checkpoint=out)
    assert engine.card["sha256"] == card["sha256"]
    longer = tmp_path / "dvf-longer.pt"
    again = train("dvf", [moving_video], longer, TrainOptions(**{**options.__dict__, "init": out}))
    assert again.card["started_from"]["checkpoint"] == str(out)
    assert again.card["started_from"]["steps"] == card["steps"]


def test_warmup_softens_the_first_steps_of_a_restart(moving_video: Path, tmp_path: Path) -> None:
    """A restart from a checkpoint gets a fresh optimiser, whose first steps move every weight
    by about the learning rate; a warm-up of N steps scales the first to 1 / (N + 1)."""
    start = tmp_path / "start.pt"
    options = TrainOptions(steps=2, crop=32, batch=2, width=4, validate_every=2, per_video=8)
    train("dvf", [moving_video], start, options)
    moved = {}
    for warmup in (0, 99):
        out = tmp_path / f"warmup{warmup}.pt"
        again = {**options.__dict__, "steps": 1, "validate_every": 1, "init": start}
        train("dvf", [moving_video], out, TrainOptions(**{**again, "warmup": warmup}))
        before = torch.load(start, weights_only=True)["state_dict"]
        after = torch.load(out, weights_only=True)["state_dict"]
        moved[warmup] = max(float((after[k] - before[k]).abs().max()) for k in before)
    assert moved[0] == pytest.approx(1e-3, rel=0.05)  # Adam's first step: lr on every weight
    assert moved[99] == pytest.approx(moved[0] / 100, rel=0.05)


def test_gradients_are_clipped_to_max_grad_norm(
    moving_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clip = torch.nn.utils.clip_grad_norm_
    after: list[float] = []

    def clip_and_measure(parameters: Any, max_norm: float) -> Any:
        parameters = list(parameters)
        norm = clip(parameters, max_norm)
        after.append(
            float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in parameters])))
        )
        return norm

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", clip_and_measure)
    options = TrainOptions(steps=3, crop=32, batch=2, width=4, validate_every=3, per_video=8)
    train("dvf", [moving_video], tmp_path / "a.pt", options)
    assert after == []  # off by default
    train(
        "dvf",
        [moving_video],
        tmp_path / "b.pt",
        TrainOptions(**{**options.__dict__, "max_grad_norm": 1e-4}),
    )
    assert len(after) == 3 and max(after) <= 1e-4 * 1.001


def test_training_refuses_bad_options(moving_video: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not one of"):
        train("rife", [moving_video], tmp_path / "x.pt")
    with pytest.raises(UsageError, match="crop"):
        train("dvf", [moving_video], tmp_path / "x.pt", TrainOptions(crop=8))
    with pytest.raises(UsageError, match="larger than the frames"):
        train("dvf", [moving_video], tmp_path / "x.pt", TrainOptions(crop=128, steps=1))
    with pytest.raises(UsageError, match="warmup"):
        train("dvf", [moving_video], tmp_path / "x.pt", TrainOptions(warmup=-1))


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = run_with_boundary(cli, [str(arg) for arg in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_interpolates_with_a_checkpoint(
    checkpoints: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = frames()
    a, b, out = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "m.png"
    Image.fromarray(first).save(a)
    Image.fromarray(second).save(b)
    for name in ("dvf", "bipn"):
        model = checkpoints[name]
        code, printed, err = run(
            capsys, "synth", "interpolate", a, b, "--engine", name, "--model", model, "--out", out
        )
        assert code == 0, err
        assert printed.strip() == str(out)
        expected = DeepSynthesizer(name, checkpoint=model).interpolate(first, second, 0.5)
        np.testing.assert_array_equal(np.asarray(Image.open(out)), expected)
    code, _, err = run(
        capsys, "synth", "interpolate", a, b, "--engine", "dvf", "--model", a, "--out", out
    )
    assert code == 2 and "not a readable checkpoint" in err
    code, _, err = run(
        capsys, "synth", "interpolate", a, b, "--engine", "flow", "--model", a, "--out", out
    )
    assert code == 2 and "--model needs a deep engine" in err


def test_cli_trains(moving_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "phasenet.pt"
    args = ["--steps", "2", "--crop", "32", "--batch", "2", "--width", "4", "--per-video", "8"]
    code, printed, err = run(
        capsys, "synth", "train", "--model", "phasenet", moving_video, "--out", out, *args
    )
    assert code == 0, err
    summary = json.loads(printed)
    assert summary["checkpoint"] == str(out) and summary["blend_psnr"] > 0
    assert out.with_suffix(".json").is_file()


SHIPPED = sorted(checkpoint_module.SHIPPED.glob("*.pt"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_checkpoints_are_trained_and_match_their_cards(path: Path) -> None:
    import hashlib

    card = json.loads(path.with_suffix(".json").read_text())
    assert card["model"] == path.stem and card["trained_by"].startswith("tweenlab synth train")
    assert card["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert card["steps"] >= 100 and card["validation"]["psnr"] is not None
    assert path.stat().st_size < 8 * 1024 * 1024, "a shipped checkpoint stays a few MB"
    engine = synthesizer(path.stem, device="cpu")
    assert isinstance(engine, DeepSynthesizer) and engine.checkpoint == path
    first, second = frames()
    assert engine.interpolate(first, second, 0.5).shape == first.shape


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(["--gaps", "0"], "--gaps: '0' must be whole numbers >= 1", id="gap-zero"),
        pytest.param(["--gaps", "1,x"], "is not a list of whole numbers", id="gap-text"),
        pytest.param(["--init", "none.pt"], "no such checkpoint file", id="init-missing"),
    ],
)
def test_cli_train_refuses_bad_options(
    moving_video: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "x.pt"
    code, _, err = run(
        capsys, "synth", "train", "--model", "dvf", moving_video, "--out", out, *extra
    )
    assert code == 2 and message in err
    assert not out.exists()
