"""The server's ingest decodes a video once: where it writes a proxy, the keyframe analysis is
fed by the proxy's decoding pass (``AnalysisTap``) instead of decoding the video again, and
finds what an analysis of its own finds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from tests.keyframes.scenes import shot
from tweenlab.services import keyframes as keyframes_service
from tweenlab.services.keyframes import analyse_video
from tweenlab.services.media import ingest_job
from tweenlab.settings import Settings


class Context:
    """A job context that records progress."""

    job_id = "test"
    cancelled = False

    def __init__(self) -> None:
        self.reports: list[tuple[int, int | None]] = []

    def progress(self, done: int, total: int | None = None) -> None:
        self.reports.append((done, total))

    def map(self, target: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        raise AssertionError("ingest runs in one part")


def long_gop_video(path: Path) -> Path:
    """Two shots with a hard cut at frame 30, one keyframe every 100 frames (scene cuts not
    keyed): random access needs a proxy."""
    frames = [*shot(1, 30), *shot(2, 40)]
    with av.open(str(path), mode="w") as output:
        stream = output.add_stream(
            "libx264",
            rate=25,
            options={"crf": "18", "x264-params": "keyint=100:min-keyint=100:scenecut=0"},
        )
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            output.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        output.mux(stream.encode(None))
    return path


def test_the_analysis_is_fed_by_the_proxy_pass(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    video = long_gop_video(tmp_path / "long-gop.mp4")

    def no_second_pass(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the video was decoded again for the analysis")

    with monkeypatch.context() as patch:
        patch.setattr(keyframes_service, "_decode_and_analyse", no_second_pass)
        context = Context()
        params = {"video": str(video), "data_dir": str(settings.data_dir), "proxy_max_gop": 48}
        result = ingest_job(context, params)
    assert result["proxy"] is True and result["frame_count"] == 70
    assert [c for c in result["keyframes"]["cuts"] if abs(c - 30) <= 1], result
    done, total = context.reports[-1]
    assert done == total == 70 + 1  # the proxy's frames and the filmstrip: no analysis pass
    fed = analyse_video(video, settings).analysis  # kept by the job, read back
    assert fed.boundaries == result["keyframes"]["cuts"]
    # an analysis of its own (the loop filter skipped) finds the same cut and suggestions
    own = analyse_video(video, settings, reuse=False).analysis
    assert own.boundaries == fed.boundaries and own.suggested == fed.suggested
    assert np.allclose(fed.signals.sharpness, own.signals.sharpness, rtol=0.15)
