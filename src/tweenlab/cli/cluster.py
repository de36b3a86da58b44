"""``tweenlab cluster status``: the executor jobs run on, its workers and the job queue."""

from __future__ import annotations

import json

import click

from tweenlab.cli._ui import Context
from tweenlab.services.cluster import ClusterStatus, cluster_status

__all__ = ["cluster_group"]


@click.group("cluster")
def cluster_group() -> None:
    """Where jobs run: the local process pool or a Ray cluster."""


@cluster_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_obj
def status_command(ctx: Context, as_json: bool) -> None:
    """Show the executor (TWEENLAB_EXECUTOR), its workers, and queued/running jobs."""
    status = cluster_status(ctx.settings)
    click.echo(json.dumps(status.to_json(), indent=1) if as_json else "\n".join(_lines(status)))


def _lines(status: ClusterStatus) -> list[str]:
    lines = [f"executor: {status.executor}"]
    if status.ray is None:
        lines.append(f"workers: {status.workers} processes per server process")
    else:
        ray = status.ray
        alive = sum(node.alive for node in ray.nodes)
        lines.append(f"address: {ray.address}")
        lines.append(f"nodes: {alive} alive of {len(ray.nodes)}")
        for node in ray.nodes:
            state = "alive" if node.alive else "dead"
            lines.append(f"  {node.address}: {state}, {node.cpus:g} CPUs, {node.memory_gib} GiB")
        lines.append(f"CPUs: {ray.cpus:g} ({ray.busy_cpus:g} busy)")
    if status.jobs is None:
        lines.append("jobs: no database (queued and running jobs live in the server's)")
    else:
        lines.append(f"jobs: {status.jobs['queued']} queued, {status.jobs['running']} running")
        lines.append(f"database: {status.database}")
    return lines
