"""The largest things tweenlab accepts, in one place: past them a file or a request asks for
more than a machine holds (per-frame tables of 10**12 frames, a mask of 10**6 px a side) or
for arithmetic that overflows, and is refused by name instead."""

from __future__ import annotations

__all__ = ["MAX_COORDINATE", "MAX_FRAMES", "MAX_SIDE"]

#: The widest picture, of a video or a mask (FFmpeg decodes up to 16384 px a side for most
#: codecs; the media core refuses wider videos).
MAX_SIDE = 16384
#: The longest video an annotation set may describe (46 days at 25 fps): per-frame tables of
#: the frame count are made on export, and 10**12 frames asked for terabytes.
MAX_FRAMES = 100_000_000
#: Coordinates (pixels) a shape may have: far past any picture, and small enough that
#: interpolating, carrying and exporting them cannot overflow a float (boxes of 1e308 were
#: stored, then every read of their track's states failed).
MAX_COORDINATE = 1e9
