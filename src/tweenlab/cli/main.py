"""``tweenlab``: the command group and its commands.

Each command parses its options, calls one service and prints where the results are.
"""

from __future__ import annotations

import importlib
import json
from fractions import Fraction
from pathlib import Path

import click

from tweenlab import __version__, services
from tweenlab.cli._ui import Context, exit_with, progress_reporter, run_with_boundary
from tweenlab.errors import UsageError

__all__ = ["cli", "main"]

VIDEO = click.Path(path_type=Path)

#: The commands kept in modules of their own, loaded when named (or listed by ``--help``): a
#: command does not import what the others need (``tweenlab synth`` neither the server's
#: framework nor the media and keyframe analysis).
LAZY_COMMANDS = {
    "autolabel": "tweenlab.cli.autolabel:autolabel_command",
    "cluster": "tweenlab.cli.cluster:cluster_group",
    "export": "tweenlab.cli.dataset:export_command",
    "import": "tweenlab.cli.dataset:import_command",
    "keyframes": "tweenlab.cli.keyframes:keyframes_command",
    "propagate": "tweenlab.cli.propagate:propagate_command",
    "flow": "tweenlab.cli.propagate:flow_command",
    "serve": "tweenlab.cli.server:serve_command",
    "db": "tweenlab.cli.server:db_group",
    "user": "tweenlab.cli.server:user_group",
    "synth": "tweenlab.cli.synth:synth_command",
}


class LazyGroup(click.Group):
    """A command group whose ``LAZY_COMMANDS`` are imported when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        loaded = super().list_commands(ctx)  # lazy ones too, once asked for
        return [*(name for name in loaded if name not in LAZY_COMMANDS), *LAZY_COMMANDS]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = LAZY_COMMANDS.get(cmd_name)
        if where is None or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        module, name = where.split(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command) and command.name == cmd_name
        self.add_command(command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--quiet", "-q", is_flag=True, help="No progress bars or chatter; results only.")
@click.version_option(__version__, prog_name="tweenlab")
@click.pass_context
def cli(click_ctx: click.Context, quiet: bool) -> None:
    """tweenlab turns raw video into deep-learning datasets."""
    click_ctx.obj = Context(quiet=quiet)


@cli.command()
@click.option("--video", type=VIDEO, help="Run on this video instead of the rendered sample clip.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("tweenlab-demo"),
    show_default=True,
    help="Folder for the results.",
)
@click.pass_obj
def demo(ctx: Context, video: Path | None, out: Path) -> None:
    """Run every capability on a video and print where the results are."""
    with progress_reporter(ctx) as report:
        result = services.run_demo(out, ctx.settings, video=video, report=report)
    click.echo(f"demo results in {result.out_dir}/ (report.json lists them)")
    for step, where in result.steps.items():
        shown = where if isinstance(where, str) else json.dumps(where)
        click.echo(f"  {step:>13}: {shown}")


@cli.command()
@click.argument("video", type=VIDEO)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def probe(video: Path, as_json: bool) -> None:
    """Describe VIDEO: codec, size, exact frame count, frame rate, keyframe spacing."""
    from tweenlab.media import probe as probe_video  # noqa: PLC0415 (fast start)

    info = probe_video(video).to_json()
    if as_json:
        click.echo(json.dumps(info, indent=1))
        return
    for key, value in info.items():
        click.echo(f"{key:>14}: {value}")


@cli.command()
@click.argument("video", type=VIDEO)
@click.pass_obj
def ingest(ctx: Context, video: Path) -> None:
    """Index VIDEO, write its proxy when random access needs one, and its filmstrip."""
    with progress_reporter(ctx) as report:
        done = services.ingest(video, ctx.settings, report=report)
    click.echo(f"{done.info.frame_count} frames indexed; derived files in {done.folder}")
    click.echo(f"proxy: {done.proxy or 'not needed'}; filmstrip: {done.filmstrip.path}")


@cli.command()
@click.argument("video", type=VIDEO)
@click.option("--every", help="Clip length: 10s, 1.5m, 00:30.")
@click.option("--at", "at", help="Cut at these times: 00:10,00:31.5.")
@click.option("--frames", help="Cut at these frames: 0,300,900.")
@click.option("--scenes", is_flag=True, help="Cut at detected cuts and transitions.")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for the clips [VIDEO_clips].")
@click.pass_obj
def split(
    ctx: Context,
    video: Path,
    every: str | None,
    at: str | None,
    frames: str | None,
    scenes: bool,
    out: Path | None,
) -> None:
    """Cut VIDEO into clips whose frames add up to the source exactly (with JSON sidecars)."""
    out = out or video.with_name(f"{video.stem}_clips")
    if scenes and (every or at or frames):
        raise UsageError("choose exactly one of --every, --at, --frames, --scenes")
    from tweenlab.core.time import parse_frame_list, parse_seconds, parse_time_list  # noqa: PLC0415

    length = parse_seconds(every, option="--every") if every else None
    times = parse_time_list(at) if at else None
    cuts = parse_frame_list(frames) if frames else None
    with progress_reporter(ctx) as report:
        if scenes:
            clips = services.split_scenes(video, out, ctx.settings, report=report)
        else:
            clips = services.split(
                video, out, ctx.settings, every=length, at=times, frames=cuts, report=report
            )
    for clip in clips:
        click.echo(f"{clip.path}\t{clip.first_frame}-{clip.last_frame}\t{clip.method}")


@cli.command()
@click.argument("video", type=VIDEO)
@click.option("--every", type=click.IntRange(min=1), help="Every N-th frame.")
@click.option("--fps", help="X frames per second of video time (e.g. 2 or 1/5).")
@click.option("--at", "at", help="These frames: 1,5,9.")
@click.option("--range", "frame_range", help="Frames A:B (B exclusive) or A:B:STEP.")
@click.option("--keyframes", is_flag=True, help="The suggested keyframes (tweenlab keyframes).")
@click.option(
    "--format",
    "image_format",
    type=click.Choice(["jpg", "png", "webp"]),
    default="jpg",
    show_default=True,
)
@click.option("--quality", type=click.IntRange(1, 100), help="JPEG/WebP quality.")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for images [VIDEO_frames].")
@click.pass_obj
def frames(
    ctx: Context,
    video: Path,
    every: int | None,
    fps: str | None,
    at: str | None,
    frame_range: str | None,
    keyframes: bool,
    image_format: str,
    quality: int | None,
    out: Path | None,
) -> None:
    """Write frames of VIDEO as images, with manifest.csv and manifest.json."""
    out = out or video.with_name(f"{video.stem}_frames")
    if keyframes:
        if every or fps or at or frame_range:
            raise UsageError("choose exactly one of --every, --fps, --at, --range, --keyframes")
        with progress_reporter(ctx) as report:
            rows = services.extract_keyframes(
                video, out, ctx.settings, image_format=image_format, quality=quality, report=report
            )
        click.echo(f"{len(rows)} keyframes written to {out}/ (manifest.csv, manifest.json)")
        return
    from tweenlab.core.time import (  # noqa: PLC0415 (fast start)
        FrameSelection,
        parse_frame_list,
        parse_frame_range,
    )

    selection = FrameSelection(
        every=every,
        fps=_rate(fps) if fps else None,
        at=tuple(parse_frame_list(at, option="--at")) if at else None,
        range=parse_frame_range(frame_range) if frame_range else None,
    )
    with progress_reporter(ctx) as report:
        rows = services.extract(
            video,
            out,
            selection,
            ctx.settings,
            image_format=image_format,
            quality=quality,
            report=report,
        )
    click.echo(f"{len(rows)} frames written to {out}/ (manifest.csv, manifest.json)")


def _rate(text: str) -> Fraction:
    if len(text) > 32:  # Fraction() refuses 4300 digits, and a message should not quote them
        raise UsageError(f"--fps: {text[:20] + '…'!r} is longer than 32 characters (use 2 or 1/5)")
    try:
        return Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"--fps: {text!r} is not a number (use 2, 0.5 or 1/5)") from None


def main() -> None:
    """The console script's entry point."""
    exit_with(run_with_boundary(cli))
