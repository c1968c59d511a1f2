"""All-time totals for Prometheus' ``/metrics`` (issue 22), with no time bucket, so a
scrape reads a few rows: requests and their duration per app, endpoint, method and status
class, and the latency sketch per app and endpoint (:mod:`heron.store.rollups`); log lines
per level, exceptions per type, runs per class and outcome with a duration sketch
(:mod:`heron.store.totals`). They count from this migration on (the method of requests
stored before was never rolled up).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from heron.store.migrations import prefix

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    p = prefix()
    op.create_table(
        f"{p}rollup_call",
        sa.Column("app", sa.String(200), primary_key=True),
        sa.Column("endpoint", sa.String(500), primary_key=True),
        sa.Column("method", sa.String(16), primary_key=True),
        sa.Column("status_class", sa.String(8), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("sum_ms", sa.Float, nullable=False),
    )
    op.create_table(
        f"{p}rollup_latency_total",
        sa.Column("app", sa.String(200), primary_key=True),
        sa.Column("endpoint", sa.String(500), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    op.create_table(
        f"{p}rollup_label_total",
        sa.Column("app", sa.String(200), primary_key=True),
        sa.Column("kind", sa.String(32), primary_key=True),
        sa.Column("label", sa.String(200), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    op.create_table(
        f"{p}rollup_run_total",
        sa.Column("app", sa.String(200), primary_key=True),
        sa.Column("run_class", sa.String(500), primary_key=True),
        sa.Column("outcome", sa.String(16), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("sum_s", sa.Float, nullable=False),
    )
    op.create_table(
        f"{p}rollup_run_latency",
        sa.Column("app", sa.String(200), primary_key=True),
        sa.Column("run_class", sa.String(500), primary_key=True),
        sa.Column("idx", sa.Integer, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    p = prefix()
    for name in ("rollup_run_latency", "rollup_run_total", "rollup_label_total"):
        op.drop_table(f"{p}{name}")
    op.drop_table(f"{p}rollup_latency_total")
    op.drop_table(f"{p}rollup_call")
