"""Why and when an experiment record was failed (Dallinger's failed_reason, time_of_death).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from heron.store.migrations import prefix

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = ("participant", "network", "node", "info", "transmission", "vector")


def upgrade() -> None:
    p = prefix()
    for name in TABLES:
        with op.batch_alter_table(p + name) as batch:
            batch.add_column(sa.Column("failed_reason", sa.Text(), nullable=True))
            batch.add_column(sa.Column("failed_ts", sa.Float(), nullable=True))


def downgrade() -> None:
    p = prefix()
    for name in TABLES:
        with op.batch_alter_table(p + name) as batch:
            batch.drop_column("failed_ts")
            batch.drop_column("failed_reason")
