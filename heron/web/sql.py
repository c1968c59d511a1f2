"""Time spent in SQL per request, from SQLAlchemy's engine events.

Listeners are installed once on SQLAlchemy's ``Engine`` class, so every engine the app
creates (before or after ``bind``) is measured. They only count while a monitored request
is running in the current context (``current`` holds the request being measured; its
``sql`` is ``[count, total_ms]``).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from typing import Any

#: The request being measured in this context (a ``heron.web.monitor.Active``), if any.
current: contextvars.ContextVar[Any] = contextvars.ContextVar("heron_request", default=None)
#: Other ways to find it when ``current`` holds none: a bound Flask app's request is found
#: through Flask's own request context (:mod:`heron.web.flask`), which spares every
#: request setting and resetting a context variable of heron's (issue 16).
finders: list[Callable[[], Any]] = []


def request_now() -> Any:
    """The request being served in this context (an ``Active``), or None."""
    active = current.get()
    if active is None:
        for find in finders:
            active = find()
            if active is not None:
                return active
    return active
_installed: list[bool] = []
_KEY = "heron_sql_started"


def install() -> None:
    if _installed:
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    event.listen(Engine, "before_cursor_execute", _before)
    event.listen(Engine, "after_cursor_execute", _after)
    _installed.append(True)


def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
            executemany: bool) -> None:
    if request_now() is not None:
        conn.info.setdefault(_KEY, []).append(time.perf_counter_ns())


def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
           executemany: bool) -> None:
    active = request_now()
    started = conn.info.get(_KEY)
    if active is None or not started:
        return
    totals = active.sql
    if totals is None:
        totals = active.sql = [0, 0.0]
    totals[0] += 1
    totals[1] += (time.perf_counter_ns() - started.pop()) / 1e6
