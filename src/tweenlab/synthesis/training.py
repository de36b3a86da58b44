"""Self-supervised training of the deep models on a user's own unlabelled video.

Windows of consecutive frames (``tweenlab.synthesis.windows``: cuts, static and repeated frames
skipped) give inputs (the outer frames) and targets (the frames between); each step takes random
crops with random horizontal, vertical and temporal flips. The losses are L1 plus an L1 on the
image gradients (no perceptual loss: it needs a feature network, and none is available
offline). The optimisers are the papers' where they fit: AdaMax at 1e-3 for AdaConv and SepConv;
Adam for DVF, BiPN and PhaseNet (at 1e-3: DVF's paper used 1e-4 over far longer training).
Validation PSNR is measured on the held-out windows against linear blending on the same ones;
the best checkpoint on validation is kept, with its card. Runs on the CPU, on a GPU when one
is present; importing this module imports torch.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 (PyTorch's convention)
from torch import Tensor

from tweenlab.errors import UsageError
from tweenlab.synthesis.checkpoint import save_checkpoint
from tweenlab.synthesis.models import MODELS, build_model, working_model
from tweenlab.synthesis.windows import Window, WindowSet, collect_windows

__all__ = ["TrainOptions", "TrainResult", "train"]

_ADAMAX = ("adaconv", "sepconv")
#: How an error names the type of a hyper-parameter.
_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
#: Reports progress: ``(step, steps, loss, validation_psnr or None)``.
Progress = Callable[[int, int, float, float | None], None]


@dataclass(frozen=True)
class TrainOptions:
    """How to train (every field is a CLI option of ``tweenlab synth train``).

    Attributes:
        steps: Optimiser steps (training also stops after ``minutes``).
        crop: Side of the random training crops, pixels.
        batch: Crops per step.
        width: The model's width (short for ``config={"width": ...}``).
        config: The model's hyper-parameters (``build_model``'s keywords: ``{"depth": 4,
            "kernel": 25}``); those not given keep the model's defaults. Recorded on the card
            with the other options (the card's ``config`` holds every hyper-parameter).
        lr: Learning rate.
        minutes: Wall-time budget; 0 for none.
        validate_every: Steps between validations (and checkpoint saves).
        per_video: Windows tried per video.
        gaps: Frame steps inside a window.
        pan: Largest synthetic camera pan added to a crop, pixels per frame (0: none).
        gradient_weight: Weight of the image-gradient L1 term.
        seed: Random seed.
        device: ``cpu``, ``cuda``...; None: a GPU when present, else the CPU.
        init: A checkpoint of the same model to start from (its hyper-parameters and weights;
            ``width`` and ``config``, when given, must agree with it), to train on for longer.
        warmup: Steps over which the learning rate rises linearly from 0 to ``lr`` (a restart
            from ``init`` with a fresh optimiser otherwise moves every weight by about ``lr``
            in its first steps, which threw a trained BiPN far off).
        max_grad_norm: Gradients are scaled down to this total norm when above it (0: never);
            BiPN, a direct-synthesis network, diverged without it at width 24.
    """

    steps: int = 2000
    crop: int = 64
    batch: int = 16
    width: int | None = None
    config: dict[str, Any] = field(default_factory=dict)
    lr: float = 1e-3
    minutes: float = 0.0
    validate_every: int = 200
    per_video: int = 300
    gaps: tuple[int, ...] = (1, 2)
    pan: int = 0
    gradient_weight: float = 1.0
    seed: int = 0
    device: str | None = None
    init: Path | None = None
    warmup: int = 0
    max_grad_norm: float = 0.0


@dataclass(frozen=True)
class TrainResult:
    """What training made: the checkpoint, and its card (also written beside it)."""

    checkpoint: Path
    card: dict[str, Any]


def train(
    model_name: str,
    videos: Sequence[Path],
    out: Path,
    options: TrainOptions | None = None,
    *,
    progress: Progress | None = None,
) -> TrainResult:
    """Train ``model_name`` on windows of ``videos``; write the best checkpoint to ``out``.

    Raises:
        UsageError: An unknown model, bad options, or no usable window in the videos.

    Example:
        >>> done = train("dvf", [Path("clip.mp4")], Path("dvf.pt"))  # doctest: +SKIP
        >>> done.card["validation"]["psnr"], done.card["validation"]["blend_psnr"]  # doctest: +SKIP
    """
    options = options or TrainOptions()
    _check(model_name, options)
    config = _model_config(model_name, options)  # before seeding: it builds a model
    torch.manual_seed(options.seed)
    rng = np.random.default_rng(options.seed)
    model, earlier = _starting_model(model_name, config, options.init)
    span = 2 + len(model.times)
    data = collect_windows(
        videos, span=span, gaps=options.gaps, per_video=options.per_video, seed=options.seed
    )
    if min(w.frames.shape[1] for w in data.train) < options.crop:
        raise UsageError(f"--crop: {options.crop} is larger than the frames of a video")
    device = torch.device(options.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model.to(device).train()
    optimiser = _optimiser(model_name, model, options.lr)
    validation = _stack([w.frames for w in data.validation]) if data.validation else None
    blend = _validate_blend(validation) if validation is not None else None
    begun, best = time.monotonic(), -math.inf
    history: list[dict[str, Any]] = []
    step, losses = 0, []
    while step < options.steps:
        batch = _batch(data.train, options.crop, options.batch, rng, pan=options.pan).to(device)
        loss = _loss(_predict(model, batch), batch[:, 1:-1], options.gradient_weight)
        if not bool(torch.isfinite(loss)):  # backward through NaN weights can crash torch
            kept = f"; {out} holds the best checkpoint before it" if history else ""
            raise UsageError(
                f"training diverged at step {step + 1} (the loss is {loss.item()}): lower --lr "
                f"or set --max-grad-norm{kept}"
            )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        if options.max_grad_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), options.max_grad_norm)
        for group in optimiser.param_groups:
            group["lr"] = options.lr * min(1.0, (step + 1) / (options.warmup + 1))
        optimiser.step()
        step += 1
        losses.append(loss.item())
        over = options.minutes > 0 and time.monotonic() - begun > 60 * options.minutes
        if step % options.validate_every == 0 or step == options.steps or over:
            psnr = _validate(model, validation, device) if validation is not None else None
            history.append({"step": step, "loss": float(np.mean(losses)), "psnr": psnr})
            losses = []
            if progress:
                progress(step, options.steps, history[-1]["loss"], psnr)
            score = psnr if psnr is not None else -history[-1]["loss"]
            if score > best:
                best = score
                card = _card(
                    model_name,
                    data=data,
                    options=options,
                    step=step,
                    begun=begun,
                    history=history,
                    blend=blend,
                    device=device,
                )
                save_checkpoint(model, out, card)
        if over:
            break
    card = _card(
        model_name,
        data=data,
        options=options,
        step=step,
        begun=begun,
        history=history,
        blend=blend,
        device=device,
    )
    final = {**card, "best": _best(history), "started_from": earlier}
    saved = _rewrite_card(out, final)
    return TrainResult(out, saved)


def _starting_model(
    model_name: str, config: dict[str, Any], init: Path | None
) -> tuple[Any, dict[str, Any] | None]:
    """A new model built with ``config``, or the one in ``init`` (whose hyper-parameters
    ``config`` must agree with) and what its card says of its training."""
    if init is None:
        try:
            return working_model(model_name, **config), None
        except ValueError as error:  # a value it refuses, or cannot run with
            raise UsageError(f"config: {_listed(config)}: {error}") from error
    from tweenlab.synthesis.checkpoint import load_checkpoint  # noqa: PLC0415

    model, card = load_checkpoint(init, model=model_name)
    differ = {key: value for key, value in config.items() if model.config.get(key) != value}
    if differ:
        raise UsageError(
            f"config: {_listed(differ)} differs from {init}'s hyper-parameters "
            f"({_listed(model.config)}); a checkpoint's model cannot change shape"
        )
    earlier = {
        "checkpoint": str(init),
        "steps": card.get("steps"),
        "wall_s": card.get("run", {}).get("wall_s", card.get("wall_s")),
        "validation_psnr": card.get("validation", {}).get("psnr"),
        "started_from": card.get("started_from"),
    }
    return model, earlier


def _model_config(model_name: str, options: TrainOptions) -> dict[str, Any]:
    """``options.config`` with ``options.width``, each key one of the model's hyper-parameters
    and each value of the type of its default."""
    config = dict(options.config)
    if options.width is not None:
        if config.get("width", options.width) != options.width:
            raise UsageError(f"width: {options.width} and config width={config['width']} differ")
        config["width"] = options.width
    defaults = build_model(model_name).config  # every hyper-parameter, with its default
    for key, value in config.items():
        if key not in defaults:
            raise UsageError(
                f"config: {key!r} is not a hyper-parameter of {model_name} "
                f"(it takes {', '.join(defaults)})"
            )
        if not _fits(value, defaults[key]):
            kind = _KINDS.get(type(defaults[key]), type(defaults[key]).__name__)
            raise UsageError(
                f"config: {key}={value!r}, but {model_name}'s {key} is {kind} "
                f"(default {defaults[key]!r})"
            )
    return config


def _fits(value: object, default: object) -> bool:
    """Whether ``value`` has the type of a hyper-parameter whose default is ``default`` (an int
    also fits a float; a bool fits only a bool)."""
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _listed(config: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in config.items())


def _check(model_name: str, options: TrainOptions) -> None:
    if model_name not in MODELS:
        raise UsageError(f"--model: {model_name!r} is not one of {', '.join(MODELS)}")
    if options.warmup < 0 or not 0 <= options.max_grad_norm < math.inf:
        raise UsageError("warmup and max_grad_norm: must be 0 or more (and finite)")
    if not 0 < options.lr < math.inf:
        raise UsageError(f"lr: must be a positive finite number, got {options.lr}")
    if not 0 <= options.minutes < math.inf:
        raise UsageError(f"minutes: must be 0 or more (and finite), got {options.minutes}")
    for name in ("steps", "crop", "batch", "validate_every", "per_video"):
        if getattr(options, name) < 1:
            raise UsageError(f"{name}: must be 1 or more, got {getattr(options, name)}")
    if options.crop < 16:
        raise UsageError(f"crop: {options.crop} is too small (16 or more)")
    if options.width is not None and options.width < 1:
        raise UsageError(f"width: must be 1 or more, got {options.width}")
    wanted = options.device or ""
    if wanted.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError(f"device: {wanted}, but torch sees no CUDA GPU here (use cpu or auto)")


def _optimiser(model_name: str, model: Any, lr: float) -> torch.optim.Optimizer:
    if model_name in _ADAMAX:
        return torch.optim.Adamax(model.parameters(), lr=lr)
    return torch.optim.Adam(model.parameters(), lr=lr)


def _stack(frames: list[np.ndarray[Any, Any]]) -> Tensor:
    """Windows ``(span, R, R, 3)`` uint8 (cropped to the smallest R) as ``(B, span, 3, R, R)``
    float in 0..1."""
    side = min(f.shape[1] for f in frames)
    array = np.stack([f[:, :side, :side] for f in frames]).astype(np.float32) / 255.0
    stacked: Tensor = torch.from_numpy(array).permute(0, 1, 4, 2, 3).contiguous()
    return stacked


def _batch(
    windows: list[Window], crop: int, size: int, rng: np.random.Generator, *, pan: int = 0
) -> Tensor:
    """Random crops of random windows, flipped at random in x, y and time; with ``pan``, each
    window's crop also slides by a random whole ``(vx, vy)`` (up to ``pan`` pixels) per frame,
    a camera pan added to the real motion with the true middle frame still known."""
    crops = []
    for index in rng.integers(0, len(windows), size):
        frames = windows[int(index)].frames
        span, side_y, side_x = frames.shape[:3]
        room = min(side_y, side_x) - crop
        reach = min(pan, room // max(span - 1, 1))
        vx, vy = (int(v) for v in rng.integers(-reach, reach + 1, 2)) if reach else (0, 0)
        low_x, low_y = max(0, -vx * (span - 1)), max(0, -vy * (span - 1))
        high_x = side_x - crop - max(0, vx * (span - 1))
        high_y = side_y - crop - max(0, vy * (span - 1))
        x, y = int(rng.integers(low_x, high_x + 1)), int(rng.integers(low_y, high_y + 1))
        patch = np.stack(
            [
                frames[i, y + i * vy : y + i * vy + crop, x + i * vx : x + i * vx + crop]
                for i in range(span)
            ]
        )
        if rng.random() < 0.5:
            patch = patch[:, :, ::-1]
        if rng.random() < 0.5:
            patch = patch[:, ::-1]
        if rng.random() < 0.5:
            patch = patch[::-1]
        crops.append(np.ascontiguousarray(patch))
    return _stack(crops)


def _predict(model: Any, batch: Tensor) -> Tensor:
    """The model's frames between a batch's outer frames, ``(B, N, 3, H, W)``."""
    out: Tensor = model(batch[:, 0], batch[:, -1])
    return out if out.dim() == 5 else out[:, None]


def _loss(made: Tensor, truth: Tensor, gradient_weight: float) -> Tensor:
    loss = F.l1_loss(made, truth)
    if gradient_weight:
        for dim in (-1, -2):
            loss = loss + gradient_weight * F.l1_loss(made.diff(dim=dim), truth.diff(dim=dim))
    return loss


def _psnr(made: Tensor, truth: Tensor) -> float:
    """Mean PSNR (dB) over the batch, of 8-bit frames."""
    made = (made.clamp(0, 1) * 255).round()
    error = ((made - truth * 255) ** 2).flatten(1).mean(1).clamp(min=1e-10)
    return float((10 * torch.log10(255.0**2 / error)).mean())


def _middle(frames: Tensor) -> Tensor:
    return frames[:, frames.shape[1] // 2]


@torch.no_grad()
def _validate(model: Any, validation: Tensor, device: torch.device) -> float:
    """PSNR of the middle frame made from each held-out window's outer frames."""
    model.eval()
    scores = []
    for part in torch.split(validation, 8):
        chunk = part.to(device)
        scores.append(_psnr(_middle(_predict(model, chunk)), _middle(chunk)) * len(chunk))
    model.train()
    return round(sum(scores) / len(validation), 3)


def _validate_blend(validation: Tensor) -> float:
    """The same measure for linear blending of the outer frames."""
    blended = 0.5 * (validation[:, 0] + validation[:, -1])
    return round(_psnr(blended, _middle(validation)), 3)


def _best(history: list[dict[str, Any]]) -> dict[str, Any] | None:
    scored = [h for h in history if h["psnr"] is not None]
    return max(scored, key=lambda h: h["psnr"]) if scored else None


def _card(
    model_name: str,
    *,
    data: WindowSet,
    options: TrainOptions,
    step: int,
    begun: float,
    history: list[dict[str, Any]],
    blend: float | None,
    device: torch.device,
) -> dict[str, Any]:
    last = history[-1] if history else {}
    return {
        "trained_by": "tweenlab synth train",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": data.videos,
        "windows": {"train": len(data.train), "validation": len(data.validation)},
        "steps": step,
        "wall_s": round(time.monotonic() - begun, 1),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
        "optimiser": "Adamax" if model_name in _ADAMAX else "Adam",
        "loss": f"L1 + {options.gradient_weight} x L1 of image gradients",
        "validation": {
            "psnr": last.get("psnr"),
            "blend_psnr": blend,
            "measured_on": "middle frame of each held-out window, from its outer frames",
        },
        "history": history,
        "device": str(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def _rewrite_card(out: Path, final: dict[str, Any]) -> dict[str, Any]:
    """The saved card, its validation figures replaced by the checkpoint's (the best step),
    with the whole run's history."""
    import json  # noqa: PLC0415

    card_file = out.with_suffix(".json")
    saved: dict[str, Any] = json.loads(card_file.read_text(encoding="utf-8"))
    best = final.get("best")
    saved["history"] = final["history"]
    saved["run"] = {"steps": final["steps"], "wall_s": final["wall_s"]}
    if final["started_from"]:
        saved["started_from"] = final["started_from"]
    if best:
        saved["validation"]["psnr"] = best["psnr"]
        saved["steps"] = best["step"]
    card_file.write_text(json.dumps(saved, indent=1) + "\n", encoding="utf-8")
    return saved
