"""Frame serving: exactly frame n as JPEG or WebP, sized, with ETags that name the bytes; the
encoded chunks come from the proxy when there is one; a few readers kept open."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.media.videos import make_video, read_stamp
from tweenlab.errors import FrameOutOfRangeError, UsageError
from tweenlab.media import DerivedFiles, write_proxy
from tweenlab.services.frames import FrameServer
from tweenlab.settings import Settings


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return make_video(tmp_path / "clip.mp4", frames=40, width=320, height=192, bframes=2)


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def test_each_frame_is_exactly_the_frame_asked_for_in_any_order(
    video: Path, settings: Settings
) -> None:
    frames = FrameServer(settings)
    for n in (17, 3, 39, 0, 18, 17):
        image = frames.image(video, n, quality=95)
        assert image.media_type == "image/jpeg"
        assert read_stamp(decoded(image.data)) == n
    webp = frames.image(video, 5, image_format="webp", max_side=160)
    assert webp.media_type == "image/webp"
    assert Image.open(io.BytesIO(webp.data)).size == (160, 96)
    frames.close()


def test_etags_name_the_bytes(video: Path, settings: Settings) -> None:
    frames = FrameServer(settings)
    first = frames.image(video, 4)
    assert frames.image(video, 4).etag == first.etag
    others = {
        frames.image(video, 5).etag,
        frames.image(video, 4, quality=50).etag,
        frames.image(video, 4, max_side=100).etag,
        frames.image(video, 4, image_format="webp").etag,
    }
    assert first.etag not in others and len(others) == 4


def test_an_etag_names_the_file_whatever_the_path_to_it(
    video: Path, settings: Settings, tmp_path: Path
) -> None:
    """The tag names the file itself (device, inode, size, modification time): the same through
    a symbolic link, another for a copy with the same size and time."""
    frames = FrameServer(settings)
    link = tmp_path / "link.mp4"
    link.symlink_to(video)
    copy = tmp_path / "copy.mp4"
    shutil.copy2(video, copy)
    assert copy.stat().st_mtime_ns == video.stat().st_mtime_ns
    assert frames.etag(link, 4) == frames.etag(video, 4) != frames.etag(copy, 4)
    assert frames.image(link, 4).etag == frames.image(video, 4).etag


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"image_format": "gif"}, "format 'gif'"),
        ({"quality": 0}, "quality 0"),
        ({"quality": 101}, "quality 101"),
        ({"max_side": 4}, "max_side 4"),
    ],
)
def test_bad_parameters_are_usage_errors(
    video: Path, settings: Settings, options: dict[str, object], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        FrameServer(settings).image(video, 0, **options)  # type: ignore[arg-type]


def test_a_frame_outside_the_video_is_refused(video: Path, settings: Settings) -> None:
    with pytest.raises(FrameOutOfRangeError):
        FrameServer(settings).image(video, 40)


def test_chunks_come_from_the_proxy_once_there_is_one(video: Path, settings: Settings) -> None:
    frames = FrameServer(settings)
    with pytest.raises(UsageError, match="B-frames"):
        frames.codec(video)  # the source has B-frames and there is no proxy yet
    derived = DerivedFiles(settings.derived_dir)
    write_proxy(video, derived.proxy_path(video))
    assert frames.chunk_source(video)[0] == derived.proxy_path(video)
    config = frames.codec(video)
    assert config.frame_count == 40
    served = [f.frame for c in range(len(config.chunk_starts)) for f in frames.chunk(video, c)]
    assert served == list(range(40))


def test_readers_are_kept_open_up_to_the_limit(tmp_path: Path, settings: Settings) -> None:
    videos = [make_video(tmp_path / f"v{i}.mp4", frames=6) for i in range(3)]
    frames = FrameServer(settings, readers=2)
    for path in videos:
        frames.image(path, 1)
    assert len(frames._readers) == 2
    assert read_stamp(decoded(frames.image(videos[0], 2, quality=95).data)) == 2
    frames.close()
    assert not frames._readers


def test_an_image_asked_for_again_comes_from_the_cache_until_pushed_out(
    video: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = FrameServer(settings)
    first = frames.image(video, 7)
    frames._readers.clear()  # no reader left: a decode now would open a new one
    assert frames.image(video, 7) is first
    assert not frames._readers
    monkeypatch.setattr("tweenlab.services.frames.IMAGE_CACHE_BYTES", len(first.data) + 10)
    for n in (8, 9):
        assert read_stamp(decoded(frames.image(video, n).data)) == n
    again = frames.image(video, 7)  # pushed out by 8 and 9: decoded afresh, same bytes
    assert again is not first and again.data == first.data
    frames.close()
