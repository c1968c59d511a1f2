"""Log search and alerts, and faster long windows: a full-text index over log lines
(SQLite FTS5; on PostgreSQL a stored tsvector column with a GIN index), an index for
level filters, the state the alert engine keeps per rule and per delivery; (app, bucket)
indexes on the rollups.

Both databases split text the same way (runs of letters and digits are words; everything
else separates them), so a search finds the same lines on either store: PostgreSQL's own
parser would keep ``/api/user/42`` or ``db.example.org`` as one word.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from heron.store.migrations import prefix

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The words of a line, as heron.store.schema.LOG_SEARCH_PG says; stored (a generated
# column), so neither a walk of the newest lines nor an index recheck recomputes them.
LOG_SEARCH_PG = ("to_tsvector('simple', regexp_replace(message || ' ' || "
                 "coalesce(exc_text, ''), '(\\W|_)+', ' ', 'g'))")


ROLLUPS = ("rollup_request", "rollup_request_hour", "rollup_latency", "rollup_latency_day")


def upgrade() -> None:
    p = prefix()
    op.create_index(f"{p}log_level_seq", f"{p}log", ["level", "seq"])
    # a window's ragged ends read one time range of an app's rollups, not all its rows
    for name in ROLLUPS:
        op.create_index(f"{p}{name}_app_bucket", f"{p}{name}", ["app", "bucket"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(f"ALTER TABLE {p}log ADD COLUMN search tsvector "
                           f"GENERATED ALWAYS AS ({LOG_SEARCH_PG}) STORED"))
        op.execute(sa.text(f"CREATE INDEX {p}log_search ON {p}log USING gin (search)"))
    else:
        op.execute(sa.text(
            f"CREATE VIRTUAL TABLE {p}log_fts USING fts5(message, exc_text, "
            f"content='{p}log', content_rowid='seq')"))
        op.execute(sa.text(
            f"CREATE TRIGGER {p}log_fts_insert AFTER INSERT ON {p}log BEGIN "
            f"INSERT INTO {p}log_fts(rowid, message, exc_text) "
            f"VALUES (new.seq, new.message, new.exc_text); END"))
        op.execute(sa.text(
            f"CREATE TRIGGER {p}log_fts_delete AFTER DELETE ON {p}log BEGIN "
            f"INSERT INTO {p}log_fts({p}log_fts, rowid, message, exc_text) "
            f"VALUES ('delete', old.seq, old.message, old.exc_text); END"))
        op.execute(sa.text(f"INSERT INTO {p}log_fts({p}log_fts) VALUES ('rebuild')"))
    _rollup_group(p)
    _rollup_sql(p)
    with op.batch_alter_table(f"{p}alert_rule") as batch:
        batch.add_column(sa.Column("last_seq", sa.BigInteger()))
        batch.add_column(sa.Column("firing", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("window_s", sa.Integer()))
        batch.add_column(sa.Column("created_ts", sa.Float()))
        # "config file /etc/heron/heron.toml": where a rule came from, shown on the page
        batch.alter_column("source", type_=sa.String(500), existing_type=sa.String(32),
                           existing_nullable=False)
    with op.batch_alter_table(f"{p}alert_delivery") as batch:
        batch.add_column(sa.Column("rule_name", sa.String(200)))
        batch.add_column(sa.Column("reason", sa.String(32)))


#: rollup_group's dimensions and the request columns they count by
GROUP_DIMS = {"status": "status", "user": "group_by", "ip": "ip"}


def _rollup_group(p: str) -> None:
    """Requests per status code, user and IP, per endpoint, version and hour; filled from
    the raw requests already stored, so charts over older windows keep their data."""
    op.create_table(
        f"{p}rollup_group",
        sa.Column("app", sa.String(200), primary_key=True),
        sa.Column("endpoint", sa.String(500), primary_key=True),
        sa.Column("version", sa.String(500), primary_key=True),
        sa.Column("dim", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(500), primary_key=True),
        sa.Column("bucket", sa.BigInteger(), primary_key=True),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("sum_ms", sa.Float(), nullable=False),
    )
    op.create_index(f"{p}rollup_group_app_endpoint_bucket", f"{p}rollup_group",
                    ["app", "endpoint", "bucket"])
    hour = ("CAST(floor(ts / 3600) * 3600 AS BIGINT)"
            if op.get_bind().dialect.name == "postgresql" else "CAST(ts / 3600 AS INTEGER) * 3600")
    for dim, column in GROUP_DIMS.items():
        key = f"coalesce(CAST({column} AS VARCHAR(500)), '')"
        op.execute(sa.text(
            f"INSERT INTO {p}rollup_group (app, endpoint, version, dim, key, bucket, count, "
            f"sum_ms) SELECT app, endpoint, coalesce(version, ''), '{dim}', {key}, {hour}, "
            f"count(*), sum(duration_ms) FROM {p}request "
            f"GROUP BY app, endpoint, coalesce(version, ''), {key}, {hour}"))


def _rollup_sql(p: str) -> None:
    """SQL queries and their time summed in the request rollups, filled from the stored
    requests (rollup rows whose requests were pruned keep 0)."""
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, step in (("rollup_request", 60), ("rollup_request_hour", 3600)):
        with op.batch_alter_table(f"{p}{name}") as batch:
            batch.add_column(sa.Column("sql_count", sa.BigInteger(), nullable=False,
                                       server_default="0"))
            batch.add_column(sa.Column("sql_ms", sa.Float(), nullable=False,
                                       server_default="0"))
        bucket = (f"CAST(floor(ts / {step}) * {step} AS BIGINT)" if postgres
                  else f"CAST(ts / {step} AS INTEGER) * {step}")
        t = f"{p}{name}"
        op.execute(sa.text(
            f"UPDATE {t} SET sql_count = s.n, sql_ms = s.ms FROM (SELECT app, endpoint, "
            f"coalesce(version, '') AS version, {bucket} AS bucket, sum(sql_count) AS n, "
            f"sum(sql_ms) AS ms FROM {p}request GROUP BY app, endpoint, "
            f"coalesce(version, ''), {bucket}) AS s WHERE {t}.app = s.app AND "
            f"{t}.endpoint = s.endpoint AND {t}.version = s.version AND {t}.bucket = s.bucket"))


def downgrade() -> None:
    p = prefix()
    for name in ("rollup_request", "rollup_request_hour"):
        with op.batch_alter_table(f"{p}{name}") as batch:
            batch.drop_column("sql_ms")
            batch.drop_column("sql_count")
    op.drop_table(f"{p}rollup_group")
    with op.batch_alter_table(f"{p}alert_delivery") as batch:
        batch.drop_column("reason")
        batch.drop_column("rule_name")
    with op.batch_alter_table(f"{p}alert_rule") as batch:
        batch.alter_column("source", type_=sa.String(32), existing_type=sa.String(500),
                           existing_nullable=False)
        batch.drop_column("created_ts")
        batch.drop_column("window_s")
        batch.drop_column("firing")
        batch.drop_column("last_seq")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text(f"DROP INDEX IF EXISTS {p}log_search"))
        op.execute(sa.text(f"ALTER TABLE {p}log DROP COLUMN IF EXISTS search"))
    else:
        op.execute(sa.text(f"DROP TRIGGER IF EXISTS {p}log_fts_delete"))
        op.execute(sa.text(f"DROP TRIGGER IF EXISTS {p}log_fts_insert"))
        op.execute(sa.text(f"DROP TABLE IF EXISTS {p}log_fts"))
    op.drop_index(f"{p}log_level_seq", f"{p}log")
    for name in ROLLUPS:
        op.drop_index(f"{p}{name}_app_bucket", f"{p}{name}")
