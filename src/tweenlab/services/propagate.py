"""In-betweening use case: keyframes of one box track in, every frame out (eval_tracks' contract).

Input JSON: ``{"frames": N, "keyframes": {"0": [x, y, w, h], "40": null, ...}}``; output JSON:
``{"boxes": {"0": [x, y, w, h] or null, ...}, "confidence": {...}, "suggested": [frames],
"cuts": [frames]}`` (the shot boundaries nothing was carried across).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tweenlab.errors import FormatError, UsageError
from tweenlab.media import DerivedFiles
from tweenlab.media._files import write_atomic
from tweenlab.propagation import FlowCache, InBetween, inbetween
from tweenlab.propagation.inbetween import BoxTuple, Method
from tweenlab.services.keyframes import analyse_video
from tweenlab.settings import Settings

__all__ = ["propagate_file", "read_keyframes"]


def read_keyframes(path: Path) -> tuple[int | None, dict[int, BoxTuple | None]]:
    """Read a keyframes file; ``FormatError`` names the file and key for anything malformed."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FormatError(path, "no such file") from None
    except json.JSONDecodeError as error:
        raise FormatError(path, f"not valid JSON: {error.msg}", line=error.lineno) from None
    if not isinstance(data, dict) or not isinstance(data.get("keyframes"), dict):
        raise FormatError(path, 'needs {"keyframes": {"frame": [x, y, w, h] or null}}')
    frames = data.get("frames")
    if frames is not None and (not _is_number(frames, whole=True) or frames < 1):
        raise FormatError(path, f"must be a positive whole number, got {frames!r}", field="frames")
    keys: dict[int, BoxTuple | None] = {}
    for key, value in data["keyframes"].items():
        if not (key.isascii() and key.isdigit()) or (len(key) > 1 and key.startswith("0")):
            raise FormatError(path, f"{key!r} is not a frame index", field=f"keyframes.{key}")
        if value is not None and (
            not isinstance(value, list) or len(value) != 4 or not all(_is_number(v) for v in value)
        ):
            raise FormatError(
                path, f"{value!r} is not [x, y, w, h] or null", field=f"keyframes.{key}"
            )
        keys[int(key)] = None if value is None else (value[0], value[1], value[2], value[3])
    return frames, keys


def _is_number(value: object, *, whole: bool = False) -> bool:
    """A JSON number (``true`` and ``false`` are not numbers here)."""
    kinds = (int,) if whole else (int, float)
    return isinstance(value, kinds) and not isinstance(value, bool)


def propagate_file(
    video: Path,
    keyframes: Path,
    out: Path,
    settings: Settings,
    *,
    method: Method = "flow",
    cuts: bool = True,
) -> InBetween:
    """Fill every frame of ``video`` from the keyframes in ``keyframes``; write ``out``.

    With ``cuts`` (and the flow method) the video's shot boundaries are found first (one pass at
    a small size, kept among the derived files) and nothing is carried across them."""
    frames, keys = read_keyframes(keyframes)
    derived = DerivedFiles(settings.derived_dir)
    index = derived.index(video)
    if frames is not None and frames != len(index):
        raise UsageError(f"{keyframes}: says {frames} frames, {video} has {len(index)}")
    cache = None
    if method == "flow":
        cache = FlowCache(
            video,
            index,
            derived.folder(video),
            proxy=_proxy(derived, video),
            budget_mb=settings.flow_cache_mb,
        )
    boundaries = analyse_video(video, settings).analysis.boundaries if cache and cuts else []
    filled = inbetween(len(index), keys, cache, method=method, cuts=boundaries)
    document = {
        "boxes": {str(f): (list(b) if b else None) for f, b in enumerate(filled.boxes)},
        "confidence": {str(f): round(c, 4) for f, c in enumerate(filled.confidence)},
        "suggested": sorted(filled.suggested),
        "cuts": boundaries,
    }
    write_atomic(out, json.dumps(document).encode())
    return filled


def _proxy(derived: DerivedFiles, video: Path) -> Path | None:
    proxy = derived.proxy_path(video)
    return proxy if proxy.exists() else None
