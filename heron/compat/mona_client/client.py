"""mona-client's ``client`` module on heron's client API.

===============================================  ===========================================
mona-client                                      heron
===============================================  ===========================================
``init_client(mona_host, mona_port, user_id)``   ``heron.init(url, token, app)``
``MONA_HOST``, ``MONA_PORT``                     the heron server, ``http://HOST:PORT``
``MONA_USER_ID``                                 the app (``APP``)
(Mona's own credentials)                         the ingest token, ``HERON_TOKEN``
``new_mona_context(arc_class=…)``                ``heron.run(…)``
``new_mona_sub_context(arc_class=…)``            ``heron.sub_run(…)``
``export(message, export_timestamp)``            ``heron.export(…)``, ``MONA_*`` fields dropped
``get_full_context_id()``                        ``heron.current_run_id()``
``MONA_CLIENT_CONFIG_FILE``, ``disable_all``     ``CLIENT_CONFIG_FILE``, the kill switch
``MONA_DISABLE_ALL``                             ``DISABLE_ALL``
``MONA_LOGGING_LEVEL``, ``MONA_PRINT_LOGS``      the ``mona-logger`` logger's level, stdout
===============================================  ===========================================

As in Mona, the client never raises into the code it instruments: a context inside a
context keeps the outer one, and a sub-context outside any context is logged and opens
nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

import heron
from heron.client import state

#: mona-client's own logger: configure it as Mona's documentation says.
LOGGER_NAME = "mona-logger"
logger = logging.getLogger(LOGGER_NAME)

#: Field names Mona keeps for itself: exported fields with this prefix are discarded.
RESERVED_PREFIX = "MONA_"

_TRUE = {"1", "true", "yes", "on", "y", "t"}


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in _TRUE


class _ToMonaLogger(logging.Handler):
    """heron's own client messages (delivery, kill switch) to ``mona-logger``'s handlers
    too, so a Mona user's logging set-up sees them where it always did. Only its own
    handlers: the record already reaches the root logger through ``heron``."""

    def emit(self, record: logging.LogRecord) -> None:
        if not logger.isEnabledFor(record.levelno):
            return
        for handler in logger.handlers:
            if record.levelno >= handler.level:
                handler.handle(record)


def _set_up_logging() -> None:
    level = os.environ.get("MONA_LOGGING_LEVEL", "").strip()
    if level:
        logger.setLevel(int(level) if level.lstrip("-").isdigit() else level.upper())
    if _truthy("MONA_PRINT_LOGS") and not any(
            getattr(h, "_heron_mona", False) for h in logger.handlers):
        printer = logging.StreamHandler(sys.stdout)
        printer._heron_mona = True  # type: ignore[attr-defined]
        printer.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(printer)
    heron_logger = logging.getLogger("heron")
    if not any(isinstance(h, _ToMonaLogger) for h in heron_logger.handlers):
        heron_logger.addHandler(_ToMonaLogger())


def _server_url(host: str | None, port: int | str | None) -> str | None:
    if not host:
        return None
    base = host if "://" in host else f"http://{host}"
    return f"{base}:{port}" if port not in (None, "") else base


def init_client(mona_host: str | None = None, mona_port: int | str | None = None,
                user_id: str | None = None, *, host: str | None = None,
                port: int | str | None = None, queue_maxsize: int | None = None,
                queue_circular: bool | None = None, blocking: bool | None = None,
                **settings: Any) -> None:
    """Start recording; call once. Arguments not given come from ``MONA_HOST``,
    ``MONA_PORT`` and ``MONA_USER_ID``; without a host, events go to heron's local store
    (``DATABASE``) instead of a server. ``host``/``port`` are accepted for ``mona_host``/
    ``mona_port``. The queue arguments have no use here (heron's recorder never blocks and
    spools what it cannot send yet) and are accepted so calls run unchanged. Further
    keyword arguments are heron settings (``database=…``)."""
    del queue_maxsize, queue_circular, blocking
    _set_up_logging()
    host = mona_host or host or os.environ.get("MONA_HOST") or None
    port = mona_port or port or os.environ.get("MONA_PORT") or None
    user_id = user_id or os.environ.get("MONA_USER_ID") or None
    config_file = os.environ.get("MONA_CLIENT_CONFIG_FILE")
    if config_file:
        settings.setdefault("client_config_file", config_file)
    if _truthy("MONA_DISABLE_ALL"):
        settings.setdefault("disable_all", True)
    heron.init(url=_server_url(host, port), token=os.environ.get("HERON_TOKEN") or None,
               app=user_id, **settings)
    switch = state.switch()
    if switch is not None:
        logger.info("Mona client configuration file (disable_all): %s", switch.path)


@contextlib.contextmanager
def new_mona_context(arc_class: str | None = None, context_id: str = "",
                     export_timestamp: float | None = None, *,
                     ARC_class: str | None = None,  # noqa: N803 - the seed's spelling
                     **dimensions: Any) -> Iterator[str]:
    """A new context (ARC) of class ``arc_class`` (or ``ARC_class``): a heron run; yields
    its full id. Inside another context it keeps that context, as Mona does (and logs an
    error). ``context_id`` and ``export_timestamp`` of Mona's advanced API are not used:
    heron makes the id and stamps the start."""
    del context_id, export_timestamp
    if heron.current_run_id() is not None:
        logger.error("Tried to init inside a context manager. Keeping same context.")
        yield get_full_context_id()
        return
    with heron.run(arc_class or ARC_class or "default", **dimensions):
        yield get_full_context_id()


@contextlib.contextmanager
def new_mona_sub_context(arc_class: str | None = None, sub_context_id: str = "", *,
                         ARC_class: str | None = None,  # noqa: N803
                         **dimensions: Any) -> Iterator[str]:
    """A sub-context of the current context (a heron sub-run); yields its full id. Outside
    any context there is none to extend: it logs an error and yields ``""``, as Mona
    does, and what is exported inside belongs to no context."""
    del sub_context_id
    name = arc_class or ARC_class or "default"
    if heron.current_run_id() is None:
        logger.error("Tried to create subcontext before init")
        yield ""
        return
    with heron.sub_run(name, **dimensions):
        yield get_full_context_id()


def export(message: dict[str, Any], export_timestamp: float | None = None, *,
           timestamp: float | None = None) -> None:
    """Export ``message`` to the current context, at ``export_timestamp`` (or
    ``timestamp``; epoch seconds) when given; fields whose names start with ``MONA_`` are
    discarded, as Mona does."""
    if isinstance(message, dict):
        message = {k: v for k, v in message.items()
                   if not str(k).startswith(RESERVED_PREFIX)}
    heron.export(message, export_timestamp if export_timestamp is not None else timestamp)


def get_full_context_id() -> str:
    """The current context's full id (``<context>.<sub-context>``), ``""`` outside one."""
    return heron.current_run_id() or ""


__all__ = ["export", "get_full_context_id", "init_client", "new_mona_context",
           "new_mona_sub_context"]
