"""Configuration: one ``Settings`` object, read from ``TWEENLAB_*`` environment variables.

Nothing reads the environment at import time: entry points call ``Settings()`` (or
``load_settings()``) and pass the result down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from tweenlab.errors import ConfigError

__all__ = ["Settings", "load_settings"]


def _default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "tweenlab"


class Settings(BaseSettings):
    """Every setting tweenlab reads, each from ``TWEENLAB_<NAME>``.

    Example:
        >>> Settings(data_dir="/tmp/tw").derived_dir
        PosixPath('/tmp/tw/derived')
    """

    model_config = SettingsConfigDict(env_prefix="TWEENLAB_", frozen=True, extra="forbid")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Root of everything tweenlab writes: derived files, outputs, the database.",
    )
    debug: bool = Field(default=False, description="Show tracebacks instead of one-line errors.")
    frame_cache_mb: int = Field(
        default=256, ge=0, description="Memory for decoded frames kept by each VideoReader."
    )
    flow_cache_mb: int = Field(
        default=8192,
        ge=64,
        description=(
            "Disk kept for each video's optical-flow cache; the least recently used frame pairs "
            "are deleted past it (and computed again if needed)."
        ),
    )
    flow_method: str = Field(
        default="seeded",  # propagation.flow.DEFAULT_METHOD (settings import no package)
        min_length=1,
        description=(
            "Optical flow for in-betweening, retiming and motion labelling: a name in the "
            "flow_estimators registry (seeded: DIS with a second candidate for large motion; "
            "dis; farneback); each keeps its own cache."
        ),
    )
    proxy_max_gop: int = Field(
        default=48,
        ge=1,
        description="Sources whose keyframes lie further apart than this get an annotation proxy.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the server's database, e.g. postgresql+psycopg://user@host/db; "
            "unset: SQLite at <data_dir>/tweenlab.db."
        ),
    )
    storage_url: str | None = Field(
        default=None,
        description=(
            "Where uploads, their derived files, published flow and exports live, readable by "
            "every worker: a folder (a shared NFS mount), file:///path, or "
            "s3://bucket/prefix?endpoint=URL (pip install 'tweenlab[s3]'; credentials from "
            "AWS_*); unset: jobs take paths, uploads stay in the data folder."
        ),
    )
    media_root: Path | None = Field(
        default=None,
        description="Folder under which videos may be registered by path (unset: none may).",
    )
    max_upload_mb: int = Field(
        default=8192, ge=1, description="Largest video upload accepted, in MiB (larger: 413)."
    )
    job_workers: int = Field(
        default=2,
        ge=1,
        description=(
            "Worker processes of the server's local job executor (ingest...); with "
            "executor=ray and no ray_address, the CPUs of the Ray instance it starts."
        ),
    )
    server_threads: int = Field(
        default=4,
        ge=1,
        le=256,
        description=(
            "Threads per server process that run the routes' blocking work (database, "
            "decoding); more only take turns at the interpreter and the database."
        ),
    )
    executor: Literal["local", "ray"] = Field(
        default="local",
        description=(
            "Where jobs run: a local process pool, or a Ray cluster "
            "(needs pip install 'tweenlab[ray]')."
        ),
    )
    ray_address: str | None = Field(
        default=None,
        description=(
            "The Ray cluster for executor=ray: auto (started with `ray start` on this machine), "
            "ray://host:10001 (Ray Client), or unset/local to start Ray inside the server."
        ),
    )
    ingest_keyframes: bool = Field(
        default=True,
        description="Run the keyframe analysis (cuts, suggestions) as part of a video's ingest.",
    )
    session_hours: int = Field(
        default=168, ge=1, description="How long a browser sign-in lasts without signing in again."
    )
    cookie_secure: bool = Field(
        default=False,
        description="Mark the session cookie Secure (set it when the server is behind HTTPS).",
    )
    login_failures_per_minute: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins allowed per account and address each minute; then 429.",
    )
    argon2_memory_kib: int = Field(
        default=65536,
        ge=32,
        description="Memory of each Argon2id password hash (RFC 9106's low-memory profile).",
    )
    argon2_time_cost: int = Field(
        default=3, ge=1, description="Passes of each Argon2id password hash."
    )
    export_keep_hours: float = Field(
        default=72,
        gt=0,
        description="How long an export's zip stays downloadable; older ones are deleted.",
    )
    labeler_urls: str = Field(
        default="",
        description="Comma-separated endpoints (scheme, host and port, and a path prefix) the "
        "server may send frames to for the http labeler; none by default, so a project member "
        "cannot make the server post to an address of its own network.",
    )

    @property
    def derived_dir(self) -> Path:
        """Where per-video derived files live (frame index, proxy, filmstrip)."""
        return self.data_dir / "derived"

    @property
    def upload_dir(self) -> Path:
        """Where uploaded videos are stored, under names the server generates."""
        return self.data_dir / "uploads"

    @property
    def storage_cache_dir(self) -> Path:
        """Where files of an S3 storage are downloaded to for decoding (kept while unchanged)."""
        return self.data_dir / "storage-cache"

    @property
    def database(self) -> str:
        """The database URL in use: ``database_url``, or SQLite inside the data folder."""
        return self.database_url or f"sqlite:///{self.data_dir / 'tweenlab.db'}"


def load_settings() -> Settings:
    """Build ``Settings`` from the environment, turning validation errors into ``ConfigError``."""
    try:
        return Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "TWEENLAB_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise ConfigError(f"{name}: {first['msg']}") from error
