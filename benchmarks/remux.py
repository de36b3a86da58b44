"""Long test videos without re-encoding: a source's video packets muxed end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av


def remux_copies(source: Path, target: Path, *, copies: int, span: int, rest: int = 0) -> Path:
    """``source``'s video packets muxed ``copies`` times end to end into ``target``, each copy
    shifted by ``span`` (the source's duration in its time base), then its first ``rest``
    packets (in decode order) once more. Written to a partial file, renamed when complete."""
    partial = target.with_suffix(".partial.mp4")
    with av.open(str(source)) as template, av.open(str(partial), mode="w") as output:
        stream = output.add_stream_from_template(template.streams.video[0])
        for repeat in range(copies + (rest > 0)):
            _copy(source, output, stream, repeat * span, rest if repeat == copies else None)
    partial.rename(target)
    return target


def _copy(source: Path, output: Any, stream: Any, offset: int, stop: int | None) -> None:
    with av.open(str(source)) as container:
        muxed = 0
        for packet in container.demux(container.streams.video[0]):
            if packet.dts is None or packet.pts is None:
                continue  # the demuxer's flush packet
            if stop is not None and muxed == stop:
                break
            packet.pts += offset
            packet.dts += offset
            packet.stream = stream
            output.mux(packet)
            muxed += 1
