"""The public functions behind ``heron.*``: thin calls into the config and the recorder."""

from __future__ import annotations

import threading
from typing import Any

from heron import config as _config
from heron._internal import capture_internal_exceptions, logger
from heron.errors import ConfigError
from heron.events import Event
from heron.recorder import Recorder
from heron.sinks import Sink
from heron.store import Store, open_store

_lock = threading.Lock()
_recorder: Recorder | None = None
_settings: dict[str, Any] | None = None
_store: Store | None = None
_store_key: tuple[str, str] | None = None


def init(app: str | None = None, *, sink: Sink | None = None, **config: Any) -> Recorder:
    """Start recording for this process. Call once, early.

    Events go to the local store named by ``DATABASE`` (SQLite by default) unless a
    ``sink`` is given. Calling it again with the same settings returns the running
    recorder; with different settings it raises :class:`~heron.errors.ConfigError`
    (call :func:`shutdown` first to switch).

    :param app: id of the application or experiment (config ``APP``).
    :param sink: where events go; default a :class:`~heron.sinks.local.LocalSink`.
    :param config: any setting from ``docs/configuration.md``, e.g. ``database=...``.
    """
    global _recorder, _settings
    settings = {k.upper(): v for k, v in config.items()}
    if app is not None:
        settings["APP"] = app
    identity = {**settings, "__sink__": id(sink) if sink is not None else None}
    with _lock:
        if _recorder is not None:
            if identity == _settings:
                return _recorder
            raise ConfigError(
                "heron.init() was already called with other settings; call "
                "heron.shutdown() first to change them")
        cfg = _config.configure(**settings)
        if sink is None:
            from heron.sinks.local import LocalSink

            sink = LocalSink(_local_store(cfg))
        _recorder = Recorder(sink)
        _settings = identity
        logger.info("heron recording for app %r", cfg.APP or "default")
        return _recorder


def _local_store(cfg: _config.Config) -> Store:
    """The process's store on DATABASE, opened once and shared (recorder, dashboard)."""
    global _store, _store_key
    key = (cfg.DATABASE, cfg.TABLE_PREFIX)
    if _store is None or _store_key != key:
        _store, _store_key = open_store(*key), key
    return _store


def local_store() -> Store:
    """The store on the configured DATABASE that this process records into and reads."""
    with _lock:
        return _local_store(_config.get())


def emit(event: Event) -> None:
    """Hand one event to the recorder. Never blocks and never raises.

    Before :func:`init`, events are dropped (and counted by nothing): heron does not
    record for a process that did not ask it to.
    """
    recorder = _recorder
    if recorder is None:
        return
    with capture_internal_exceptions("emit"):
        if event.app == "default":
            app = _config.get().APP
            if app:
                event.app = app
        recorder.emit(event)


def flush(timeout: float | None = 5.0) -> bool:
    """Wait up to ``timeout`` seconds until every event emitted so far is written.

    :returns: True when everything was written in time.
    """
    recorder = _recorder
    return True if recorder is None else recorder.flush(timeout)


def shutdown(timeout: float | None = 5.0) -> bool:
    """Flush, stop recording and release the sink. :func:`init` may be called again."""
    global _recorder, _settings, _store
    with _lock:
        recorder, _recorder, _settings = _recorder, None, None
    flushed = True if recorder is None else recorder.close(timeout)
    with _lock:
        store, _store = _store, None
    if store is not None:
        store.dispose()
    return flushed


def recorder() -> Recorder | None:
    """The running recorder, or None before :func:`init`."""
    return _recorder
