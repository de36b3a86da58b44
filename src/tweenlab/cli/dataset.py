"""``tweenlab export`` and ``tweenlab import``: datasets out, other tools' annotations in."""

from __future__ import annotations

from pathlib import Path

import click

from tweenlab.cli._ui import Context, check_output_file, refuse_overwriting
from tweenlab.errors import UsageError
from tweenlab.formats import MAX_SYNTHETIC, ExportOptions
from tweenlab.plugins import registry
from tweenlab.services import annotations as service

__all__ = ["export_command", "import_command"]


def _split(text: str | None) -> tuple[float, float, float] | None:
    if text is None:
        return None
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        raise UsageError(f"--split: {text!r} is not three fractions like 0.8,0.1,0.1") from None
    if len(parts) != 3:
        raise UsageError(f"--split: {text!r} needs three fractions (train,val,test)")
    return parts[0], parts[1], parts[2]


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies in it (links resolved)."""
    inner, outer = path.resolve(), folder.resolve()
    return inner == outer or outer in inner.parents


@click.command("export")
@click.argument("annotations", type=click.Path(path_type=Path))
@click.option("--format", "format_name", required=True, help="coco, yolo, mot, cvat_video, ...")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Folder to write.")
@click.option("--video", type=click.Path(path_type=Path), help="The video (for images, pts).")
@click.option(
    "--frames",
    "frames",
    default="all",
    show_default=True,
    help="none (annotations only), keyframes, all (visible frames) or every:N.",
)
@click.option(
    "--images",
    type=click.Choice(["jpg", "png"]),
    help="Write frame images in this format (needs --video).",
)
@click.option("--split", help="train,val,test fractions, e.g. 0.8,0.1,0.1 (whole scenes).")
@click.option(
    "--synthetic",
    type=click.IntRange(0, MAX_SYNTHETIC),
    default=0,
    show_default=True,
    help="Frames to synthesise after each exported frame (toward the next), labelled at their "
    "time: extra training samples, marked synthetic in provenance.json (needs --images).",
)
@click.option(
    "--synthesis-engine",
    "engine",
    default="flow",
    show_default=True,
    help="The frame-synthesis engine for --synthetic (flow, adaconv, sepconv, dvf, bipn, "
    "phasenet).",
)
@click.pass_obj
def export_command(
    ctx: Context,
    annotations: Path,
    format_name: str,
    out: Path,
    video: Path | None,
    frames: str,
    images: str | None,
    split: str | None,
    synthetic: int,
    engine: str,
) -> None:
    """Export ANNOTATIONS (a tweenlab JSON file) as a dataset."""
    for name, given in (("ANNOTATIONS", annotations), ("--video", video)):
        if given is not None and _inside(given, out):
            raise UsageError(f"--out {out}: holds {name} {given}, which the export would replace")
    choice, step = ExportOptions.parse_frames(frames)
    if images and frames == "none":
        raise UsageError("--frames none writes no images; drop --images or choose other frames")
    if images and video is None:
        raise UsageError("--images needs --video to read the frames from")
    options = ExportOptions(
        frames=choice,
        step=step,
        images=images,  # type: ignore[arg-type]
        split=_split(split),
        synthetic=synthetic,
    )
    loaded = service.load_annotations(annotations)
    result = service.export_annotations(
        loaded, out, format_name, options, ctx.settings, video=video, engine=engine
    )
    subsets = ", ".join(f"{s}: {len(result.plan.in_subset(s))}" for s in result.plan.subsets)
    made = sum(f.synthetic for f in result.plan.frames)
    extra = f", {made} of them synthesised" if synthetic else ""
    click.echo(
        f"{len(result.plan.frames)} frames exported as {format_name} to {out}/ ({subsets}){extra}"
    )


@click.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@click.option(
    "--format", "format_name", help="mot, coco, cvat_video, native (detected if omitted)."
)
@click.option("--video", type=click.Path(path_type=Path), help="The video the file annotates.")
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="The tweenlab JSON file to write."
)
@click.option(
    "--thin",
    type=click.FloatRange(0, 1),
    default=0.95,
    show_default=True,
    help="Keep the fewest keyframes whose interpolation stays within this IoU.",
)
@click.option("--no-thin", is_flag=True, help="Keep every imported box as a keyframe.")
@click.pass_obj
def import_command(
    ctx: Context,
    file: Path,
    format_name: str | None,
    video: Path | None,
    out: Path,
    thin: float,
    no_thin: bool,
) -> None:
    """Import FILE from another tool into a tweenlab JSON file."""
    refuse_overwriting({"--out": out}, {"FILE": file, "--video": video})
    check_output_file("--out", out)
    if format_name is not None and format_name not in registry("formats"):
        raise UsageError(f"--format: unknown {format_name!r} ({registry('formats').names()})")
    loaded = service.import_annotations(
        file, ctx.settings, format_name=format_name, video=video, thin=None if no_thin else thin
    )
    service.save_annotations(loaded, out)
    click.echo(f"{len(loaded.tracks)} tracks, {loaded.shape_count()} keyframes written to {out}")
