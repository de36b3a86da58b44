"""``tweenlab autolabel``: a model pre-labels a video; detections become thinned tracks."""

from __future__ import annotations

from pathlib import Path

import click

from tweenlab.cli._ui import Context, check_output_file, progress_reporter
from tweenlab.core.time import parse_frame_list

__all__ = ["autolabel_command"]

PATH = click.Path(path_type=Path)


@click.command("autolabel")
@click.argument("video", type=PATH)
@click.option(
    "--labeler",
    default="yolov3-tiny",
    show_default=True,
    help="A name in the labelers registry: yolov3-tiny (80 COCO classes), mtcnn (faces), "
    "hog-people, motion (moving things, static cameras), onnx (--model), http (--url).",
)
@click.option("--model", type=PATH, help="The model file (onnx).")
@click.option("--classes", type=PATH, help="Class names, one per line or a JSON list.")
@click.option("--url", help="The endpoint of the http labeler.")
@click.option("--every", type=int, default=5, show_default=True, help="Label every Nth frame.")
@click.option(
    "--frames",
    help="Label these frames instead (0,10,20), or 'suggested': the frames keyframe suggestion "
    "picks.",
)
@click.option(
    "--min-score", type=float, default=0.25, show_default=True, help="Drop weaker detections."
)
@click.option(
    "--min-iou",
    type=float,
    default=0.9,
    show_default=True,
    help="Keep the fewest keyframes whose interpolation stays this close to the detections.",
)
@click.option(
    "--follow-motion",
    is_flag=True,
    help="Thin along the optical flow instead of straight lines: fewer keyframes on curved "
    "paths, in-betweens that follow the objects; computes the video's flow (slower).",
)
@click.option(
    "--option",
    "extra",
    multiple=True,
    metavar="KEY=VALUE",
    help="A labeler-specific setting (input_size=640, head=yolov8); repeatable.",
)
@click.option(
    "--out",
    type=PATH,
    required=True,
    help="The annotation file (native JSON). If it exists, only its unaccepted predictions are "
    "replaced.",
)
@click.pass_obj
def autolabel_command(
    ctx: Context,
    video: Path,
    labeler: str,
    model: Path | None,
    classes: Path | None,
    url: str | None,
    every: int,
    frames: str | None,
    min_score: float,
    min_iou: float,
    follow_motion: bool,
    extra: tuple[str, ...],
    out: Path,
) -> None:
    """Pre-label VIDEO with a model: tracks marked as predictions until a person accepts them."""
    from tweenlab.services.autolabel import autolabel_file, labeler_options  # noqa: PLC0415

    check_output_file("--out", out)
    options = labeler_options(
        model=model, classes=classes, url=url, min_score=min_score, extra=extra
    )
    chosen = frames if frames == "suggested" else parse_frame_list(frames) if frames else None
    with progress_reporter(ctx) as report:
        result = autolabel_file(
            video,
            out,
            ctx.settings,
            labeler=labeler,
            options=options,
            every=every,
            frames=chosen,
            min_iou=min_iou,
            follow_motion=follow_motion,
            report=report,
        )
    found = result.prelabels
    click.echo(
        f"{result.labeler}: {found.detections} detections on {result.frames_labelled} frames "
        f"-> {len(found.tracks)} predicted tracks, {found.keyframes} keyframes"
        + (f"; kept {result.kept_tracks} tracks" if result.kept_tracks else "")
    )
    for clip in found.classes:
        click.echo(f"  video class {clip.label}: {dict(clip.attributes)}")
    for event in found.events[:20]:
        click.echo(f"  event {event.label}: frames {event.start}..{event.end}")
    click.echo(f"wrote {result.out}")
