"""``split`` into a folder that holds an earlier split of the same video: the same split again
overwrites its own clips, one into more clips too; one into fewer clips is refused before
anything is written, since the earlier split's extra clips would stay and the folder's clips
would no longer add up to the source (5 clips, then 3 at the scenes, left 5 overlapping)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.media.videos import make_video
from tweenlab.errors import MediaWriteError
from tweenlab.media import build_index
from tweenlab.media.clips import split_video

FRAMES = 48  # keyframes every 12 frames


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("stale") / "walk.mp4", frames=FRAMES, gop=12)


@pytest.mark.parametrize(
    ("first", "then"),
    [([12, 24, 36], [12, 24, 36]), ([24], [12, 24, 36])],
    ids=["the-same-split-again", "more-clips"],
)
def test_a_split_over_its_own_or_fewer_clips_overwrites_them(
    video: Path, tmp_path: Path, first: list[int], then: list[int]
) -> None:
    split_video(video, tmp_path, first)
    clips = split_video(video, tmp_path, then)
    assert sorted(p.name for p in tmp_path.glob("*.mp4")) == [c.path.name for c in clips]
    assert sum(len(build_index(c.path)) for c in clips) == FRAMES


def test_a_split_into_fewer_clips_is_refused_and_writes_nothing(
    video: Path, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("not a clip: ignored")
    split_video(video, tmp_path, [12, 24, 36])
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()}
    with pytest.raises(MediaWriteError, match=r"walk_0002\.json, walk_0002\.mp4, walk_0003"):
        split_video(video, tmp_path, [24])
    assert {p.name: p.stat().st_mtime_ns for p in tmp_path.iterdir()} == before
