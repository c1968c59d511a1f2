"""Request monitoring shared by every integration (Flask, WSGI, ASGI).

The request thread only measures: it reads the clock (``perf_counter_ns``), looks up the
endpoint's level in a dict, and hands finished records to the recorder, whose one
background thread writes them in batches. Two more threads exist per process, and only
when needed: the outlier watcher (level ≥ 2) and the profiler's sampler (level 3).
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import threading
import time
import traceback
from typing import Any

from heron import api
from heron import config as heron_config
from heron import events as ev
from heron._internal import internal_error, logger
from heron.config import Config
from heron.web import sql
from heron.web.groupby import group_of
from heron.web.levels import LevelTable
from heron.web.outliers import OutlierDetector, OutlierWatch
from heron.web.profiler import Sampler
from heron.web.redact import Redactor
from heron.web.version import app_version

FINGERPRINT_FRAMES = 5


class Active:
    """One request being measured (slots: made for every request)."""

    __slots__ = ("started_ns", "environ", "_id", "ts", "endpoint", "level", "method",
                 "threshold_ms", "thread_id", "task", "root_frame", "done", "streamed",
                 "stack", "cpu_percent", "memory_bytes", "values", "sql", "sql_token",
                 "profile", "error")

    def __init__(self, started_ns: int, environ: Any, method: str = "GET"):
        self.started_ns = started_ns
        self.environ = environ
        self.method = method
        self._id: str | None = None  # made only when something links to the request
        self.ts = time.time()
        self.endpoint: str | None = None
        self.level = 0
        self.threshold_ms: float | None = None  # outlier threshold (level >= 2)
        self.thread_id = 0
        self.task: Any = None
        self.root_frame: Any = None
        self.done = False
        self.streamed = True     # unknown until the framework says
        self.stack = ""          # where it was when it crossed the outlier threshold
        self.cpu_percent: float | None = None
        self.memory_bytes: int | None = None
        self.values: dict[str, Any] = {}
        self.sql = [0, 0.0]
        self.sql_token: Any = None
        self.profile: Any = None
        self.error: BaseException | None = None

    @property
    def id(self) -> str:
        if self._id is None:
            self._id = ev.new_id(self.ts)
        return self._id

    def elapsed_ms(self) -> float:
        return (time.perf_counter_ns() - self.started_ns) / 1e6


class WebMonitor:
    """Records the requests of one application."""

    def __init__(self, app_id: str, config: Config | None = None):
        self.config = cfg = config or heron_config.get()
        self.app_id = app_id
        self.version = app_version(cfg.GIT, cfg.APP_VERSION)
        self.redactor = Redactor(cfg.REDACT)
        self.levels = LevelTable(app_id, cfg.MONITOR_LEVEL)
        self.detector = OutlierDetector(cfg.OUTLIER_DETECTION_CONSTANT, cfg.OUTLIER_MIN_MS)
        self.watch = OutlierWatch()
        self.sampler = Sampler(cfg.SAMPLING_PERIOD)
        self.body_bytes = cfg.OUTLIER_BODY_BYTES
        self._proxies = [ipaddress.ip_network(p, strict=False) for p in cfg.TRUSTED_PROXIES]
        sql.install()

    # -- the request's life ------------------------------------------------------------
    def start(self, environ: Any, method: str = "GET") -> Active:
        """The clock starts; the endpoint may not be known yet (Flask routes later)."""
        active = Active(time.perf_counter_ns(), environ, method)
        active.sql_token = sql.current.set(active)
        return active

    def route(self, active: Active, endpoint: str) -> None:
        """The endpoint is known: look up its level and arm the outlier watch/profiler."""
        try:
            level = self.levels.level(endpoint)
            active.endpoint, active.level = endpoint, level
            if level >= 2:
                threshold = self.detector.threshold(endpoint)
                if threshold is not None:
                    active.threshold_ms = threshold
                    active.thread_id = threading.get_ident()
                    loop = asyncio._get_running_loop()  # None outside asyncio, no exception
                    active.task = asyncio.current_task(loop) if loop is not None else None
                    remaining = threshold - active.elapsed_ms()
                    self.watch.arm(active, max(0.0, remaining) / 1000)
            if level >= 3 and active.root_frame is not None:
                active.profile = self.sampler.attach(threading.get_ident(), active.root_frame)
        except Exception as exc:  # noqa: BLE001 - never break the request
            internal_error("monitoring a request", exc)

    def exception(self, active: Active, error: BaseException) -> None:
        active.error = error

    def wants_values(self, active: Active) -> bool:
        """Whether the request is slow enough that its values should be kept now."""
        return (active.threshold_ms is not None and active.elapsed_ms() > active.threshold_ms)

    @staticmethod
    def current() -> Active | None:
        """The request being measured in this context (thread or task)."""
        return sql.current.get()  # type: ignore[no-any-return]

    def finish(self, active: Active, status: int) -> None:
        """The response is sent: record what the endpoint's level asks for."""
        duration_ms = (time.perf_counter_ns() - active.started_ns) / 1e6
        active.done = True
        if active.threshold_ms is not None:
            self.watch.disarm(active)
        if active.sql_token is not None:
            try:
                sql.current.reset(active.sql_token)
            except ValueError:  # finished in another context (a streamed response)
                sql.current.set(None)
        if active.profile is not None:
            self.sampler.detach(active.profile)
        if active.endpoint is None or active.level < 1:
            return
        try:
            self._record(active, status, duration_ms)
        except Exception as exc:  # noqa: BLE001 - never break the request
            internal_error("recording a request", exc)

    def _record(self, active: Active, status: int, duration_ms: float) -> None:
        endpoint = active.endpoint
        assert endpoint is not None
        environ = active.environ
        outlier = (active.level >= 2 and active.threshold_ms is not None
                   and duration_ms > active.threshold_ms)
        linked = (outlier or active.error is not None or active.profile is not None
                  or active._id is not None)  # a log line links to it
        group_by = heron_config.group_by
        sql_count, sql_ms = active.sql
        api.emit(ev.Request(
            id=active.id if linked else "", app=self.app_id, ts=active.ts, endpoint=endpoint,
            method=active.method, status=status, duration_ms=duration_ms,
            version=self.version, group_by=None if group_by is None else group_of(group_by),
            ip=self.client_ip(environ) if self._proxies else environ.get("REMOTE_ADDR"),
            sql_count=int(sql_count), sql_ms=sql_ms))
        if active.error is not None:
            api.emit(exception_event(self.app_id, endpoint, active.id, active.error))
        if active.level >= 2:
            if outlier:
                api.emit(ev.Outlier(
                    app=self.app_id, ts=active.ts, request_id=active.id, endpoint=endpoint,
                    duration_ms=duration_ms, stack=active.stack,
                    cpu_percent=active.cpu_percent, memory_bytes=active.memory_bytes,
                    request_values=active.values or self.query_values(environ),
                    headers=self.redactor.headers(environ) if isinstance(environ, dict) else {},
                    environ=self.redactor.environ(environ) if isinstance(environ, dict)
                    else {}))
            self.detector.observe(endpoint, duration_ms)
        if active.profile is not None:
            tree = active.profile.tree()
            if tree["samples"]:
                api.emit(ev.Profile(app=self.app_id, ts=active.ts, request_id=active.id,
                                    endpoint=endpoint, duration_ms=duration_ms, tree=tree))

    # -- helpers -----------------------------------------------------------------------
    def client_ip(self, environ: Any) -> str | None:
        remote = environ.get("REMOTE_ADDR")
        if not self._proxies:
            return remote  # type: ignore[no-any-return]
        forwarded = environ.get("HTTP_X_FORWARDED_FOR")
        if forwarded and remote and self._trusted(remote):
            return str(forwarded.split(",")[0].strip())[:64] or remote
        return remote

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self._proxies)

    def query_values(self, environ: Any) -> dict[str, Any]:
        from urllib.parse import parse_qs

        if not isinstance(environ, dict) or not environ.get("QUERY_STRING"):
            return {}
        return {"args": self.redactor.mapping(parse_qs(environ["QUERY_STRING"]))}

    def keep_values(self, active: Active, args: Any, form: Any, json_body: Any) -> None:
        """Keep a slow request's values (redacted, capped) while they can still be read."""
        values: dict[str, Any] = {}
        if args:
            values["args"] = self.redactor.mapping(args)
        if form:
            values["form"] = _capped(self.redactor.mapping(form), self.body_bytes)
        if json_body is not None:
            values["json"] = _capped(self.redactor.value(json_body), self.body_bytes)
        active.values = values


def _capped(value: Any, limit: int) -> Any:
    import msgspec

    encoded = msgspec.json.encode(value)
    if len(encoded) <= limit:
        return value
    return {"truncated": True, "bytes": len(encoded),
            "start": encoded[:limit].decode("utf-8", "replace")}


def fingerprint(error: BaseException) -> str:
    """Type and top frames (file and function: an edit that shifts lines keeps the group)."""
    frames = traceback.extract_tb(error.__traceback__)[-FINGERPRINT_FRAMES:]
    kind = f"{type(error).__module__}.{type(error).__qualname__}"
    text = kind + "|" + "|".join(f"{f.filename}:{f.name}" for f in frames)
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:32]


def exception_event(app_id: str, endpoint: str | None, request_id: str | None,
                    error: BaseException) -> ev.ExceptionRaised:
    stack = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return ev.ExceptionRaised(
        app=app_id, endpoint=endpoint, request_id=request_id,
        type=f"{type(error).__module__}.{type(error).__qualname__}".removeprefix("builtins."),
        message=str(error)[:10_000], stack=stack[-200_000:], fingerprint=fingerprint(error))


def log_bound(app_id: str, version: str | None) -> None:
    logger.info("heron: monitoring requests of %r (version %s)", app_id, version)

