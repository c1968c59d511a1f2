"""The store's tables, built for one TABLE_PREFIX.

This is the *current* shape of the schema, used by queries and the writer. Migrations in
``migrations/versions`` are the history that brings a database to this shape; a test checks
that a migrated database matches these definitions.

Conventions:

* every table has an integer ``seq`` primary key: stable export order and keyset paging;
* append-only kinds keep the event ``id`` (unique through the ledger, not an index
  here; requests excepted: their ``id`` is a unique index, migration 0006); entity kinds
  (participant, node, ...) keep one row per ``(app, <entity>_id)``, updated in place;
* ``event`` is the ledger of every event id ever ingested, requests excepted (see
  :mod:`heron.store.requests`): it is what makes ingest idempotent for every other kind,
  entity kinds included;
* ``ts`` is UTC epoch seconds (float: microsecond precision survives on both databases).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB

#: BIGINT on PostgreSQL; on SQLite an INTEGER PRIMARY KEY is the fast rowid alias.
SeqType = BigInteger().with_variant(Integer(), "sqlite")
JSONType = JSON().with_variant(JSONB(), "postgresql")

ID = 64
NAME = 500

#: What PostgreSQL indexes for log search: migration 0004 stores it in the generated column
#: ``log.search`` under a GIN index. Runs of letters and digits are words, as in SQLite
#: FTS5's unicode61 tokenizer, so both stores find the same lines.
LOG_SEARCH_PG = ("to_tsvector('simple', regexp_replace(message || ' ' || "
                 "coalesce(exc_text, ''), '(\\W|_)+', ' ', 'g'))")


def _seq() -> Column:
    return Column("seq", SeqType, primary_key=True, autoincrement=True)


def _common() -> list[Column]:
    return [
        _seq(),
        # unique through the event ledger; a second unique index here would only slow ingest
        Column("id", String(ID), nullable=False),
        Column("app", String(200), nullable=False),
        Column("ts", Float, nullable=False),
    ]


def _entity(prefix: str, md: MetaData, name: str, key: str, *columns: Column) -> Table:
    table = Table(
        f"{prefix}{name}", md,
        _seq(),
        Column("app", String(200), nullable=False),
        Column(key, String(ID), nullable=False),
        Column("ts", Float, nullable=False),          # first seen
        Column("updated_ts", Float, nullable=False),  # event time of the last applied update
        Column("last_event_id", String(ID), nullable=False),
        *columns,
        Column("failed", Boolean, nullable=False, default=False),
        Column("details", JSONType, nullable=False, default=dict),
        Column("failed_reason", Text),  # migration 0002
        Column("failed_ts", Float),
        UniqueConstraint("app", key, name=f"{prefix}{name}_app_key"),
    )
    Index(f"{prefix}{name}_ts", table.c.ts)
    Index(f"{prefix}{name}_app_seq", table.c.app, table.c.seq)  # migration 0003: paging
    return table


#: Columns one database has beyond these models (made by migrations, never written by
#: heron): PostgreSQL's generated ``log.search`` tsvector.
DIALECT_COLUMNS: dict[str, dict[str, set[str]]] = {"postgresql": {"log": {"search"}}}


def build_metadata(prefix: str = "heron_") -> MetaData:
    """All of heron's tables, each name starting with ``prefix``."""
    md = MetaData()
    p = prefix

    event = Table(
        f"{p}event", md,
        Column("id", String(ID), primary_key=True),
        Column("kind", String(32), nullable=False),
        Column("app", String(200), nullable=False),
        Column("ts", Float, nullable=False),
        Column("received_at", Float, nullable=False),
    )
    Index(f"{p}event_received", event.c.received_at)

    Table(
        f"{p}app_kind", md,
        Column("app", String(200), primary_key=True),
        Column("kind", String(32), primary_key=True),
        Column("count", BigInteger, nullable=False),
        Column("first_ts", Float, nullable=False),
        Column("last_ts", Float, nullable=False),
        Column("last_received_at", Float, nullable=False),
    )

    # Events per app, kind and minute: the home page's chart, without scanning the ledger.
    Table(
        f"{p}event_minute", md,
        Column("app", String(200), primary_key=True),
        Column("kind", String(32), primary_key=True),
        Column("bucket", BigInteger, primary_key=True),  # start of the minute, epoch seconds
        Column("count", BigInteger, nullable=False),
    )

    request = Table(
        f"{p}request", md, *_common(),
        Column("endpoint", String(NAME), nullable=False),
        Column("method", String(16), nullable=False),
        Column("status", Integer, nullable=False),
        Column("duration_ms", Float, nullable=False),
        Column("version", String(NAME)),
        Column("group_by", String(NAME)),
        Column("ip", String(64)),
        Column("sql_count", Integer, nullable=False, default=0),
        Column("sql_ms", Float, nullable=False, default=0.0),
    )
    # every query of raw requests names the app and its endpoints (heron.store.requests:
    # endpoints_of); no index on ts alone since migration 0006: one less index per request
    Index(f"{p}request_app_endpoint_ts", request.c.app, request.c.endpoint, request.c.ts)
    # a log line or an outlier links to its request; unique: ingest's exactly-once for
    # requests (migration 0006)
    Index(f"{p}request_id", request.c.id, unique=True)

    outlier = Table(
        f"{p}outlier", md, *_common(),
        Column("request_id", String(ID), nullable=False),
        Column("endpoint", String(NAME), nullable=False),
        Column("duration_ms", Float, nullable=False),
        Column("stack", Text, nullable=False, default=""),
        Column("cpu_percent", Float),
        Column("memory_bytes", BigInteger),
        Column("request_values", JSONType, nullable=False, default=dict),
        Column("headers", JSONType, nullable=False, default=dict),
        Column("environ", JSONType, nullable=False, default=dict),
    )
    Index(f"{p}outlier_app_endpoint_ts", outlier.c.app, outlier.c.endpoint, outlier.c.ts)

    profile = Table(
        f"{p}profile", md, *_common(),
        Column("request_id", String(ID), nullable=False),
        Column("endpoint", String(NAME), nullable=False),
        Column("duration_ms", Float, nullable=False),
        Column("tree", JSONType, nullable=False, default=dict),
    )
    Index(f"{p}profile_app_endpoint_ts", profile.c.app, profile.c.endpoint, profile.c.ts)

    # Requests, server errors and total duration per endpoint and version, per minute and
    # per hour (the hourly table: migration 0003; long windows read 60 times fewer rows).
    for name in ("rollup_request", "rollup_request_hour"):
        rollup = Table(
            f"{p}{name}", md,
            Column("app", String(200), primary_key=True),
            Column("endpoint", String(NAME), primary_key=True),
            Column("version", String(NAME), primary_key=True),
            Column("bucket", BigInteger, primary_key=True),  # start of the minute / hour
            Column("count", BigInteger, nullable=False),
            Column("errors", BigInteger, nullable=False),
            Column("sum_ms", Float, nullable=False),
            # migration 0004: SQL queries and their time, summed (the endpoint page's means)
            Column("sql_count", BigInteger, nullable=False, default=0),
            Column("sql_ms", Float, nullable=False, default=0.0),
        )
        # migration 0004: a window's ragged ends read one time range of the app's rows
        Index(f"{p}{name}_app_bucket", rollup.c.app, rollup.c.bucket)

    # Requests per status code, user (group_by) and IP ("dim", "key"), per endpoint,
    # version and hour (migration 0004): the endpoint page's status, user and IP charts
    # over long windows, without reading raw requests.
    group = Table(
        f"{p}rollup_group", md,
        Column("app", String(200), primary_key=True),
        Column("endpoint", String(NAME), primary_key=True),
        Column("version", String(NAME), primary_key=True),
        Column("dim", String(16), primary_key=True),
        Column("key", String(NAME), primary_key=True),
        Column("bucket", BigInteger, primary_key=True),
        Column("count", BigInteger, nullable=False),
        Column("sum_ms", Float, nullable=False),
    )
    Index(f"{p}rollup_group_app_endpoint_bucket", group.c.app, group.c.endpoint,
          group.c.bucket)

    exception = Table(
        f"{p}exception", md, *_common(),  # migration 0003
        Column("endpoint", String(NAME)),
        Column("request_id", String(ID)),
        Column("type", String(NAME), nullable=False),
        Column("message", Text, nullable=False, default=""),
        Column("stack", Text, nullable=False, default=""),
        Column("fingerprint", String(64), nullable=False),
    )
    Index(f"{p}exception_app_fingerprint", exception.c.app, exception.c.fingerprint)
    Index(f"{p}exception_app_endpoint_ts", exception.c.app, exception.c.endpoint,
          exception.c.ts)

    # Latency sketches per endpoint, version and hour (and day): request counts per
    # logarithmic bucket of duration (heron.store.sketch), added to at ingest, so
    # percentiles over any window come from a few thousand rows instead of millions of
    # requests.
    for name in ("rollup_latency", "rollup_latency_day"):  # migration 0003
        rollup = Table(
            f"{p}{name}", md,
            Column("app", String(200), primary_key=True),
            Column("endpoint", String(NAME), primary_key=True),
            Column("version", String(NAME), primary_key=True),
            Column("bucket", BigInteger, primary_key=True),  # start of the hour / UTC day
            Column("idx", Integer, primary_key=True),        # sketch bucket of the duration
            Column("count", BigInteger, nullable=False),
        )
        Index(f"{p}{name}_app_bucket", rollup.c.app, rollup.c.bucket)  # migration 0004

    # All-time totals for /metrics (migration 0008): Prometheus counters and histograms
    Table(
        f"{p}rollup_call", md,
        Column("app", String(200), primary_key=True),
        Column("endpoint", String(NAME), primary_key=True),
        Column("method", String(16), primary_key=True),
        Column("status_class", String(8), primary_key=True),  # "2xx" ... "5xx"
        Column("count", BigInteger, nullable=False),
        Column("sum_ms", Float, nullable=False),
    )
    Table(
        f"{p}rollup_latency_total", md,
        Column("app", String(200), primary_key=True),
        Column("endpoint", String(NAME), primary_key=True),
        Column("idx", Integer, primary_key=True),
        Column("count", BigInteger, nullable=False),
    )
    Table(  # log lines per level, exceptions per type (heron.store.totals)
        f"{p}rollup_label_total", md,
        Column("app", String(200), primary_key=True),
        Column("kind", String(32), primary_key=True),
        Column("label", String(200), primary_key=True),
        Column("count", BigInteger, nullable=False),
    )
    Table(
        f"{p}rollup_run_total", md,
        Column("app", String(200), primary_key=True),
        Column("run_class", String(NAME), primary_key=True),
        Column("outcome", String(16), primary_key=True),
        Column("count", BigInteger, nullable=False),
        Column("sum_s", Float, nullable=False),
    )
    Table(
        f"{p}rollup_run_latency", md,
        Column("app", String(200), primary_key=True),
        Column("run_class", String(NAME), primary_key=True),
        Column("idx", Integer, primary_key=True),
        Column("count", BigInteger, nullable=False),
    )
    # migration 0009: the newest value of each exported metric per app; the ingest APIs'
    # own counts and batch times; what sending clients last reported (heron.prometheus)
    Table(
        f"{p}metric_last", md,
        Column("app", String(200), primary_key=True),
        Column("metric", String(NAME), primary_key=True),
        Column("ts", Float, nullable=False),
        Column("value", Float, nullable=False),
    )
    Table(
        f"{p}ingest_total", md,
        Column("source", String(16), primary_key=True),
        Column("outcome", String(16), primary_key=True),
        Column("count", BigInteger, nullable=False),
    )
    Table(
        f"{p}ingest_latency", md,
        Column("source", String(16), primary_key=True),
        Column("bucket", Integer, primary_key=True),
        Column("count", BigInteger, nullable=False),
        Column("sum_s", Float, nullable=False),
    )
    Table(
        f"{p}client_report", md,
        Column("client", String(64), primary_key=True),
        Column("app", String(200), nullable=False),
        Column("ts", Float, nullable=False),
        Column("spool_bytes", BigInteger, nullable=False),
        Column("dead_letters", BigInteger, nullable=False),
    )

    Table(
        f"{p}endpoint", md,
        Column("app", String(200), primary_key=True),
        Column("endpoint", String(NAME), primary_key=True),
        Column("monitor_level", Integer, nullable=False),
        Column("first_ts", Float, nullable=False),
        Column("last_ts", Float, nullable=False),
    )

    run = Table(
        f"{p}run", md,
        _seq(),
        Column("run_id", String(1000), nullable=False, unique=True),
        Column("app", String(200), nullable=False),
        Column("ts", Float),  # start
        Column("end_ts", Float),
        Column("run_class", String(NAME)),
        Column("parent_id", String(1000)),
        Column("outcome", String(16)),
        Column("error_type", String(NAME)),
        Column("error_message", Text),
        Column("dimensions", JSONType, nullable=False, default=dict),
    )
    Index(f"{p}run_app_class_ts", run.c.app, run.c.run_class, run.c.ts)
    Index(f"{p}run_parent", run.c.parent_id)

    export = Table(
        f"{p}export", md, *_common(),
        Column("run_id", String(1000)),
        Column("metrics", JSONType, nullable=False, default=dict),
        Column("dimensions", JSONType, nullable=False, default=dict),
    )
    Index(f"{p}export_run", export.c.run_id)
    Index(f"{p}export_app_ts", export.c.app, export.c.ts)

    session = Table(
        f"{p}session", md,
        _seq(),
        Column("session_id", String(ID), nullable=False, unique=True),
        Column("app", String(200), nullable=False),
        Column("ts", Float),
        Column("end_ts", Float),
        Column("name", String(NAME)),
        Column("subject_id", String(NAME)),
        Column("user_id", String(NAME)),
        Column("host", String(NAME)),
        Column("output_dir", Text),
        Column("stage", String(NAME)),
        Column("outcome", String(NAME)),
        Column("error", Text),
        Column("params", JSONType, nullable=False, default=dict),
    )
    Index(f"{p}session_app_ts", session.c.app, session.c.ts)

    step = Table(
        f"{p}session_step", md, *_common(),
        Column("session_id", String(ID), nullable=False),
        Column("stage", String(NAME), nullable=False),
        Column("module", String(NAME)),
        Column("outcome", String(NAME), nullable=False),
        Column("start_ts", Float),
        Column("end_ts", Float),
        Column("result", JSONType),
        Column("error", Text),
    )
    Index(f"{p}session_step_session", step.c.session_id)

    resource = Table(
        f"{p}resource", md, *_common(),
        Column("session_id", String(ID)),
        Column("cpu_percent", Float),
        Column("rss_bytes", BigInteger),
        Column("sys_cpu_percent", Float),
        Column("sys_memory_percent", Float),
        Column("disk_free_bytes", BigInteger),
    )
    Index(f"{p}resource_app_ts", resource.c.app, resource.c.ts)
    Index(f"{p}resource_session", resource.c.session_id)

    log = Table(
        f"{p}log", md, *_common(),
        Column("level", Integer, nullable=False),
        Column("logger", String(NAME), nullable=False),
        Column("message", Text, nullable=False),
        Column("pathname", Text),
        Column("lineno", Integer),
        Column("thread", String(NAME)),
        Column("process", Integer),
        Column("exc_text", Text),
        Column("extra", JSONType, nullable=False, default=dict),
        Column("run_id", String(1000)),
        Column("session_id", String(ID)),
        Column("request_id", String(ID)),
    )
    Index(f"{p}log_app_ts", log.c.app, log.c.ts)
    Index(f"{p}log_session", log.c.session_id)  # migration 0003: a session's log
    Index(f"{p}log_ts", log.c.ts)
    Index(f"{p}log_level_seq", log.c.level, log.c.seq)  # migration 0004: level filters
    # migration 0004 also adds the full-text index: an FTS5 table ``log_fts`` kept by
    # triggers on SQLite; on PostgreSQL a generated column ``search`` (LOG_SEARCH_PG, see
    # DIALECT_COLUMNS) with a GIN index

    _entity(
        p, md, "participant", "participant_id",
        Column("status", String(64), nullable=False),
        Column("worker_id", String(NAME)),
        Column("assignment_id", String(NAME)),
        Column("mode", String(NAME)),
        Column("base_pay", Float),
        Column("bonus", Float),
        Column("end_ts", Float),
    )
    _entity(
        p, md, "network", "network_id",
        Column("role", String(NAME), nullable=False),
        Column("max_size", Integer),
        Column("full", Boolean, nullable=False, default=False),
    )
    _entity(
        p, md, "node", "node_id",
        Column("network_id", String(ID)),
        Column("participant_id", String(ID)),
        Column("type", String(NAME), nullable=False),
    )
    _entity(
        p, md, "info", "info_id",
        Column("origin_id", String(ID)),
        Column("type", String(NAME), nullable=False),
        Column("contents", Text),
    )
    _entity(
        p, md, "transmission", "transmission_id",
        Column("origin_id", String(ID)),
        Column("destination_id", String(ID)),
        Column("info_id", String(ID)),
        Column("status", String(16), nullable=False),
    )
    _entity(
        p, md, "vector", "vector_id",
        Column("origin_id", String(ID)),
        Column("destination_id", String(ID)),
        Column("network_id", String(ID)),
    )

    test_result = Table(
        f"{p}test_result", md, *_common(),
        Column("test_name", String(NAME), nullable=False),
        Column("suite", String(NAME)),
        Column("outcome", String(NAME), nullable=False),
        Column("duration_ms", Float, nullable=False),
        Column("version", String(NAME)),
        Column("run_id", String(1000)),
        # migration 0007: the Test Monitor (heron.testmonitor)
        Column("build", String(NAME)),
        Column("commit", String(100)),
        Column("durations_ms", JSONType, nullable=False, default=list),
        Column("endpoints", JSONType, nullable=False, default=list),
    )
    Index(f"{p}test_result_app_name_ts", test_result.c.app, test_result.c.test_name,
          test_result.c.ts)
    Index(f"{p}test_result_app_build", test_result.c.app, test_result.c.build)

    # --- dashboard, auth and alerting state ----------------------------------------
    Table(
        f"{p}user", md,
        _seq(),
        Column("username", String(200), nullable=False, unique=True),
        Column("password_hash", String(500), nullable=False),
        Column("role", String(16), nullable=False),
        Column("created_ts", Float, nullable=False),
    )
    Table(
        f"{p}login_token", md,
        Column("token_hash", String(128), primary_key=True),
        Column("username", String(200), nullable=False),
        Column("expires_ts", Float, nullable=False),
        Column("used_ts", Float),
    )
    login_session = Table(  # migration 0005
        f"{p}login_session", md,
        Column("id_hash", String(128), primary_key=True),
        Column("username", String(200), nullable=False),
        Column("created_ts", Float, nullable=False),
        Column("last_seen_ts", Float, nullable=False),
        Column("ip", String(64)),
    )
    Index(f"{p}login_session_username", login_session.c.username)
    failure = Table(
        f"{p}login_failure", md,
        _seq(),
        Column("key", String(500), nullable=False),
        Column("ts", Float, nullable=False),
    )
    Index(f"{p}login_failure_key_ts", failure.c.key, failure.c.ts)
    Table(
        f"{p}setting", md,
        Column("key", String(200), primary_key=True),
        Column("value", Text, nullable=False),
    )
    Table(
        f"{p}saved_search", md,
        _seq(),
        Column("name", String(200), nullable=False, unique=True),
        Column("query", Text, nullable=False),
        Column("filters", JSONType, nullable=False, default=dict),
        Column("created_by", String(200)),
        Column("created_ts", Float, nullable=False),
    )
    Table(
        f"{p}alert_rule", md,
        _seq(),
        Column("name", String(200), nullable=False, unique=True),
        Column("saved_search_seq", BigInteger),
        Column("query", Text),
        Column("metric", String(64)),
        Column("app", String(200)),
        Column("endpoint", String(NAME)),
        Column("above", Float),
        Column("below", Float),
        Column("webhook_url", Text, nullable=False),
        Column("frequency_s", Integer, nullable=False),
        Column("threshold", Integer, nullable=False),
        Column("quiet_s", Integer, nullable=False),
        Column("source", String(NAME), nullable=False),  # widened in 0004
        Column("enabled", Boolean, nullable=False, default=True),
        Column("last_checked_ts", Float),
        Column("last_fired_ts", Float),
        Column("last_seq", BigInteger),      # migration 0004: log lines seen up to here
        Column("firing", Boolean, nullable=False, default=False),  # a metric rule in alarm
        Column("window_s", Integer),         # metric rules: the window they measure
        Column("created_ts", Float),
    )
    delivery = Table(
        f"{p}alert_delivery", md,
        _seq(),
        Column("rule_seq", BigInteger, nullable=False),
        Column("ts", Float, nullable=False),
        Column("attempt", Integer, nullable=False),
        Column("status_code", Integer),
        Column("ok", Boolean, nullable=False),
        Column("error", Text),
        Column("payload", JSONType, nullable=False, default=dict),
        Column("rule_name", String(200)),    # migration 0004: kept when the rule is deleted
        Column("reason", String(32)),        # alert, recovery, test, new_app
    )
    Index(f"{p}alert_delivery_rule_ts", delivery.c.rule_seq, delivery.c.ts)
    Table(
        f"{p}lease", md,
        Column("name", String(200), primary_key=True),
        Column("holder", String(200), nullable=False),
        Column("expires_ts", Float, nullable=False),
    )
    return md
