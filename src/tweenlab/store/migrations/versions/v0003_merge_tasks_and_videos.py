"""Merge: tasks and annotations (v0002t) and videos and jobs (v0002v) were written side by side
from 0001; this revision joins the two branches so there is one head again. No schema change.

Revision ID: 0003
Revises: v0002t, v0002v
"""

from __future__ import annotations

revision = "0003"
down_revision = ("v0002t", "v0002v")
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: both branches' tables are already there."""


def downgrade() -> None:
    """Nothing to change."""
