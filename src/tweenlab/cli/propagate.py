"""``tweenlab propagate``: fill every frame of a box track from its keyframes."""

from __future__ import annotations

from pathlib import Path

import click

from tweenlab.cli._ui import Context
from tweenlab.services.propagate import propagate_file

__all__ = ["propagate_command"]


@click.command("propagate")
@click.argument("video", type=click.Path(path_type=Path))
@click.option(
    "--keyframes",
    type=click.Path(path_type=Path),
    required=True,
    help='JSON: {"frames": N, "keyframes": {"0": [x, y, w, h], "40": null}}.',
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help='JSON written: {"boxes": {"0": [x, y, w, h] or null, ...}, ...}.',
)
@click.option(
    "--method",
    type=click.Choice(["flow", "linear"]),
    default="flow",
    show_default=True,
    help="Follow the motion (flow) or interpolate straight.",
)
@click.option(
    "--cuts/--no-cuts",
    default=True,
    show_default=True,
    help="Find the video's scene cuts first and carry nothing across them (flow only).",
)
@click.pass_obj
def propagate_command(
    ctx: Context, video: Path, keyframes: Path, out: Path, method: str, cuts: bool
) -> None:
    """Fill every frame of VIDEO between the keyframes, following the motion."""
    filled = propagate_file(
        video,
        keyframes,
        out,
        ctx.settings,
        method=method,  # type: ignore[arg-type]
        cuts=cuts,
    )
    shown = sum(box is not None for box in filled.boxes)
    click.echo(
        f"{shown} of {len(filled.boxes)} frames filled; suggested next keyframes: "
        f"{sorted(filled.suggested)[:10]}"
    )
