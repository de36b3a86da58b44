"""``repair`` on a video cut between two keyframes by copying packets: its first packets
reference a keyframe it does not hold. Before the index left them out they were frames that
could not be decoded, and the repair stopped on frame 0."""

from __future__ import annotations

from pathlib import Path

import av

from tests.media.videos import make_cut_mid_gop, make_video, read_video_stamps
from tweenlab.synthesis.repair import repair

FRAMES, GOP, DROPPED = 40, 20, 5


def test_a_video_cut_between_keyframes_is_repaired_from_its_first_keyframe(
    tmp_path: Path,
) -> None:
    whole = make_video(tmp_path / "whole.mp4", frames=FRAMES, gop=GOP)
    video = make_cut_mid_gop(whole, tmp_path / "cut.mp4", drop=DROPPED)
    out = tmp_path / "fixed.mp4"
    done = repair(video, out, index=None)
    assert done.frames == FRAMES - GOP  # what a decoder shows: from the next keyframe on
    assert [b for b in done.left if b.reason == "undecodable"] == []
    with av.open(str(out)) as written:
        assert sum(1 for _ in written.decode(video=0)) == FRAMES - GOP
    assert read_video_stamps(out)[0] == GOP
