"""Deep engines: checkpoints (round trip, bad files), the engine behind ``FrameSynthesizer``
(times by bisection, padding, bad input), the registry, training and the ``synth`` CLI, and
torch staying unimported until a deep engine is built."""

from __future__ import annotations

import json
import math
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
from tweenlab.synthesis import training as training_module  # noqa: E402
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


@pytest.mark.parametrize("t", [np.float32(0.5), np.array(0.5)], ids=["numpy-float32", "0-d-array"])
def test_a_numpy_time_gives_one_frame(checkpoints: dict[str, Path], t: Any) -> None:
    engine = DeepSynthesizer("dvf", checkpoint=checkpoints["dvf"])
    first, second = frames()
    made = engine.interpolate(first, second, t)
    assert isinstance(made, np.ndarray)
    np.testing.assert_array_equal(made, engine.interpolate(first, second, 0.5))


GOOD = np.zeros((24, 32, 3), np.uint8)
BAD_INPUT = [
    pytest.param(GOOD, np.zeros((24, 30, 3), np.uint8), 0.5, "differ in size", id="sizes"),
    pytest.param(GOOD[..., 0], GOOD, 0.5, r"expected \(H, W, 3\)", id="grey"),
    pytest.param(GOOD, GOOD, 1.0, r"outside \(0, 1\)", id="t-one"),
    pytest.param(GOOD, GOOD, -0.5, r"outside \(0, 1\)", id="t-negative"),
    pytest.param(GOOD, GOOD, "0.5", r"t: '0.5' is not a number$", id="t-str"),
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
    listed = tmp_path / "listed.pt"  # was an internal error: unhashable type 'list'
    torch.save({**stored, "model": ["dvf"]}, listed)
    unworkable = tmp_path / "unworkable.pt"  # a model that builds but cannot run
    torch.save({**stored, "config": {**stored["config"], "scales": 0}}, unworkable)
    diverged = tmp_path / "diverged.pt"  # wrote flat grey frames without a word
    nan = {
        k: torch.full_like(v, math.nan) if v.is_floating_point() else v
        for k, v in stored["state_dict"].items()
    }
    torch.save({**stored, "state_dict": nan}, diverged)
    cases = [
        (tmp_path / "none.pt", "no such checkpoint file"),
        (tmp_path, "is a folder; give the checkpoint file"),
        (garbage, "not a readable checkpoint"),
        (truncated, "not a readable checkpoint"),
        (pickled, r"holds a Python object, fractions.Fraction, besides weights; not loaded"),
        (foreign, "not a tweenlab synthesis checkpoint"),
        (checkpoints["sepconv"], "holds a sepconv model, not dvf"),
        (misfit, "weights do not fit a dvf model"),
        (listed, "unknown model"),
        (unworkable, "do not make a working dvf model"),
        (diverged, "hold NaN or infinity"),
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


ZIP = (
    "PytorchStreamReader failed reading zip archive: failed finding central directory. This is "
    "an internal miniz error. If you are seeing this error, there is a high likelihood that "
    "your checkpoint file is corrupted."
)
LONG_CLAUSES = "the file ends early, " * 12 + "so nothing could be read"
LONG_WORDS = "word " * 60


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        pytest.param(
            ZIP,
            "PytorchStreamReader failed reading zip archive: failed finding central directory.",
            id="first-sentence",
        ),
        pytest.param(
            "Weights only load failed. In PyTorch 2.6 the default changed.\nPlease file an issue "
            "with the following: WeightsUnpickler error: \n\nUnsupported operand 110\n\nCheck",
            "Unsupported operand 110",
            id="unpickler-reason",
        ),
        pytest.param(
            LONG_CLAUSES, "the file ends early, " * 6 + "the file ends early ...", id="clause"
        ),
        pytest.param(LONG_WORDS, "word " * 31 + "word ...", id="words"),
    ],
)
def test_unreadable_checkpoint_detail_ends_at_a_sentence_or_clause(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, message: str, expected: str
) -> None:
    class Refusing:
        def load(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError(message)

    path = tmp_path / "bad.pt"
    path.write_bytes(b"x")
    monkeypatch.setattr(checkpoint_module, "_torch", Refusing)
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(path)
    assert caught.value.detail == (
        f"not a readable checkpoint (damaged, or not a PyTorch file: {expected.strip()})"
    )


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


def test_training_that_diverges_stops_with_a_clear_error(
    moving_video: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A loss that turns NaN stops the training before torch's backward pass, which crashed
    the whole process (a segmentation fault) on NaN weights."""
    options = TrainOptions(steps=4, crop=32, batch=2, width=4, validate_every=4, per_video=8)
    monkeypatch.setattr(training_module, "_loss", lambda *_: torch.tensor(math.nan))
    with pytest.raises(UsageError, match="training diverged at step 1 "):
        train("dvf", [moving_video], tmp_path / "x.pt", options)
    assert not (tmp_path / "x.pt").exists()


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


def saved_frames(
    folder: Path,
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], Path, Path, Path]:
    """``frames()`` as ``a.png`` and ``b.png`` in ``folder``, and where to write ``m.png``."""
    first, second = frames()
    a, b = folder / "a.png", folder / "b.png"
    Image.fromarray(first).save(a)
    Image.fromarray(second).save(b)
    return first, second, a, b, folder / "m.png"


def test_cli_interpolates_with_a_checkpoint(
    checkpoints: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, a, b, out = saved_frames(tmp_path)
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


def test_cli_takes_the_engine_from_the_checkpoint(
    checkpoints: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second, a, b, out = saved_frames(tmp_path)
    for name in ("dvf", "phasenet"):
        code, printed, err = run(
            capsys, "synth", "interpolate", a, b, "--model", checkpoints[name], "--out", out
        )
        assert code == 0 and printed.strip() == str(out), err
        expected = DeepSynthesizer(name, checkpoint=checkpoints[name]).interpolate(
            first, second, 0.5
        )
        np.testing.assert_array_equal(np.asarray(Image.open(out)), expected)
    code, _, err = run(
        capsys, "synth", "interpolate", a, b, "--engine", "sepconv", "--model", checkpoints["dvf"],
        "--out", out,
    )  # fmt: skip
    assert code == 2 and "holds a dvf model, not sepconv" in err


@pytest.mark.parametrize("command", ["interpolate", "repair", "retime"])
def test_cli_model_takes_a_file_not_a_model_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    inputs = {"interpolate": ["a.png", "b.png"], "repair": ["v.mp4"], "retime": ["v.mp4"]}
    extra = ["--factor", "2"] if command == "retime" else []
    code, _, err = run(
        capsys, "synth", command, *inputs[command], *extra, "--model", "sepconv",
        "--out", tmp_path / "o",
    )  # fmt: skip
    assert code == 2
    assert "--model takes a checkpoint file" in err
    assert "the shipped sepconv checkpoint is used by --engine sepconv without --model" in err


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


TINY_ARGS = ["--steps", "2", "--crop", "32", "--batch", "2", "--per-video", "8"]


def test_cli_trains_with_config_on_the_cpu(
    moving_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sepconv.pt"
    config = ["width=4", "depth=1", "kernel=3", "normalise=false"]
    code, _, err = run(
        capsys, "synth", "train", "--model", "sepconv", moving_video, "--out", out, *TINY_ARGS,
        *(arg for pair in config for arg in ("--config", pair)), "--device", "cpu",
    )  # fmt: skip
    assert code == 0, err
    card = json.loads(out.with_suffix(".json").read_text())
    wanted = {"width": 4, "depth": 1, "kernel": 3, "normalise": False}
    assert card["config"] == wanted and card["options"]["config"] == wanted
    assert card["options"]["device"] == "cpu" and card["device"] == "cpu"
    model, _ = load_checkpoint(out, model="sepconv")
    assert model.config == wanted


def test_config_must_agree_with_init(moving_video: Path, tmp_path: Path) -> None:
    start = tmp_path / "start.pt"
    options = TrainOptions(steps=1, crop=32, batch=2, config={"width": 4, "depth": 1})
    train("dvf", [moving_video], start, TrainOptions(**{**options.__dict__, "per_video": 8}))
    again = TrainOptions(**{**options.__dict__, "per_video": 8, "init": start})
    train("dvf", [moving_video], tmp_path / "same.pt", again)  # the same config: accepted
    changed = TrainOptions(**{**again.__dict__, "config": {"depth": 2}})
    with pytest.raises(UsageError, match=r"depth=2 differs from .*start.pt's hyper-parameters"):
        train("dvf", [moving_video], tmp_path / "other.pt", changed)


@pytest.mark.skipif(torch.cuda.is_available(), reason="refused only where torch sees no GPU")
def test_cli_train_on_cuda_without_a_gpu_is_refused(
    moving_video: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.pt"
    code, _, err = run(
        capsys, "synth", "train", "--model", "dvf", moving_video, "--out", out, *TINY_ARGS,
        "--device", "cuda",
    )  # fmt: skip
    assert code == 2 and "device: cuda, but torch sees no CUDA GPU here" in err


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


REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_readme_and_train_script_give_each_shipped_config(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The README's ``tweenlab synth train`` line for each shipped model, read by the CLI's
    ``--config`` parser, is its card's config; the training script's plan agrees."""
    import importlib.util
    import re

    from tweenlab.cli.synth import _config

    card = json.loads(path.with_suffix(".json").read_text())
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    line = re.search(
        rf"tweenlab synth train --model {path.stem} \$C (.*?)\n  (?:tweenlab|```)", readme, re.S
    )
    assert line, f"README gives no command line for {path.stem}"
    assert _config(tuple(re.findall(r"--config (\S+)", line.group(1)))) == card["config"]
    spec = importlib.util.spec_from_file_location(
        "train_script", REPO / "scripts/train_deep_models.py"
    )
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "train_script", script)  # its dataclass looks itself up
    spec.loader.exec_module(script)
    assert script.PLANS[path.stem][0].items() <= card["config"].items()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        pytest.param(["--gaps", "0"], "--gaps: '0' must be whole numbers >= 1", id="gap-zero"),
        pytest.param(["--gaps", "1,x"], "is not a list of whole numbers", id="gap-text"),
        pytest.param(["--init", "none.pt"], "no such checkpoint file", id="init-missing"),
        pytest.param(
            ["--config", "kernal=3"],
            "config: 'kernal' is not a hyper-parameter of dvf (it takes width, depth, scales)",
            id="unknown-key",
        ),
        pytest.param(["--config", "depth"], "--config: 'depth' is not KEY=VALUE", id="no-value"),
        pytest.param(["--config", "=3"], "is not KEY=VALUE", id="no-key"),
        pytest.param(
            ["--config", "depth=2", "--config", "depth=3"], "depth given twice", id="twice"
        ),
        pytest.param(
            ["--config", "depth=2.5"],
            "depth=2.5, but dvf's depth is a whole number (default 3)",
            id="float-for-int",
        ),
        pytest.param(
            ["--config", "depth=deep"], "depth='deep', but dvf's depth is a whole number", id="text"
        ),
        pytest.param(
            ["--width", "4", "--config", "width=8"], "width: 4 and config width=8", id="width-twice"
        ),
        pytest.param(["--device", "tpu"], "'tpu' is not one of", id="device-unknown"),
        # a NaN or infinite rate made NaN weights, and torch's backward crashed the process
        pytest.param(["--lr", "inf"], "lr: must be a positive finite number", id="lr-inf"),
        pytest.param(["--lr", "nan"], "lr: must be a positive finite number", id="lr-nan"),
        pytest.param(["--max-grad-norm", "nan"], "max_grad_norm: must be 0", id="norm-nan"),
        pytest.param(["--minutes", "nan"], "minutes: must be 0 or more", id="minutes-nan"),
        # accepted by the model's constructor, then a failure deep inside torch
        pytest.param(["--config", "scales=0"], "config: scales=0: ", id="no-scales"),
        pytest.param(["--config", "depth=100"], "config: depth=100: ", id="too-deep"),
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
        capsys, "synth", "train", "--model", "dvf", moving_video, "--out", out, *TINY_ARGS, *extra
    )
    assert code == 2 and message in err, err
    assert not out.exists()
