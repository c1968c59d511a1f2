"""Request monitoring shared by every integration (Flask, WSGI, ASGI).

The request thread only measures: it reads the clock (``perf_counter_ns``), reads the
endpoint's level from a cell, and hands the finished request to the recorder as a plain
tuple. The recorder's one background thread turns tuples into ``request`` events and
writes them in batches, so building and validating the event costs the request nothing.
Three more threads exist per process, shared by every app and started when needed: the
levels refresher, the outlier watcher (level ≥ 2) and the profiler's sampler (level 3).
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
import threading
import time
import traceback
from collections.abc import Sequence
from time import perf_counter_ns
from typing import Any

from heron import config as heron_config
from heron import emitting
from heron import events as ev
from heron._internal import internal_error, logger
from heron.config import Config
from heron.recorder import maker
from heron.web import observe, sql
from heron.web.groupby import group_of
from heron.web.levels import LevelTable
from heron.web.outliers import WATCH, OutlierDetector
from heron.web.profiler import call_tree, shared_sampler
from heron.web.proxies import TrustedProxies
from heron.web.redact import Redactor
from heron.web.version import app_version

FINGERPRINT_FRAMES = 5
UNMATCHED = ev.UNMATCHED  # requests no route matched
_current_set = sql.current.set
_current_reset = sql.current.reset
_get_running_loop = asyncio._get_running_loop
_get_ident = threading.get_ident


class Active:
    """One request being measured, made for every request: only what every request needs
    is set here; the rest are class defaults, set on the instance when they happen."""

    # set when they happen (the class value is the default)
    endpoint: str | None = None
    level = 0
    status: int | str | None = None  # what start_response was given, parsed off the path
    error: BaseException | None = None
    sql: list[Any] | None = None   # [count, total ms], made by the first query
    _id: str | None = None  # made only when something links to the request
    # level >= 2, set when the outlier watch is armed
    threshold_ms: float | None = None
    deadline_ns = 0         # perf_counter_ns() at which it becomes an outlier
    thread_id = 0
    task: Any = None
    root_frame: Any = None  # the profiler and the outlier stack keep what runs below it
    done = False
    stack = ""              # where it was when it crossed the outlier threshold
    cpu_percent: float | None = None
    memory_bytes: int | None = None
    values: dict[str, Any] | None = None
    profiled = False        # level 3, served by a thread: the sampler looks at it
    samples: dict[tuple[Any, ...], int] | None = None  # the sampler's: stack -> count

    token: Any = None  # of sql.current, when set (a bound Flask app's requests: unset)

    def __init__(self, started_ns: int, environ: Any):
        self.started_ns = started_ns
        self.environ = environ
        self.ts = time.time()
        self.token = _current_set(self)

    @property
    def id(self) -> str:
        if self._id is None:
            self._id = ev.new_id(self.ts)
        return self._id


class ServedActive(Active):
    """A request of a bound Flask app: found through Flask's request context while it is
    served (:mod:`heron.web.flask`), so no context variable of heron's is set."""

    def __init__(self, started_ns: int, environ: Any):
        self.started_ns = started_ns
        self.environ = environ
        self.ts = time.time()


class Served:
    """A level-1 request of a bound Flask app while it is served, as SQL timing and log
    capture see it: a view of the list ``[ts, sql totals, id]`` the request path keeps
    (:mod:`heron.web.flask`). A list is one bytecode to make; an :class:`Active` has some
    twenty attributes for levels 2 and 3 that a level-1 request never needs (issue 16:
    each step of the request path costs several times its micro-benchmark there)."""

    __slots__ = ("cell", "__weakref__")

    def __init__(self, cell: list[Any]):
        self.cell = cell

    @property
    def ts(self) -> float:
        return float(self.cell[0])

    @property
    def sql(self) -> list[Any] | None:
        return self.cell[1]  # type: ignore[no-any-return]

    @sql.setter
    def sql(self, totals: list[Any]) -> None:
        self.cell[1] = totals

    @property
    def id(self) -> str:
        cell = self.cell
        if cell[2] is None:
            cell[2] = ev.new_id(cell[0])
        return cell[2]  # type: ignore[no-any-return]


def served_active(cell: list[Any], started_ns: int, environ: Any, endpoint: str
                  ) -> ServedActive:
    """A level-1 request's ``[ts, sql totals, id]`` as an :class:`Active` (it failed, or
    it streams its body)."""
    active = ServedActive(started_ns, environ)
    active.ts, active.sql, active._id = cell
    active.endpoint, active.level = endpoint, 1
    return active


class WebMonitor:
    """Records the requests of one application."""

    def __init__(self, app_id: str, config: Config | None = None):
        self.config = cfg = config or heron_config.get()
        self.app_id = app_id
        self.version = app_version(cfg.GIT, cfg.APP_VERSION)
        self.redactor = Redactor(cfg.REDACT)
        self.levels = LevelTable(app_id, cfg.MONITOR_LEVEL)
        self.detector = OutlierDetector(cfg.OUTLIER_DETECTION_CONSTANT, cfg.OUTLIER_MIN_MS)
        self.watch = WATCH
        self.sampler = shared_sampler(cfg.SAMPLING_PERIOD)
        self.body_bytes = cfg.OUTLIER_BODY_BYTES
        self._proxies = TrustedProxies(cfg.TRUSTED_PROXIES)
        self.behind_proxies = bool(self._proxies)  # read per request: no call
        sql.install()

    # -- the request's life ------------------------------------------------------------
    @staticmethod
    def start(environ: Any) -> Active:
        """The clock starts; the endpoint may not be known yet (Flask routes later)."""
        return Active(perf_counter_ns(), environ)

    def route(self, active: Active, endpoint: str) -> None:
        """The endpoint is known: look up its level and arm the outlier watch/profiler.
        The code below the caller's frame is what the profiler and outlier stack keep."""
        level = active.level = self.levels.level(endpoint)
        active.endpoint = endpoint
        if level >= 2:
            loop = _get_running_loop()  # None outside asyncio, no exception
            self.arm(active, level, sys._getframe(1),
                     asyncio.current_task(loop) if loop is not None else None)

    def arm(self, active: Active, level: int, root: Any, task: Any = None) -> None:
        """A level-2/3 request: watch for it crossing its outlier threshold; profile it.

        ``root`` is the caller's frame (what runs below it is kept); ``task`` the asyncio
        task serving the request, if any (a bound Flask app's requests never have one)."""
        try:
            active.root_frame = root
            active.thread_id = _get_ident()
            threshold = self.detector.threshold(active.endpoint)  # type: ignore[arg-type]
            if threshold is not None:
                active.threshold_ms = threshold
                active.deadline_ns = active.started_ns + int(threshold * 1e6)
                if task is not None:
                    active.task = task
                self.watch.arm(active)
            if level >= 3 and task is None:  # sampling follows a thread, not a task
                active.profiled = True
                self.sampler.attach(active)
        except Exception as exc:  # noqa: BLE001 - never break the request
            internal_error("monitoring a request", exc)

    @staticmethod
    def wants_values(active: Active) -> bool:
        """Whether the request is slow enough that its values should be kept now."""
        deadline = active.deadline_ns  # 0 while the endpoint has no threshold
        return deadline > 0 and perf_counter_ns() > deadline

    def finish(self, active: Active, status: int | str | None = None) -> None:
        """The response is sent: hand the request to the recorder as a tuple (the event is
        made on the recorder's thread)."""
        duration_ns = perf_counter_ns() - active.started_ns
        token = active.token
        if token is not None:
            try:
                _current_reset(token)
            except ValueError:  # finished in another context (a streamed response)
                sql.current.set(None)
        if status is not None:
            active.status = status
        if active.level < 1 or active.endpoint is None:
            if active.root_frame is not None:
                self._disarm(active)
            return
        try:
            if active.level >= 2 or active.error is not None:
                self._record_more(active, duration_ns / 1e6)
        except Exception as exc:  # noqa: BLE001 - never break the request
            internal_error("recording a request", exc)
        self.record(active.endpoint, active.environ, active.status, duration_ns, active.ts,
                    active.sql, active._id)

    def record(self, endpoint: str, environ: Any, status: int | str | None,
               duration_ns: int, ts: float, sql_totals: list[Any] | None,
               request_id: str | None) -> None:
        """Hand a finished request to the recorder as a tuple (the event, or the stored
        row, is made off the request's thread)."""
        try:
            if observe.observer is not None:  # a test run of heron's pytest plugin
                observe.observer(self.app_id, endpoint, self.version)
            group_by = heron_config.group_by
            recorder = emitting.recorder
            if recorder is not None:
                recorder.put((REQUEST, self.app_id, self.version, endpoint,
                              environ.get("REQUEST_METHOD", "GET"), status, duration_ns, ts,
                              self.client_ip(environ) if self.behind_proxies
                              else environ.get("REMOTE_ADDR"),
                              sql_totals, request_id,
                              None if group_by is None else group_of(group_by)))
        except Exception as exc:  # noqa: BLE001 - never break the request
            internal_error("recording a request", exc)

    def _disarm(self, active: Active) -> None:
        active.done = True
        if active.threshold_ms is not None:
            self.watch.disarm(active)
        if active.profiled:
            self.sampler.detach(active)
        # the frame holds the request (a cycle): let go while the frame is still running,
        # so both are freed on return instead of waiting for the garbage collector
        active.root_frame = None

    def _record_more(self, active: Active, duration_ms: float) -> None:
        """What a request adds beyond its record: exception, outlier, profile."""
        self._disarm(active)
        endpoint = active.endpoint
        assert endpoint is not None
        environ = active.environ
        if active.error is not None:
            emitting.emit(exception_event(self.app_id, endpoint, active.id, active.error))
        if active.level >= 2 and active.threshold_ms is not None \
                and duration_ms > active.threshold_ms:
            emitting.emit(ev.Outlier(
                app=self.app_id, ts=active.ts, request_id=active.id, endpoint=endpoint,
                duration_ms=duration_ms, stack=active.stack,
                cpu_percent=active.cpu_percent, memory_bytes=active.memory_bytes,
                request_values=active.values or self.query_values(environ),
                headers=self.redactor.headers(environ) if isinstance(environ, dict) else {},
                environ=self.redactor.environ(environ) if isinstance(environ, dict)
                else {}))
        if active.level >= 2:
            self.detector.observe(endpoint, duration_ms)
        if active.samples:
            tree = call_tree(active.samples, self.sampler.period_ms)
            if tree["samples"]:
                emitting.emit(ev.Profile(app=self.app_id, ts=active.ts, request_id=active.id,
                                         endpoint=endpoint, duration_ms=duration_ms, tree=tree))

    # -- helpers -----------------------------------------------------------------------
    def client_ip(self, environ: Any) -> str | None:
        return self._proxies.client_ip(environ)

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


class TimedBody:
    """A streamed response body that finishes its request once: after its last chunk,
    when the server closes it (PEP 3333), or when it is collected unread (Werkzeug's test
    client neither reads nor closes a body the test does not ask for), whichever comes
    first. An exception while it is read is the request's error."""

    __slots__ = ("_body", "_finish", "_active")

    def __init__(self, body: Any, finish: Any, active: Active):
        self._body = body
        self._finish = finish
        self._active = active

    def __iter__(self) -> Any:
        try:
            yield from self._body
        except GeneratorExit:  # closed or dropped before its end: not the app's error
            raise
        except BaseException as exc:
            self._active.error = exc
            raise
        self._done()

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done()

    def __del__(self) -> None:
        self._done()

    def _done(self) -> None:
        finish, self._finish = self._finish, None
        if finish is not None:
            try:
                finish()
            except Exception as exc:  # noqa: BLE001 - never break the response
                internal_error("recording a streamed request", exc)


def _request_row(item: Sequence[Any], serial: int | None) -> tuple[Any, ...]:
    """The stored row of a finished request's tuple (:mod:`heron.store.requests`), made
    in the writer process; ``serial`` makes its id unless the request has one already
    (``None``: left empty, for ``ensure_ids``)."""
    (_, app, version, endpoint, method, status, duration_ns, ts, ip, sql_totals, request_id,
     group) = item
    if status.__class__ is not int or not 0 <= status <= 999:
        try:
            status = int(status[:3])
        except (TypeError, ValueError):  # no start_response, or a status that is not
            status = 500
        status = status if 0 <= status <= 999 else 500
    if sql_totals is None:
        sql_count, sql_ms = 0, 0.0
    else:
        sql_count, sql_ms = int(sql_totals[0]), sql_totals[1]
    if not request_id and serial is not None:
        request_id = ev.id_at(ts, serial)
    return (request_id or "", app, ts, endpoint,
            method if method.__class__ is str and len(method) <= 16 else str(method)[:16],
            status, duration_ns / 1e6, version, None if group is None else group[:500],
            None if ip is None else ip if ip.__class__ is str and len(ip) <= 64
            else str(ip)[:64], sql_count, sql_ms)


def _request_event(item: tuple[Any, ...]) -> ev.Request:
    """The ``request`` event of a finished request's tuple (on the recorder's thread, for a
    sink that takes events)."""
    row = _request_row(item, None)
    return ev.Request(**dict(zip(ev.Request.__struct_fields__, row, strict=True)))


REQUEST = maker("web.request", _request_event, _request_row)


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

