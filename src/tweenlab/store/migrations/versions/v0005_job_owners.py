"""Job owners: which server process runs a job, its last heartbeat, and cancel requests from
other processes (several API processes share one database).

Revision ID: 0005j
Revises: 0004q
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005j"
down_revision = "0004q"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("cancel_requested")
        batch.drop_column("heartbeat_at")
        batch.drop_column("owner")
