"""What the detectors report: cuts, gradual transitions, flashes and suggested keyframes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Event", "EventKind"]

EventKind = Literal["cut", "transition", "flash", "keyframe"]


@dataclass(frozen=True, order=True)
class Event:
    """One finding, addressed by 0-based frame indices of the media core's frame index.

    Attributes:
        frame: The frame it is about: the first frame of the new shot (cut), the first frame of
            a transition or flash, the suggested frame (keyframe).
        kind: ``cut``, ``transition`` (a fade or dissolve), ``flash`` (a few bright frames that
            are not a cut; reported, never counted as a boundary) or ``keyframe``.
        end: The last frame of a transition or flash (``frame`` for the others).
        reason: Why (``shot start``, ``change``, ``interval``...), for keyframes.

    Example:
        >>> Event(120, "transition", end=134).middle
        127
    """

    frame: int
    kind: EventKind
    end: int = -1
    reason: str = ""

    def __post_init__(self) -> None:
        if self.end < 0:
            object.__setattr__(self, "end", self.frame)
        if self.end < self.frame:
            raise ValueError(f"event ends ({self.end}) before it starts ({self.frame})")

    @property
    def middle(self) -> int:
        """The middle frame (where a transition's new shot is said to begin)."""
        return (self.frame + self.end + 1) // 2
