"""``tweenlab propagate``: fill the frames between keyframes by following the motion;
``tweenlab flow``: compute the optical flow it follows ahead of time."""

from __future__ import annotations

from pathlib import Path

import click

from tweenlab.cli._ui import (
    Context,
    check_output_file,
    progress_reporter,
    refuse_overwriting,
)
from tweenlab.errors import UsageError
from tweenlab.services.propagate import propagate_annotations, propagate_file
from tweenlab.settings import Settings

__all__ = ["flow_command", "propagate_command"]

FLOW = click.option(
    "--flow",
    "flow_method",
    help="Optical flow estimator: a name in the flow_estimators registry (seeded, dis, "
    "farneback) [TWEENLAB_FLOW_METHOD, else seeded]. Each estimator keeps its own cache.",
)


def _settings(ctx: Context, flow_method: str | None) -> Settings:
    """The command's settings, with ``--flow`` when it was given."""
    if flow_method is None:
        return ctx.settings
    return ctx.settings.model_copy(update={"flow_method": flow_method})


@click.command("propagate")
@click.argument("video", type=click.Path(path_type=Path))
@click.option(
    "--keyframes",
    type=click.Path(path_type=Path),
    help='One box track: {"frames": N, "keyframes": {"0": [x, y, w, h], "40": null}}.',
)
@click.option(
    "--annotations",
    type=click.Path(path_type=Path),
    help="A native annotation file: every track of every shape kind is filled.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help='With --keyframes: {"boxes": {"0": [x, y, w, h] or null, ...}, ...}; with '
    "--annotations: the annotations with in-between shapes (tweenlab export reads it).",
)
@click.option(
    "--method",
    type=click.Choice(["flow", "tracker", "linear"]),
    default="flow",
    show_default=True,
    help="Follow the motion (flow), an OpenCV MIL tracker both ways (tracker: box spans; "
    "other shapes and the carrying past a track's ends follow the flow), or interpolate "
    "straight (linear: --keyframes only).",
)
@FLOW
@click.option(
    "--cuts/--no-cuts",
    default=True,
    show_default=True,
    help="Find the video's scene cuts first and carry nothing across them (not linear).",
)
@click.pass_obj
def propagate_command(
    ctx: Context,
    video: Path,
    keyframes: Path | None,
    annotations: Path | None,
    out: Path,
    method: str,
    flow_method: str | None,
    cuts: bool,
) -> None:
    """Fill every frame of VIDEO between the keyframes, following the motion."""
    settings = _settings(ctx, flow_method)
    if (keyframes is None) == (annotations is None):
        raise UsageError("give one of --keyframes (one box track) or --annotations (a file)")
    # --annotations may be filled in place (the keyframes stay, in-betweens are added)
    check_output_file("--out", out)
    refuse_overwriting({"--out": out}, {"VIDEO": video, "--keyframes": keyframes})
    if annotations is not None:
        if method == "linear":
            raise UsageError(
                "--annotations fills by flow or tracker; straight interpolation needs nothing"
            )
        reports = propagate_annotations(
            video,
            annotations,
            out,
            settings,
            cuts=cuts,
            method=method,  # type: ignore[arg-type]
        )
        for report in reports:
            across = (
                f"; left straight across a cut: {report.across_cuts}" if report.across_cuts else ""
            )
            carried = f", {report.extended} carried past its ends" if report.extended else ""
            leaves = (
                f"; leaves the picture on frame {report.leaves}"
                if report.leaves is not None
                else ""
            )
            empty = (
                f"; boxes of zero size on frames {report.zero_size} (nothing to follow: "
                "their spans left straight)"
                if report.zero_size
                else ""
            )
            click.echo(
                f"track {report.track}: {report.filled} frames filled{carried}; suggested next "
                f"keyframes: {report.suggested[:10]}{across}{leaves}{empty}"
            )
        return
    assert keyframes is not None
    filled = propagate_file(
        video,
        keyframes,
        out,
        settings,
        method=method,  # type: ignore[arg-type]
        cuts=cuts,
    )
    shown = sum(box is not None for box in filled.boxes)
    click.echo(
        f"{shown} of {len(filled.boxes)} frames filled; suggested next keyframes: "
        f"{sorted(filled.suggested)[:10]}"
    )


@click.command("flow")
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--range", "frame_range", help="Frames A:B (B exclusive) [the whole video].")
@FLOW
@click.pass_obj
def flow_command(
    ctx: Context, video: Path, frame_range: str | None, flow_method: str | None
) -> None:
    """Compute VIDEO's optical flow ahead of time into its cache, which in-betweening,
    retiming and motion labelling then read instead of computing it."""
    from tweenlab.core.time import parse_frame_range  # noqa: PLC0415 (fast start)
    from tweenlab.services.flow import compute_flow  # noqa: PLC0415 (fast start)

    settings = _settings(ctx, flow_method)
    first, last = 0, None
    if frame_range is not None:
        start, stop, step = parse_frame_range(frame_range)
        if step != 1:
            raise UsageError(f"--range {frame_range}: flow is between consecutive frames (no STEP)")
        first, last = start, (None if stop is None else stop - 1)
    with progress_reporter(ctx) as report:
        done = compute_flow(
            video, settings, first=first, last=last, report=lambda d, t: report("flow", d, t)
        )
    click.echo(
        f"{done.pairs} frame pairs of flow ({done.computed} computed now) for frames "
        f"{done.first}..{done.last} in {done.folder}"
    )
    if done.asked_last is not None:
        click.echo(
            f"stopped at frame {done.last} of {done.asked_last}: the flow cache's budget "
            f"(TWEENLAB_FLOW_CACHE_MB={settings.flow_cache_mb}) holds no more; the rest is "
            "computed when a fill needs it"
        )
