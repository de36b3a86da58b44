"""``tweenlab keyframes``: cuts, transitions and the frames worth labelling, in one pass."""

from __future__ import annotations

import json
from pathlib import Path

import click

from tweenlab.cli._ui import (
    Context,
    check_output_file,
    progress_reporter,
    refuse_overwriting,
)
from tweenlab.core.time import parse_seconds
from tweenlab.keyframes import SuggestionPolicy
from tweenlab.media._files import write_atomic
from tweenlab.services.keyframes import DEFAULT_DETECTOR, analyse_video

__all__ = ["keyframes_command"]


@click.command("keyframes")
@click.argument("video", type=click.Path(path_type=Path))
@click.option(
    "--json",
    "json_out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the result here.",
)
@click.option(
    "--per-minute", type=click.FloatRange(min=0, min_open=True), help="Budget per minute."
)
@click.option("--max", "max_count", type=click.IntRange(min=1), help="Budget for the whole video.")
@click.option("--every", type=click.IntRange(min=1), help="Fixed interval: every N-th frame.")
@click.option("--every-seconds", help="Fixed interval by time: 2, 0.5, 1m.")
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw the signals into this PNG.",
)
@click.option(
    "--detector",
    default=DEFAULT_DETECTOR,
    show_default=True,
    help="A name in the keyframe_detectors registry (plugins add theirs by entry point).",
)
@click.pass_obj
def keyframes_command(
    ctx: Context,
    video: Path,
    json_out: Path | None,
    per_minute: float | None,
    max_count: int | None,
    every: int | None,
    every_seconds: str | None,
    plot: Path | None,
    detector: str,
) -> None:
    """Find the cuts and transitions of VIDEO and suggest the frames worth labelling."""
    check_output_file("--json", json_out)
    check_output_file("--plot", plot)
    refuse_overwriting({"--json": json_out, "--plot": plot}, {"VIDEO": video})
    seconds = parse_seconds(every_seconds, option="--every-seconds") if every_seconds else None
    policy = SuggestionPolicy(
        per_minute=per_minute,
        max_count=max_count,
        every_frames=every,
        frames=() if seconds is not None else None,  # resolved from the frame index
    )
    with progress_reporter(ctx) as report:
        result = analyse_video(
            video,
            ctx.settings,
            policy=policy,
            every_seconds=seconds,
            plot=plot,
            report=report,
            detector=detector,
        )
    found = result.to_json()
    if json_out is not None:
        write_atomic(json_out, json.dumps(found, indent=1).encode())
    speed = f" at {found['fps']:.0f} frames/s" if found["fps"] else " (signals reused)"
    click.echo(f"{found['frames']} frames analysed{speed}")
    click.echo(f"hard cuts ({len(found['hard_cuts'])}): {found['hard_cuts']}")
    click.echo(f"transitions ({len(found['transitions'])}): {found['transitions']}")
    click.echo(f"suggested keyframes ({len(found['suggested'])}): {found['suggested']}")
    click.echo(f"signals: {found['signals']}" + (f"; plot: {plot}" if plot else ""))
    for error in found["errors"]:
        click.echo(f"skipped: {error}", err=True)
