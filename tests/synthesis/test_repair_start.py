"""``repair`` on a video cut between two keyframes (found by an audit): its first frames cannot
be decoded, which stopped the whole repair on frame 0 instead of listing them as left."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from tweenlab.synthesis.repair import repair

FRAMES, GOP, DROPPED = 40, 20, 5


def _cut_mid_gop(tmp_path: Path) -> Path:
    """A video whose first packets are not a keyframe: packets of an H.264 video (no B-frames,
    a keyframe every ``GOP``) copied from the ``DROPPED``-th on."""
    whole, cut = tmp_path / "whole.mp4", tmp_path / "cut.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(whole), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(25))
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.options = {"bf": "0", "g": str(GOP), "keyint_min": str(GOP), "sc_threshold": "0"}
        for _ in range(FRAMES):
            image = rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    with av.open(str(whole)) as source, av.open(str(cut), "w") as target:
        copied = target.add_stream_from_template(source.streams.video[0])
        packets = [p for p in source.demux(source.streams.video[0]) if p.size]
        assert [p.is_keyframe for p in packets[: GOP + 1]] == [True] + [False] * (GOP - 1) + [True]
        for packet in packets[DROPPED:]:
            packet.stream = copied
            target.mux(packet)
    return cut


def test_undecodable_first_frames_are_left_and_the_rest_written(tmp_path: Path) -> None:
    video = _cut_mid_gop(tmp_path)
    out = tmp_path / "fixed.mp4"
    done = repair(video, out, index=None)
    undecodable = GOP - DROPPED  # frames before the first keyframe left in the file
    assert done.frames == FRAMES - DROPPED
    assert [b.frame for b in done.left if b.reason == "undecodable"] == list(range(undecodable))
    with av.open(str(out)) as written:
        assert sum(1 for _ in written.decode(video=0)) == FRAMES - DROPPED
