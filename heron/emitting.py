"""The emit path: the process's recorder, and the app and version events default to.

It sits below everything that emits (the public API, run contexts, the log handler, web
monitoring, sessions), so each of them imports it and it imports none of them:
:func:`heron.init` fills it in, :func:`heron.shutdown` empties it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from heron._internal import capture_internal_exceptions

if TYPE_CHECKING:
    from heron.events import Event
    from heron.recorder import Recorder

#: The running recorder; None before ``heron.init()`` and after ``heron.shutdown()``.
recorder: Recorder | None = None
#: Config APP, cached: emit() is on hot paths.
app: str | None = None
#: Config APP_VERSION, recorded with every run.
version: str | None = None


def emit(event: Event) -> None:
    """Hand one event to the recorder. Never blocks and never raises.

    Before :func:`heron.init`, events are dropped: heron does not record for a process
    that did not ask it to.
    """
    current = recorder
    if current is None:
        return
    try:
        if event.app == "default" and app is not None:
            event.app = app
        current.emit(event)
    except Exception:  # the contract: never raise into user code
        with capture_internal_exceptions("emit"):
            raise


def flush(timeout: float | None = 5.0) -> bool:
    """Wait up to ``timeout`` seconds until every event emitted so far is written.

    :returns: True when everything was written in time.
    """
    current = recorder
    return True if current is None else current.flush(timeout)
