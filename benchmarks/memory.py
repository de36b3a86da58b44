"""Memory of the benchmark's own process, read from ``/proc/self/status`` (Linux).

Every benchmark measures memory through these, not ``ru_maxrss``: Linux carries a parent's peak
over ``fork`` + ``exec`` into the child's ``ru_maxrss``, so a child started by a big parent would
report the parent's peak. The kernel updates VmHWM lazily, so it can miss a brief peak by a
megabyte or so.
"""

from __future__ import annotations

import math
from pathlib import Path

__all__ = ["current_rss_mb", "peak_rss_mb", "reset_peak_rss", "status_mb"]


def status_mb(field: str) -> float:
    """One ``kB`` field of ``/proc/self/status`` (``VmRSS:``, ``RssAnon:``...) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024  # kB
    return math.nan


def current_rss_mb() -> float:
    """Resident set size of this process now (VmRSS)."""
    return status_mb("VmRSS:")


def peak_rss_mb() -> float:
    """Peak resident set size of this process since start or the last reset (VmHWM)."""
    return status_mb("VmHWM:")


def reset_peak_rss() -> bool:
    """Set VmHWM back to the current RSS (Linux >= 4.0); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True
