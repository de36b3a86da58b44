"""What every benchmark's report shares: the git state it ran on and the PASS/FAIL words."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def git(*args: str) -> str:
    """A git command's output in the repository ('' where git is missing)."""
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return done.stdout.rstrip("\n")


def machine_info(**versions: object) -> dict[str, object]:
    """What the figures were measured on: the machine, its load, the commit (and whether
    ``src`` had changes not committed), and the ``versions`` a benchmark names."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)),
        "load_average_start": [round(v, 2) for v in os.getloadavg()],
        "platform": platform.platform(),
        "python": platform.python_version(),
        **versions,
        "tweenlab_commit": git("rev-parse", "--short", "HEAD"),
        "src_modified": git("status", "--porcelain", "--", "src").splitlines(),
    }


def verdict(passed: bool | None) -> str:
    """``PASS``, ``FAIL``, or ``-`` where there is no target."""
    return "-" if passed is None else ("PASS" if passed else "FAIL")
