"""The public functions behind ``heron.*``: thin calls into the config and the recorder."""

from __future__ import annotations

import logging
import sys
import threading
from typing import TYPE_CHECKING, Any

from heron import config as _config
from heron import emitting as _emitting
from heron._internal import logger
from heron.client import state as client_state
from heron.client.killswitch import KillSwitch
from heron.errors import ConfigError
from heron.recorder import Recorder
from heron.sinks import Sink

if TYPE_CHECKING:
    from heron.store import Store

_lock = threading.Lock()
_settings: dict[str, Any] | None = None
_store: Store | None = None
_store_key: tuple[str, str, str | None] | None = None


def init(url: str | None = None, token: str | None = None, app: str | None = None, *,
         sink: Sink | None = None, capture_logs: bool | int | str = False,
         **config: Any) -> Recorder:
    """Start recording for this process. Call once, early.

    Without a ``url``, events go to the local store named by ``DATABASE`` (SQLite by
    default); with one (or ``HERON_URL``) they go to that heron server through an
    :class:`~heron.sinks.http.HttpSink` that spools to disk whatever cannot be delivered
    yet. Calling it again with the same settings is harmless; with different settings it
    raises :class:`~heron.errors.ConfigError` (call :func:`shutdown` first to switch).

    :param url: address of a heron server (config ``URL``).
    :param token: the server's ingest token (config ``TOKEN``).
    :param app: id of the application or experiment (config ``APP``).
    :param sink: where events go, instead of the above (tests pass a ``MemorySink``).
    :param capture_logs: ship the process's log records too: True (INFO and above) or a
        level (``"DEBUG"``, ``30``); see :class:`heron.LogHandler`. Uncaught exceptions of
        the process and its threads are recorded in any case.
    :param config: any setting from ``docs/configuration.md``, e.g. ``database=...``.
    """
    global _settings
    settings = {k.upper(): v for k, v in config.items()}
    for key, value in (("URL", url), ("TOKEN", token), ("APP", app)):
        if value is not None:
            settings[key] = value
    identity = {**settings, "__sink__": id(sink) if sink is not None else None}
    with _lock:
        if _emitting.recorder is not None:
            if identity == _settings:
                _capture(capture_logs, _emitting.app)
                return _emitting.recorder
            raise ConfigError(
                "heron.init() was already called with other settings; call "
                "heron.shutdown() first to change them")
        cfg = _config.configure(**settings)
        _setup_logging(cfg)
        switch = KillSwitch(cfg.CLIENT_CONFIG_FILE, forced=cfg.DISABLE_ALL)
        client_state.install(switch)
        logger.info("heron kill switch: %s%s", switch.path,
                    " (disabled by HERON_DISABLE_ALL)" if cfg.DISABLE_ALL else "")
        if sink is None:
            if cfg.URL:
                from heron.sinks.http import HttpSink

                sink = HttpSink(cfg.URL, cfg.TOKEN, app=cfg.APP or "default",
                                spool_dir=cfg.SPOOL_DIR,
                                spool_max_bytes=int(cfg.SPOOL_MAX_MB * 2**20))
            elif _writer(cfg) == "process":
                from heron.sinks.process import ProcessSink

                sink = ProcessSink(_local_store(cfg))
            else:
                from heron.sinks.local import LocalSink

                sink = LocalSink(_local_store(cfg))
        _emitting.recorder = Recorder(sink, spool_dir=cfg.SPOOL_DIR)
        _settings = identity
        _emitting.app, _emitting.version = cfg.APP, cfg.APP_VERSION
        logger.info("heron recording for app %r to %s", cfg.APP or "default",
                    cfg.URL or "the local store")
        from heron.logs.handler import install_excepthooks

        install_excepthooks()
        _capture(capture_logs, cfg.APP)
        return _emitting.recorder


WRITERS = ("auto", "thread", "process")


def _writer(cfg: _config.Config) -> str:
    """WRITER, with ``auto`` read as ``thread`` (web monitoring asks for ``process``)."""
    writer = str(cfg.WRITER).lower()
    if writer not in WRITERS:
        raise ConfigError(f"WRITER={cfg.WRITER!r} ({cfg.source('WRITER')}): use one of "
                          f"{', '.join(WRITERS)}")
    return "thread" if writer == "auto" else writer


def init_for_web() -> Recorder:
    """``init()`` for a bound app or a web middleware: with WRITER ``auto``, events go
    to a writer process, so the app's request threads do not share their interpreter
    with the writer."""
    if _emitting.recorder is not None:
        return _emitting.recorder
    cfg = _config.get()
    _writer(cfg)  # a bad WRITER is said here, before anything starts
    if str(cfg.WRITER).lower() == "auto" and not cfg.URL:
        return init(writer="process")
    return init()


def _capture(level: bool | int | str, app: str | None) -> None:
    if level is not False:
        from heron.logs.handler import capture

        capture(level, app=app)


_print_handler: logging.Handler | None = None


def _setup_logging(cfg: _config.Config) -> None:
    """LOGGING_LEVEL and PRINT_LOGS for the ``heron`` logger; heron prints nothing else."""
    global _print_handler
    if cfg.source("LOGGING_LEVEL") != "default":
        logger.setLevel(cfg.LOGGING_LEVEL)
    if cfg.PRINT_LOGS and _print_handler is None:
        _print_handler = logging.StreamHandler(sys.stdout)
        _print_handler.setFormatter(logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(_print_handler)
    elif not cfg.PRINT_LOGS and _print_handler is not None:
        logger.removeHandler(_print_handler)
        _print_handler = None


def stats() -> dict[str, int]:
    """Counts since :func:`init`: emitted, sent, spooled, retried, dropped, buffered.

    ``spool_bytes`` is what waits on disk for the server. ``rejected`` counts events set
    aside because they cannot be stored as they are (refused by the server as invalid, or
    unwritable for a value: see :mod:`heron.setaside`); each is kept with its reason in
    ``rejected/`` under the spool folder. ``repaired`` counts events stored after lone
    surrogates in their text were replaced by U+FFFD.

    ``dropped`` counts every event heron lost (buffer or spool full), so nothing is
    claimed as recorded that was not.
    """
    recorder = _emitting.recorder
    if recorder is None:
        return {"emitted": 0, "sent": 0, "spooled": 0, "retried": 0, "dropped": 0,
                "rejected": 0, "repaired": 0, "buffered": 0, "written": 0, "spool_bytes": 0}
    r = recorder.stats
    out = {"emitted": recorder.emitted, "written": r.written, "dropped": r.dropped,
           "buffered": recorder.backlog(), "sent": r.written, "spooled": 0, "retried": 0,
           "rejected": recorder.dead_letters.rejected,
           "repaired": recorder.dead_letters.repaired, "spool_bytes": 0}
    delivery = getattr(recorder.sink, "stats", None)
    if delivery is not None:
        out.update(sent=delivery.sent, spooled=delivery.spooled, retried=delivery.retried,
                   rejected=recorder.dead_letters.rejected + delivery.rejected,
                   dropped=r.dropped + delivery.dropped,
                   spool_bytes=recorder.sink.pending_bytes())
    return out


def _local_store(cfg: _config.Config) -> Store:
    """The process's store on DATABASE, opened once and shared (recorder, dashboard)."""
    global _store, _store_key
    key = (cfg.DATABASE, cfg.TABLE_PREFIX, cfg.DATABASE_READ_URL)
    if _store is None or _store_key != key:
        from heron.store import open_store  # here: a process that only sends never needs it

        _store, _store_key = open_store(key[0], key[1], read_url=key[2]), key
    return _store


def local_store() -> Store:
    """The store on the configured DATABASE that this process records into and reads."""
    with _lock:
        return _local_store(_config.get())


def shutdown(timeout: float | None = 5.0) -> bool:
    """Flush, stop recording and release the sink. :func:`init` may be called again."""
    global _settings, _store
    with _lock:
        recorder, _emitting.recorder, _settings = _emitting.recorder, None, None
        _emitting.app = _emitting.version = None
    if recorder is not None:
        from heron.logs.handler import release, uninstall_excepthooks

        release()
        uninstall_excepthooks()
    flushed = True if recorder is None else recorder.close(timeout)
    _stop_web_threads()
    client_state.install(None)
    with _lock:
        store, _store = _store, None
    if store is not None:
        store.dispose()
    return flushed


def _stop_web_threads() -> None:
    """Web monitoring's shared threads and dashboard apps, if web monitoring was used."""
    ticker = sys.modules.get("heron.web.ticker")
    if ticker is not None:
        ticker.stop_all()
    mount = sys.modules.get("heron.web.mount")
    if mount is not None:
        mount.forget()
    profiler = sys.modules.get("heron.web.profiler")
    if profiler is not None:
        profiler.forget_periods()


def recorder() -> Recorder | None:
    """The running recorder, or None before :func:`init`."""
    return _emitting.recorder
