"""Run contexts: ``run()``, ``sub_run()``, ``current_run_id()``, ``ContextThread``.

The current run lives in a ``ContextVar``, so it follows the code that opened it:
asyncio tasks and ``contextvars.copy_context()`` inherit it, a new thread starts with no
run (as Mona's client does), ``ContextThread`` carries the opener's context into its thread,
and gevent greenlets keep their own context (greenlet gives each greenlet its own).

Unlike Mona, a ``run`` opened inside another run is a separate root run; the outer run is
current again when it closes. ``sub_run`` makes children with hierarchical ids
``<run id>.<sub id>.<sub id>…``.
"""

from __future__ import annotations

import contextvars
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from heron import emitting
from heron._internal import logger
from heron.client import state
from heron.client.values import clean_dimensions
from heron.errors import NoRunError
from heron.events import RunEnd, RunStart, new_id


@dataclass
class Run:
    """An open (or finished) run context."""

    id: str
    run_class: str
    parent_id: str | None = None
    dimensions: dict[str, Any] = field(default_factory=dict)
    start: float = 0.0
    end: float | None = None
    outcome: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    recorded: bool = True


_current: contextvars.ContextVar[Run | None] = contextvars.ContextVar("heron_run", default=None)


def current_run() -> Run | None:
    """The innermost open run or sub-run of this context, or None."""
    return _current.get()


def current_run_id() -> str | None:
    """The full id of the current run (``<run id>.<sub id>`` inside a sub-run), or None."""
    current = _current.get()
    return current.id if current is not None else None


def _check_class(run_class: Any) -> str:
    if not isinstance(run_class, str) or not run_class or len(run_class) > 500:
        raise TypeError(f"run_class must be a non-empty string of at most 500 characters, "
                        f"not {run_class!r}")
    return run_class


@contextmanager
def _open(run_obj: Run) -> Iterator[Run]:
    token = _current.set(run_obj)
    try:
        yield run_obj
    except BaseException as exc:
        run_obj.outcome = "error"
        run_obj.error_type = type(exc).__name__
        run_obj.error_message = str(exc)[:2000]
        raise
    else:
        run_obj.outcome = "ok"
    finally:
        _current.reset(token)
        run_obj.end = time.time()
        if run_obj.recorded:
            emitting.emit(RunEnd(run_id=run_obj.id, outcome=run_obj.outcome or "error",
                                 error_type=run_obj.error_type,
                                 error_message=run_obj.error_message, ts=run_obj.end))


@contextmanager
def run(run_class: str, **dimensions: Any) -> Iterator[Run]:
    """Open a run: a unit of work of class ``run_class`` with optional dimensions.

    The run ends when the block does, ok or with the exception that left it (which still
    propagates). Inside another run, this starts a separate root run.

    :param run_class: groups comparable runs (e.g. ``"classify"``).
    :param dimensions: strings, booleans and numbers describing this run. ``version``
        defaults to the app's ``APP_VERSION``.
    """
    _check_class(run_class)
    if state.disabled():
        # The kill switch is on: no context, nothing recorded, the block runs as usual.
        token = _current.set(None)
        try:
            yield Run(new_id(), run_class, recorded=False)
        finally:
            _current.reset(token)
        return
    dims = clean_dimensions(dimensions)
    if "version" not in dims and emitting.version is not None:
        dims["version"] = emitting.version  # so runs of two versions can be compared
    run_obj = Run(new_id(), run_class, None, dims, time.time())
    emitting.emit(RunStart(run_id=run_obj.id, run_class=run_class, dimensions=run_obj.dimensions,
                           ts=run_obj.start))
    with _open(run_obj) as opened:
        yield opened


@contextmanager
def sub_run(run_class: str, **dimensions: Any) -> Iterator[Run]:
    """Open a child context of the current run; sub-runs nest to any depth.

    Raises :class:`NoRunError` outside a run.
    """
    _check_class(run_class)
    parent = _current.get()
    if state.disabled():
        yield Run(new_id(), run_class, recorded=False)
        return
    if parent is None:
        raise NoRunError(f"sub_run({run_class!r}) needs an open run: call it inside "
                         "`with heron.run(...)`")
    if not parent.recorded:
        yield Run(new_id(), run_class, recorded=False)
        return
    sub_id = f"{parent.id}.{random.getrandbits(48):012x}"
    if len(sub_id) > 1000:
        logger.warning("heron: sub-runs nested deeper than run ids allow (%d characters); "
                       "this sub-run is not recorded", len(sub_id))
        yield Run(sub_id, run_class, parent.id, recorded=False)
        return
    run_obj = Run(sub_id, run_class, parent.id, clean_dimensions(dimensions), time.time())
    emitting.emit(RunStart(run_id=sub_id, run_class=run_class, parent_id=parent.id,
                           dimensions=run_obj.dimensions, ts=run_obj.start))
    with _open(run_obj) as opened:
        yield opened


class ContextThread(threading.Thread):
    """A thread that runs in a copy of the context of the code that created it.

    Use it where the work of a run continues on another thread; a plain
    ``threading.Thread`` starts with no run (Mona's ``MonaThread`` equivalent).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heron_context = contextvars.copy_context()

    def run(self) -> None:
        self._heron_context.run(super().run)
