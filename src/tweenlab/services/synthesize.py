"""Frame-synthesis use cases: interpolate image files, repair and retime videos.

Retiming takes its flow from the video's flow cache (``propagation.FlowCache``, shared with
in-betweening), so a video's flow is computed once for every use.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from tweenlab.errors import UsageError
from tweenlab.media import DerivedFiles, save_image
from tweenlab.propagation import FlowCache
from tweenlab.services.keyframes import analyse_video
from tweenlab.settings import Settings
from tweenlab.synthesis import (
    DEFAULT_ENGINE,
    FlowSynthesizer,
    Image,
    PairFlow,
    RepairReport,
    Retimed,
    check_times,
    repair,
    retime,
    synthesizer,
)

__all__ = ["interpolate_files", "read_image", "repair_video", "retime_video"]


def read_image(path: Path) -> Image:
    """An image file as RGB uint8; ``UsageError`` for a missing, unreadable or non-RGB file."""
    try:
        with PILImage.open(path) as image:
            mode = image.mode
            opaque = mode == "RGBA" and image.getchannel("A").getextrema() == (255, 255)
            if mode != "RGB" and not opaque:
                raise UsageError(f"{path}: mode {mode} image; frame synthesis needs RGB")
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError) as error:
        raise UsageError(f"{path}: not a readable image ({error})") from error


def interpolate_files(
    first: Path, second: Path, out: Path, times: Sequence[float], *, engine: str = DEFAULT_ENGINE
) -> list[Path]:
    """Write the frames at ``times`` between two image files; one time writes ``out``, several
    write ``out`` with ``_1``, ``_2``... before the suffix."""
    checked = check_times(times)
    frames = synthesizer(engine).interpolate(read_image(first), read_image(second), checked)
    if len(frames) == 1:
        targets = [out]
    else:
        targets = [out.with_name(f"{out.stem}_{i}{out.suffix}") for i in range(1, len(frames) + 1)]
    for frame, target in zip(frames, targets, strict=True):
        save_image(frame, target)
    return targets


def repair_video(
    video: Path,
    out: Path,
    settings: Settings,
    *,
    report: Path | None = None,
    engine: str = DEFAULT_ENGINE,
) -> RepairReport:
    """Replace the blurred, repeated and undecodable frames of ``video``; write ``out``."""
    index = DerivedFiles(settings.derived_dir).index(video)
    done = repair(video, out, index=index, engine=synthesizer(engine))
    if report is not None:
        done.save(report)
    return done


def retime_video(
    video: Path,
    out: Path,
    settings: Settings,
    *,
    factor: int | None = None,
    fps: Fraction | None = None,
    engine: str = DEFAULT_ENGINE,
) -> Retimed:
    """Write ``video`` at a higher frame rate; the flow engine reads the video's flow cache,
    and nothing is interpolated across the hard cuts the keyframe analysis finds (its signals
    are kept, so a video analysed before is not decoded again for them)."""
    derived = DerivedFiles(settings.derived_dir)
    index = derived.index(video)
    built = synthesizer(engine)
    flows = None
    if isinstance(built, FlowSynthesizer):
        proxy = derived.proxy_path(video)
        cache = FlowCache(
            video,
            index,
            derived.folder(video),
            proxy=proxy if proxy.exists() else None,
            budget_mb=settings.flow_cache_mb,
        )

        def flows(n: int) -> PairFlow:
            pair = cache.pair(n)
            forward, backward = (
                np.asarray(f, dtype=np.float32) for f in (pair.forward, pair.backward)
            )
            return PairFlow(forward, backward, cache.scale)

    cuts = analyse_video(video, settings).analysis.cuts
    return retime(
        video, out, factor=factor, fps=fps, index=index, engine=built, flows=flows, cuts=cuts
    )
