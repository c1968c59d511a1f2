"""Web monitoring: unhandled exceptions, and latency sketches per endpoint and hour; an
(app, seq) index on experiment records, so the Database view pages 1M rows fast; an index
on a log's session id, for a session's page.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from heron.store.migrations import prefix

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SeqType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


ENTITIES = ("participant", "network", "node", "info", "transmission", "vector")


def upgrade() -> None:
    p = prefix()
    for name in ENTITIES:
        op.create_index(f"{p}{name}_app_seq", f"{p}{name}", ["app", "seq"])
    op.create_index(f"{p}log_session", f"{p}log", ["session_id"])
    op.create_table(
        f"{p}exception",
        sa.Column("seq", SeqType, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("app", sa.String(200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("endpoint", sa.String(500)),
        sa.Column("request_id", sa.String(64)),
        sa.Column("type", sa.String(500), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("stack", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
    )
    op.create_index(f"{p}exception_app_fingerprint", f"{p}exception", ["app", "fingerprint"])
    op.create_index(f"{p}exception_app_endpoint_ts", f"{p}exception",
                    ["app", "endpoint", "ts"])
    # the sketch column 0001 reserved was never filled: sketches have their own tables
    with op.batch_alter_table(f"{p}rollup_request") as batch:
        batch.drop_column("sketch")
    key = ("app", "endpoint", "version", "bucket")
    rollups = {
        "rollup_request_hour": [sa.Column("count", sa.BigInteger(), nullable=False),
                                sa.Column("errors", sa.BigInteger(), nullable=False),
                                sa.Column("sum_ms", sa.Float(), nullable=False)],
        "rollup_latency": [sa.Column("idx", sa.Integer(), primary_key=True),
                           sa.Column("count", sa.BigInteger(), nullable=False)],
        "rollup_latency_day": [sa.Column("idx", sa.Integer(), primary_key=True),
                               sa.Column("count", sa.BigInteger(), nullable=False)],
    }
    for name, columns in rollups.items():
        op.create_table(
            f"{p}{name}",
            *(sa.Column(k, sa.BigInteger() if k == "bucket" else
                        sa.String(200 if k == "app" else 500), primary_key=True)
              for k in key),
            *columns,
        )


def downgrade() -> None:
    p = prefix()
    for name in ENTITIES:
        op.drop_index(f"{p}{name}_app_seq", f"{p}{name}")
    op.drop_index(f"{p}log_session", f"{p}log")
    op.drop_table(f"{p}rollup_latency_day")
    op.drop_table(f"{p}rollup_latency")
    op.drop_table(f"{p}rollup_request_hour")
    with op.batch_alter_table(f"{p}rollup_request") as batch:
        batch.add_column(sa.Column("sketch", sa.LargeBinary(), nullable=True))
    op.drop_index(f"{p}exception_app_endpoint_ts", f"{p}exception")
    op.drop_index(f"{p}exception_app_fingerprint", f"{p}exception")
    op.drop_table(f"{p}exception")
