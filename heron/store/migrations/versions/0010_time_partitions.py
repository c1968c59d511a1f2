"""The raw tables of a PostgreSQL store partitioned by time (issue 23): requests, log
lines, exports and resource samples, with their rows and indexes
(:mod:`heron.store.partitions`). A unique key must hold the partition key, so a
request's unique id becomes ``(id, ts)``; the event ledger stays as it is. SQLite keeps
plain tables.

Downgrade turns them back into plain tables, rows included.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

from heron.store import partitions
from heron.store.migrations import prefix

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        partitions.convert(op.get_bind(), prefix())


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        partitions.unconvert(op.get_bind(), prefix())
