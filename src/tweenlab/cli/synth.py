"""``tweenlab synth``: interpolate frames, repair and retime videos."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import click

from tweenlab.cli._ui import Context
from tweenlab.errors import UsageError

__all__ = ["synth_command"]

PATH = click.Path(path_type=Path)
ENGINE = click.option(
    "--engine",
    default="flow",
    show_default=True,
    help="A name in the synthesizers registry (flow: optical flow, no weights).",
)


@click.group("synth")
def synth_command() -> None:
    """Synthesise frames: in between two frames, in place of bad ones, at a higher rate."""


@synth_command.command("interpolate")
@click.argument("frame0", type=PATH)
@click.argument("frame1", type=PATH)
@click.option("--t", "times", type=float, multiple=True, help="Time in (0, 1) [0.5]; repeatable.")
@click.option("--out", type=PATH, required=True, help="Image to write (png, jpg, webp).")
@ENGINE
def interpolate_command(
    frame0: Path, frame1: Path, times: tuple[float, ...], out: Path, engine: str
) -> None:
    """Write the frame at time t between FRAME0 (t=0) and FRAME1 (t=1)."""
    from tweenlab.services.synthesize import interpolate_files  # noqa: PLC0415 (fast start)

    written = interpolate_files(frame0, frame1, out, times or (0.5,), engine=engine)
    click.echo("\n".join(str(path) for path in written))


@synth_command.command("repair")
@click.argument("video", type=PATH)
@click.option("--out", type=PATH, required=True, help="The repaired video (MP4).")
@click.option("--report", type=PATH, help="Write what was replaced and why as JSON.")
@ENGINE
@click.pass_obj
def repair_command(ctx: Context, video: Path, out: Path, report: Path | None, engine: str) -> None:
    """Replace VIDEO's blurred, repeated and undecodable frames with interpolated ones."""
    from tweenlab.services.synthesize import repair_video  # noqa: PLC0415 (fast start)

    done = repair_video(video, out, ctx.settings, report=report, engine=engine)
    for item in done.replaced:
        click.echo(f"frame {item.frame}: {item.reason} ({item.detail}); from {item.between}")
    for item in done.left:
        click.echo(f"frame {item.frame}: {item.reason}, left (no good frame on one side)")
    click.echo(f"{len(done.replaced)} of {done.frames} frames replaced; wrote {out}")


@synth_command.command("retime")
@click.argument("video", type=PATH)
@click.option("--factor", type=click.IntRange(min=2), help="Frames per input frame (2 doubles).")
@click.option("--fps", help="Output frame rate (60, 59.94 or 60000/1001).")
@click.option("--out", type=PATH, required=True, help="The retimed video (MP4).")
@ENGINE
@click.pass_obj
def retime_command(
    ctx: Context, video: Path, factor: int | None, fps: str | None, out: Path, engine: str
) -> None:
    """Write VIDEO at a higher frame rate with synthesised in-between frames."""
    from tweenlab.services.synthesize import retime_video  # noqa: PLC0415 (fast start)

    if (factor is None) == (fps is None):
        raise UsageError("give one of --factor or --fps")
    rate = _rate(fps) if fps else None
    done = retime_video(video, out, ctx.settings, factor=factor, fps=rate, engine=engine)
    summary = {"out": str(done.path), "frames": done.frames, "synthesised": done.synthesised}
    click.echo(json.dumps(summary))


def _rate(text: str) -> Fraction:
    try:
        rate = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"--fps: {text!r} is not a number (use 60, 59.94 or 60000/1001)") from None
    if rate <= 0:
        raise UsageError(f"--fps: {text} must be positive")
    return rate
