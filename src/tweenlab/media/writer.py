"""``VideoWriter``: RGB frames in, an H.264 MP4 out, each frame at the pts it is given.

Used by whatever makes new video from decoded frames (frame synthesis: retimed and repaired
videos). The file appears only when the writer closes without an error (temporary name, then a
rename), so an interrupted run leaves nothing half-written.
"""

from __future__ import annotations

from contextlib import ExitStack
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np
import numpy.typing as npt

from tweenlab.errors import MediaWriteError
from tweenlab.media._encode import H264, add_h264_stream
from tweenlab.media._files import atomic_path

__all__ = ["VideoWriter"]


class VideoWriter:
    """Encode RGB frames to ``target`` (MP4, H.264) with explicit timestamps.

    Args:
        target: The file to write.
        width: Frame width in pixels.
        height: Frame height in pixels.
        time_base: Seconds per pts tick of the written stream.
        crf: x264 quality (lower is better).

    Example:
        >>> with VideoWriter(Path("out.mp4"), 64, 48, Fraction(1, 50)) as writer:  # doctest: +SKIP
        ...     for n, image in enumerate(images):
        ...         writer.write(image, pts=n)
    """

    def __init__(
        self, target: Path, width: int, height: int, time_base: Fraction, *, crf: int = 18
    ) -> None:
        self.target, self.size, self.time_base = Path(target), (width, height), time_base
        self._stack = ExitStack()
        self._last_pts: int | None = None
        if self.target.is_dir():  # else found only at the rename, once every frame is encoded
            raise MediaWriteError(self.target, "is a folder: give a file name (out.mp4)")
        try:
            temporary = self._stack.enter_context(atomic_path(self.target))
            self._output = self._stack.enter_context(av.open(str(temporary), mode="w"))
            settings = H264(crf=crf, gop=max(1, round(2 / time_base)) if time_base else None)
            self._stream = add_h264_stream(
                self._output, width=width, height=height, time_base=time_base, settings=settings
            )
        except (av.error.FFmpegError, OSError, ValueError) as error:  # ValueError: no muxer
            self._stack.__exit__(type(error), error, error.__traceback__)  # drop the temporary
            raise MediaWriteError(self.target, f"cannot start writing ({error})") from error

    def write(self, image: npt.NDArray[np.uint8], pts: int) -> None:
        """Encode one ``(H, W, 3)`` uint8 RGB frame at ``pts`` (ticks of ``time_base``)."""
        if image.shape != (self.size[1], self.size[0], 3) or image.dtype != np.uint8:
            raise MediaWriteError(
                self.target, f"frame of shape {image.shape} {image.dtype}, expected {self.size}"
            )
        if self._last_pts is not None and pts <= self._last_pts:
            raise MediaWriteError(self.target, f"pts {pts} after {self._last_pts}")
        self._last_pts = pts
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame.pts, frame.time_base = pts, self.time_base
        try:
            self._output.mux(self._stream.encode(frame))
        except av.error.FFmpegError as error:
            raise MediaWriteError(self.target, f"encoding failed ({error})") from error

    def close(self) -> None:
        """Flush the encoder and move the file into place."""
        try:
            self._output.mux(self._stream.encode(None))
        except av.error.FFmpegError as error:
            self._stack.__exit__(type(error), error, error.__traceback__)
            raise MediaWriteError(self.target, f"encoding failed ({error})") from error
        self._stack.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None:
            self.close()
        else:
            self._stack.__exit__(kind, error, traceback)
