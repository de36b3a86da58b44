"""``/api/projects/{project_id}/videos/{video_id}/...``: frames as images, and encoded chunks.

``frames/{n}`` is exactly frame *n* (0-based, presentation order, from the frame index) as JPEG
or WebP, with an ``ETag`` naming the exact bytes and ``Cache-Control: private``; a request whose
``If-None-Match`` holds that tag gets 304 without decoding. ``codec`` and ``chunks/{k}`` serve
the encoded H.264 of the annotation proxy (or of the source, when it is H.264 without B-frames)
for decoding in the browser with WebCodecs; they answer once ingest has finished (409 before).

Any member of the project may read them. A video in the storage (``TWEENLAB_STORAGE_URL``) is
served from this server's copy, fetched once with its published derived files.
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, Query, Request, Response
from fastapi import Path as PathParam
from pydantic import BaseModel

from tweenlab.core.roles import Role
from tweenlab.errors import ConflictError, NotFoundError
from tweenlab.server.deps import Auth, Db, api_router, frames_of, require, settings_of, stored_of
from tweenlab.services import videos
from tweenlab.services.frames import FrameServer
from tweenlab.services.videos import ServedVideo

__all__ = ["CHUNK_MAGIC", "router"]

router = api_router(prefix="/projects/{project_id}/videos/{video_id}", tags=["frames"])
Member = Annotated[Auth, Depends(require(Role.ANNOTATOR))]
CACHE = "private, max-age=3600"
CHUNK_MAGIC = b"TWC1"


class CodecView(BaseModel):
    """What ``VideoDecoder.configure`` needs, and how the frames are cut into chunks.

    ``description`` is the avcC record in base64; ``time_base`` ("num/den" seconds per tick)
    turns a chunk's ``pts`` into a time (WebCodecs timestamps are microseconds).
    """

    codec: str
    description: str
    width: int
    height: int
    frame_count: int
    chunk_starts: list[int]
    time_base: str


def _video(
    request: Request, db: Db, auth: Auth, video_id: int, *, ready: bool
) -> tuple[ServedVideo, Path, FrameServer]:
    """The video's row, its file and the app's frame server. These routes read the app's
    settings, storage and frame server from the request rather than as dependencies: each
    dependency FastAPI solves cost a frame request about 2% of its CPU."""
    video = videos.served_video(db, auth.project_id, video_id)
    if video.status == "failed":
        raise ConflictError(f"video {video_id}: its ingest failed ({video.error})")
    if ready and video.status != "ready":
        raise ConflictError(f"video {video_id} is still being ingested ({video.status})")
    db.commit()  # decoding (or fetching from the storage) holds no transaction
    path = videos.video_path(settings_of(request), video, stored=stored_of(request))
    return video, path, frames_of(request)


@router.get(
    "/frames/{n}",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}, "image/webp": {}}, "description": "frame n"},
        304: {"description": "the If-None-Match tag still names it"},
    },
)
def get_frame(
    project_id: int,
    video_id: int,
    n: Annotated[int, PathParam(ge=0)],
    *,
    request: Request,
    db: Db,
    auth: Member,
    image_format: Annotated[Literal["jpeg", "webp"], Query(alias="format")] = "jpeg",
    quality: Annotated[int, Query(ge=1, le=100)] = 85,
    max_side: Annotated[int | None, Query(ge=16, le=16384)] = None,
) -> Response:
    """Exactly frame ``n`` as an image (any member)."""
    video, path, frames = _video(request, db, auth, video_id, ready=False)
    if n >= video.frame_count:
        raise NotFoundError(f"no frame {n}: video {video_id} has {video.frame_count} frames")
    options = {"image_format": image_format, "quality": quality, "max_side": max_side}
    asked = request.headers.get("if-none-match")
    if asked:  # the tag alone (a stat of the file), no decoding
        tag = frames.etag(path, n, **options)  # type: ignore[arg-type]
        if _matches(asked, tag):
            return Response(status_code=304, headers={"ETag": tag, "Cache-Control": CACHE})
    image = frames.image(path, n, **options)  # type: ignore[arg-type]
    headers = {"ETag": image.etag, "Cache-Control": CACHE}
    return Response(image.data, media_type=image.media_type, headers=headers)


@router.get("/codec")
def get_codec(
    project_id: int,
    video_id: int,
    *,
    request: Request,
    db: Db,
    auth: Member,
) -> CodecView:
    """The WebCodecs decoder configuration and chunk layout (any member; once ingested)."""
    _, path, frames = _video(request, db, auth, video_id, ready=True)
    config = frames.codec(path)
    time_base = frames.chunk_source(path)[1].time_base
    return CodecView(
        codec=config.codec,
        description=base64.b64encode(config.description).decode(),
        width=config.width,
        height=config.height,
        frame_count=config.frame_count,
        chunk_starts=config.chunk_starts,
        time_base=f"{time_base.numerator}/{time_base.denominator}",
    )


@router.get(
    "/chunks/{k}",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "chunk k"}},
)
def get_chunk(
    project_id: int,
    video_id: int,
    k: Annotated[int, PathParam(ge=0)],
    *,
    request: Request,
    db: Db,
    auth: Member,
) -> Response:
    """Chunk ``k`` (the frames from ``chunk_starts[k]`` to the next keyframe), binary.

    Framing, all integers little-endian: a header ``b"TWC1"``, ``u32`` chunk ``k``, ``u32``
    frame count; then per frame, in frame order: ``u32`` frame index, ``u8`` 1 for a keyframe
    (else 0), ``i64`` pts (in ``codec``'s ``time_base``), ``u32`` byte length, the packet's bytes
    (H.264 in avcC framing: an ``EncodedVideoChunk``'s data as it is).
    """
    _, path, frames = _video(request, db, auth, video_id, ready=True)
    chunks = len(frames.chunk_source(path)[1].keyframe_indices())
    if k >= chunks:
        raise NotFoundError(f"no chunk {k}: video {video_id} has {chunks}")
    encoded = frames.chunk(path, k)
    parts = [CHUNK_MAGIC, struct.pack("<II", k, len(encoded))]
    for frame in encoded:
        parts.append(struct.pack("<IBqI", frame.frame, int(frame.key), frame.pts, len(frame.data)))
        parts.append(frame.data)
    return Response(
        b"".join(parts), media_type="application/octet-stream", headers={"Cache-Control": CACHE}
    )


def _matches(header: str | None, tag: str) -> bool:
    if not header:
        return False
    if header.strip() == "*":
        return True
    return any(part.strip().removeprefix("W/") == tag for part in header.split(","))
