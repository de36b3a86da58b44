"""Builders shared by the format tests: small annotation sets, fake frame images, expectations
computed from ``visible_states``, and the third-party validator in its own virtual environment.

Stable API (other format tests import it): ``VIDEO``, ``make_schema``, ``box_annotations``,
``mixed_annotations``, ``every_kind_annotations``, ``SolidFrames``, ``export_with``,
``expected_objects``, ``Expected``, ``shape_at``, ``validator_python``, ``run_validator``.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import subprocess
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest
from PIL import Image

from tweenlab.core import (
    AnnotationSet,
    AttributeKind,
    AttributeSpec,
    Box,
    ClipClass,
    Cuboid,
    Event,
    FrameTag,
    Keyframe,
    LabelSpec,
    Mask,
    Points,
    Polygon,
    Polyline,
    Schema,
    Shape,
    ShapeKind,
    Skeleton,
    Track,
    VideoRef,
)
from tweenlab.formats import ExportOptions, ExportPlan, FormatModule, plan_export, visible_states

VIDEO = VideoRef("clip.mp4", frame_count=24, width=64, height=48, fps=Fraction(30000, 1001))
VALIDATORS = Path("/work/shared/tools/validators")
VALIDATOR_VENV = Path("/tmp/validators-venv")


def make_schema() -> Schema:
    """``car`` (per-track ``colour``, per-frame ``parked``) and ``person`` (no attributes)."""
    car = LabelSpec(
        "car",
        attributes=(
            AttributeSpec("colour", AttributeKind.SELECT, ("red", "blue")),
            AttributeSpec("parked", AttributeKind.CHECKBOX, per_frame=True),
        ),
    )
    return Schema((car, LabelSpec("person")))


def _car_boxes() -> Track:
    """Track 1: boxes 0..7, outside 8..11 (the gap), back 12..19, closed at 20."""
    keys = {
        0: Keyframe(Box(4, 4, 16, 10), attributes={"parked": True}),
        6: Keyframe(Box(16, 10, 16, 10), occluded=True, attributes={"parked": False}),
        8: Keyframe(Box(18, 12, 16, 10), outside=True),
        12: Keyframe(Box(30, 20, 12, 8)),
        16: Keyframe(Box(40, 30, 12, 8), occluded=True),
        20: Keyframe(Box(40, 30, 12, 8), outside=True),
    }
    return Track(1, "car", keys, attributes={"colour": "blue"})


def _person_boxes() -> Track:
    """Track 2: from frame 2, moving until 10, then held to the end of the video."""
    keys = {2: Keyframe(Box(40, 4, 8, 16)), 10: Keyframe(Box(44, 20, 8, 16.5))}
    return Track(2, "person", keys, source="auto")


def _car_polygon() -> Track:
    """Track 3: a triangle from 3 to 13, closed at 14."""
    triangle = np.array([[10.0, 30.0], [20.0, 30.0], [15.0, 40.0]])
    keys = {
        3: Keyframe(Polygon(triangle)),
        9: Keyframe(Polygon(triangle + np.array([6, -4])), occluded=True),
        14: Keyframe(Polygon(triangle + np.array([6, -4])), outside=True),
    }
    return Track(3, "car", keys, attributes={"colour": "red"})


def _person_mask() -> Track:
    """Track 4: a rectangle mask from 5 to 10 that grows, closed at 11."""
    first = np.zeros((VIDEO.height, VIDEO.width), dtype=bool)
    first[30:40, 40:50] = True
    second = np.zeros_like(first)
    second[28:42, 42:56] = True
    keys = {
        5: Keyframe(Mask.from_dense(first)),
        7: Keyframe(Mask.from_dense(second)),
        11: Keyframe(Mask.from_dense(second), outside=True),
    }
    return Track(4, "person", keys)


def box_annotations() -> AnnotationSet:
    """Two box tracks: a car with an outside gap, occluded frames and attributes, a person."""
    return AnnotationSet(VIDEO, make_schema(), {1: _car_boxes(), 2: _person_boxes()})


def mixed_annotations() -> AnnotationSet:
    """``box_annotations`` plus a polygon track (car) and a mask track (person)."""
    tracks = [_car_boxes(), _person_boxes(), _car_polygon(), _person_mask()]
    return AnnotationSet(VIDEO, make_schema(), {t.id: t for t in tracks})


def every_kind_annotations() -> AnnotationSet:
    """Every shape kind, a rotated box, tags, events and clip/video classes (for lossless tests)."""
    schema = Schema(
        (
            *make_schema().labels,
            LabelSpec("lane", kinds=frozenset({ShapeKind.POLYLINE})),
            LabelSpec("pose"),
            LabelSpec("truck", "#123456", kinds=frozenset({ShapeKind.CUBOID, ShapeKind.BOX})),
            LabelSpec(
                "night",
                attributes=(
                    AttributeSpec("level", AttributeKind.NUMBER, minimum=0, maximum=10, step=0.5),
                    AttributeSpec("note", AttributeKind.TEXT, default="n/a"),
                ),
            ),
        )
    )
    cube = [[0, 0], [10, 0], [10, 10], [0, 10], [3, 2], [13, 2], [13, 12], [3, 12]]
    extra = [
        Track(
            5,
            "truck",
            {
                1: Keyframe(Box(5.25, 6.5, 20, 10, rotation=33.3)),
                4: Keyframe(Box(7, 8, 20, 10, rotation=-170)),
            },
        ),
        Track(
            6, "lane", {0: Keyframe(Polyline(np.array([[0, 47], [63, 20.125]])))}, source="imported"
        ),
        Track(
            7,
            "pose",
            {
                2: Keyframe(Points([[1, 2], [3, 4], [5, 6]], [True, False, True])),
                3: Keyframe(Points([[1, 2], [3, 4], [5, 6]]), outside=True),
            },
        ),
        Track(
            8,
            "pose",
            {
                5: Keyframe(
                    Skeleton(
                        [[10, 10], [10, 20], [15, 25]],
                        [True, True, False],
                        ("head", "neck", "hand"),
                        ((0, 1), (1, 2)),
                    )
                )
            },
        ),
        Track(9, "truck", {6: Keyframe(Cuboid(cube)), 9: Keyframe(Cuboid(np.array(cube) + 1.5))}),
    ]
    base = mixed_annotations()
    return AnnotationSet(
        base.video,
        schema,
        {**base.tracks, **{t.id: t for t in extra}},
        tags=(FrameTag(3, "night", {"level": 2.5, "note": "dark"}), FrameTag(4, "night")),
        events=(Event(2, 9, "person"), Event(10, 10, "car", {"colour": "red"})),
        classes=(ClipClass("night"), ClipClass("car", 0, 12)),
    )


@dataclass
class SolidFrames:
    """A ``FrameImages`` that writes one solid-grey image of the video's size per frame."""

    video: VideoRef = VIDEO
    calls: list[tuple[list[int], list[Path]]] = field(default_factory=list)

    def write(self, frames: Sequence[int], paths: Sequence[Path]) -> None:
        self.calls.append((list(frames), list(paths)))
        for frame, path in zip(frames, paths, strict=True):
            grey = (frame * 7) % 256
            Image.new("RGB", (self.video.width, self.video.height), (grey, grey, grey)).save(path)


def export_with(
    module: FormatModule,
    annotations: AnnotationSet,
    folder: Path,
    options: ExportOptions | None = None,
    images: SolidFrames | None = None,
) -> ExportPlan:
    """Plan and run one export into ``folder`` (made here, as the caller of ``export`` does)."""
    options = options or ExportOptions()
    plan = plan_export(annotations, options)
    folder.mkdir(parents=True, exist_ok=True)
    assert module.export is not None
    module.export(annotations, folder, plan, options, images)
    return plan


@dataclass(frozen=True)
class Expected:
    """One object an export must hold: track, label, shape and ``(x, y, w, h)`` bounds."""

    frame: int
    subset: str
    track_id: int
    label: str
    kind: ShapeKind
    bbox: tuple[float, float, float, float]
    keyframe: bool
    occluded: bool


def expected_objects(
    annotations: AnnotationSet, plan: ExportPlan, kinds: Collection[ShapeKind]
) -> list[Expected]:
    """What ``visible_states`` says each exported frame holds, for shapes of ``kinds`` with a
    non-empty bounding box, in frame then track order."""
    found = []
    for frame in plan.frames:
        for track_id, state in visible_states(annotations, frame.frame):
            bbox = state.shape.bbox()
            if state.shape.kind in kinds and bbox[2] > 0 and bbox[3] > 0:
                label = annotations.tracks[track_id].label
                found.append(
                    Expected(
                        frame.frame,
                        frame.subset,
                        track_id,
                        label,
                        state.shape.kind,
                        bbox,
                        state.keyframe,
                        state.occluded,
                    )
                )
    return found


def shape_at(annotations: AnnotationSet, track_id: int, frame: int) -> Shape:
    """The shape of a track on a frame where it is visible."""
    state = annotations.tracks[track_id].at(frame)
    assert state is not None and not state.outside, (track_id, frame)
    return state.shape


def validator_python() -> Path:
    """The validators' Python, making its virtual environment once; a loud skip if impossible."""
    python = VALIDATOR_VENV / "bin" / "python"
    built = VALIDATOR_VENV / ".tweenlab-complete"  # the interpreter exists long before its packages
    if built.exists():
        return python
    # pytest-xdist's workers may get here at once: one builds, the others wait for it
    with (
        VALIDATOR_VENV.with_name(VALIDATOR_VENV.name + ".lock").open("w") as lock,
        _locked(lock),
    ):
        if built.exists():
            return python
        setup = subprocess.run(
            ["bash", str(VALIDATORS / "setup_venv.sh"), str(VALIDATOR_VENV)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if setup.returncode == 0 and python.exists():
            built.touch()
    if setup.returncode != 0 or not python.exists():
        pytest.skip(
            f"SKIPPED LOUDLY: cannot build the validator venv {VALIDATOR_VENV} "
            f"(setup_venv.sh exit {setup.returncode}): {setup.stderr[-500:]}"
        )
    return python


@contextlib.contextmanager
def _locked(handle: IO[str]) -> Iterator[None]:
    """An exclusive ``flock`` of an open file, for the block."""
    fcntl.flock(handle, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)


def run_validator(format_name: str, path: Path) -> dict[str, Any]:
    """Run ``validate_export.py --strict`` on an export; fail with its report unless exit 0."""
    result = subprocess.run(
        [
            str(validator_python()),
            str(VALIDATORS / "validate_export.py"),
            "--format",
            format_name,
            str(path),
            "--strict",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        f"validator exit {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary
