"""``tweenlab synth``: interpolate frames, repair, retime and extrapolate videos, train the deep
models."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import click

from tweenlab.cli._ui import Context, check_output_file, refuse_overwriting
from tweenlab.errors import UsageError

__all__ = ["synth_command"]

PATH = click.Path(path_type=Path)
MAX_FACTOR = 64  # as tweenlab.synthesis.retime.MAX_FACTOR (not imported: it imports numpy)
MAX_EXTRAPOLATED = 1000  # frames continuing one motion at constant velocity: more is no video
ENGINE = click.option(
    "--engine",
    help="A name in the synthesizers registry (flow: optical flow, no weights; adaconv, "
    "sepconv, dvf, bipn, phasenet: deep models) [flow; with --model, the checkpoint's model].",
)
MODEL = click.option(
    "--model",
    "checkpoint",
    type=PATH,
    help="A deep engine's checkpoint file (tweenlab synth train writes one); its model is the "
    "engine unless --engine is given [the engine's shipped checkpoint].",
)


def _engine(engine: str | None, checkpoint: Path | None) -> str:
    """The registry name of the engine: ``engine`` (flow when not given), or the model in
    ``checkpoint`` loaded from it (``engine``, when given, must name that model)."""
    from tweenlab.synthesis import (  # noqa: PLC0415 (fast start)
        DEEP_MODELS,
        DEFAULT_ENGINE,
        register_checkpoint,
    )

    if checkpoint is None:
        return engine or DEFAULT_ENGINE
    if str(checkpoint) in DEEP_MODELS and not checkpoint.exists():
        raise UsageError(
            f"--model {checkpoint}: --model takes a checkpoint file (tweenlab synth train "
            f"writes one); the shipped {checkpoint} checkpoint is used by --engine {checkpoint} "
            "without --model"
        )
    return register_checkpoint(engine, checkpoint)


@click.group("synth")
def synth_command() -> None:
    """Synthesise frames: in between two frames, in place of bad ones, at a higher rate, after
    the last."""


@synth_command.command("interpolate")
@click.argument("frame0", type=PATH)
@click.argument("frame1", type=PATH)
@click.option("--t", "times", type=float, multiple=True, help="Time in (0, 1) [0.5]; repeatable.")
@click.option("--out", type=PATH, required=True, help="Image to write (png, jpg, webp).")
@ENGINE
@MODEL
def interpolate_command(
    frame0: Path,
    frame1: Path,
    times: tuple[float, ...],
    out: Path,
    engine: str | None,
    checkpoint: Path | None,
) -> None:
    """Write the frame at time t between FRAME0 (t=0) and FRAME1 (t=1)."""
    from tweenlab.services.synthesize import interpolate_files  # noqa: PLC0415 (fast start)

    check_output_file("--out", out)
    refuse_overwriting({"--out": out}, {"FRAME0": frame0, "FRAME1": frame1})
    name = _engine(engine, checkpoint)
    written = interpolate_files(frame0, frame1, out, times or (0.5,), engine=name)
    click.echo("\n".join(str(path) for path in written))


@synth_command.command("repair")
@click.argument("video", type=PATH)
@click.option("--out", type=PATH, required=True, help="The repaired video (MP4).")
@click.option("--report", type=PATH, help="Write what was replaced and why as JSON.")
@ENGINE
@MODEL
@click.pass_obj
def repair_command(
    ctx: Context,
    video: Path,
    out: Path,
    report: Path | None,
    engine: str | None,
    checkpoint: Path | None,
) -> None:
    """Replace VIDEO's blurred, repeated and undecodable frames with interpolated ones."""
    from tweenlab.services.synthesize import repair_video  # noqa: PLC0415 (fast start)

    check_output_file("--out", out)
    check_output_file("--report", report)
    # --out may be VIDEO itself (repaired in place, once read); the report may not
    refuse_overwriting({"--report": report}, {"VIDEO": video, "--out": out})
    name = _engine(engine, checkpoint)
    done = repair_video(video, out, ctx.settings, report=report, engine=name)
    for item in done.replaced:
        click.echo(f"frame {item.frame}: {item.reason} ({item.detail}); from {item.between}")
    for item in done.left:
        click.echo(
            f"frame {item.frame}: {item.reason}, left (no good frame on one side in its shot)"
        )
    click.echo(f"{len(done.replaced)} of {done.frames} frames replaced; wrote {out}")


@synth_command.command("retime")
@click.argument("video", type=PATH)
@click.option(
    "--factor",
    type=click.IntRange(min=2, max=MAX_FACTOR),
    help="Frames per input frame (2 doubles).",
)
@click.option("--fps", help="Output frame rate (60, 59.94 or 60000/1001).")
@click.option("--out", type=PATH, required=True, help="The retimed video (MP4).")
@click.option("--annotations", type=PATH, help="VIDEO's annotations (a tweenlab JSON file).")
@click.option(
    "--annotations-out",
    type=PATH,
    help="Write --annotations on the retimed frames here, each new frame labelled at its time.",
)
@ENGINE
@MODEL
@click.pass_obj
def retime_command(
    ctx: Context,
    video: Path,
    factor: int | None,
    fps: str | None,
    out: Path,
    annotations: Path | None,
    annotations_out: Path | None,
    engine: str | None,
    checkpoint: Path | None,
) -> None:
    """Write VIDEO at a higher frame rate with synthesised in-between frames."""
    from tweenlab.services import annotations as labels  # noqa: PLC0415 (fast start)
    from tweenlab.services.synthesize import (  # noqa: PLC0415 (fast start)
        retime_video,
        retimed_annotations,
    )

    if (factor is None) == (fps is None):
        raise UsageError("give one of --factor or --fps")
    if (annotations is None) != (annotations_out is None):
        raise UsageError("give both --annotations and --annotations-out, or neither")
    check_output_file("--out", out)  # all before the video is written
    check_output_file("--annotations-out", annotations_out)
    # each may replace its own input (retimed in place); not the other kind
    refuse_overwriting({"--out": out}, {"--annotations": annotations})
    refuse_overwriting({"--annotations-out": annotations_out}, {"VIDEO": video, "--out": out})
    rate = _rate(fps) if fps else None
    retimed = None
    if annotations is not None:  # checked before the video is written
        source = labels.load_annotations(annotations)
        retimed = retimed_annotations(source, video, ctx.settings, factor=factor, fps=rate, out=out)
    name = _engine(engine, checkpoint)
    done = retime_video(video, out, ctx.settings, factor=factor, fps=rate, engine=name)
    summary = {"out": str(done.path), "frames": done.frames, "synthesised": done.synthesised}
    if retimed is not None and annotations_out is not None:
        labels.save_annotations(retimed, annotations_out)
        summary["annotations"] = str(annotations_out)
    click.echo(json.dumps(summary))


@synth_command.command("extrapolate")
@click.argument("video", type=PATH)
@click.option(
    "--count",
    type=click.IntRange(min=1, max=MAX_EXTRAPOLATED),
    default=1,
    show_default=True,
    help="Frames to make.",
)
@click.option("--after", type=click.IntRange(min=0), help="Continue after this frame [the last].")
@click.option("--out", type=PATH, help="Folder for the images [VIDEO_extrapolated].")
@click.option(
    "--format",
    "image_format",
    type=click.Choice(["png", "jpg", "webp"]),
    default="png",
    show_default=True,
)
@ENGINE
@click.pass_obj
def extrapolate_command(
    ctx: Context,
    video: Path,
    count: int,
    after: int | None,
    out: Path | None,
    image_format: str,
    engine: str | None,
) -> None:
    """Write frames that continue VIDEO's motion after its last frame (or --after N), as
    images with manifest.csv and manifest.json that mark them synthetic."""
    from tweenlab.services.synthesize import extrapolate_video  # noqa: PLC0415 (fast start)

    folder = out or video.with_name(f"{video.stem}_extrapolated")
    rows = extrapolate_video(
        video,
        folder,
        ctx.settings,
        count=count,
        after=after,
        engine=_engine(engine, None),
        image_format=image_format,
    )
    click.echo("\n".join(str(folder / row.file) for row in rows))


@synth_command.command("train")
@click.option(
    "--model",
    "model",
    type=click.Choice(["adaconv", "sepconv", "dvf", "bipn", "phasenet"]),
    required=True,
    help="The model to train.",
)
@click.argument("videos", type=PATH, nargs=-1, required=True)
@click.option("--out", type=PATH, required=True, help="Checkpoint to write (its card beside it).")
@click.option("--steps", type=click.IntRange(min=1), default=2000, show_default=True)
@click.option("--minutes", type=click.FloatRange(min=0), default=0, help="Stop after this long.")
@click.option("--crop", type=click.IntRange(min=16), default=64, show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--width", type=click.IntRange(min=1), help="Model width [its default].")
@click.option(
    "--config",
    "config",
    multiple=True,
    metavar="KEY=VALUE",
    help="A hyper-parameter of the model (depth=4, kernel=25, normalise=true...); repeatable. "
    "Values are read as whole numbers, numbers, true/false, else text [the model's defaults].",
)
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where to train (auto: a CUDA GPU when torch sees one, else the CPU).",
)
@click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=1e-3, show_default=True)
@click.option("--validate-every", type=click.IntRange(min=1), default=200, show_default=True)
@click.option("--per-video", type=click.IntRange(min=1), default=300, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--gaps", default="1,2", show_default=True, help="Frame steps inside a window.")
@click.option(
    "--pan",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Add a random camera pan of up to this many pixels per frame to each crop.",
)
@click.option("--init", type=PATH, help="Start from this checkpoint of the same model.")
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Steps of linear learning-rate warm-up (use a few hundred with --init).",
)
@click.option(
    "--max-grad-norm",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Clip the gradients' total norm to this (0: never).",
)
@click.pass_obj
def train_command(
    ctx: Context,
    model: str,
    videos: tuple[Path, ...],
    out: Path,
    steps: int,
    minutes: float,
    crop: int,
    batch: int,
    width: int | None,
    config: tuple[str, ...],
    device: str,
    lr: float,
    validate_every: int,
    per_video: int,
    seed: int,
    gaps: str,
    pan: int,
    init: Path | None,
    warmup: int,
    max_grad_norm: float,
) -> None:
    """Train a deep model on triplets cut from VIDEOS (self-supervised); write a checkpoint."""
    from tweenlab.synthesis.checkpoint import card_path  # noqa: PLC0415 (fast start)

    check_output_file("--out", out)  # before the training, not after it
    check_output_file("its card", card_path(out))
    inputs = {f"VIDEOS ({video})": video for video in videos} | {"--init": init}
    refuse_overwriting({"--out": out, "its card": card_path(out)}, inputs)
    from tweenlab.synthesis.training import TrainOptions, train  # noqa: PLC0415 (torch)

    options = TrainOptions(
        steps=steps,
        minutes=minutes,
        crop=crop,
        batch=batch,
        width=width,
        config=_config(config),
        device=None if device == "auto" else device,
        lr=lr,
        validate_every=validate_every,
        per_video=per_video,
        seed=seed,
        gaps=_gaps(gaps),
        pan=pan,
        init=init,
        warmup=warmup,
        max_grad_norm=max_grad_norm,
    )

    def progress(step: int, total: int, loss: float, psnr: float | None) -> None:
        checked = f"validation PSNR {psnr} dB" if psnr is not None else "no validation windows"
        ctx.console.print(f"step {step}/{total}: loss {loss:.4f}, {checked}")

    done = train(model, list(videos), out, options, progress=progress)
    validation = done.card["validation"]
    summary = {"checkpoint": str(done.checkpoint), "steps": done.card["steps"], **validation}
    click.echo(json.dumps(summary))


def _gaps(text: str) -> tuple[int, ...]:
    try:
        gaps = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise UsageError(f"--gaps: {text!r} is not a list of whole numbers (1,2)") from None
    if not gaps or min(gaps) < 1:
        raise UsageError(f"--gaps: {text!r} must be whole numbers >= 1")
    return gaps


def _config(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``--config KEY=VALUE`` options as a dict, each value an int, float, bool or str."""
    config: dict[str, Any] = {}
    for pair in pairs:
        key, equals, text = (part.strip() for part in pair.partition("="))
        if not key or not equals or not text:
            raise UsageError(f"--config: {pair!r} is not KEY=VALUE (kernel=25)")
        if key in config:
            raise UsageError(f"--config: {key} given twice")
        config[key] = _value(text)
    return config


def _value(text: str) -> int | float | bool | str:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _rate(text: str) -> Fraction:
    try:  # 50.0000000000000001 is 50: a time base of 10**16 ticks overflows the muxer
        rate = Fraction(text).limit_denominator(1_000_000)
    except (ValueError, ZeroDivisionError):
        raise UsageError(f"--fps: {text!r} is not a number (use 60, 59.94 or 60000/1001)") from None
    if rate <= 0:
        raise UsageError(f"--fps: {text} must be positive")
    return rate
