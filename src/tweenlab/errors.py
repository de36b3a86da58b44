"""The one error tree of tweenlab: every error we raise on purpose is a ``TweenlabError``.

Errors carry their context (file, frame, line, field) and render it in a one-line message, so the
CLI prints ``str(error)`` and the server maps the class to an HTTP status. Third-party errors are
wrapped at the layer that meets them, with ``raise ... from``.

```
TweenlabError
├── UsageError                  bad argument or option value (a time spec, a frame list, a range)
│   └── FieldError              a request value that is not acceptable; has .field (HTTP 422)
├── ConfigError                 invalid settings (TWEENLAB_* variables, config files)
├── PluginError                 unknown plugin name, or a plugin that failed to load
├── LabelerError                a labeler that cannot run: not a model, an unknown output shape,
│                               class names that do not match, an endpoint that fails or lies
├── AnnotationError             an invalid shape, label, attribute, track or edit; has .field
│   └── UnknownTrackError       an edit names a track id that does not exist
├── FormatError                 a malformed import file; has .path, .line (or element), .field
├── StoreError                  the database cannot be used as it is
│   └── NotMigratedError        its schema is behind (or ahead of) this code; names the command
├── AuthenticationError         no credentials, or wrong ones (HTTP 401)
├── AccessDeniedError           signed in, but the role does not allow this (HTTP 403)
├── NotFoundError               no such resource, or one the caller may not see (HTTP 404)
├── ConflictError               clashes with what is stored: a taken name, the last owner (409)
│   └── StaleRevisionError      a write based on a revision that is no longer current; has .current
├── RateLimitedError            too many attempts; has .retry_after_s (HTTP 429)
└── MediaError                  anything about a video file; has .path (and .frame where it applies)
    ├── MediaNotFoundError      the path does not exist
    ├── NotAFileError           the path is a directory or another non-regular file
    ├── EmptyFileError          the file has 0 bytes
    ├── NotAVideoError          FFmpeg cannot read it as a container, or it holds no video stream
    ├── TruncatedVideoError     the container is cut short (MP4 without moov, data missing)
    ├── UnsupportedCodecError   the video stream's codec has no decoder here
    ├── InvalidDimensionsError  width or height is zero, negative or absurd
    ├── FrameOutOfRangeError    a frame index outside 0..frame_count-1 (also an IndexError)
    ├── CorruptFrameError       one frame cannot be decoded (the rest of the video still can)
    ├── MediaWriteError         writing a clip, frame, proxy or index failed
    └── StorageError            the media storage (a folder, an S3 bucket) failed; names key, store
        └── StorageNotFoundError    no object under that key (also a MediaNotFoundError)
```
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "AccessDeniedError",
    "AnnotationError",
    "AuthenticationError",
    "ConfigError",
    "ConflictError",
    "CorruptFrameError",
    "EmptyFileError",
    "FieldError",
    "FormatError",
    "FrameOutOfRangeError",
    "InvalidDimensionsError",
    "LabelerError",
    "MediaError",
    "MediaNotFoundError",
    "MediaWriteError",
    "NotAFileError",
    "NotAVideoError",
    "NotFoundError",
    "NotMigratedError",
    "PluginError",
    "RateLimitedError",
    "StaleRevisionError",
    "StorageError",
    "StorageNotFoundError",
    "StoreError",
    "TruncatedVideoError",
    "TweenlabError",
    "UnknownTrackError",
    "UnsupportedCodecError",
    "UsageError",
]


class TweenlabError(Exception):
    """Root of every error tweenlab raises on purpose.

    Example:
        >>> try:
        ...     raise UsageError("--every: '10x' is not a duration")
        ... except TweenlabError as error:
        ...     print(error)
        --every: '10x' is not a duration
    """


class UsageError(TweenlabError):
    """An argument or option value that cannot be understood."""


class FieldError(UsageError):
    """A request value that is not acceptable, naming its field (HTTP 422).

    Args:
        field: The field (``frame``, ``track.keyframes[2].frame``).
        detail: What is wrong with it.
    """

    def __init__(self, field: str, detail: str) -> None:
        self.field = field
        self.detail = detail
        super().__init__(f"{field}: {detail}")


class ConfigError(TweenlabError):
    """Settings that are invalid (environment variables, config files)."""


class PluginError(TweenlabError):
    """A plugin name that is not registered, or a plugin that failed to load."""


class LabelerError(TweenlabError):
    """A labeler (a model that pre-labels frames) cannot be built or gave an unusable answer.

    Args:
        labeler: The labeler's name (``onnx``, ``faces``, ``http``).
        detail: What is wrong.
        path: The model or class-names file concerned, or the endpoint's URL, when there is one.
        frame: The video frame being labelled when it went wrong, when known.
    """

    def __init__(
        self,
        labeler: str,
        detail: str,
        *,
        path: str | Path | None = None,
        frame: int | None = None,
    ) -> None:
        self.labeler = labeler
        self.detail = detail
        self.path = path
        self.frame = frame
        where = f"labeler {labeler!r}"
        if path is not None:
            where += f" ({path})"
        if frame is not None:
            where += f", frame {frame}"
        super().__init__(f"{where}: {detail}")


class AnnotationError(TweenlabError):
    """An invalid shape, label, attribute, track or edit.

    Args:
        detail: What is wrong.
        field: The field concerned (``box.w``, ``track 3 frame 10``), when known.
    """

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        self.detail = detail
        self.field = field
        super().__init__(detail if field is None else f"{field}: {detail}")


class UnknownTrackError(AnnotationError):
    """An edit or query names a track id that does not exist."""


_LONGEST_DETAIL = 400  # characters of a FormatError's detail shown; the middle of longer cut


class FormatError(TweenlabError):
    """A file to import is malformed; nothing of it has been imported.

    Args:
        path: The file.
        detail: What is wrong.
        line: The line (or XML element / JSON path) where it is, when known.
        field: The field or column concerned, when known.
    """

    def __init__(
        self,
        path: str | Path,
        detail: str,
        *,
        line: int | str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = Path(path)
        if len(detail) > _LONGEST_DETAIL:  # a 5000-digit number quoted whole is no message
            cut = _LONGEST_DETAIL // 2
            detail = f"{detail[:cut]} ... ({len(detail) - 2 * cut} characters) ... {detail[-cut:]}"
        self.detail = detail
        self.line = line
        self.field = field
        where = str(self.path)
        if line is not None:
            where += f", line {line}" if isinstance(line, int) else f", {line}"
        if field is not None:
            where += f", {field}"
        super().__init__(f"{where}: {detail}")


class StoreError(TweenlabError):
    """The database cannot be used as it is (unreachable, or at the wrong schema revision)."""


class NotMigratedError(StoreError):
    """The database's schema is not the one this code expects; the message names the command."""


class AuthenticationError(TweenlabError):
    """No credentials, or credentials that do not match an active account (HTTP 401)."""


class AccessDeniedError(TweenlabError):
    """The caller is known and may see the resource, but their role does not allow this (403)."""


class NotFoundError(TweenlabError):
    """No such resource, or one the caller may not see: both read the same (HTTP 404)."""


class ConflictError(TweenlabError):
    """The request clashes with what is stored (a taken e-mail, the last owner leaving).

    Args:
        detail: What clashes.
        field: The request field concerned, when there is one.
    """

    def __init__(self, detail: str, *, field: str | None = None) -> None:
        self.detail = detail
        self.field = field
        super().__init__(detail if field is None else f"{field}: {detail}")


class StaleRevisionError(ConflictError):
    """A write based on a revision that is no longer the stored one (HTTP 409): nothing was
    written, and ``current`` says what is stored now (the server adds it to the answer).

    Args:
        detail: What changed.
        current: What the client needs to start again (the current revision, the stored value).
        field: The request field that carried the base revision.
    """

    def __init__(
        self, detail: str, *, current: dict[str, Any], field: str = "base_revision"
    ) -> None:
        self.current = current
        super().__init__(detail, field=field)


class RateLimitedError(TweenlabError):
    """Too many attempts in a window; ``retry_after_s`` says when to try again (HTTP 429).

    Args:
        detail: What was limited.
        retry_after_s: Whole seconds until an attempt is allowed again (at least 1).
    """

    def __init__(self, detail: str, *, retry_after_s: int) -> None:
        self.detail = detail
        self.retry_after_s = max(1, retry_after_s)
        super().__init__(f"{detail}; try again in {self.retry_after_s} s")


class MediaError(TweenlabError):
    """Something is wrong with a video file.

    Args:
        path: The file concerned.
        detail: What is wrong, in a few words.
        frame: The frame index concerned, where one is.
    """

    def __init__(self, path: str | Path, detail: str, *, frame: int | None = None) -> None:
        self.path = Path(path)
        self.detail = detail
        self.frame = frame
        where = f"{self.path}" if frame is None else f"{self.path}, frame {frame}"
        super().__init__(f"{where}: {detail}")


class MediaNotFoundError(MediaError):
    """The path does not exist."""


class NotAFileError(MediaError):
    """The path is a directory or another non-regular file."""


class EmptyFileError(MediaError):
    """The file has 0 bytes."""


class NotAVideoError(MediaError):
    """FFmpeg cannot read the file as a container, or it holds no video stream."""


class TruncatedVideoError(MediaError):
    """The container is cut short: an MP4 whose moov box is missing, or whose data ends early."""


class UnsupportedCodecError(MediaError):
    """The video stream's codec has no decoder in this build of FFmpeg."""


class InvalidDimensionsError(MediaError):
    """The frame size is zero, negative or beyond what can be decoded."""


class FrameOutOfRangeError(MediaError, IndexError):
    """A frame index outside ``0 .. frame_count - 1``."""


class CorruptFrameError(MediaError):
    """One frame cannot be decoded; the frames around it still can."""


class MediaWriteError(MediaError):
    """Writing a clip, frame image, proxy or index failed; nothing partial is left behind."""


class StorageError(MediaError):
    """Reading, writing or listing the media storage (a shared folder, an S3 bucket) failed.

    Args:
        key: The key concerned (``videos/a.mp4``), or ``""`` for the store as a whole.
        store: The store, as its ``describe()`` says (``s3://bucket/prefix at http://host``).
        detail: What went wrong.

    Example:
        >>> print(StorageError("videos/a.mp4", "s3://media", "access denied"))
        videos/a.mp4: access denied (in s3://media)
    """

    def __init__(self, key: str, store: str, detail: str) -> None:
        self.key = key
        self.store = store
        super().__init__(key or store, f"{detail} (in {store})" if key else detail)


class StorageNotFoundError(StorageError, MediaNotFoundError):
    """No object is stored under the key."""
