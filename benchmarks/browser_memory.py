"""Memory of the browser in ``benchmarks/browser.py``: the renderer's and GPU process's RSS
from ``/proc`` (pids from the DevTools ``SystemInfo`` domain), the page's JS heap, and the
renderers' peak RSS sampled in a thread while a walk runs."""

from __future__ import annotations

import math
import threading
from pathlib import Path
from typing import Any

Result = dict[str, Any]


def processes(browser_cdp: Any) -> dict[str, list[int]]:
    """The browser's child processes by type (``renderer``, ``GPU``...): their pids."""
    found: dict[str, list[int]] = {}
    for info in browser_cdp.send("SystemInfo.getProcessInfo")["processInfo"]:
        found.setdefault(info["type"], []).append(int(info["id"]))
    return found


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A memory figure of ``/proc/<pid>/status`` in MB (``VmRSS``, ``RssAnon``, ``RssFile``...)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def memory(page: Any, browser_cdp: Any) -> Result:
    """The renderer's and GPU process's RSS and the page's JS heap, in MB."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    cdp.detach()
    found = processes(browser_cdp)
    renderers = sorted(found.get("renderer", []), key=rss_mb, reverse=True)
    gpu = sum(rss_mb(pid) for pid in found.get("GPU", found.get("gpu", [])))
    tab = renderers[0] if renderers else 0
    return {
        "renderer_rss_mb": round(rss_mb(tab), 1),
        "renderer_anon_mb": round(rss_mb(tab, "RssAnon"), 1),
        "renderer_shmem_mb": round(rss_mb(tab, "RssShmem"), 1),
        "renderer_file_mb": round(rss_mb(tab, "RssFile"), 1),
        "other_renderers_rss_mb": [round(rss_mb(pid), 1) for pid in renderers[1:]],
        "gpu_process_rss_mb": round(gpu, 1),
        "js_heap_used_mb": round(metrics.get("JSHeapUsedSize", math.nan) / 2**20, 1),
    }


class PeakSampler:
    """The highest RSS of the browser's renderers while it runs: each is read from ``/proc``
    every ``interval_s`` in a thread (``with PeakSampler(pids) as peak: ...``, then
    ``peak.mb``, the highest of any renderer, which is the tab's: the others are idle)."""

    def __init__(self, pids: list[int], interval_s: float = 0.02) -> None:
        self.pids = pids
        self.interval_s = interval_s
        self.mb = 0.0
        self.anon_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-peak", daemon=True)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval_s):
            for pid in self.pids:
                rss, anon = rss_mb(pid), rss_mb(pid, "RssAnon")
                if rss > self.mb:  # NaN (a process gone) compares false
                    self.mb, self.anon_mb = rss, anon
