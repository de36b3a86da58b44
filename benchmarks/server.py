"""Server benchmark: simulated annotators against ``tweenlab serve`` on SQLite and PostgreSQL.

What a team sees of the server is how fast an edit is saved while others edit too, whether an
acknowledged edit is ever lost, whether two people editing one track find out, and what the
server costs to start and to keep running. So the server runs as a real subprocess (``tweenlab
serve`` on a free loopback port, after ``tweenlab db upgrade`` and ``tweenlab user create``), and
everything goes through its HTTP API with ``httpx``, over loopback only:

1. Start-up: seconds from spawning ``tweenlab serve`` to the first 200 from ``/api/health``.
   Cold is the first start on a new data folder (freshly migrated database); warm is a restart
   on the same folder (median of 3). Idle RSS is ``VmRSS`` of the server process and its
   workers in ``/proc/<pid>/status`` 1 s after it answered, summed (target: start-up < 3 s,
   idle RSS < 150 MB); beside it their PSS (``/proc/<pid>/smaps_rollup``), which counts a page
   shared by forked workers once in all rather than once per process.
2. Setup, through the API as a site admin would: one annotator account per client (each signs
   in and makes an API token), a project with the label schema ``car: box``, a small generated
   video (320x240, 25 fps, a keyframe every 25 frames) uploaded and ingested, split into tasks of
   50 frames, one task assigned to each client and started by it.
3. Load: N clients (threads, one ``httpx.Client`` each, keep-alive) for D seconds. Each loads
   its task (task + annotations), then loops: read the frame it looks at (JPEG, as the editor
   asks), save a box track of 10 keyframes (a create from revision 0, then two updates, each
   naming the revision it is based on in ``If-Match``), read another frame. Saves/s and their
   latency p50/p95/p99, frames/s served, errors (anything but 200, any exception), and the
   server's CPU time per request (``/proc/<pid>/stat``). Target on SQLite: >= 300 saves/s with
   p99 <= 100 ms.
4. Lost writes: every client remembers the last track it was acknowledged (200) for each track
   number; at the end every task's annotations are read back and each track compared with it,
   revision and content. Target: 0 lost.
5. Conflicts: R races. For each, a track is created, then two clients (the task's annotator and
   a project manager, separate connections) released by a barrier both write it from the same
   base revision. Every race must end in exactly one 200 and one 409 (``current_revision`` the
   winner's), with the winner's track stored. Target: every conflict detected.

The PostgreSQL run uses a fresh schema (``search_path`` in the URL) on ``--postgres-url``,
dropped afterwards; when the server cannot be reached that run is skipped with the reason
printed. The peers (Label Studio 1.23) are the figures quoted in issue 6, measured elsewhere
with its own load script: quoted, not run here. The machine is shared and often loaded: its
load average at start and end goes into the results, and the clients share its cores with the
server (their own CPU time is reported too).

The server process and the set-up are in ``server_world.py``, the load and the races in
``server_phases.py``; this file runs them per database and reports.

Run from the repository root::

    python benchmarks/server.py                  # 16 clients x 60 s, SQLite then PostgreSQL
    python benchmarks/server.py --quick          # 4 clients x 10 s
    python benchmarks/server.py --clients 8 --duration 30 --races 20 --no-postgres

It prints a table and writes ``benchmarks/results/server.json`` (``server-quick.json`` with
``--quick``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx2 as httpx

from report import machine_info as base_machine_info
from report import verdict
from server_phases import (
    TARGET_P99_MS,
    TARGET_SAVES_PER_S,
    UPDATES_PER_TRACK,
    run_load,
    run_races,
    run_solo,
)
from server_world import (
    KEYFRAMES,
    PASSWORD,
    TASK_SIZE,
    cli,
    log,
    proc_status_mb,
    set_up,
    start_server,
    tree_pss_mb,
)
from tweenlab.cli.server import default_max_workers

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_START_S = 3.0
TARGET_RSS_MB = 150.0
# Issue 6, Label Studio 1.23 (Django), 8 clients x 30 s, median of 3: quoted, not run here.
LABEL_STUDIO: dict[str, Any] = {
    "source": "issue 6 (quoted, not run here): Label Studio 1.23, 8 clients x 30 s, median of 3",
    "sqlite": {"saves_per_s": 11.2, "p50_ms": 668, "p99_ms": 1471, "server_cpu_ms_per_req": 60},
    "postgresql": {"saves_per_s": 12.7, "p99_ms": 1112},
    "start_cold_s": "28-50",
    "start_warm_s": "3-6",
    "idle_rss_mb": "316-400",
    "conflicts": "20 of 20 conflicting updates silently lost (stale precondition got 200)",
}

Result = dict[str, Any]


# -- one database ------------------------------------------------------------------------------


def postgres_schema(url: str) -> tuple[str, str] | str:
    """A fresh schema on ``url``: (server URL with its search_path, schema), or why not."""
    try:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        schema = f"bench_{uuid.uuid4().hex[:12]}"
        engine = create_engine(url, connect_args={"connect_timeout": 5})
        with engine.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
    except Exception as error:
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    full = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return full.render_as_string(hide_password=False), schema


def drop_schema(url: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def run_database(kind: str, database_url: str | None, args: argparse.Namespace) -> Result:
    """Start-up, setup, load, read-back, races and restarts on one database."""
    data = Path(tempfile.mkdtemp(prefix=f"tweenlab-bench-{kind}-", dir=args.work))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWEENLAB_")}
    env["TWEENLAB_DATA_DIR"] = str(data)
    if database_url:
        env["TWEENLAB_DATABASE_URL"] = database_url
    result: Result = {"database": kind}
    try:
        cli(env, "db", "upgrade")
        cli(
            env,
            "user",
            "create",
            "admin@bench.example.com",
            "--role",
            "owner",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        log(f"{kind}: cold start")
        server = start_server(env, data, workers=args.workers, max_workers=args.max_workers)
        result["start_cold_s"] = round(server.start_s, 3)
        result["idle_rss_cold_mb"] = round(server.idle_rss_mb, 1)
        result["idle_pss_cold_mb"] = round(server.idle_pss_mb, 1)
        try:
            log(f"{kind}: setup (accounts, project, video, tasks)")
            world = set_up(server.base, "admin@bench.example.com", args.clients, args.work)
            result["setup_s"] = round(world.setup_s, 1)
            log(f"{kind}: one client alone, saves then frames")
            result["solo"] = run_solo(server.base, server.process.pid, world, args.solo)
            log(f"{kind}: load, {args.clients} clients x {args.duration:.0f} s")
            result["load"] = run_load(
                server.base, server.process.pid, world, args.clients, args.duration, args.client
            )
            if args.compare_clients:
                other = "httpx" if args.client == "light" else "light"
                log(f"{kind}: load again with the {other} client, same server")
                result[f"load_{other}_client"] = run_load(
                    server.base,
                    server.process.pid,
                    world,
                    args.clients,
                    args.duration,
                    other,
                    first_track=100_000,
                )
            result["rss_after_load_mb"] = round(proc_status_mb(server.process.pid), 1)
            result["pss_after_load_mb"] = round(tree_pss_mb(server.process.pid), 1)
            log(f"{kind}: {args.races} races")
            result["races"] = run_races(server.base, world, args.races)
        finally:
            server.stop()
        warm = []
        for _ in range(3):
            again = start_server(env, data, workers=args.workers, max_workers=args.max_workers)
            warm.append((again.start_s, again.idle_rss_mb, again.idle_pss_mb))
            again.stop()
        result["start_warm_s"] = [round(s, 3) for s, _, _ in warm]
        result["start_warm_median_s"] = round(statistics.median(s for s, _, _ in warm), 3)
        result["idle_rss_warm_mb"] = round(statistics.median(r for _, r, _ in warm), 1)
        result["idle_pss_warm_mb"] = round(statistics.median(p for _, _, p in warm), 1)
        worst_start = max(result["start_cold_s"], result["start_warm_median_s"])
        worst_rss = max(result["idle_rss_cold_mb"], result["idle_rss_warm_mb"])
        result["pass_start"] = worst_start < TARGET_START_S
        result["pass_rss"] = worst_rss < TARGET_RSS_MB
    finally:
        shutil.rmtree(data, ignore_errors=True)
    return result


# -- report ------------------------------------------------------------------------------------


def machine_info() -> Result:
    import importlib.metadata

    import tweenlab

    def version(package: str) -> str:
        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    # uvicorn serves with uvloop and httptools when they are installed, asyncio and h11 if not
    return base_machine_info(
        httpx=httpx.__version__,
        tweenlab=tweenlab.__version__,
        uvicorn=version("uvicorn"),
        uvloop=version("uvloop"),
        httptools=version("httptools"),
    )


def print_table(results: Result) -> None:
    rows: list[tuple[str, str, str, str, str]] = []
    ls = LABEL_STUDIO
    for kind in ("sqlite", "postgresql"):
        r = results.get(kind)
        if r is None or "skipped" in r:
            reason = r["skipped"] if r else "not run"
            rows.append((f"{kind}: skipped", reason, "", "", ""))
            continue
        ld, rc = r["load"], r["races"]
        peer = ls[kind]
        peer_rate = f"LS {peer['saves_per_s']}/s, p99 {peer['p99_ms']} ms (quoted)"
        rows += [
            (
                f"{kind}: saves/s ({ld['clients']} clients, {ld['duration_s']:.0f} s)",
                f"{ld['saves_per_s']:.1f}/s ({ld['saves']} saves)",
                peer_rate,
                f">= {TARGET_SAVES_PER_S:.0f}/s" if kind == "sqlite" else "-",
                verdict(ld["saves_per_s"] >= TARGET_SAVES_PER_S) if kind == "sqlite" else "-",
            ),
            (
                f"{kind}: save p50 / p95 / p99",
                f"{ld['save_p50_ms']:.1f} / {ld['save_p95_ms']:.1f} / {ld['save_p99_ms']:.1f} ms",
                f"LS p50 {peer['p50_ms']} ms (quoted)" if "p50_ms" in peer else "",
                f"p99 <= {TARGET_P99_MS:.0f} ms" if kind == "sqlite" else "-",
                verdict(ld["save_p99_ms"] <= TARGET_P99_MS) if kind == "sqlite" else "-",
            ),
            (
                f"{kind}: one client alone: save / frame p50",
                f"{r['solo']['save']['p50_ms']:.1f} / {r['solo']['frame']['p50_ms']:.1f} ms, "
                f"server CPU {r['solo']['save']['server_cpu_ms']:.1f} / "
                f"{r['solo']['frame']['server_cpu_ms']:.1f} ms each",
                "",
                "-",
                "-",
            ),
            (
                f"{kind}: frames served",
                f"{ld['frames_per_s']:.1f}/s (p50 {ld['frame_p50_ms']:.1f} ms,"
                f" p95 {ld['frame_p95_ms']:.1f} ms)",
                "",
                "-",
                "-",
            ),
            (
                f"{kind}: server CPU per request",
                f"{ld['server_cpu_ms_per_request']:.2f} ms",
                "LS ~60 ms (quoted)" if kind == "sqlite" else "",
                "-",
                "-",
            ),
            (
                f"{kind}: errors",
                f"{ld['errors']} of {ld['requests']} requests",
                "",
                "0",
                verdict(ld["pass_errors"]),
            ),
            (
                f"{kind}: lost writes",
                f"{ld['readback']['lost_writes']} of "
                f"{ld['readback']['tracks_checked']} tracks read back",
                "",
                "0",
                verdict(ld["readback"]["pass"]),
            ),
            (
                f"{kind}: conflicts detected",
                f"{rc['conflicts_detected']} of {rc['races']} races",
                "LS 0 of 20 (quoted)",
                "all",
                verdict(rc["pass"]),
            ),
            (
                f"{kind}: start-up cold / warm",
                f"{r['start_cold_s']:.2f} / {r['start_warm_median_s']:.2f} s",
                f"LS {ls['start_cold_s']} / {ls['start_warm_s']} s (quoted)",
                f"< {TARGET_START_S:.0f} s",
                verdict(r["pass_start"]),
            ),
            (
                f"{kind}: idle RSS cold / warm",
                f"{r['idle_rss_cold_mb']:.0f} / {r['idle_rss_warm_mb']:.0f} MB",
                f"LS {ls['idle_rss_mb']} MB (quoted)",
                f"< {TARGET_RSS_MB:.0f} MB",
                verdict(r["pass_rss"]),
            ),
            (
                f"{kind}: idle PSS cold / warm, after load",
                f"{r['idle_pss_cold_mb']:.0f} / {r['idle_pss_warm_mb']:.0f} MB, "
                f"{r.get('pss_after_load_mb', math.nan):.0f} MB",
                "",
                "-",
                "-",
            ),
        ]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    header = ("figure", "tweenlab", "peer (Label Studio, quoted, not run here)", "target", "")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in (header, *rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    m = results["machine"]
    print(
        f"load average {m['load_average_start']} -> {m['load_average_end']} on "
        f"{m['cpus_usable']} CPUs; all targets: {verdict(results['all_pass'])}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke test: 4 clients x 10 s")
    parser.add_argument("--clients", type=int, default=None, help="simulated annotators (16)")
    parser.add_argument("--duration", type=float, default=None, help="seconds of load (60)")
    parser.add_argument("--races", type=int, default=None, help="conflict races (20)")
    parser.add_argument("--solo", type=float, default=None, help="seconds of each solo phase")
    parser.add_argument("--postgres-url", default=POSTGRES_URL)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--workers", type=int, default=1, help="server processes (tweenlab serve --workers)"
    )
    parser.add_argument(
        "--max-workers",
        type=int,
        default=None,
        help=(
            "server processes at most, started while busy (tweenlab serve --max-workers; "
            "not given: serve's own default, 2 on two cores or more)"
        ),
    )
    parser.add_argument(
        "--client",
        choices=("light", "httpx"),
        default="light",
        help="the simulated annotators' HTTP client (light_http.LightClient, or httpx)",
    )
    parser.add_argument(
        "--compare-clients",
        action="store_true",
        help="after the load, run it again with the other client on the same server",
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/tweenlab-bench"))
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    args.clients = args.clients or (4 if args.quick else 16)
    args.duration = args.duration or (10.0 if args.quick else 60.0)
    args.solo = args.solo or (2.0 if args.quick else 5.0)
    args.races = args.races or (5 if args.quick else 20)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    results: Result = {
        "mode": "quick" if args.quick else "full",
        "settings": {
            "clients": args.clients,
            "workers": args.workers,
            "max_workers": args.max_workers,  # None: serve's default
            "max_workers_effective": (
                default_max_workers(args.workers, os.cpu_count())
                if args.max_workers is None
                else args.max_workers
            ),
            "client": args.client,
            "duration_s": args.duration,
            "races": args.races,
            "task_frames": TASK_SIZE,
            "keyframes_per_track": KEYFRAMES,
            "saves_per_track": 1 + UPDATES_PER_TRACK,
            "frames_read_per_save": 2,
        },
        "machine": machine_info(),
        "label_studio_quoted": LABEL_STUDIO,
    }
    results["sqlite"] = run_database("sqlite", None, args)
    if args.no_postgres:
        results["postgresql"] = {"skipped": "--no-postgres"}
    else:
        made = postgres_schema(args.postgres_url)
        if isinstance(made, str):
            print(f"PostgreSQL skipped: {args.postgres_url} not reachable ({made})")
            results["postgresql"] = {"skipped": f"not reachable: {made}"}
        else:
            url, schema = made
            try:
                results["postgresql"] = run_database("postgresql", url, args)
            finally:
                drop_schema(args.postgres_url, schema)
    results["machine"]["load_average_end"] = [round(v, 2) for v in os.getloadavg()]
    passes = []
    for kind in ("sqlite", "postgresql"):
        r = results[kind]
        if "skipped" in r:
            continue
        passes += [
            r["load"]["readback"]["pass"],
            r["load"]["pass_errors"],
            r["races"]["pass"],
            r["pass_start"],
            r["pass_rss"],
        ]
    passes.append(results["sqlite"]["load"]["pass_throughput"])
    results["all_pass"] = all(passes)
    name = "server" + (f"-workers{args.workers}" if args.workers > 1 else "")
    name += f"-max{args.max_workers}" if args.max_workers is not None else ""
    output = args.output or RESULTS / (f"{name}-quick.json" if args.quick else f"{name}.json")
    output.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"results: {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
