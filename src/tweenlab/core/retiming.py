"""Annotations on a retimed timeline: the labels of synthesised frames at fractional times.

A retimed video (``tweenlab synth retime``) or an export with synthesised samples has frames at
times between the source's frames. Its frame *v* is a *sample* ``(n, t)``: the source's frame
``n`` when ``t == 0``, else the time ``n + t`` between frames ``n`` and ``n + 1`` (``0 < t < 1``).
``retime_annotations`` gives every sample the in-between annotations at its time:

- A track's shape at ``n + t`` follows the same motion as its frames: in a straight span (no
  motion-guided in-between shape on ``n`` or ``n + 1``) it is the interpolation between the
  span's two keyframes at the fractional time; where in-betweening left shapes, it is the
  interpolation between the shapes of ``n`` and ``n + 1``, so the guided path is kept.
- The object is in the picture at ``n + t`` only when it is on both ``n`` and ``n + 1``: a
  frame synthesised while it leaves or enters is not labelled with it.
- ``occluded`` and per-frame attributes hold from the keyframe in force at ``n``.
- The source's keyframes stay keyframes (on the sample ``(n, 0)``); a synthesised frame is never
  one. Where the timeline has no sample on a change of visibility or flags, the first sample
  after it carries a keyframe.

A frame lasts until the next: a frame tag moves to the first sample in its frame's time (and
is dropped when there is none), events and clip classes cover the samples in their frames'
time.

Example:
    >>> from fractions import Fraction
    >>> from tweenlab.core.annotations import AnnotationSet, VideoRef
    >>> from tweenlab.core.schema import Schema
    >>> from tweenlab.core.shapes import Box
    >>> from tweenlab.core.track import Keyframe, Track
    >>> track = Track(1, "car", {0: Keyframe(Box(0, 0, 10, 10)), 2: Keyframe(Box(20, 0, 10, 10))})
    >>> source = AnnotationSet(VideoRef("clip.mp4", 3, 64, 48), Schema.of("car"), {1: track})
    >>> doubled = retime_annotations(source, factor_samples(3, 2))
    >>> doubled.video.frame_count, doubled.track(1).at(1).shape.x
    (5, 5.0)
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import TypeVar

from tweenlab.core.annotations import AnnotationSet, ClipClass, Event
from tweenlab.core.interpolation import interpolate
from tweenlab.core.shapes import Shape
from tweenlab.core.track import Keyframe, Track, TrackState
from tweenlab.errors import UsageError

__all__ = ["Sample", "factor_samples", "retime_annotations", "state_at"]

#: ``(n, t)``: the time ``n + t`` on the source's frames, ``0 <= t < 1``.
Sample = tuple[int, Fraction]
_Span = TypeVar("_Span", Event, ClipClass)


def factor_samples(frame_count: int, factor: int) -> list[Sample]:
    """The samples of a timeline with ``factor - 1`` frames between every two source frames
    (what ``retime`` by ``factor`` writes): frame ``v`` is the time ``v / factor``."""
    if factor < 1:
        raise UsageError(f"factor: {factor} must be a whole number >= 1")
    last = (frame_count - 1) * factor
    return [(v // factor, Fraction(v % factor, factor)) for v in range(last + 1)]


def state_at(track: Track, frame: int, t: Fraction | float = 0) -> TrackState | None:
    """The track at the time ``frame + t`` (``0 <= t < 1``); ``None`` before it begins.

    The state's ``frame`` is ``frame``; its ``keyframe`` is true only on a keyframe itself
    (``t == 0``).
    """
    if not 0 <= t < 1:
        raise UsageError(f"t: {t} is not in [0, 1)")
    before = track.at(frame)
    if t == 0 or before is None or before.outside or frame >= track.last_frame:
        return before
    after = track.at(frame + 1)
    assert after is not None
    if after.outside:
        return replace(before, outside=True, keyframe=False)
    if frame in track.inbetween or frame + 1 in track.inbetween:
        shape = interpolate(before.shape, after.shape, float(t))
    else:
        position = bisect.bisect_right(track.frames, frame) - 1
        start, end = track.frames[position], track.frames[position + 1]
        ends = track.keyframes[start].shape, track.keyframes[end].shape
        shape = interpolate(*ends, float((frame + Fraction(t) - start) / (end - start)))
    return replace(before, shape=shape, keyframe=False)


def retime_annotations(
    annotations: AnnotationSet, samples: Sequence[Sample], *, fps: Fraction | None = None
) -> AnnotationSet:
    """``annotations`` on the timeline whose frame ``v`` is ``samples[v]`` (see the module).

    Args:
        annotations: The source's annotations.
        samples: ``(n, t)`` per new frame, in time order, each within the source's frames.
        fps: The new timeline's frame rate; by default the source's times the new frames per
            source frame (``factor`` for ``factor_samples``).

    Raises:
        UsageError: No samples, samples out of order or outside the source's frames.
    """
    _check_samples(samples, annotations.video.frame_count)
    video = annotations.video
    spans = Fraction(len(samples) - 1, max(video.frame_count - 1, 1)) if len(samples) > 1 else 1
    rate = fps if fps is not None else Fraction(video.fps) * spans
    retimed_video = replace(video, frame_count=len(samples), fps=rate)
    tracks = (_retimed_track(track, samples) for track in annotations.tracks.values())
    first: dict[int, int] = {}  # source frame -> the first sample in its time
    for v, (n, _) in enumerate(samples):
        first.setdefault(n, v)
    return AnnotationSet(
        retimed_video,
        annotations.schema,
        {track.id: track for track in tracks if track is not None},
        tags=tuple(
            replace(tag, frame=first[tag.frame]) for tag in annotations.tags if tag.frame in first
        ),
        events=tuple(_spans(annotations.events, samples)),
        classes=tuple(_spans(annotations.classes, samples)),
    )


def _time(sample: Sample) -> Fraction:
    return sample[0] + Fraction(sample[1])


def _check_samples(samples: Sequence[Sample], frame_count: int) -> None:
    if not samples:
        raise UsageError("a retimed timeline needs at least one sample")
    previous: Fraction | None = None
    for v, (n, t) in enumerate(samples):
        time = n + Fraction(t)
        if not (0 <= t < 1 and 0 <= n < frame_count and time <= frame_count - 1):
            raise UsageError(
                f"sample {v}: time {float(time)} is outside the video's frames 0..{frame_count - 1}"
            )
        if previous is not None and time < previous:
            raise UsageError(f"sample {v}: time {float(time)} comes before {float(previous)}")
        previous = time


@dataclass
class _Held:
    """What the new track's last keyframe holds (a change of any calls for a keyframe): the
    source keyframe in force too, so that a source keyframe with no sample of its own puts a
    keyframe on the first sample after it (else the shapes after it would be lost)."""

    source: int
    visible: bool
    occluded: bool
    attributes: object


def _retimed_track(track: Track, samples: Sequence[Sample]) -> Track | None:
    """The track on the new timeline, or None when no sample falls in its life.

    A first pass finds the new keyframes from the keyframe in force at each sample (no shape is
    computed there but on a new keyframe); a second computes shapes only in the new spans whose
    straight interpolation is not already the source's.
    """
    track = track.settled()  # a carried extension's ends as keyframes
    frames, keys = track.frames, track.keyframes
    keyframes: dict[int, Keyframe] = {}
    alive: list[int] = []
    held: _Held | None = None
    for v, (n, t) in enumerate(samples):
        position = bisect.bisect_right(frames, n) - 1
        if position < 0:
            continue
        before = keys[frames[position]]
        leaving = t and position + 1 < len(frames) and frames[position + 1] == n + 1
        visible = not before.outside and not (leaving and keys[n + 1].outside)
        now = _Held(frames[position], visible, before.occluded, before.attributes)
        if t == 0 and n in keys:
            keyframes[v] = keys[n]
        elif now != held:
            state = state_at(track, n, t)
            assert state is not None
            keyframes[v] = Keyframe(state.shape, state.outside, state.occluded, state.attributes)
        elif visible:
            alive.append(v)
        held = now
    if not keyframes:
        return None
    if alive and alive[-1] > max(keyframes) and _time(samples[alive[-1]]) < track.last_frame:
        # the timeline ends before the source's last keyframe, on a moving object: a keyframe
        # there (a track holds its last keyframe's shape, and the object is still moving)
        last = alive.pop()
        state = state_at(track, *samples[last])
        assert state is not None
        keyframes[last] = Keyframe(state.shape, state.outside, state.occluded, state.attributes)
    inbetween, confidence = _inbetween(track, samples, alive, keyframes)
    return replace(
        track, keyframes=keyframes, inbetween=inbetween, confidence=confidence, leaves=None
    )


def _inbetween(
    track: Track, samples: Sequence[Sample], alive: list[int], keyframes: dict[int, Keyframe]
) -> tuple[dict[int, Shape], dict[int, float]]:
    """The shapes the new track keeps on its visible frames between keyframes (``alive``):
    every one's, except in a new span that is a source span with no in-between shape, sampled
    evenly (its straight interpolation is then already the source's at each fractional time)."""
    keys = sorted(keyframes)
    guided = sorted(track.inbetween)
    straight: dict[int, bool] = {}
    shapes: dict[int, Shape] = {}
    confidence: dict[int, float] = {}
    for v in alive:
        position = bisect.bisect_right(keys, v) - 1
        if position + 1 >= len(keys):
            continue
        start, end = keys[position], keys[position + 1]
        if start not in straight:
            straight[start] = _straight(track, guided, samples, start, end)
        if keyframes[start].outside or straight[start]:
            continue
        n, t = samples[v]
        state = state_at(track, n, t)
        assert state is not None
        shapes[v] = state.shape
        around = (n,) if t == 0 else (n, n + 1)
        scores = [track.confidence[f] for f in around if f in track.confidence]
        if scores:
            confidence[v] = min(scores)
    return shapes, confidence


def _straight(
    track: Track, guided: list[int], samples: Sequence[Sample], start: int, end: int
) -> bool:
    """Whether the new keyframes ``start`` and ``end`` are two consecutive source keyframes
    with no in-between shape in their span, sampled at even steps between them."""
    (a, ta), (b, tb) = samples[start], samples[end]
    if ta or tb or a not in track.keyframes or b not in track.keyframes:
        return False
    position = bisect.bisect_left(track.frames, a)
    if position + 1 >= len(track.frames) or track.frames[position + 1] != b:
        return False
    inside = bisect.bisect_right(guided, a)
    if inside < len(guided) and guided[inside] < b:
        return False
    step = Fraction(b - a, end - start)
    return all(
        n + t == a + (v - start) * step for v, (n, t) in enumerate(samples[start:end], start)
    )


def _spans(items: Sequence[_Span], samples: Sequence[Sample]) -> list[_Span]:
    """Events or clip classes moved onto the samples whose time lies in their frames (frame k
    lasting until k + 1)."""
    times = [n + Fraction(t) for n, t in samples]
    moved: list[_Span] = []
    for item in items:
        if item.start is None or item.end is None:
            moved.append(item)
            continue
        first = bisect.bisect_left(times, item.start)
        last = bisect.bisect_left(times, item.end + 1) - 1
        if first <= last:
            moved.append(replace(item, start=first, end=last))
    return moved
