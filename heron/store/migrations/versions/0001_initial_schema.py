"""initial schema

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-23 12:14:32.874836
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from heron.store.migrations import prefix

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    p = prefix()
    op.create_table(
        p + "alert_delivery",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("rule_seq", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("payload", JSONT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table(p + "alert_delivery", schema=None) as batch_op:
        batch_op.create_index(p + "alert_delivery_rule_ts", ["rule_seq", "ts"], unique=False)

    op.create_table(
        p + "alert_rule",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("saved_search_seq", sa.BigInteger(), nullable=True),
        sa.Column("query", sa.Text(), nullable=True),
        sa.Column("metric", sa.String(length=64), nullable=True),
        sa.Column("app", sa.String(length=200), nullable=True),
        sa.Column("endpoint", sa.String(length=500), nullable=True),
        sa.Column("above", sa.Float(), nullable=True),
        sa.Column("below", sa.Float(), nullable=True),
        sa.Column("webhook_url", sa.Text(), nullable=False),
        sa.Column("frequency_s", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("quiet_s", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("last_checked_ts", sa.Float(), nullable=True),
        sa.Column("last_fired_ts", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        p + "app_kind",
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("first_ts", sa.Float(), nullable=False),
        sa.Column("last_ts", sa.Float(), nullable=False),
        sa.Column("last_received_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("app", "kind"),
    )
    op.create_table(
        p + "endpoint",
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("endpoint", sa.String(length=500), nullable=False),
        sa.Column("monitor_level", sa.Integer(), nullable=False),
        sa.Column("first_ts", sa.Float(), nullable=False),
        sa.Column("last_ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("app", "endpoint"),
    )
    op.create_table(
        p + "event",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table(p + "event", schema=None) as batch_op:
        batch_op.create_index(p + "event_received", ["received_at"], unique=False)

    op.create_table(
        p + "event_minute",
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("app", "kind", "bucket"),
    )
    op.create_table(
        p + "export",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("run_id", sa.String(length=1000), nullable=True),
        sa.Column("metrics", JSONT, nullable=False),
        sa.Column("dimensions", JSONT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table(p + "export", schema=None) as batch_op:
        batch_op.create_index(p + "export_app_ts", ["app", "ts"], unique=False)
        batch_op.create_index(p + "export_run", ["run_id"], unique=False)

    op.create_table(
        p + "info",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("info_id", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("updated_ts", sa.Float(), nullable=False),
        sa.Column("last_event_id", sa.String(length=64), nullable=False),
        sa.Column("origin_id", sa.String(length=64), nullable=True),
        sa.Column("type", sa.String(length=500), nullable=False),
        sa.Column("contents", sa.Text(), nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("details", JSONT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("app", "info_id", name=p + "info_app_key"),
    )
    with op.batch_alter_table(p + "info", schema=None) as batch_op:
        batch_op.create_index(p + "info_ts", ["ts"], unique=False)

    op.create_table(
        p + "lease",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        p + "log",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("logger", sa.String(length=500), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("pathname", sa.Text(), nullable=True),
        sa.Column("lineno", sa.Integer(), nullable=True),
        sa.Column("thread", sa.String(length=500), nullable=True),
        sa.Column("process", sa.Integer(), nullable=True),
        sa.Column("exc_text", sa.Text(), nullable=True),
        sa.Column("extra", JSONT, nullable=False),
        sa.Column("run_id", sa.String(length=1000), nullable=True),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table(p + "log", schema=None) as batch_op:
        batch_op.create_index(p + "log_app_ts", ["app", "ts"], unique=False)
        batch_op.create_index(p + "log_ts", ["ts"], unique=False)

    op.create_table(
        p + "login_failure",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table(p + "login_failure", schema=None) as batch_op:
        batch_op.create_index(p + "login_failure_key_ts", ["key", "ts"], unique=False)

    op.create_table(
        p + "login_token",
        sa.Column("token_hash", sa.String(length=128), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("expires_ts", sa.Float(), nullable=False),
        sa.Column("used_ts", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_table(
        p + "network",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("network_id", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("updated_ts", sa.Float(), nullable=False),
        sa.Column("last_event_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=500), nullable=False),
        sa.Column("max_size", sa.Integer(), nullable=True),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("details", JSONT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("app", "network_id", name=p + "network_app_key"),
    )
    with op.batch_alter_table(p + "network", schema=None) as batch_op:
        batch_op.create_index(p + "network_ts", ["ts"], unique=False)

    op.create_table(
        p + "node",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("node_id", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("updated_ts", sa.Float(), nullable=False),
        sa.Column("last_event_id", sa.String(length=64), nullable=False),
        sa.Column("network_id", sa.String(length=64), nullable=True),
        sa.Column("participant_id", sa.String(length=64), nullable=True),
        sa.Column("type", sa.String(length=500), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("details", JSONT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("app", "node_id", name=p + "node_app_key"),
    )
    with op.batch_alter_table(p + "node", schema=None) as batch_op:
        batch_op.create_index(p + "node_ts", ["ts"], unique=False)

    op.create_table(
        p + "outlier",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=500), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("stack", sa.Text(), nullable=False),
        sa.Column("cpu_percent", sa.Float(), nullable=True),
        sa.Column("memory_bytes", sa.BigInteger(), nullable=True),
        sa.Column("request_values", JSONT, nullable=False),
        sa.Column("headers", JSONT, nullable=False),
        sa.Column("environ", JSONT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table(p + "outlier", schema=None) as batch_op:
        batch_op.create_index(
            p + "outlier_app_endpoint_ts", ["app", "endpoint", "ts"], unique=False
        )

    op.create_table(
        p + "participant",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("participant_id", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("updated_ts", sa.Float(), nullable=False),
        sa.Column("last_event_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=64), nullable=False),
        sa.Column("worker_id", sa.String(length=500), nullable=True),
        sa.Column("assignment_id", sa.String(length=500), nullable=True),
        sa.Column("mode", sa.String(length=500), nullable=True),
        sa.Column("base_pay", sa.Float(), nullable=True),
        sa.Column("bonus", sa.Float(), nullable=True),
        sa.Column("end_ts", sa.Float(), nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("details", JSONT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("app", "participant_id", name=p + "participant_app_key"),
    )
    with op.batch_alter_table(p + "participant", schema=None) as batch_op:
        batch_op.create_index(p + "participant_ts", ["ts"], unique=False)

    op.create_table(
        p + "profile",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("endpoint", sa.String(length=500), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("tree", JSONT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table(p + "profile", schema=None) as batch_op:
        batch_op.create_index(
            p + "profile_app_endpoint_ts", ["app", "endpoint", "ts"], unique=False
        )

    op.create_table(
        p + "request",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("endpoint", sa.String(length=500), nullable=False),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("version", sa.String(length=500), nullable=True),
        sa.Column("group_by", sa.String(length=500), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("sql_count", sa.Integer(), nullable=False),
        sa.Column("sql_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table(p + "request", schema=None) as batch_op:
        batch_op.create_index(
            p + "request_app_endpoint_ts", ["app", "endpoint", "ts"], unique=False
        )
        batch_op.create_index(p + "request_id", ["id"], unique=False)
        batch_op.create_index(p + "request_ts", ["ts"], unique=False)

    op.create_table(
        p + "resource",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("cpu_percent", sa.Float(), nullable=True),
        sa.Column("rss_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sys_cpu_percent", sa.Float(), nullable=True),
        sa.Column("sys_memory_percent", sa.Float(), nullable=True),
        sa.Column("disk_free_bytes", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table(p + "resource", schema=None) as batch_op:
        batch_op.create_index(p + "resource_app_ts", ["app", "ts"], unique=False)
        batch_op.create_index(p + "resource_session", ["session_id"], unique=False)

    op.create_table(
        p + "rollup_request",
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("endpoint", sa.String(length=500), nullable=False),
        sa.Column("version", sa.String(length=500), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("sum_ms", sa.Float(), nullable=False),
        sa.Column("sketch", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("app", "endpoint", "version", "bucket"),
    )
    op.create_table(
        p + "run",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(length=1000), nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=True),
        sa.Column("end_ts", sa.Float(), nullable=True),
        sa.Column("run_class", sa.String(length=500), nullable=True),
        sa.Column("parent_id", sa.String(length=1000), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("error_type", sa.String(length=500), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("dimensions", JSONT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("run_id"),
    )
    with op.batch_alter_table(p + "run", schema=None) as batch_op:
        batch_op.create_index(p + "run_app_class_ts", ["app", "run_class", "ts"], unique=False)
        batch_op.create_index(p + "run_parent", ["parent_id"], unique=False)

    op.create_table(
        p + "saved_search",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("filters", JSONT, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        p + "session",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=True),
        sa.Column("end_ts", sa.Float(), nullable=True),
        sa.Column("name", sa.String(length=500), nullable=True),
        sa.Column("subject_id", sa.String(length=500), nullable=True),
        sa.Column("user_id", sa.String(length=500), nullable=True),
        sa.Column("host", sa.String(length=500), nullable=True),
        sa.Column("output_dir", sa.Text(), nullable=True),
        sa.Column("stage", sa.String(length=500), nullable=True),
        sa.Column("outcome", sa.String(length=500), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("params", JSONT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("session_id"),
    )
    with op.batch_alter_table(p + "session", schema=None) as batch_op:
        batch_op.create_index(p + "session_app_ts", ["app", "ts"], unique=False)

    op.create_table(
        p + "session_step",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=500), nullable=False),
        sa.Column("module", sa.String(length=500), nullable=True),
        sa.Column("outcome", sa.String(length=500), nullable=False),
        sa.Column("start_ts", sa.Float(), nullable=True),
        sa.Column("end_ts", sa.Float(), nullable=True),
        sa.Column("result", JSONT, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table(p + "session_step", schema=None) as batch_op:
        batch_op.create_index(p + "session_step_session", ["session_id"], unique=False)

    op.create_table(
        p + "setting",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        p + "test_result",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("test_name", sa.String(length=500), nullable=False),
        sa.Column("suite", sa.String(length=500), nullable=True),
        sa.Column("outcome", sa.String(length=500), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("version", sa.String(length=500), nullable=True),
        sa.Column("run_id", sa.String(length=1000), nullable=True),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table(p + "test_result", schema=None) as batch_op:
        batch_op.create_index(
            p + "test_result_app_name_ts", ["app", "test_name", "ts"], unique=False
        )

    op.create_table(
        p + "transmission",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("transmission_id", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("updated_ts", sa.Float(), nullable=False),
        sa.Column("last_event_id", sa.String(length=64), nullable=False),
        sa.Column("origin_id", sa.String(length=64), nullable=True),
        sa.Column("destination_id", sa.String(length=64), nullable=True),
        sa.Column("info_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("details", JSONT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("app", "transmission_id", name=p + "transmission_app_key"),
    )
    with op.batch_alter_table(p + "transmission", schema=None) as batch_op:
        batch_op.create_index(p + "transmission_ts", ["ts"], unique=False)

    op.create_table(
        p + "user",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=500), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_ts", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        p + "vector",
        sa.Column("seq", SEQ, autoincrement=True, nullable=False),
        sa.Column("app", sa.String(length=200), nullable=False),
        sa.Column("vector_id", sa.String(length=64), nullable=False),
        sa.Column("ts", sa.Float(), nullable=False),
        sa.Column("updated_ts", sa.Float(), nullable=False),
        sa.Column("last_event_id", sa.String(length=64), nullable=False),
        sa.Column("origin_id", sa.String(length=64), nullable=True),
        sa.Column("destination_id", sa.String(length=64), nullable=True),
        sa.Column("network_id", sa.String(length=64), nullable=True),
        sa.Column("failed", sa.Boolean(), nullable=False),
        sa.Column("details", JSONT, nullable=False),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("app", "vector_id", name=p + "vector_app_key"),
    )
    with op.batch_alter_table(p + "vector", schema=None) as batch_op:
        batch_op.create_index(p + "vector_ts", ["ts"], unique=False)


def downgrade() -> None:
    p = prefix()
    with op.batch_alter_table(p + "vector", schema=None) as batch_op:
        batch_op.drop_index(p + "vector_ts")

    op.drop_table(p + "vector")
    op.drop_table(p + "user")
    with op.batch_alter_table(p + "transmission", schema=None) as batch_op:
        batch_op.drop_index(p + "transmission_ts")

    op.drop_table(p + "transmission")
    with op.batch_alter_table(p + "test_result", schema=None) as batch_op:
        batch_op.drop_index(p + "test_result_app_name_ts")

    op.drop_table(p + "test_result")
    op.drop_table(p + "setting")
    with op.batch_alter_table(p + "session_step", schema=None) as batch_op:
        batch_op.drop_index(p + "session_step_session")

    op.drop_table(p + "session_step")
    with op.batch_alter_table(p + "session", schema=None) as batch_op:
        batch_op.drop_index(p + "session_app_ts")

    op.drop_table(p + "session")
    op.drop_table(p + "saved_search")
    with op.batch_alter_table(p + "run", schema=None) as batch_op:
        batch_op.drop_index(p + "run_parent")
        batch_op.drop_index(p + "run_app_class_ts")

    op.drop_table(p + "run")
    op.drop_table(p + "rollup_request")
    with op.batch_alter_table(p + "resource", schema=None) as batch_op:
        batch_op.drop_index(p + "resource_session")
        batch_op.drop_index(p + "resource_app_ts")

    op.drop_table(p + "resource")
    with op.batch_alter_table(p + "request", schema=None) as batch_op:
        batch_op.drop_index(p + "request_ts")
        batch_op.drop_index(p + "request_id")
        batch_op.drop_index(p + "request_app_endpoint_ts")

    op.drop_table(p + "request")
    with op.batch_alter_table(p + "profile", schema=None) as batch_op:
        batch_op.drop_index(p + "profile_app_endpoint_ts")

    op.drop_table(p + "profile")
    with op.batch_alter_table(p + "participant", schema=None) as batch_op:
        batch_op.drop_index(p + "participant_ts")

    op.drop_table(p + "participant")
    with op.batch_alter_table(p + "outlier", schema=None) as batch_op:
        batch_op.drop_index(p + "outlier_app_endpoint_ts")

    op.drop_table(p + "outlier")
    with op.batch_alter_table(p + "node", schema=None) as batch_op:
        batch_op.drop_index(p + "node_ts")

    op.drop_table(p + "node")
    with op.batch_alter_table(p + "network", schema=None) as batch_op:
        batch_op.drop_index(p + "network_ts")

    op.drop_table(p + "network")
    op.drop_table(p + "login_token")
    with op.batch_alter_table(p + "login_failure", schema=None) as batch_op:
        batch_op.drop_index(p + "login_failure_key_ts")

    op.drop_table(p + "login_failure")
    with op.batch_alter_table(p + "log", schema=None) as batch_op:
        batch_op.drop_index(p + "log_ts")
        batch_op.drop_index(p + "log_app_ts")

    op.drop_table(p + "log")
    op.drop_table(p + "lease")
    with op.batch_alter_table(p + "info", schema=None) as batch_op:
        batch_op.drop_index(p + "info_ts")

    op.drop_table(p + "info")
    with op.batch_alter_table(p + "export", schema=None) as batch_op:
        batch_op.drop_index(p + "export_run")
        batch_op.drop_index(p + "export_app_ts")

    op.drop_table(p + "export")
    op.drop_table(p + "event_minute")
    with op.batch_alter_table(p + "event", schema=None) as batch_op:
        batch_op.drop_index(p + "event_received")

    op.drop_table(p + "event")
    op.drop_table(p + "endpoint")
    op.drop_table(p + "app_kind")
    op.drop_table(p + "alert_rule")
    with op.batch_alter_table(p + "alert_delivery", schema=None) as batch_op:
        batch_op.drop_index(p + "alert_delivery_rule_ts")

    op.drop_table(p + "alert_delivery")
