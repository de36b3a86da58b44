"""``tweenlab cluster status``: which executor the settings name, its workers, and the job queue.

For the local executor, the worker processes each server process starts; for Ray, the cluster's
nodes and CPUs (asked of the cluster at ``ray_address``). The queue is counted in the database
when there is one (``TWEENLAB_DATABASE_URL``, or the SQLite file in the data folder): the jobs of
every server process. Nothing here creates a database or loads SQLAlchemy before it is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tweenlab.settings import Settings

if TYPE_CHECKING:
    from tweenlab.jobs.ray_executor import RayCluster

__all__ = ["ClusterStatus", "cluster_status"]


@dataclass(frozen=True)
class ClusterStatus:
    """What runs jobs, and how many wait or run.

    Attributes:
        executor: ``local`` or ``ray``.
        workers: Local: worker processes per server process. Ray: the cluster's CPUs.
        ray: The Ray cluster (``None`` for the local executor).
        jobs: Unfinished jobs by state (``queued``, ``running``); ``None`` without a database.
        database: The database counted (its URL without the password), or ``None``.
    """

    executor: str
    workers: int
    ray: RayCluster | None
    jobs: dict[str, int] | None
    database: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "executor": self.executor,
            "workers": self.workers,
            "ray": self.ray.to_json() if self.ray is not None else None,
            "jobs": self.jobs,
            "database": self.database,
        }


def cluster_status(settings: Settings) -> ClusterStatus:
    """The executor ``settings`` name, its workers, and the database's job queue."""
    jobs, database = _job_queue(settings)
    if settings.executor == "ray":
        from tweenlab.jobs.ray_executor import ray_cluster  # noqa: PLC0415  (Ray is optional)

        cluster = ray_cluster(settings.ray_address)
        return ClusterStatus("ray", int(cluster.cpus), cluster, jobs, database)
    return ClusterStatus("local", settings.job_workers, None, jobs, database)


def _job_queue(settings: Settings) -> tuple[dict[str, int] | None, str | None]:
    if settings.database_url is None and not (settings.data_dir / "tweenlab.db").exists():
        return None, None
    from tweenlab import store  # noqa: PLC0415  (keeps SQLAlchemy out of every other command)
    from tweenlab.services.jobs import job_counts  # noqa: PLC0415

    with store.Database(settings.database) as database:
        store.check_migrated(database.engine)
        return job_counts(database), store.shown_url(database.engine.url)
