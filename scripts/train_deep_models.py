"""Train the five deep synthesis models that tweenlab ships, on a machine with a GPU that has
PyTorch and OpenCV but not tweenlab's other dependencies (PyAV, pydantic): how the shipped
checkpoints in ``src/tweenlab/synthesis/checkpoints`` were made.

Each model is trained by ``tweenlab.synthesis.training.train`` (the code behind ``tweenlab synth
train``) in its own process, all at once on the one GPU, with the hyper-parameters of ``PLANS``
passed as ``TrainOptions.config`` (``tweenlab synth train --config KEY=VALUE``), on windows cut
by ``tweenlab.synthesis.windows.collect_windows`` from the given videos. Two things differ from
the CLI, neither in what a model or a training window is: frames are decoded by OpenCV here
(``tweenlab.media`` needs PyAV, which those GPU machines lack), and the windows are cut once, in
the parent process, then handed to each forked training process by replacing
``training.collect_windows`` there (so the clips are not decoded again for each of the seven
runs; a run with other gaps keeps only its windows). ``README.md`` (Deep engines) gives the
``tweenlab synth train`` command line of each shipped model.

After training, each best checkpoint is scored like ``../shared/tools/eval_vfi.py`` scores an
engine (triplets ``(c - k, c, c + k)`` at full size, PSNR of the middle frame, against linear
blending on the same triplets) as a first reading; the official figures come from
``benchmarks/synthesis.py --deep`` on the CPU.

Usage::

    python scripts/train_deep_models.py --videos CLIP... --eval CLIP... --out DIR --minutes 6

It writes ``DIR/models-N.tar`` (``RUN.pt`` and ``RUN.json`` of each run, at most 15 MiB a file),
``DIR/train.log`` and ``DIR/report.json``.
"""

# ruff: noqa: PLC0415 (tweenlab's modules are importable only after _bare_tweenlab runs)
from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import sys
import tarfile
import time
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

SRC = Path(__file__).resolve().parents[1] / "src"


@dataclass
class _Frame:
    index: int
    image: np.ndarray


class CvReader:
    """The part of ``tweenlab.media.VideoReader`` that ``collect_windows`` uses, on OpenCV."""

    def __init__(self, path: Path, cache_mb: int = 0) -> None:
        capture = cv2.VideoCapture(str(path))
        self.images = []
        while True:
            ok, image = capture.read()
            if not ok:
                break
            self.images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        capture.release()

    def __enter__(self) -> CvReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.images = []

    def __len__(self) -> int:
        return len(self.images)

    def read_range(self, start: int, stop: int) -> Any:
        for index in range(start, stop):
            yield _Frame(index, self.images[index])


def _bare_tweenlab() -> None:
    """Import tweenlab's synthesis code without the package's ``__init__`` files (settings need
    pydantic) and with ``tweenlab.media`` standing for OpenCV's reader."""
    for name, folder in (("tweenlab", ""), ("tweenlab.synthesis", "synthesis")):
        package = types.ModuleType(name)
        package.__path__ = [str(SRC / "tweenlab" / folder)]
        sys.modules[name] = package
    media = types.ModuleType("tweenlab.media")
    media.VideoReader = CvReader  # type: ignore[attr-defined]
    sys.modules["tweenlab.media"] = media


# run -> (hyper-parameters, TrainOptions fields): sized for a GPU run of a few minutes and a
# CPU that must still run them on 720p frames. A run named ``MODEL@VARIANT`` trains MODEL with
# other settings beside the plain one (its checkpoint is ``MODEL@VARIANT.pt``), so the better
# can be kept; ``"fresh": True`` ignores ``--init`` for that run.
PLANS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "adaconv": ({"width": 16, "depth": 4, "kernel": 11}, {}),
    "sepconv": ({"width": 16, "depth": 4, "kernel": 25, "normalise": True}, {}),
    "dvf": ({"width": 16, "depth": 4, "scales": 3}, {}),
    "bipn": ({"width": 16, "depth": 4}, {"gaps": (1,)}),
    "bipn@fresh": ({"width": 16, "depth": 4}, {"gaps": (1,), "fresh": True}),
    "bipn@wide": ({"width": 24, "depth": 4}, {"gaps": (1,), "fresh": True}),
    # the shipped BiPN trained on (warm-up and clipping keep a fresh optimiser from throwing
    # it off), and a wider one from scratch, clipped
    "bipn@more": (
        {"width": 16, "depth": 4},
        {"gaps": (1,), "lr": 5e-4, "warmup": 300, "max_grad_norm": 1.0},
    ),
    "bipn@wide-clipped": (
        {"width": 24, "depth": 4},
        {"gaps": (1,), "fresh": True, "warmup": 300, "max_grad_norm": 1.0},
    ),
    "phasenet": ({"width": 32}, {}),
}


def _model(run: str) -> str:
    return run.partition("@")[0]


def _windows(videos: list[Path], span: int, per_video: int, gaps: tuple[int, ...]) -> Any:
    from tweenlab.synthesis.windows import collect_windows

    return collect_windows(videos, span=span, gaps=gaps, per_video=per_video, seed=0)


def _train_one(name: str, data: Any, out: Path, args: argparse.Namespace, log: Path) -> None:
    import torch

    torch.set_num_threads(2)
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    from tweenlab.synthesis import training

    config, extra = PLANS[name]
    extra = dict(extra)
    fresh = extra.pop("fresh", False)
    init = (args.init or Path("/nonexistent")) / f"{_model(name)}.pt"
    if fresh:
        init = Path("/nonexistent")
    gaps = tuple(extra.pop("gaps", args.gaps))
    if set(gaps) != set(args.gaps):  # this run's gaps among the windows cut for all
        data = dataclasses.replace(
            data,
            train=[w for w in data.train if w.gap in gaps],
            validation=[w for w in data.validation if w.gap in gaps],
        )
    training.collect_windows = lambda *a, **k: data  # the windows cut once by the parent
    options = training.TrainOptions(
        steps=10**7,
        crop=args.crop,
        batch=16,
        minutes=args.minutes,
        validate_every=args.validate_every,
        per_video=args.per_video,
        gaps=gaps,
        device=args.device,
        init=init if init.is_file() else None,
        config=config,
        **extra,
    )

    def progress(step: int, steps: int, loss: float, psnr: float | None) -> None:
        with log.open("a") as handle:
            handle.write(f"{name} step {step} loss {loss:.4f} psnr {psnr}\n")

    result = training.train(
        _model(name), [Path(v) for v in args.videos], out / f"{name}.pt", options, progress=progress
    )
    with log.open("a") as handle:
        handle.write(f"{name} done {json.dumps(result.card['validation'])}\n")


def _evaluate(
    names: list[str], out: Path, videos: list[Path], per_clip: int, device: str
) -> dict[str, Any]:
    import torch

    from tweenlab.synthesis.checkpoint import load_checkpoint

    rng = np.random.default_rng(0)
    models = {}
    for name in names:
        if (out / f"{name}.pt").is_file():
            model, _ = load_checkpoint(out / f"{name}.pt", model=_model(name))
            models[name] = model.to(device).eval()
    scores: dict[str, dict[int, list[float]]] = {n: {} for n in ["blend", *models]}
    for video in videos:
        frames = CvReader(video).images
        for gap in (1, 2, 4):
            count = len(frames)
            centres = np.linspace(gap, count - gap - 1, per_clip + 2)[1:-1].round().astype(int)
            for planned in centres.tolist():
                c = int(np.clip(planned + rng.integers(-3, 4), gap, count - gap - 1))
                a, truth, b = frames[c - gap], frames[c], frames[c + gap]
                blend = ((a.astype(np.float32) + b) / 2).round()
                scores["blend"].setdefault(gap, []).append(_psnr(blend, truth))
                pair = [
                    torch.from_numpy(f).permute(2, 0, 1)[None].float().to(device) / 255
                    for f in (a, b)
                ]
                for name, model in models.items():
                    with torch.inference_mode():
                        made = model(*pair)
                    if made.dim() == 5:
                        made = made[:, made.shape[1] // 2]
                    image = (made[0].clamp(0, 1) * 255).round().permute(1, 2, 0).cpu().numpy()
                    scores[name].setdefault(gap, []).append(_psnr(image, truth))
    return {
        name: {str(gap): round(float(np.median(values)), 3) for gap, values in by_gap.items()}
        for name, by_gap in scores.items()
    }


def _psnr(made: np.ndarray, truth: np.ndarray) -> float:
    error = float(((made.astype(np.float64) - truth) ** 2).mean())
    return 10 * np.log10(255.0**2 / max(error, 1e-10))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", nargs="+", required=True)
    parser.add_argument("--eval", nargs="*", default=[])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--models", nargs="+", default=list(PLANS))
    parser.add_argument("--minutes", type=float, default=6.0)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--per-video", type=int, default=300)
    parser.add_argument("--gaps", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--validate-every", type=int, default=500)
    parser.add_argument("--eval-per-clip", type=int, default=6)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--init", type=Path, help="a folder of checkpoints to train on from")
    args = parser.parse_args()
    _bare_tweenlab()
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.out / "models"
    work.mkdir(exist_ok=True)
    log = args.out / "train.log"
    begun = time.monotonic()
    videos = [Path(v) for v in args.videos]
    with multiprocessing.get_context("fork").Pool(2) as pool:
        triplets, quintuplets = pool.starmap(
            _windows,
            [
                (videos, 3, args.per_video, tuple(args.gaps)),
                (videos, 5, args.per_video, tuple(args.gaps)),
            ],
        )
    with log.open("a") as handle:
        handle.write(
            f"windows {len(triplets.train)}+{len(triplets.validation)} / "
            f"{len(quintuplets.train)}+{len(quintuplets.validation)} "
            f"in {time.monotonic() - begun:.0f} s\n"
        )
    context = multiprocessing.get_context("fork")
    workers = []
    for name in args.models:
        data = quintuplets if _model(name) == "bipn" else triplets
        worker = context.Process(target=_train_one, args=(name, data, work, args, log))
        worker.start()
        workers.append(worker)
    deadline = time.monotonic() + 60 * args.minutes + 120
    for worker in workers:
        worker.join(max(1.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.terminate()
    trained = time.monotonic() - begun
    _pack(work, args.out)  # before the first reading, which a time limit may cut short
    report: dict[str, Any] = {"train_wall_s": round(trained, 1)}
    try:
        report["eval_psnr_median"] = _evaluate(
            args.models, work, [Path(v) for v in args.eval], args.eval_per_clip, args.device
        )
    except Exception as error:  # the checkpoints matter more than the first reading
        report["eval_error"] = repr(error)
    report["wall_s"] = round(time.monotonic() - begun, 1)
    for name in args.models:
        card = work / f"{name}.json"
        if card.is_file():
            report[name] = json.loads(card.read_text())["validation"]
    (args.out / "report.json").write_text(json.dumps(report, indent=1) + "\n")


def _halve(checkpoint: Path) -> None:
    """Store a checkpoint's float weights as float16 (its card's size and digest go stale:
    shipping re-saves it)."""
    import torch

    stored = torch.load(checkpoint, map_location="cpu", weights_only=True)
    stored["state_dict"] = {
        k: v.half() if v.is_floating_point() else v for k, v in stored["state_dict"].items()
    }
    torch.save(stored, checkpoint)


def _pack(work: Path, out: Path, limit: int = 15 * 2**20) -> None:
    """Each run's checkpoint and card into ``models-N.tar`` files of at most ``limit`` bytes
    (the device tool brings back files of up to 16 MiB)."""
    groups: list[list[Path]] = [[]]
    size = 0
    for checkpoint in sorted(work.glob("*.pt")):
        if checkpoint.stat().st_size > limit:
            _halve(checkpoint)
        pair = [checkpoint, checkpoint.with_suffix(".json")]
        grown = sum(p.stat().st_size for p in pair if p.is_file())
        if groups[-1] and size + grown > limit:
            groups.append([])
            size = 0
        groups[-1] += [p for p in pair if p.is_file()]
        size += grown
    for number, group in enumerate(groups):
        with tarfile.open(out / f"models-{number}.tar", "w") as tar:
            for path in group:
                tar.add(path, arcname=path.name)


if __name__ == "__main__":
    main()
