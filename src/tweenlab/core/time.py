"""Time as rational numbers: parsing the time and frame specs people type.

Seconds are ``Fraction``s, never floats, so ``00:31.5`` at 30000/1001 fps lands on the same frame
every time. Mapping seconds to frames needs a video's frame index and lives in ``tweenlab.media``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from tweenlab.errors import UsageError

__all__ = [
    "FrameSelection",
    "parse_frame_list",
    "parse_frame_range",
    "parse_seconds",
    "parse_time_list",
]

_UNITS = {"ms": Fraction(1, 1000), "s": Fraction(1), "m": Fraction(60), "h": Fraction(3600)}
_NUMBER = r"\d+(?:\.\d+)?"
_WITH_UNIT = re.compile(rf"^({_NUMBER})(ms|s|m|h)?$")
_CLOCK = re.compile(rf"^(?:(\d+):)?(\d+):({_NUMBER})$")
#: Longer numbers are refused unread: far past any frame or time of a video, and int() and
#: Fraction() raise ValueError past 4300 digits.
_MAX_CHARS = 32


def parse_seconds(text: str, *, option: str = "time") -> Fraction:
    """Parse ``"10s"``, ``"1.5m"``, ``"250ms"``, ``"31.5"``, ``"00:31.5"`` or ``"1:02:03"``.

    Args:
        text: The spec as typed.
        option: The option's name, for the error message.

    Returns:
        Seconds as an exact ``Fraction``.

    Raises:
        UsageError: When the text is not a time.

    Example:
        >>> parse_seconds("00:31.5")
        Fraction(63, 2)
        >>> parse_seconds("250ms")
        Fraction(1, 4)
    """
    spec = text.strip()
    if len(spec) > _MAX_CHARS:
        raise UsageError(f"{option}: {_shown(text)} is longer than {_MAX_CHARS} characters")
    if match := _WITH_UNIT.match(spec):
        return Fraction(match[1]) * _UNITS[match[2] or "s"]
    if match := _CLOCK.match(spec):
        hours, minutes, seconds = match[1] or "0", match[2], match[3]
        if int(minutes) >= 60 and match[1] is not None:
            raise UsageError(f"{option}: {_shown(text)} has {minutes} minutes")
        return Fraction(int(hours) * 3600 + int(minutes) * 60) + Fraction(seconds)
    raise UsageError(
        f"{option}: {_shown(text)} is not a time (use 10s, 1.5m, 250ms, 00:31.5 or 1:02:03)"
    )


def parse_time_list(text: str, *, option: str = "--at") -> list[Fraction]:
    """Parse a comma-separated list of times, e.g. ``"00:10,00:31.5"``.

    Example:
        >>> parse_time_list("00:10,31.5")
        [Fraction(10, 1), Fraction(63, 2)]
    """
    return [parse_seconds(part, option=option) for part in _split(text, option)]


def parse_frame_list(text: str, *, option: str = "--frames") -> list[int]:
    """Parse a comma-separated list of frame indices, e.g. ``"0,300,900"``.

    Example:
        >>> parse_frame_list("0, 300,900")
        [0, 300, 900]
    """
    frames = []
    for part in _split(text, option):
        if not _is_whole(part):
            raise UsageError(f"{option}: {_shown(part)} is not a frame index (a whole number >= 0)")
        _check_length(part, option)
        frames.append(int(part))
    return frames


def parse_frame_range(text: str, *, option: str = "--range") -> tuple[int, int | None, int]:
    """Parse ``"A:B"`` or ``"A:B:STEP"`` as a half-open range of frames, like a Python slice.

    ``A`` or ``B`` may be left out (``":100"``, ``"500:"``).

    Example:
        >>> parse_frame_range("10:20")
        (10, 20, 1)
        >>> parse_frame_range("100::5")
        (100, None, 5)
    """
    parts = [part.strip() for part in text.strip().split(":")]
    if len(parts) not in (2, 3) or not all(_is_whole(p) or not p for p in parts):
        raise UsageError(f"{option}: {_shown(text)} is not a frame range (use A:B or A:B:STEP)")
    for part in parts:
        _check_length(part, option)
    start = int(parts[0]) if parts[0] else 0
    stop = int(parts[1]) if parts[1] else None
    step = int(parts[2]) if len(parts) == 3 and parts[2] else 1
    if step < 1:
        raise UsageError(f"{option}: step must be at least 1 in {_shown(text)}")
    if stop is not None and stop <= start:
        raise UsageError(
            f"{option}: {_shown(text)} is empty (the end is exclusive and must exceed A)"
        )
    return start, stop, step


def _split(text: str, option: str) -> list[str]:
    parts = [part.strip() for part in text.split(",")]
    if not parts or any(not part for part in parts):
        raise UsageError(f"{option}: {_shown(text)} has an empty item")
    return parts


def _is_whole(part: str) -> bool:
    """Whether ``part`` is digits 0-9 only (``isdigit`` alone takes ``²``, which int() refuses)."""
    return part.isascii() and part.isdigit()


def _check_length(number: str, option: str) -> None:
    if len(number) > _MAX_CHARS:
        raise UsageError(f"{option}: {_shown(number)} is longer than {_MAX_CHARS} characters")


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut short: a value may be thousands of characters."""
    return repr(text) if len(text) <= 24 else repr(f"{text[:20]}…")


@dataclass(frozen=True)
class FrameSelection:
    """Which frames to take from a video: exactly one of the fields is set.

    Attributes:
        every: Every N-th frame, starting at frame 0.
        fps: X frames per second of video time: the first frame at or after each 1/X second.
        at: These frame indices.
        range: A half-open ``(start, stop, step)``; ``stop=None`` means to the end.
        frames: An explicit list already resolved (e.g. suggested keyframes).

    Example:
        >>> FrameSelection(every=10).indices(35)
        [0, 10, 20, 30]
    """

    every: int | None = None
    fps: Fraction | None = None
    at: tuple[int, ...] | None = None
    range: tuple[int, int | None, int] | None = None

    def __post_init__(self) -> None:
        chosen = [f for f in (self.every, self.fps, self.at, self.range) if f is not None]
        if len(chosen) != 1:
            raise UsageError("choose exactly one of --every, --fps, --at, --range")
        if self.every is not None and self.every < 1:
            raise UsageError(f"--every: must be at least 1, got {self.every}")
        if self.fps is not None and self.fps <= 0:
            raise UsageError(f"--fps: must be positive, got {self.fps}")

    def indices(self, frame_count: int, seconds: list[Fraction] | None = None) -> list[int]:
        """Resolve to sorted, unique frame indices of a video with ``frame_count`` frames.

        Args:
            frame_count: Frames in the video.
            seconds: Presentation time of each frame from the start (needed for ``fps``).

        Raises:
            UsageError: When a requested frame is outside the video.
        """
        if self.every is not None:
            return list(range(0, frame_count, self.every))
        if self.range is not None:
            start, stop, step = self.range
            if start >= frame_count:  # it wrote no frame, and said nothing
                raise UsageError(
                    f"--range: starts at frame {start}, past the last frame {frame_count - 1}"
                )
            return list(range(start, frame_count if stop is None else min(stop, frame_count), step))
        if self.at is not None:
            for frame in self.at:
                if frame >= frame_count:
                    raise UsageError(
                        f"--at: frame {frame} is past the last frame {frame_count - 1}"
                    )
            return sorted(set(self.at))
        assert self.fps is not None
        if seconds is None:
            raise UsageError("--fps needs the frames' presentation times")
        return _sample_by_rate(seconds, self.fps)


def _sample_by_rate(seconds: list[Fraction], fps: Fraction) -> list[int]:
    chosen: list[int] = []
    k = 0
    for index, time in enumerate(seconds):
        if time >= k / fps:
            chosen.append(index)
            k = int(time * fps) + 1
    return chosen
