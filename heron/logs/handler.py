"""``heron.LogHandler``: log records become ``log`` events, tagged with where they came from.

A record is turned into an event on the caller's thread (the message is formatted there,
while its arguments are still what they were) and handed to the recorder, which never
blocks. The handler never raises into the caller. Records made while heron itself is
logging (its recorder thread, its warnings about delivery) are left out, so a failure to
deliver cannot produce more records to deliver.

A record that passes through several heron handlers (the process's, a session's) is
shipped once: the first one marks it.

Each event is tagged with the current run (``heron.run``), the current session
(``heron.session``) and the request being served (``heron.bind`` and the middlewares),
so the dashboard links a line to them.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from types import TracebackType
from typing import Any

from heron import emitting
from heron import events as ev
from heron._internal import in_heron, internal_error
from heron.client.context import current_run_id
from heron.web.sql import request_now  # the request being served, if any

#: Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName"}
_SHIPPED = "_heron_shipped"
_MARK_PREFIX = "heron_"  # heron's own marks (heron_note) are stored without the prefix
_local = threading.local()

#: The session the current code runs in, as (session id, app): set by ``heron.session``
#: in its thread (and the threads it starts), so a record is tagged with the session only
#: when the session's own code logged it, not because another thread of the process did.
current_session: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "heron_session", default=None)


def _jsonable(value: Any, depth: int = 0) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if depth < 4 and isinstance(value, dict):
        return {str(k): _jsonable(v, depth + 1) for k, v in value.items()}
    if depth < 4 and isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v, depth + 1) for v in value]
    try:
        return repr(value)[:2_000]
    except Exception:  # noqa: BLE001 - a broken __repr__ must not lose the line
        return f"<unrepresentable {type(value).__name__}>"


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # noqa: BLE001 - bad %-arguments: keep what was logged
        return f"{record.msg!s} (arguments that did not format: {record.args!r})"


def _request_id() -> str | None:
    active = request_now()
    return active.id if active is not None else None


def record_event(record: logging.LogRecord, *, app: str | None = None,
                 session_id: str | None = None) -> ev.Log:
    """The ``log`` event for one record."""
    exc_text = None
    if record.exc_info and record.exc_info[0] is not None:
        exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip()
    elif record.exc_text:
        exc_text = record.exc_text
    if record.stack_info:
        exc_text = f"{exc_text}\n{record.stack_info}" if exc_text else record.stack_info
    extra = {}
    for key, value in record.__dict__.items():
        if key not in _STANDARD and key != _SHIPPED:
            name = key[len(_MARK_PREFIX):] if key.startswith(_MARK_PREFIX) else key
            extra[name] = _jsonable(value)
    session = current_session.get()
    if session is not None and session_id is None:
        session_id, app = session
    return ev.Log(
        app=app or "default", ts=record.created, level=max(0, min(100, record.levelno)),
        logger=record.name[:500], message=_message(record), pathname=record.pathname,
        lineno=record.lineno, thread=record.threadName, process=record.process,
        exc_text=exc_text, extra=extra, run_id=current_run_id(),
        session_id=session_id, request_id=_request_id())


class LogHandler(logging.Handler):
    """A ``logging.Handler`` that ships records to heron as ``log`` events.

    ``logging.getLogger().addHandler(heron.LogHandler())`` after :func:`heron.init`, or let
    ``heron.init(capture_logs=True)`` attach one to the root logger.

    :param level: the least level shipped (default: everything the logger lets through).
    :param app: the app id to record under (default: config APP).
    :param session_id: tag every record with this session (otherwise: the session the
        logging code runs in, if any).
    """

    def __init__(self, level: int | str = logging.NOTSET, *, app: str | None = None,
                 session_id: str | None = None):
        super().__init__(level)
        self.app = app
        self.session_id = session_id

    def emit(self, record: logging.LogRecord) -> None:
        if in_heron() or getattr(_local, "busy", False) or getattr(record, _SHIPPED, False):
            return
        _local.busy = True
        try:
            record.__dict__[_SHIPPED] = True
            emitting.emit(record_event(record, app=self.app, session_id=self.session_id))
        except Exception as exc:  # noqa: BLE001 - never raise into the caller
            internal_error("shipping a log record", exc)
        finally:
            _local.busy = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        pass  # emit() reports its own failures; logging's default prints to stderr


# --------------------------------------------------------------- the process's capture
_capture_lock = threading.Lock()
_captured: tuple[LogHandler, int] | None = None  # (handler, root level before)


def capture(level: int | str | bool = logging.INFO, *, app: str | None = None) -> LogHandler:
    """Attach one :class:`LogHandler` to the root logger (again: change its level).

    The root logger's level is lowered to ``level`` when it is higher, or records below
    WARNING would never reach any handler.
    """
    global _captured
    number = _level(level)
    root = logging.getLogger()
    with _capture_lock:
        if _captured is None:
            handler = LogHandler(number, app=app)
            _captured = (handler, root.level)
            root.addHandler(handler)
        else:
            handler = _captured[0]
            handler.setLevel(number)
            handler.app = app or handler.app
        if root.level == logging.NOTSET or root.level > number:
            root.setLevel(number)
        return handler


def release() -> None:
    """Detach the handler :func:`capture` attached and restore the root logger's level."""
    global _captured
    with _capture_lock:
        if _captured is None:
            return
        handler, level = _captured
        _captured = None
        root = logging.getLogger()
        root.removeHandler(handler)
        root.setLevel(level)


def _level(level: int | str | bool) -> int:
    from heron.errors import ConfigError

    if level is True:
        return logging.INFO
    if isinstance(level, int) and not isinstance(level, bool) and 0 <= level <= 100:
        return level
    if isinstance(level, str):
        named = logging.getLevelName(level.strip().upper())
        if isinstance(named, int):
            return named
    raise ConfigError(f"capture_logs={level!r}: use True (INFO) or a level such as "
                      "'DEBUG', 'WARNING' or 20")


# ------------------------------------------------------------------ uncaught exceptions
_hooks: tuple[Callable[..., Any], ...] | None = None  # (previous sys, thread; ours)


def _record_uncaught(exc_type: type[BaseException], exc: BaseException | None,
                     tb: TracebackType | None, thread: threading.Thread | None) -> None:
    if exc_type is SystemExit or issubclass(exc_type, KeyboardInterrupt):
        return
    try:
        where = f" in thread {thread.name}" if thread is not None else ""
        record = logging.LogRecord("uncaught", logging.CRITICAL, "", 0,
                                   f"Uncaught {exc_type.__name__}{where}: {exc}", (),
                                   (exc_type, exc, tb))  # type: ignore[arg-type]
        if tb is not None:
            frame = traceback.extract_tb(tb)[-1]
            record.pathname, record.lineno = frame.filename, frame.lineno or 0
        if thread is not None:
            record.threadName = thread.name
        emitting.emit(record_event(record))
        emitting.flush(2.0)  # the process may be about to end
    except Exception as exc2:  # noqa: BLE001
        internal_error("recording an uncaught exception", exc2)


def install_excepthooks() -> None:
    """Record uncaught exceptions of the process and its threads as error logs, then hand
    them to the hooks that were there before (idempotent)."""
    global _hooks
    if _hooks is not None:
        return
    previous_sys, previous_thread = sys.excepthook, threading.excepthook

    def sys_hook(exc_type: type[BaseException], exc: BaseException,
                 tb: TracebackType | None) -> None:
        _record_uncaught(exc_type, exc, tb, None)
        previous_sys(exc_type, exc, tb)

    def thread_hook(args: threading.ExceptHookArgs) -> None:
        _record_uncaught(args.exc_type, args.exc_value, args.exc_traceback, args.thread)
        previous_thread(args)

    _hooks = (previous_sys, previous_thread, sys_hook, thread_hook)
    sys.excepthook = sys_hook
    threading.excepthook = thread_hook


def uninstall_excepthooks() -> None:
    """Put the previous hooks back, unless someone chained onto ours since."""
    global _hooks
    if _hooks is None:
        return
    previous_sys, previous_thread, ours_sys, ours_thread = _hooks
    if sys.excepthook is ours_sys:
        sys.excepthook = previous_sys
    if threading.excepthook is ours_thread:
        threading.excepthook = previous_thread
    _hooks = None
