"""What every benchmark's report shares: the git state it ran on and the PASS/FAIL words."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def git(*args: str) -> str:
    """A git command's output in the repository ('' where git is missing)."""
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return done.stdout.rstrip("\n")


def verdict(passed: bool | None) -> str:
    """``PASS``, ``FAIL``, or ``-`` where there is no target."""
    return "-" if passed is None else ("PASS" if passed else "FAIL")
