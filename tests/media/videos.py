r"""Small generated test videos whose every frame carries its own index (a "stamp").

Test-support only: plain functions, no fixtures. Frame ``i`` in presentation order of a video from
:func:`make_video` shows ``stamp(i, width, height)``, so after any seek a test checks that "frame
n" really is frame n with ``read_stamp(frame.to_ndarray(format="rgb24")) == n``. The stamp (2 x 8
black/white cells of 16 bits over the top half of the frame) survives libx264 at crf 30, downscaling
to half size, and 90/180/270 degree rotations once the caller rotates the image back.

Facts checked with PyAV 18.1.0 / FFmpeg 8.1 (libavformat 62.12, libavcodec 62.28), with PyAV's
default logging (``av.logging`` level ``None``). ``error.log`` is ``None`` then; after
``av.logging.set_level(av.logging.ERROR)`` it holds the last FFmpeg error line as
``(level, name, message)`` and ``str(error)`` gains ``"; last error log: [name] message"``, so map
errors by class and ``errno``, not by message. Every ``av.error`` class below derives from
``av.error.FFmpegError``.

Good videos (:func:`make_video`):

* Non-zero start in MP4 survives (the muxer writes an edit list): ``start_pts=75`` at 1/25 gives
  ``stream.start_time == 38400`` (time base 1/12800, i.e. 3 s), ``container.start_time ==
  3_000_000`` and a first packet pts of 38400. MKV (1 ms) and MPEG-TS (1/90000) keep it too.
* VFR in MP4: pts given in 1/1000 come back in time base 1/16000 (the mp4 muxer doubles the
  timescale until it is at least 10000) with exactly the same times (33 ms -> 528 ticks).
* B-frames (``bframes=2``, libx264 ``bf``): packets come in decode order, e.g. pts 0, 1536, 512,
  1024, 3072, 2048, ... with dts -1024, -512, 0, 512, ...; the MP4 shifts dts so ``dts != pts`` on
  every packet. Note libx264's own default is 3 B-frames: ``bf`` is always set explicitly here.
* Rotation: ``rotation=90`` calls ``set_display_rotation(90)`` (counter-clockwise); every decoded
  frame then has ``frame.rotation == 90`` (``av_display_rotation_get``, counter-clockwise; what
  ffprobe prints as "displaymatrix: rotation of 90.00 degrees"). The MP4 tkhd matrix is
  ``(0, -1, 1, 0)`` in 16.16, the opposite of a phone's portrait clip (legacy ``rotate=90`` tag,
  which reads back as ``frame.rotation == -90``; make it with ``rotation=-90``). PyAV 18 exposes no
  stream-level side data on read: use ``frame.rotation``. Pixels are stored unrotated.
* Odd sizes: libx264 rejects odd sizes with ``yuv420p`` (``av.error.ExternalError`` from
  ``avcodec_open2``) but encodes 67x37 with ``pix_fmt="yuv444p"``; mpeg4, msmpeg4, mjpeg and ffv1
  accept 67x37 in 4:2:0. Decoded frames are 67x37.

Bad inputs (what opening, demuxing and decoding the files from the makers below does):

* :func:`make_empty_file`, :func:`make_text_as_mp4` and :func:`make_truncated_no_moov` all fail
  alike in ``av.open``: ``av.error.InvalidDataError`` (also a ``ValueError``), ``errno ==
  1094995529`` (AVERROR_INVALIDDATA), ``str(error) == "[Errno 1094995529] Invalid data found when
  processing input: '<path as passed to av.open>'"``, ``error.filename`` the path. With the
  ``.mp4`` suffix FFmpeg falls back to the mov demuxer in all three cases, and the log is
  ``(16, 'mov,mp4,m4a,3gp,3g2,mj2', 'moov atom not found\n')`` each time: tell them apart by the
  bytes (0 bytes; an ``ftyp``/``mdat`` box structure without ``moov``; anything else).
* :func:`make_truncated_data_cut` (default libx264 60-frame source): ``av.open`` succeeds and
  reports the full stream (``stream.frames == 60``, full duration, right size). Demux yields 36
  whole packets, then the partial one with ``packet.is_corrupt`` True, then ends without error.
  Decoding the partial packet raises ``av.error.InvalidDataError``, ``str(error) == "[Errno
  1094995529] Invalid data found when processing input: 'avcodec_send_packet()'"``
  (``error.filename == 'avcodec_send_packet()'``; log ``(16, 'h264', 'Error splitting the input
  into NAL units.\n')``). ``container.decode()`` yields the 36 frames of the whole packets first,
  then raises that error.
* :func:`make_corrupt_middle` on a libx264 MP4 (frame 30 of 60): nothing raises on open, demux
  or decode; no packet has ``is_corrupt``; 60 frames come out and only the damaged one has
  ``frame.is_corrupt`` True (h264 conceals the broken macroblocks; log lines such as ``'error
  while decoding MB 0 5'``); its stamp may still read right. On an MS-MPEG4 v3 AVI nothing raises
  and no flag is set either: 60 frames, but frames 30 and 31 repeat frame 29's picture (stamp 29).
  So corruption is only reliably seen through the stamps.
* :func:`make_unsupported_codec`: ``av.open`` succeeds; ``container.streams.video`` holds one
  ``VideoStream`` with ``type == 'video'`` but ``codec_context is None``, and ``stream.width``,
  ``.height``, ``.name``, ``.codec_tag`` raise ``AttributeError("'VideoStream' object has no
  attribute 'width'")`` etc.; ``stream.frames``, ``average_rate`` and ``time_base`` still work and
  demux yields every packet. ``packet.decode()`` / ``container.decode()`` raise
  ``av.error.DecoderNotFoundError`` (also ``av.error.LookupError`` and builtin ``LookupError``),
  ``errno == 1128613112``, ``str(error) == '[Errno 1128613112] Decoder not found'``,
  ``error.filename is None``.
* :func:`make_absurd_dimensions` (0x0 and 100000x100000 alike): ``av.open`` succeeds (FFmpeg only
  logs "Could not find codec parameters ... unspecified size"); ``stream.codec_context.name ==
  'msmpeg4'`` and ``stream.width == stream.height == 0`` in both cases (FFmpeg's image size check
  rejects 100000x100000 and zeroes it); demux yields every packet; decoding raises, for every
  packet, ``av.error.ArgumentError`` (also a ``ValueError``), ``errno == 22``, ``str(error)`` is
  ``Invalid argument: 'avcodec_open2("msmpeg4", {})' returned 22`` (log ``(16, 'IMGUTILS',
  'Picture size 0x0 is invalid\n')``); no frame ever comes out.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import av
import numpy as np

__all__ = [
    "STAMP_COLUMNS",
    "STAMP_MAX",
    "STAMP_ROWS",
    "make_absurd_dimensions",
    "make_corrupt_middle",
    "make_empty_file",
    "make_text_as_mp4",
    "make_truncated_data_cut",
    "make_truncated_no_moov",
    "make_unsupported_codec",
    "make_video",
    "read_stamp",
    "read_video_stamps",
    "stamp",
]

STAMP_ROWS = 2
"""Rows of bit cells in the stamp grid (the grid fills the top half of the frame)."""
STAMP_COLUMNS = 8
"""Columns of bit cells in the stamp grid (the grid spans the full frame width)."""
STAMP_MAX = 2 ** (STAMP_ROWS * STAMP_COLUMNS) - 1
"""The largest index a stamp can carry (16 bits)."""

_MIN_WIDTH = STAMP_COLUMNS
_MIN_HEIGHT = 2 * STAMP_ROWS


def _edges(length: int, parts: int) -> list[int]:
    """Return ``parts + 1`` cell boundaries splitting ``0..length`` proportionally."""
    return [round(k * length / parts) for k in range(parts + 1)]


def _grid(width: int, height: int) -> list[tuple[int, int, int, int]]:
    """Return the ``(y0, y1, x0, x1)`` box of every bit cell, most significant bit first.

    The grid is proportional to the frame: 8 columns across the full width and 2 rows across the
    top half of the height, so the same cells are found again after any uniform rescale.
    """
    xs = _edges(width, STAMP_COLUMNS)
    ys = _edges(height, 2 * STAMP_ROWS)[: STAMP_ROWS + 1]
    return [
        (ys[row], ys[row + 1], xs[col], xs[col + 1])
        for row in range(STAMP_ROWS)
        for col in range(STAMP_COLUMNS)
    ]


def stamp(index: int, width: int, height: int) -> np.ndarray:
    """Draw ``index`` into a new RGB frame.

    Layout: the top half of the frame is a grid of 2 rows x 8 columns of black (0) or white (1)
    cells holding the 16 bits of ``index``, most significant bit top-left, row by row. Cells are
    ``width / 8`` by ``height / 4`` pixels (boundaries rounded), so they are at least 8x8 px for
    frames of 64x32 and more (e.g. 66x38 or 67x37). The bottom half is a coloured background
    whose colour and moving bar depend on ``index``, so consecutive frames always differ.

    Args:
        index: The number to draw, ``0..STAMP_MAX``.
        width: Frame width in pixels (at least 8; 64 or more for robust reading).
        height: Frame height in pixels (at least 4; 32 or more for robust reading).

    Returns:
        A ``(height, width, 3)`` ``uint8`` array.

    Raises:
        ValueError: ``index`` out of range or the frame too small for the grid.
    """
    if not 0 <= index <= STAMP_MAX:
        raise ValueError(f"stamp index {index} is outside 0..{STAMP_MAX}")
    if width < _MIN_WIDTH or height < _MIN_HEIGHT:
        raise ValueError(
            f"a stamp needs at least {_MIN_WIDTH}x{_MIN_HEIGHT} px, got {width}x{height}"
        )
    rgb = np.empty((height, width, 3), dtype=np.uint8)
    rgb[:, :] = ((index * 53) % 256, (index * 101 + 85) % 256, (index * 149 + 170) % 256)
    bar_width = max(width // 8, 2)
    bar_x = (index * 5) % width
    rgb[:, bar_x : bar_x + bar_width] = 255 - rgb[0, 0]
    bits = STAMP_ROWS * STAMP_COLUMNS
    for bit, (y0, y1, x0, x1) in enumerate(_grid(width, height)):
        on = (index >> (bits - 1 - bit)) & 1
        rgb[y0:y1, x0:x1] = 255 if on else 0
    return rgb


def read_stamp(rgb: np.ndarray) -> int:
    """Decode the index that :func:`stamp` drew into a frame.

    Works on any uniform rescale of the frame (the grid is proportional). Each cell is read from
    its inner half (a quarter margin on every side), whose mean above 127 means bit 1. A rotated
    frame must be rotated back to the orientation it was stamped in first.

    Args:
        rgb: A ``(height, width, 3)`` RGB array (or ``(height, width)`` grey), any integer dtype
            in 0..255.

    Returns:
        The index, ``0..STAMP_MAX``.
    """
    image = np.asarray(rgb, dtype=np.float64)
    if image.ndim == 3:
        image = image.mean(axis=2)
    height, width = image.shape
    value = 0
    for y0, y1, x0, x1 in _grid(width, height):
        my, mx = (y1 - y0) // 4, (x1 - x0) // 4
        inner = image[y0 + my : max(y1 - my, y0 + my + 1), x0 + mx : max(x1 - mx, x0 + mx + 1)]
        value = (value << 1) | int(inner.mean() > 127)
    return value


_X264 = "libx264"
_QSCALE_CODECS = frozenset({"mpeg4", "msmpeg4", "msmpeg4v2", "mjpeg", "mpeg2video", "mpeg1video"})
_FF_QP2LAMBDA = 118
_QSCALE = 3
_CHROMA_SUBSAMPLED = ("420", "422", "411", "410", "nv12", "nv21")


def _presentation_pts(
    frames: int, rate: Fraction, time_base: Fraction, start_pts: int, pts: Sequence[int] | None
) -> list[int]:
    """Return the pts (in ``time_base`` ticks) of every frame, in presentation order."""
    if pts is None:
        step = (1 / rate) / time_base
        if step.denominator != 1:
            raise ValueError(f"1/rate = {1 / rate} is not a whole number of {time_base} ticks")
        return [start_pts + index * step.numerator for index in range(frames)]
    if len(pts) != frames:
        raise ValueError(f"pts has {len(pts)} values for {frames} frames")
    if any(later <= earlier for earlier, later in pairwise(pts)):
        raise ValueError("pts must be strictly increasing")
    return [start_pts + int(value) for value in pts]


def make_video(
    path: Path,
    *,
    frames: int = 60,
    width: int = 160,
    height: int = 96,
    codec: str = "libx264",
    rate: Fraction = Fraction(25),
    gop: int = 12,
    bframes: int = 0,
    start_pts: int = 0,
    time_base: Fraction | None = None,
    pts: Sequence[int] | None = None,
    rotation: int = 0,
    container_format: str | None = None,
    crf: int = 18,
    pix_fmt: str = "yuv420p",
) -> Path:
    """Encode a stamped test video: frame ``i`` (in presentation order) shows ``stamp(i)``.

    Args:
        path: Where to write; the container format follows the suffix unless
            ``container_format`` is given.
        frames: Number of frames (every case yields exactly this many packets and frames).
        width: Frame width (libx264 needs an even width with a 4:2:0 or 4:2:2 ``pix_fmt``).
        height: Frame height (same constraint).
        codec: FFmpeg encoder name, e.g. ``libx264``, ``mpeg4``, ``msmpeg4`` (MS-MPEG4 v3, for
            AVI), ``mjpeg``, ``ffv1``.
        rate: Nominal frame rate; for CFR it also sets the pts step.
        gop: Keyframe interval. For libx264 it is forced exactly
            (``keyint=gop:min-keyint=gop:scenecut=0``); ``gop=1`` gives all-intra.
        bframes: Consecutive B-frames (libx264 option ``bf``; ``max_b_frames`` elsewhere).
        start_pts: Offset, in ``time_base`` ticks, added to every pts (a non-zero start time).
        time_base: Time base of ``pts`` and ``start_pts``; defaults to ``1 / rate``.
        pts: Explicit, strictly increasing presentation timestamps (VFR), one per frame, in
            ``time_base`` ticks (``start_pts`` is added). Defaults to CFR ``i / rate``.
            Use MP4, MKV or MPEG-TS for VFR: the AVI muxer fills gaps with empty packets.
        rotation: Display rotation in degrees, counter-clockwise, written as the display
            matrix (:meth:`av.video.stream.VideoStream.set_display_rotation`); it reads back as
            ``VideoFrame.rotation`` with the same value and sign (90 -> 90, 270 -> -90). Pixels
            are stored unrotated.
        container_format: FFmpeg muxer name, overriding the suffix (e.g. ``"mp4"``).
        crf: libx264 constant rate factor; other lossy codecs use a fixed quantiser 3.
        pix_fmt: Encoder pixel format. ``yuv444p`` allows odd sizes with libx264. With mjpeg,
            ``yuv420p`` becomes ``yuvj420p``.

    Returns:
        ``path``.

    Raises:
        ValueError: Inconsistent arguments (pts count, non-increasing pts, odd size with a
            subsampled libx264 ``pix_fmt``, frame rate not a whole number of ticks).
    """
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    rate = Fraction(rate)
    tick = Fraction(time_base) if time_base is not None else 1 / rate
    timestamps = _presentation_pts(frames, rate, tick, start_pts, pts)
    odd = width % 2 == 1 or height % 2 == 1
    if codec == _X264 and odd and any(tag in pix_fmt for tag in _CHROMA_SUBSAMPLED):
        raise ValueError(f"libx264 cannot encode {width}x{height} as {pix_fmt}; use yuv444p")
    if codec == "mjpeg" and pix_fmt == "yuv420p":
        pix_fmt = "yuvj420p"
    options: dict[str, str] = {}
    if codec == _X264:
        options = {
            "preset": "ultrafast",
            "crf": str(crf),
            "bf": str(bframes),
            "threads": "1",
            "x264-params": f"keyint={gop}:min-keyint={gop}:scenecut=0",
        }
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate, options=options)
        if not isinstance(stream, av.VideoStream):
            raise ValueError(f"{codec} is not a video encoder")
        stream.width = width
        stream.height = height
        stream.pix_fmt = pix_fmt
        stream.time_base = tick
        context = stream.codec_context
        context.time_base = tick
        context.gop_size = gop
        context.thread_count = 1
        if codec != _X264:
            context.max_b_frames = bframes
        if codec in _QSCALE_CODECS:
            context.qscale = True
            context.global_quality = _QSCALE * _FF_QP2LAMBDA
        if rotation:
            stream.set_display_rotation(rotation)
        for index, value in enumerate(timestamps):
            rgb = av.VideoFrame.from_ndarray(stamp(index, width, height), format="rgb24")
            frame = rgb.reformat(format=pix_fmt)
            frame.pts = value
            frame.time_base = tick
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def read_video_stamps(path: Path) -> list[int]:
    """Decode every frame of the first video stream and return their stamps, in output order."""
    with av.open(str(path)) as container:
        return [
            read_stamp(frame.to_ndarray(format="rgb24"))
            for frame in container.decode(container.streams.video[0])
        ]


# --- bad inputs -----------------------------------------------------------------------------------


def _mp4_boxes(data: bytes) -> dict[str, tuple[int, int]]:
    """Return ``{type: (offset, size)}`` of the top-level boxes of MP4 ``data`` (first of each)."""
    boxes: dict[str, tuple[int, int]] = {}
    offset = 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        kind = data[offset + 4 : offset + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        elif size == 0:
            size = len(data) - offset
        if size < 8:
            break
        boxes.setdefault(kind, (offset, size))
        offset += size
    return boxes


def _remux(src: Path, dst: Path, *, options: dict[str, str] | None = None) -> Path:
    """Copy the first video stream of ``src`` into a new container at ``dst``, not re-encoding."""
    with av.open(str(src)) as source, av.open(str(dst), "w", options=options or {}) as target:
        video = source.streams.video[0]
        stream = target.add_stream_from_template(video)
        for packet in source.demux(video):
            if packet.dts is None and packet.size == 0:
                continue
            packet.stream = stream
            target.mux(packet)
    return dst


def make_cut_mid_gop(src: Path, dst: Path, *, drop: int) -> Path:
    """``src``'s video packets from the ``drop``-th on (in decode order) copied into ``dst``, as
    a stream copy cut between two keyframes leaves a file: its first packets reference a
    keyframe it does not hold."""
    with av.open(str(src)) as source, av.open(str(dst), "w") as target:
        video = source.streams.video[0]
        stream = target.add_stream_from_template(video)
        packets = [p for p in source.demux(video) if p.size]
        assert not packets[drop].is_keyframe, "cut on a keyframe: nothing to test"
        for packet in packets[drop:]:
            packet.stream = stream
            target.mux(packet)
    return dst


def make_empty_file(dst: Path) -> Path:
    """Write a 0-byte file (name it ``.mp4`` to look like a video)."""
    dst.write_bytes(b"")
    return dst


def make_text_as_mp4(dst: Path) -> Path:
    """Write a short plain-text file; give ``dst`` an ``.mp4`` suffix."""
    dst.write_text(
        "This is a plain text file, not a video.\nIt only has an .mp4 name.\n", encoding="utf-8"
    )
    return dst


def make_truncated_no_moov(src: Path, dst: Path) -> Path:
    """Copy MP4 ``src`` (moov after mdat) up to, not including, its moov box.

    ``src`` must be written without ``faststart`` (the mp4 muxer's default, as
    :func:`make_video` does), so ``ftyp``, ``free`` and the whole ``mdat`` survive and only the
    index is missing: the classic recording cut off before the moov was written.

    Raises:
        ValueError: ``src`` has no moov after its mdat.
    """
    data = src.read_bytes()
    boxes = _mp4_boxes(data)
    if "moov" not in boxes or "mdat" not in boxes or boxes["moov"][0] < boxes["mdat"][0]:
        raise ValueError(f"{src} does not have its moov box after the mdat box")
    dst.write_bytes(data[: boxes["moov"][0]])
    return dst


def make_truncated_data_cut(src: Path, dst: Path, *, keep: float = 0.6) -> Path:
    """Remux ``src`` to a faststart MP4 (moov first) and cut it inside its mdat.

    The cut falls in the middle of the packet that holds the byte at ``keep`` of the mdat
    payload, so the file always ends with a partial packet: the moov still lists every sample,
    but the samples from there on are missing or incomplete.

    Args:
        src: A good video in any container PyAV reads, with a codec MP4 can hold (h264, mpeg4;
            not msmpeg4). Only its first video stream is copied.
        dst: Where to write the truncated MP4.
        keep: Where to cut, as a fraction of the mdat payload.

    Raises:
        ValueError: The remux did not put the moov first (should not happen).
    """
    full = dst.with_name(dst.name + ".faststart.mp4")
    try:
        _remux(src, full, options={"movflags": "faststart"})
        data = full.read_bytes()
        with av.open(str(full)) as container:
            spans = [
                (packet.pos, packet.size)
                for packet in container.demux(container.streams.video[0])
                if packet.size and packet.pos is not None
            ]
    finally:
        full.unlink(missing_ok=True)
    boxes = _mp4_boxes(data)
    if boxes["moov"][0] > boxes["mdat"][0]:
        raise ValueError("faststart remux did not put the moov before the mdat")
    mdat_offset, mdat_size = boxes["mdat"]
    target = mdat_offset + 8 + round((mdat_size - 8) * keep)
    cut = target
    for pos, size in spans:
        if pos <= target < pos + size:
            cut = pos + max(size // 2, 1)
            break
    dst.write_bytes(data[:cut])
    return dst


def make_corrupt_middle(src: Path, dst: Path, frame: int) -> Path:
    """Copy ``src`` and overwrite the middle half of frame ``frame``'s packet with garbage.

    ``frame`` is a presentation-order index; its packet is found by demuxing ``src`` with PyAV
    (``packet.pos``, ``packet.size``) and must not be a keyframe. The container and every other
    packet stay intact. The garbage is fixed (seeded by ``frame``) so the result is reproducible.

    Raises:
        ValueError: ``frame`` is out of range, is a keyframe, or its packet position is unknown.
    """
    with av.open(str(src)) as container:
        stream = container.streams.video[0]
        packets = [
            (packet.pts, packet.pos, packet.size, packet.is_keyframe)
            for packet in container.demux(stream)
            if packet.size
        ]
    packets.sort(key=lambda item: item[0] if item[0] is not None else -1)
    if not 0 <= frame < len(packets):
        raise ValueError(f"frame {frame} is outside 0..{len(packets) - 1}")
    _, pos, size, keyframe = packets[frame]
    if keyframe:
        raise ValueError(f"frame {frame} is a keyframe; choose a non-key frame")
    if pos is None or pos < 0:
        raise ValueError(f"the packet of frame {frame} has no file position")
    start, length = pos + size // 4, max(size // 2, 1)
    garbage = np.random.default_rng(frame).integers(0, 256, length, dtype=np.uint8).tobytes()
    data = bytearray(src.read_bytes())
    data[start : start + length] = garbage
    dst.write_bytes(bytes(data))
    return dst


def _avi_chunk(data: bytes | bytearray, fourcc: bytes) -> int:
    """Return the offset of the payload of the first ``fourcc`` chunk in the AVI header list."""
    header_end = data.find(b"movi")
    offset = data.find(fourcc, 0, header_end if header_end > 0 else len(data))
    if offset < 0:
        raise ValueError(f"no {fourcc!r} chunk in the AVI header")
    return offset + 8


def _write_small_avi(dst: Path) -> bytearray:
    """Encode a short MS-MPEG4 v3 AVI at ``dst`` and return its bytes for patching."""
    make_video(dst, frames=12, width=64, height=48, codec="msmpeg4", container_format="avi")
    return bytearray(dst.read_bytes())


def make_unsupported_codec(dst: Path, *, fourcc: bytes = b"ZZZZ") -> Path:
    """Write an AVI whose video stream is tagged with a fourcc no FFmpeg decoder knows.

    An MS-MPEG4 v3 AVI is encoded, then ``fourcc`` is patched into both the ``strh``
    ``fccHandler`` and the ``strf`` ``biCompression`` fields. The packets are unchanged.
    """
    if len(fourcc) != 4:
        raise ValueError(f"a fourcc has 4 bytes, got {fourcc!r}")
    data = _write_small_avi(dst)
    strh = _avi_chunk(data, b"strh")
    strf = _avi_chunk(data, b"strf")
    data[strh + 4 : strh + 8] = fourcc
    data[strf + 16 : strf + 20] = fourcc
    dst.write_bytes(bytes(data))
    return dst


def make_raw_h264(dst: Path, *, frames: int = 20) -> Path:
    """Write a raw H.264 elementary stream (Annex B, no container): FFmpeg decodes it, but its
    packets carry no timestamps, so no frame can be placed in time."""
    with av.open(str(dst), "w", format="h264") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 96, "yuv420p"
        for n in range(frames):
            image = np.full((96, 160, 3), 10 * n % 256, dtype=np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode())
    return dst


def make_absurd_dimensions(dst: Path, *, width: int = 0, height: int = 0) -> Path:
    """Write an MS-MPEG4 v3 AVI whose headers claim ``width`` x ``height``.

    MS-MPEG4 v3 frames do not carry their size, so the decoder relies on the container's:
    the ``avih`` ``dwWidth``/``dwHeight`` and the ``strf`` ``biWidth``/``biHeight`` fields are
    patched (as unsigned 32-bit little-endian, so e.g. ``0`` or ``100000``).
    """
    data = _write_small_avi(dst)
    avih = _avi_chunk(data, b"avih")
    strf = _avi_chunk(data, b"strf")
    for offset, value in (
        (avih + 32, width),
        (avih + 36, height),
        (strf + 4, width),
        (strf + 8, height),
    ):
        data[offset : offset + 4] = value.to_bytes(4, "little", signed=value < 0)
    dst.write_bytes(bytes(data))
    return dst
