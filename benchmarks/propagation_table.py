"""The printed table of ``benchmarks/propagation.py``: one row per figure, from its results."""

from __future__ import annotations

from typing import Any

from report import verdict

Result = dict[str, Any]


def flow_rows(flow: Result) -> list[tuple[str, ...]]:
    """One row per clip x estimator x size."""
    return [
        (
            f"1. flow {r['clip']} {r['method']} @{r['flow_size']}",
            f"{r['pairs_per_s']:.2f} pairs/s ({r['x_real_time_at_30fps']:.2f}x real time)",
            f"bare decode {r['peer_bare_decode_fps']:.0f} fps ({100 * r['decode_share']:.0f}%)",
            "-",
            "-",
        )
        for r in flow["rows"]
    ]


def fill_rows(fill: Result, memory: Result) -> list[tuple[str, ...]]:
    """Figures 2 and 3."""
    span, default, full = fill["span_frames"], memory["default"], memory["full_size"]
    full_text = f"full size {full['mb_per_minute']:.0f} MB/min" if full else "-"
    return [
        (
            f"2. fill {span} frames, 1 object",
            f"{fill['one_object_best_s']:.3f} s (reused cache {fill['one_object_reused_s']:.3f} s)",
            f"read {span} pairs whole once {fill['peer_read_span_whole_once_s']:.3f} s",
            "-",
            "-",
        ),
        (
            f"2. fill {span} frames, {fill['objects']} objects",
            f"{fill['objects_s']:.3f} s together, median (best {fill['objects_best_s']:.3f}; "
            f"{fill['objects_one_by_one_s']:.3f} s one by one)",
            f"flow in memory {fill['peer_objects_flow_in_memory_s']:.3f} s; "
            f"linear {1000 * fill['peer_linear_objects_s']:.1f} ms",
            fill["target"],
            verdict(fill["pass"]),
        ),
        *(
            [
                (
                    f"2. fill {span} frames, {fill['objects']} small objects",
                    f"{fill['small_objects_s']:.3f} s together, median "
                    f"({fill['small_objects_side_flow_px']} px squares at the flow's size)",
                    f"the same {fill['objects']} objects at their sizes {fill['objects_s']:.3f} s",
                    "reported",
                    "-",
                )
            ]
            if "small_objects_s" in fill
            else []
        ),
        (
            f"3. flow cache, {memory['video']} @{fill['flow_size']}",
            f"{default['bytes_per_pair'] / 1e6:.2f} MB/pair, {default['mb_per_minute']:.0f} MB/min",
            f"raw f16 {default['raw_float16_bytes_per_pair'] / 1e6:.2f} MB/pair; {full_text}",
            "-",
            "-",
        ),
        (
            "3. peak RSS during fill",
            f"{fill['peak_rss_during_fill_mb']:.0f} MB (reset: {fill['peak_rss_reset']})",
            f"before fill {fill['rss_before_fill_mb']:.0f} MB; "
            f"anonymous after {fill['rss_anon_after_fill_mb']:.0f} MB",
            "-",
            "-",
        ),
    ]


def quality_rows(quality: Result) -> list[tuple[str, ...]]:
    """Figure 4, one row per sequence."""
    if "error" in quality:
        error = quality["error"].splitlines()[-1][:70] if quality["error"] else "failed"
        return [("4. quality", "error", error, quality["target"], "FAIL")]
    return (
        [
            (
                f"4. {name} ({s['frames']} frames)",
                f"flow mIoU@20 {s['flow_miou_k20']:.3f}, {s['flow_keyframes_pct']:.1f}% keyframes",
                f"linear {s['linear_miou_k20']:.3f}, {s['linear_keyframes_pct']:.1f}% "
                f"(ratio {s['ratio']:.2f})",
                quality["target"],
                f"{verdict(s['ratio_pass'])} / {verdict(s['miou_pass'])}",
            )
            for name, s in quality["sequences"].items()
        ]
        + [
            (
                f"4. {name}: bounds (oracles)",
                ", ".join(
                    f"{bound} {b['keyframes_pct']:.1f}% (ratio {b['ratio']:.2f})"
                    for bound, b in s.get("bounds", {}).items()
                ),
                "true-centres: perfect positions, sizes straight between keyframes",
                "-",
                "-",
            )
            for name, s in quality["sequences"].items()
            if s.get("bounds")
        ]
        + [
            (
                f"4. harder: {name} ({v['frames']} frames)",
                f"flow mIoU@20 {v['flow_miou']['K20']:.3f}, "
                f"{v['flow_keyframes_pct']:.1f}% keyframes",
                f"linear {v['linear_miou_k20']:.3f}, {v['linear_keyframes_pct']:.1f}% "
                f"(ratio {v['ratio']:.2f})",
                "reported (not shown: stands for unseen sequences)",
                "-",
            )
            for name, v in quality.get("harder_variants", {}).get("sequences", {}).items()
        ]
        + [
            (
                f"4. extension: {name}",
                f"mean IoU {e['mean_iou']:.3f} over {quality['extension']['frames']} frames "
                "from one keyframe",
                f"{e['frames_before_iou_below_0.5']:.1f} frames before IoU < 0.5",
                "reported",
                "-",
            )
            for name, e in quality.get("extension", {}).get("sequences", {}).items()
        ]
        + [
            (
                f"4. confidence, keyframes every {spacing[1:]}",
                f"failing frames (IoU < 0.7) found at ROC AUC {c['tweenlab_auc']:.3f} "
                f"({c['failing']} of {c['frames']})",
                f"chains' agreement alone {c['agreement_alone_auc']:.3f}",
                "reported",
                "-",
            )
            for spacing, c in quality.get("confidence", {}).get("spacings", {}).items()
        ]
    )


def print_table(results: Result) -> None:
    """The results as a plain table."""
    rows: list[tuple[str, ...]] = [("figure", "tweenlab", "peer / limit", "target", "")]
    if "flow" in results:
        rows += flow_rows(results["flow"])
    if "fill" in results:
        rows += fill_rows(results["fill"], results["memory"])
    if "quality" in results:
        rows += quality_rows(results["quality"])
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    print(f"tweenlab.propagation benchmark ({results['mode']})")
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
