"""The printed table of ``benchmarks/media.py``: one row per figure, from its results dict."""

from __future__ import annotations

from typing import Any

Result = dict[str, Any]


def verdict(passed: bool) -> str:
    return "[green]PASS[/green]" if passed else "[red]FAIL[/red]"


def table_rows(results: Result) -> list[tuple[str, str, str, str, str]]:
    """(figure, tweenlab, peer or limit, target, verdict) for each figure."""
    ix, sq, ra, rs = (results[k] for k in ("index_build", "sequential", "random_access", "rss"))
    check = ra["pixel_check"]
    naive, source, proxy = ra["naive_pyav_source"], ra["tweenlab_source"], ra["tweenlab_proxy"]
    return [
        (
            f"1. Index build ({ix['video_duration_s']:.0f} s video)",
            f"{ix['median_s'] * 1000:.1f} ms = {ix['speed_x_realtime']:.0f}x real time",
            f"bare demux {ix['peer_bare_demux_median_s'] * 1000:.1f} ms",
            ">= 50x real time",
            verdict(ix["pass"]),
        ),
        (
            f"2. Sequential read ({sq['frames']} frames, RGB)",
            f"{sq['tweenlab_best_fps']:.1f} fps",
            f"PyAV {sq['pyav_best_fps']:.1f} fps (ratio {sq['ratio']:.2f})",
            ">= 0.9x PyAV",
            verdict(sq["pass"]),
        ),
        (
            f"3. Random access, {ra['frames']} frames (p50 / p95)",
            f"proxy {proxy['p50_ms']:.1f} / {proxy['p95_ms']:.1f} ms\n"
            f"source {source['p50_ms']:.0f} / {source['p95_ms']:.0f} ms",
            f"naive {naive['p50_ms']:.0f} / {naive['p95_ms']:.0f} ms\n"
            f"(p95 {ra['proxy_p95_speedup_vs_naive']:.0f}x slower than proxy)",
            "proxy p95 <= 50 ms, >= 10x",
            verdict(ra["pass"]),
        ),
        (
            "   proxy write / pixel check",
            f"proxy written in {ra['proxy']['write_s']:.1f} s ({ra['proxy']['write_fps']:.0f} fps)",
            f"{check['source_equal_naive']}/{len(check['frames'])} equal to naive; "
            f"proxy PSNR >= {check['proxy_psnr_db_min']:.1f} dB",
            "source frames = naive",
            verdict(check["pass"]),
        ),
        (
            f"4. Peak RSS, {rs['duration_s'] / 3600:.2f} h 1080p read",
            f"{rs['peak_rss_mb']:.0f} MB at {rs['decode_fps']:.1f} fps",
            f"{rs['rss_after_imports_mb']:.0f} MB after imports; "
            f"index {rs['index_build_s']:.1f} s ({rs['index_speed_x_realtime']:.0f}x)",
            "< 500 MB",
            verdict(rs["pass"]),
        ),
    ]


def print_table(results: Result) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"tweenlab.media benchmark ({results['mode']})", show_lines=True)
    for column in ("Figure", "tweenlab", "Peer / limit", "Target", ""):
        table.add_column(column)
    for row in table_rows(results):
        table.add_row(*row)
    Console(width=140).print(table)
