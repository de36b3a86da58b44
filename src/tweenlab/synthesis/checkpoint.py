"""Checkpoints of the deep models: a weights file ``NAME.pt`` and its card ``NAME.json``.

The weights file holds the model's name, its hyper-parameters and its tensors (read back with
``torch.load(weights_only=True)``: no code is unpickled); the card says how it was trained
(data, steps, time, validation PSNR against linear blending on the same held-out triplets).
Checkpoints shipped with tweenlab lie in ``tweenlab/synthesis/checkpoints/``. torch is imported
only when one is read or written.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import re
from pathlib import Path
from typing import Any

from tweenlab.errors import UsageError

__all__ = [
    "FORMAT",
    "CheckpointError",
    "card_path",
    "checkpoint_model",
    "load_checkpoint",
    "save_checkpoint",
    "shipped_checkpoint",
]

FORMAT = "tweenlab-synthesis/1"
SHIPPED = Path(__file__).resolve().parent / "checkpoints"


class CheckpointError(UsageError):
    """A checkpoint that is missing, unreadable, of another model, or whose weights do not fit.

    Args:
        path: The checkpoint file (or where it was looked for).
        detail: What is wrong.
    """

    def __init__(self, path: str | Path, detail: str) -> None:
        self.path = Path(path)
        self.detail = detail
        super().__init__(f"{self.path}: {detail}")


def card_path(checkpoint: Path) -> Path:
    """The card beside a weights file: ``dvf.pt`` -> ``dvf.json``."""
    return checkpoint.with_suffix(".json")


def shipped_checkpoint(model: str) -> Path:
    """The checkpoint tweenlab ships for ``model``.

    Raises:
        CheckpointError: None ships for it.
    """
    path = SHIPPED / f"{model}.pt"
    if not path.is_file():
        raise CheckpointError(
            path,
            f"no trained {model} checkpoint ships with this tweenlab; train one with "
            f"`tweenlab synth train --model {model} VIDEO... --out {model}.pt` and pass it "
            "with --model",
        )
    return path


def _torch() -> Any:
    return importlib.import_module("torch")


def load_checkpoint(path: Path, *, model: str | None = None) -> tuple[Any, dict[str, Any]]:
    """The model stored in ``path`` (an ``nn.Module`` in eval mode, on the CPU) and its card
    (empty when there is none).

    Args:
        path: The weights file.
        model: The model name it must hold, when the caller expects one.

    Raises:
        CheckpointError: A missing, unreadable or foreign file, another model's checkpoint, or
            weights that do not fit the hyper-parameters stored with them.
    """
    from tweenlab.synthesis.models import working_model  # noqa: PLC0415 (torch)

    path = Path(path)
    stored = _stored(path)
    name = stored["model"]
    if model is not None and name != model:
        raise CheckpointError(path, f"holds a {name} model, not {model}")
    config = stored.get("config", {})
    if not isinstance(config, dict) or not all(isinstance(key, str) for key in config):
        raise CheckpointError(path, f"its hyper-parameters are not named values: {config!r}")
    try:
        built = working_model(name, **config)
    except ValueError as error:
        raise CheckpointError(
            path, f"its hyper-parameters do not make a working {name} model ({error})"
        ) from error
    state = stored.get("state_dict")
    if not isinstance(state, dict):
        raise CheckpointError(path, "holds no weights (state_dict)")
    try:
        built.load_state_dict(state)
    except (TypeError, ValueError, KeyError, RuntimeError) as error:
        raise CheckpointError(path, f"weights do not fit a {name} model ({_fit(error)})") from error
    torch = _torch()
    broken = [
        key
        for key, tensor in state.items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]
    if broken:
        raise CheckpointError(
            path,
            f"{len(broken)} of its weight tensors hold NaN or infinity ({broken[0]}...): the "
            "training that wrote it diverged",
        )
    built.eval()
    return built, _read_card(path)


def checkpoint_model(path: Path) -> str:
    """The name of the model a checkpoint holds (``dvf``...), read from the file.

    Raises:
        CheckpointError: A missing, unreadable or foreign file.

    Example:
        >>> checkpoint_model(Path("mine.pt"))  # doctest: +SKIP
        'dvf'
    """
    name: str = _stored(Path(path))["model"]
    return name


def _stored(path: Path) -> dict[str, Any]:
    """What ``path`` holds, checked to be a tweenlab checkpoint of a known model."""
    from tweenlab.synthesis.models import MODELS  # noqa: PLC0415 (as build_model)

    if path.is_dir():
        raise CheckpointError(path, "is a folder; give the checkpoint file (NAME.pt)")
    if not path.is_file():
        raise CheckpointError(path, "no such checkpoint file")
    torch = _torch()
    try:
        stored = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises pickle, zip and runtime errors alike
        raise CheckpointError(path, f"not a readable checkpoint ({_unreadable(error)})") from error
    if not isinstance(stored, dict) or stored.get("format") != FORMAT:
        raise CheckpointError(path, f"not a tweenlab synthesis checkpoint (format {FORMAT})")
    name = stored.get("model")
    if not isinstance(name, str) or name not in MODELS:
        raise CheckpointError(path, f"unknown model {name!r} (known: {', '.join(MODELS)})")
    return stored


def _read_card(path: Path) -> dict[str, Any]:
    card = card_path(path)
    if not card.is_file():
        return {}
    try:
        loaded = json.loads(card.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointError(card, f"unreadable card ({error})") from error
    return loaded if isinstance(loaded, dict) else {}


def save_checkpoint(model: Any, path: Path, card: dict[str, Any]) -> None:
    """Write ``model``'s weights to ``path`` and ``card`` (plus the weights' size and sha256)
    beside it, each to a temporary name renamed into place."""
    torch = _torch()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    stored = {"format": FORMAT, "model": model.name, "config": model.config, "state_dict": state}
    partial = path.with_name(f".{path.name}.partial")
    torch.save(stored, partial)
    digest = hashlib.sha256(partial.read_bytes()).hexdigest()
    os.replace(partial, path)
    full = {**card, "model": model.name, "config": model.config, "weights": path.name}
    full |= {"bytes": path.stat().st_size, "sha256": digest}
    card_partial = path.with_name(f".{path.name}.json.partial")
    card_partial.write_text(json.dumps(full, indent=1) + "\n", encoding="utf-8")
    os.replace(card_partial, card_path(path))


def _fit(error: Exception) -> str:
    """Why weights do not fit, in one line: torch's first line names only the model; the
    next ones name the tensors (missing, unexpected, of another shape)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].endswith(":"):
        return f"{lines[0]} {lines[1]}"[:300]
    return lines[0] if lines else type(error).__name__


def _unreadable(error: Exception) -> str:
    """Why ``torch.load(..., weights_only=True)`` refused a file, in one line. Torch's own
    message is a page of advice, part of it (load with ``weights_only=False``) unsafe to follow
    for a file of unknown origin."""
    text = str(error)
    found = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if found:
        return (
            f"it holds a Python object, {found.group(1)}, besides weights; not loaded, since "
            "unpickling it could run code"
        )
    reason = text.partition("WeightsUnpickler error:")[2] if "WeightsUnpickler" in text else text
    lines = [line.strip() for line in reason.splitlines() if line.strip()]
    detail = _first_sentence(lines[0]) if lines else type(error).__name__
    return f"damaged, or not a PyTorch file: {detail}"


def _first_sentence(text: str, limit: int = 160) -> str:
    """The first sentence of ``text`` (torch's later ones are advice); one longer than
    ``limit`` ends at its last clause boundary (comma, colon, semicolon) before it, or its
    last whole word, with ``...``: never in the middle of a word."""
    sentence = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    if len(sentence) <= limit:
        return sentence
    head = sentence[:limit]
    clause = max(head.rfind(mark) for mark in (", ", "; ", ": "))
    cut = head[:clause] if clause > limit // 3 else head.rsplit(" ", 1)[0]
    return f"{cut.rstrip(',;: ')} ..."
