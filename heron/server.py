"""The heron server: the dashboard and ``/api/v1`` in one Flask app, run under gunicorn.

``create_app()`` is the app factory (tests use it in-process). ``serve()`` is what
``heron serve`` and ``heron demo`` run: it migrates the store and prepares first-start
credentials once, in the parent process, then starts gunicorn's workers, each building
its own app (and database connections) after the fork. gunicorn finishes in-flight
requests when it receives SIGTERM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, jsonify, redirect, url_for
from gunicorn.app.base import BaseApplication

from heron import config as heron_config
from heron.api_v1 import create_blueprint as api_blueprint
from heron.api_v1.metrics import get_metrics
from heron.api_v1.otlp import create_blueprint as otlp_blueprint
from heron.auth.tokens import ensure_ingest_token
from heron.auth.users import ensure_default_users
from heron.config import Config
from heron.dashboard import init_app as init_dashboard
from heron.store import Store, open_store
from heron.store.engine import bind_none_directly


def create_app(config: Config | None = None, *, store: Store | None = None,
               experiment: Any = None) -> Flask:
    """The server app: dashboard at ``/<CUSTOM_LINK>``, APIs at ``/api/v1``, Prometheus'
    ``/metrics``, OTLP/HTTP at ``/v1/traces``, ``/v1/logs`` and ``/v1/metrics``."""
    cfg = config or heron_config.get()
    store = store or open_store(cfg.DATABASE, cfg.TABLE_PREFIX,
                                read_url=cfg.DATABASE_READ_URL)
    app = Flask("heron.server")
    init_dashboard(app, store, cfg, experiment)  # its config: cookie, request size
    app.register_blueprint(api_blueprint())
    app.register_blueprint(otlp_blueprint())  # OpenTelemetry's OTLP/HTTP: /v1/traces, …

    @app.get("/")
    def root():  # type: ignore[no-untyped-def]
        return redirect(url_for("dashboard.dashboard_index"))

    @app.get("/favicon.ico")
    def favicon():  # type: ignore[no-untyped-def]
        return redirect(url_for("dashboard.static", filename="heron.svg"))

    app.add_url_rule("/metrics", "metrics", get_metrics, methods=["GET"])  # Prometheus

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify(status="ok")

    return app


@dataclass(frozen=True)
class FirstStart:
    """Credentials made at first start; each is shown once and then only stored hashed."""

    admin_password: str | None
    ingest_token: str | None


def prepare(store: Store, config: Config) -> FirstStart:
    """Create the default users and the ingest token when they do not exist yet, and store
    the alert rules of the configuration."""
    from heron.logs.alerts import sync_from_config

    sync_from_config(store, config)
    if store.dialect == "postgresql":
        from heron.store.partitions import ensure

        ensure(store, days=config.PARTITION_DAYS)
    return FirstStart(ensure_default_users(store, config), ensure_ingest_token(store, config))


def dashboard_url(config: Config, host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/{config.CUSTOM_LINK}"


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    """gunicorn, configured in code rather than from a gunicorn config file."""

    def __init__(self, factory: Callable[[], Flask], options: dict[str, Any]):
        self._factory = factory
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self._options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self._factory()


def load_experiment(spec: str) -> Any:
    """An Experiment from ``module:Class`` (``heron serve --experiment``)."""
    import importlib

    from heron.errors import ConfigError
    from heron.experiment.hooks import Experiment

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f"--experiment {spec!r}: use module:Class, e.g. myexp:Stroop")
    try:
        cls = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"--experiment {spec!r}: {exc}") from None
    if not (isinstance(cls, type) and issubclass(cls, Experiment)):
        raise ConfigError(f"--experiment {spec!r} is not a subclass of heron.Experiment")
    return cls()


def serve(config: Config, *, host: str, port: int, workers: int | None = None,
          threads: int | None = None, experiment: str | None = None,
          post_worker_init: Callable[[Any], None] | None = None) -> None:
    """Run the server in the foreground until SIGTERM or SIGINT."""
    bind_none_directly()  # a process of heron's own: ingest into SQLite binds fewer steps
    options: dict[str, Any] = {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers or config.WORKERS,
        "worker_class": "gthread",
        "threads": threads or config.THREADS,
        "graceful_timeout": 30,
        "timeout": 120,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "heron",
        "preload_app": False,
    }

    def worker_ready(worker: Any) -> None:
        _end_streams_on_sigterm(worker)
        _start_retention(worker, config)
        _start_alerts(worker, config)
        if post_worker_init is not None:
            post_worker_init(worker)

    options["post_worker_init"] = worker_ready
    _Gunicorn(lambda: create_app(
        config, experiment=load_experiment(experiment) if experiment else None), options).run()


def _end_streams_on_sigterm(worker: Any) -> None:
    """Chain onto gunicorn's SIGTERM handler: mark the app closing, so its event streams
    end now and the graceful shutdown does not wait for them."""
    import signal

    previous = signal.getsignal(signal.SIGTERM)
    heron_state = getattr(worker.wsgi, "extensions", {}).get("heron")

    def on_term(signum: int, frame: Any) -> None:
        if heron_state is not None:
            heron_state.closing.set()
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGTERM, on_term)


RETENTION_EVERY_S = 3600.0


def _start_retention(worker: Any, config: Config) -> None:
    """Keep the store's upkeep, now and every hour: on PostgreSQL, the time partitions of
    the next days, made by the server holding the ``partitions`` lease; then prune raw
    web-monitoring rows older than RETENTION_DAYS and log lines older than
    LOG_RETENTION_DAYS. On partitioned tables the cut-off moves back to a partition's
    start, so retention drops whole partitions and deletes no rows one by one.

    Every worker runs the pruning; deleting what another worker deleted already is
    harmless."""
    import threading
    import time

    from heron._internal import capture_internal_exceptions
    from heron.store import partitions
    from heron.store.queries.alerts import acquire_lease, lease_holder
    from heron.store.retention import prune

    heron_state = getattr(worker.wsgi, "extensions", {}).get("heron")
    if heron_state is None:
        return
    store = heron_state.store
    holder = lease_holder()

    def cut(kind: str, days: float) -> float:
        return partitions.boundary(store, kind, time.time() - days * 86400)

    def loop() -> None:
        while True:
            if store.dialect == "postgresql":
                with capture_internal_exceptions("making time partitions"):
                    if acquire_lease(store, "partitions", holder, RETENTION_EVERY_S * 1.5):
                        partitions.ensure(store, days=config.PARTITION_DAYS)
            with capture_internal_exceptions("pruning old data"):
                if config.RETENTION_DAYS:
                    prune(store, older_than=cut("request", config.RETENTION_DAYS))
                if config.LOG_RETENTION_DAYS:
                    prune(store, kinds=("log",),
                          older_than=cut("log", config.LOG_RETENTION_DAYS))
            if heron_state.closing.wait(RETENTION_EVERY_S):
                return

    threading.Thread(target=loop, name="heron-retention", daemon=True).start()


def _start_alerts(worker: Any, config: Config) -> None:
    """Run the alert engine in this worker; the database lease lets one worker (of all
    servers on the store) check the rules at a time."""
    from heron.logs.alerts import AlertEngine

    heron_state = getattr(worker.wsgi, "extensions", {}).get("heron")
    if heron_state is not None:
        AlertEngine(heron_state.store, config).run(heron_state.closing)
