"""Encoded chunks for the browser: the packets of one GOP, decodable on their own with the
codec description, giving exactly the frames the reader gives."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from tests.media.videos import make_video, read_stamp
from tweenlab.errors import UsageError
from tweenlab.media import VideoReader, build_index, write_proxy
from tweenlab.media.chunks import ChunkReader, codec_config, read_chunk


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("chunks")
    source = make_video(folder / "source.mp4", frames=30, bframes=2)
    write_proxy(source, folder / "proxy.mp4")
    return folder / "proxy.mp4"


def decode(description: bytes, packets: list[bytes]) -> list[np.ndarray]:
    context = av.CodecContext.create("h264", "r")
    context.extradata = description
    frames = []
    for data in packets:
        frames += [f.to_ndarray(format="rgb24") for f in context.decode(av.Packet(data))]
    frames += [f.to_ndarray(format="rgb24") for f in context.decode(None)]
    return frames


def test_every_chunk_decodes_alone_to_the_readers_frames(proxy: Path) -> None:
    index = build_index(proxy)
    config = codec_config(proxy, index)
    assert config.codec.startswith("avc1.") and len(config.codec) == 11
    assert config.frame_count == 30 and config.chunk_starts[0] == 0
    assert config.chunk_starts == index.keyframe_indices().tolist()
    assert len(config.chunk_starts) >= 3, "the proxy's short GOP gives several chunks"
    seen = []
    with VideoReader(proxy, index=index) as reader:
        for chunk in range(len(config.chunk_starts)):
            frames = read_chunk(proxy, index, chunk)
            assert frames[0].key and frames[0].frame == config.chunk_starts[chunk]
            assert [f.frame for f in frames] == list(
                range(frames[0].frame, frames[0].frame + len(frames))
            )
            decoded = decode(config.description, [f.data for f in frames])
            assert len(decoded) == len(frames)
            for frame, image in zip(frames, decoded, strict=True):
                assert np.array_equal(image, reader[frame.frame])
                assert read_stamp(image) == frame.frame
                assert config.chunk_of(frame.frame) == chunk
            seen += [f.frame for f in frames]
    assert seen == list(range(30))


def test_a_source_with_b_frames_is_refused_with_the_way_out(tmp_path: Path) -> None:
    source = make_video(tmp_path / "b.mp4", frames=12, bframes=2)
    with pytest.raises(UsageError, match=r"B-frames.*proxy"):
        codec_config(source, build_index(source))


def test_a_chunk_outside_the_video_is_refused(proxy: Path) -> None:
    index = build_index(proxy)
    with pytest.raises(UsageError, match="outside the video"):
        read_chunk(proxy, index, len(index.keyframe_indices()))


def test_a_reader_kept_open_reads_chunks_in_any_order_as_read_chunk_does(proxy: Path) -> None:
    index = build_index(proxy)
    chunks = len(index.keyframe_indices())
    order = [chunks - 1, 0, chunks // 2, 0, chunks - 1, 1]
    with ChunkReader(proxy, index) as reader:
        assert [reader.read(k) for k in order] == [read_chunk(proxy, index, k) for k in order]
        with pytest.raises(UsageError, match="outside the video"):
            reader.read(chunks)
