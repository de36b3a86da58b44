"""Where media and derived files live so that every worker can read them: one ``Storage``
interface over a local folder (a shared NFS mount is a local folder on every machine) or an
S3-compatible object store.

Keys are ``/``-separated relative names (``videos/a.mp4``, ``derived/videos/a.mp4/keyframes.npz``).
Every write is atomic: a reader sees the old object or the whole new one, never a part. Decoders
need files, so ``local_path`` gives one: the file itself in a folder, a cached download from S3
(kept while the object's ETag is the same; a changed object is fetched again).

The S3 store needs boto3 (``pip install 'tweenlab[s3]'``), imported only when one is opened;
credentials come from the usual AWS variables (``AWS_ACCESS_KEY_ID``...) or files.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from tweenlab.errors import ConfigError, StorageError, StorageNotFoundError
from tweenlab.media._files import atomic_path

__all__ = ["LocalStorage", "S3Storage", "Storage", "check_key", "storage_from_url"]

_CHUNK = 1 << 20  # copy in 1 MiB pieces


class Storage(Protocol):
    """Files under keys, written atomically, readable by every worker.

    Example:
        >>> store = storage_from_url("s3://media/tw", cache_dir=Path("/tmp/c"))  # doctest: +SKIP
        >>> store.put_file("videos/a.mp4", Path("a.mp4"))  # doctest: +SKIP
        >>> VideoReader(store.local_path("videos/a.mp4"))  # doctest: +SKIP
    """

    @property
    def url(self) -> str:
        """A URL that ``storage_from_url`` opens again (no credentials in it)."""

    def describe(self) -> str:
        """The store in words, for messages."""

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""

    def size(self, key: str) -> int:
        """The object's size in bytes (``StorageNotFoundError`` when there is none)."""

    def read_bytes(self, key: str) -> bytes:
        """The whole object."""

    def write_bytes(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` atomically, replacing what was there."""

    def put_file(self, key: str, path: Path) -> None:
        """Store the local file ``path`` under ``key`` atomically."""

    def writing(self, key: str) -> contextlib.AbstractContextManager[Path]:
        """A local temporary path to write; stored under ``key`` if the block succeeds."""

    def local_path(self, key: str) -> Path:
        """The object as a local file that decoders can open (do not write to it)."""

    def download(self, key: str, target: Path) -> None:
        """Copy the object to the local file ``target`` atomically (a temporary, renamed)."""

    def list(self, prefix: str = "") -> builtins.list[str]:
        """The keys that start with ``prefix``, sorted."""

    def delete(self, key: str) -> None:
        """Remove the object under ``key``; nothing happens when there is none."""


def check_key(key: str, store: str = "storage") -> str:
    """``key`` when it is a valid key, else ``StorageError``: relative, ``/``-separated, no
    empty, ``.`` or ``..`` parts, and no part starting with ``.`` (names of temporaries)."""
    parts = key.split("/")
    bad = not key or "\\" in key or "\0" in key or any(not p or p.startswith(".") for p in parts)
    if bad:
        raise StorageError(key or "''", store, "not a valid key (relative, '/'-separated parts)")
    return key


def _prefix_folder(prefix: str, store: str) -> str:
    """The part of a listing prefix before its last ``/`` (checked like a key), or ``""``."""
    folder = prefix.rpartition("/")[0]
    return check_key(folder, store) if folder else ""


class LocalStorage:
    """A folder as storage (the default: the data folder); a shared mount works on every machine.

    Args:
        root: The folder; created when the first object is written.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().absolute()
        self.url = self.root.as_uri()

    def describe(self) -> str:
        """The folder."""
        return str(self.root)

    def path(self, key: str) -> Path:
        """Where ``key``'s file is (or would be)."""
        return self.root / check_key(key, self.describe())

    def exists(self, key: str) -> bool:
        """Whether a file is stored under ``key``."""
        return self.path(key).is_file()

    def size(self, key: str) -> int:
        """The file's size in bytes."""
        with self._errors(key, "read"):
            return self._file(key).stat().st_size

    def read_bytes(self, key: str) -> bytes:
        """The whole file."""
        with self._errors(key, "read"):
            return self._file(key).read_bytes()

    def write_bytes(self, key: str, data: bytes) -> None:
        """Write ``data`` to a temporary file beside the target, then rename it onto it."""
        with self.writing(key) as temporary:
            temporary.write_bytes(data)

    def put_file(self, key: str, path: Path) -> None:
        """Copy ``path`` to a temporary file beside the target, then rename it onto it."""
        if Path(path).absolute() == self.path(key):
            return
        target = self.path(key)
        with (
            self._errors(key, f"copy {path} to"),
            atomic_path(target) as temporary,
            Path(path).open("rb") as source,
            temporary.open("wb") as out,
        ):
            shutil.copyfileobj(source, out, _CHUNK)

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        """A temporary path beside the target, renamed onto it when the block succeeds."""
        target = self.path(key)
        with self._errors(key, "write"), atomic_path(target) as temporary:
            yield temporary

    def local_path(self, key: str) -> Path:
        """The file itself."""
        with self._errors(key, "read"):
            return self._file(key)

    def download(self, key: str, target: Path) -> None:
        """Copy the file to ``target`` through a temporary beside it."""
        with (
            self._errors(key, f"copy to {target} from"),
            self._file(key).open("rb") as source,
            atomic_path(Path(target)) as temporary,
            temporary.open("wb") as out,
        ):
            shutil.copyfileobj(source, out, _CHUNK)

    def list(self, prefix: str = "") -> builtins.list[str]:
        """The keys starting with ``prefix``, sorted (temporaries, named ``.*``, are not keys)."""
        folder = self.root / _prefix_folder(prefix, self.describe())
        if not folder.is_dir():
            return []
        keys = []
        for path in folder.rglob("*"):
            relative = path.relative_to(self.root)
            if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                continue
            if (key := relative.as_posix()).startswith(prefix):
                keys.append(key)
        return sorted(keys)

    def delete(self, key: str) -> None:
        """Remove the file (its folders stay: another writer may be filling them)."""
        with self._errors(key, "delete"):
            self.path(key).unlink(missing_ok=True)

    def _file(self, key: str) -> Path:
        path = self.path(key)
        if not path.is_file():
            raise StorageNotFoundError(key, self.describe(), "no such object")
        return path

    @contextlib.contextmanager
    def _errors(self, key: str, action: str) -> Iterator[None]:
        try:
            yield
        except OSError as error:
            detail = error.strerror or str(error)
            raise StorageError(key, self.describe(), f"cannot {action} ({detail})") from error


def storage_from_url(url: str, *, cache_dir: Path) -> Storage:
    """Open the storage a URL names.

    Args:
        url: ``file:///path`` or a plain path (a folder), or
            ``s3://bucket/prefix?endpoint=http://host:9000&region=eu-west-1`` (an S3-compatible
            store; ``endpoint`` for MinIO, Ceph and the like; credentials from the AWS
            variables, never from the URL).
        cache_dir: Where an S3 store keeps the files ``local_path`` downloads.

    Example:
        >>> storage_from_url("/mnt/tweenlab", cache_dir=Path("/tmp/c")).describe()
        '/mnt/tweenlab'
    """
    parts = urlsplit(url)
    if parts.scheme == "s3":
        return _s3_from_url(url, cache_dir)
    if parts.scheme == "file":
        if parts.netloc not in {"", "localhost"} or parts.query:
            raise ConfigError(f"TWEENLAB_STORAGE_URL: {url!r}: use file:///absolute/path")
        return LocalStorage(Path(unquote(parts.path)))
    if "://" in url or not url:
        raise ConfigError(
            f"TWEENLAB_STORAGE_URL: {url!r}: expected a folder, file:///path or s3://bucket/prefix"
        )
    return LocalStorage(Path(url))


def _s3_from_url(url: str, cache_dir: Path) -> S3Storage:
    parts = urlsplit(url)
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - {"endpoint", "region"})
    if not parts.netloc or unknown or parts.username or parts.password:
        why = f"unknown options {unknown}" if unknown else "expected s3://bucket/prefix"
        raise ConfigError(f"TWEENLAB_STORAGE_URL: {url!r}: {why} (credentials: AWS_* variables)")
    return S3Storage(
        parts.netloc,
        unquote(parts.path).strip("/"),
        endpoint_url=query.get("endpoint"),
        region=query.get("region"),
        cache_dir=cache_dir,
    )


class S3Storage:
    """An S3-compatible bucket (AWS S3, MinIO, Ceph...) as storage, through boto3.

    A PUT stores a whole object or nothing, and so does a multipart upload (its parts are
    invisible until it completes; a failed one is aborted), so every write is atomic.

    Args:
        bucket: The bucket (it must exist).
        prefix: Keys are stored under ``prefix/`` (``""``: at the bucket's root).
        endpoint_url: The store's address when it is not AWS (``http://minio:9000``).
        region: The region to sign for (default: ``AWS_DEFAULT_REGION``, else us-east-1).
        cache_dir: Where ``local_path`` keeps its downloads.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        cache_dir: Path,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix, f"s3://{bucket}")
        self.endpoint_url = endpoint_url
        self.cache_dir = Path(cache_dir)
        self.url = f"s3://{bucket}/{self.prefix}" + (
            f"?endpoint={endpoint_url}" if endpoint_url else ""
        )
        self._client = _s3_client(endpoint_url, region)

    def describe(self) -> str:
        """The bucket and prefix, and the endpoint when it is not AWS."""
        where = f"s3://{self.bucket}/{self.prefix}"
        return f"{where} at {self.endpoint_url}" if self.endpoint_url else where

    def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key`` (one HEAD request)."""
        try:
            self._head(key)
        except StorageNotFoundError:
            return False
        return True

    def size(self, key: str) -> int:
        """The object's size in bytes (one HEAD request)."""
        return self._head(key)[1]

    def read_bytes(self, key: str) -> bytes:
        """The whole object (one GET request)."""
        with self._errors(key, "read"):
            answer = self._client.get_object(Bucket=self.bucket, Key=self._name(key))
            return bytes(answer["Body"].read())

    def write_bytes(self, key: str, data: bytes) -> None:
        """One PUT request: the object is replaced whole or not at all."""
        with self._errors(key, "write"):
            self._client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data)

    def put_file(self, key: str, path: Path) -> None:
        """Upload ``path`` (multipart when large; a failed upload is aborted, leaving no object)."""
        name = self._name(key)
        with self._errors(key, f"upload {path}"), Path(path).open("rb") as source:
            self._client.upload_fileobj(source, self.bucket, name)

    @contextlib.contextmanager
    def writing(self, key: str) -> Iterator[Path]:
        """A temporary file in the cache folder, uploaded when the block succeeds."""
        check_key(key, self.describe())
        folder = self.cache_dir / "uploads"
        with self._errors(key, "write"):
            folder.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=".", suffix=Path(key).suffix, dir=folder)
            os.close(handle)
        temporary = Path(name)
        try:
            yield temporary
            self.put_file(key, temporary)
        finally:
            temporary.unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        """A cached download, named after the object's ETag: kept while the object is the same,
        fetched again (to a temporary, then renamed) when it changed."""
        etag, size = self._head(key)
        target = self._cache_path(key, etag)
        if target.is_file() and target.stat().st_size == size:
            return target
        self._get(key, target, etag, size)
        for stale in target.parent.parent.iterdir():  # older versions of the same key
            if stale != target.parent:
                shutil.rmtree(stale, ignore_errors=True)
        return target

    def download(self, key: str, target: Path) -> None:
        """One HEAD and one GET, into a temporary beside ``target`` that is then renamed."""
        self._get(key, Path(target), *self._head(key))

    def _get(self, key: str, target: Path, etag: str, size: int) -> None:
        with (
            self._errors(key, "download"),
            atomic_path(target) as temporary,
            temporary.open("wb") as out,
        ):  # IfMatch: never a newer object than the one the HEAD described
            answer = self._client.get_object(Bucket=self.bucket, Key=self._name(key), IfMatch=etag)
            shutil.copyfileobj(answer["Body"], out, _CHUNK)
            if out.tell() != size:
                raise StorageError(key, self.describe(), f"downloaded {out.tell()} of {size} bytes")

    def list(self, prefix: str = "") -> builtins.list[str]:
        """The keys starting with ``prefix``, sorted (one request per 1,000 keys)."""
        _prefix_folder(prefix, self.describe())
        start = len(self.prefix) + 1 if self.prefix else 0
        whole = f"{self.prefix}/{prefix}" if self.prefix else prefix
        keys: builtins.list[str] = []
        with self._errors(prefix, "list"):
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=whole
            )
            for page in pages:
                keys += [str(item["Key"])[start:] for item in page.get("Contents", [])]
        return sorted(keys)

    def delete(self, key: str) -> None:
        """One DELETE request (S3 answers the same when there was no object)."""
        with self._errors(key, "delete"):
            self._client.delete_object(Bucket=self.bucket, Key=self._name(key))

    def _name(self, key: str) -> str:
        check_key(key, self.describe())
        return f"{self.prefix}/{key}" if self.prefix else key

    def _head(self, key: str) -> tuple[str, int]:
        with self._errors(key, "read"):
            answer = self._client.head_object(Bucket=self.bucket, Key=self._name(key))
        return str(answer["ETag"]), int(answer["ContentLength"])

    def _cache_path(self, key: str, etag: str) -> Path:
        name = Path(key).name
        which = hashlib.sha256(f"{self.describe()}\0{key}".encode()).hexdigest()[:16]
        version = hashlib.sha256(etag.encode()).hexdigest()[:16]
        return self.cache_dir / f"{name[:40]}-{which}" / version / name

    @contextlib.contextmanager
    def _errors(self, key: str, action: str) -> Iterator[None]:
        """Turn boto3's and botocore's errors (and the local file's) into ``StorageError``."""
        from boto3.exceptions import Boto3Error  # noqa: PLC0415  (boto3 is optional)
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415

        try:
            yield
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", "?"))
            if code in {"404", "NoSuchKey", "NotFound"}:
                raise StorageNotFoundError(key, self.describe(), "no such object") from error
            detail = _CODES.get(code) or str(error.response.get("Error", {}).get("Message", ""))
            raise StorageError(key, self.describe(), f"cannot {action}: {code} {detail}") from error
        except (BotoCoreError, Boto3Error) as error:
            raise StorageError(key, self.describe(), f"cannot {action}: {error}") from error
        except OSError as error:
            detail = error.strerror or str(error)
            raise StorageError(key, self.describe(), f"cannot {action} ({detail})") from error


_CODES = {
    "NoSuchBucket": "no such bucket",
    "AccessDenied": "access denied (check the AWS_* credentials)",
    "403": "access denied (check the AWS_* credentials)",
    "PreconditionFailed": "the object changed while it was downloaded; try again",
    "412": "the object changed while it was downloaded; try again",
}


def _s3_client(endpoint_url: str | None, region: str | None) -> Any:
    """A boto3 S3 client; path-style addressing for endpoints that are not AWS (MinIO...)."""
    try:
        import boto3  # noqa: PLC0415  (optional, and slow to import)
        from botocore.config import Config  # noqa: PLC0415
    except ImportError as error:
        raise ConfigError("an s3:// storage needs boto3: pip install 'tweenlab[s3]'") from error
    session = boto3.session.Session()
    config = Config(
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"} if endpoint_url else None,
    )
    return session.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region or session.region_name or "us-east-1",
        config=config,
    )
