"""heron's own health and exported metrics' last values, for Prometheus' ``/metrics``
(issue 22), each a few rows read at a scrape:

* ``metric_last``: the newest value of every exported metric per app, kept at ingest
  (:mod:`heron.store.totals`); ``METRICS_EXPORTS`` chooses which ``/metrics`` shows;
* ``ingest_total`` and ``ingest_latency``: events the ingest APIs stored, found stored
  before and refused, and the time each batch took, per source (``api``, ``otlp``);
* ``client_report``: the spool backlog and dead letters each sending client last reported
  with a batch (:mod:`heron.sinks.http`).

They count from this migration on.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from heron.store.migrations import prefix

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    p = prefix()
    op.create_table(
        f"{p}metric_last",
        sa.Column("app", sa.String(200), primary_key=True),
        sa.Column("metric", sa.String(500), primary_key=True),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("value", sa.Float, nullable=False),
    )
    op.create_table(
        f"{p}ingest_total",
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("outcome", sa.String(16), primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
    )
    op.create_table(
        f"{p}ingest_latency",
        sa.Column("source", sa.String(16), primary_key=True),
        sa.Column("bucket", sa.Integer, primary_key=True),
        sa.Column("count", sa.BigInteger, nullable=False),
        sa.Column("sum_s", sa.Float, nullable=False),
    )
    op.create_table(
        f"{p}client_report",
        sa.Column("client", sa.String(64), primary_key=True),
        sa.Column("app", sa.String(200), nullable=False),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("spool_bytes", sa.BigInteger, nullable=False),
        sa.Column("dead_letters", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    p = prefix()
    for name in ("client_report", "ingest_latency", "ingest_total", "metric_last"):
        op.drop_table(f"{p}{name}")
