"""heron's own safety net: errors inside heron are logged, never raised into user code.

``capture_internal_exceptions()`` wraps every place where heron runs on the user's behalf
(emit, the flusher, web hooks). Tests set :data:`RAISE_HOOK` to collect what was swallowed
and fail the test that caused it, so swallowing never hides a bug.

``inside_heron()`` marks the current thread as running heron's own code; heron's log
handler ignores records made there, so logging about a failure cannot feed on itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger("heron")

#: Called with every exception heron swallows (tests collect them); None in production.
RAISE_HOOK: Callable[[BaseException], None] | None = None

_local = threading.local()


def in_heron() -> bool:
    """True while the current thread runs heron's own code."""
    return getattr(_local, "depth", 0) > 0


@contextmanager
def inside_heron() -> Iterator[None]:
    _local.depth = getattr(_local, "depth", 0) + 1
    try:
        yield
    finally:
        _local.depth -= 1


@contextmanager
def capture_internal_exceptions(what: str) -> Iterator[None]:
    """Log and swallow any exception raised in the block; ``what`` names the operation."""
    try:
        yield
    except Exception as exc:
        internal_error(what, exc)


def internal_error(what: str, exc: Exception) -> None:
    """What :func:`capture_internal_exceptions` does with an exception, for hot paths that
    use a plain ``try``/``except`` (a context manager costs a microsecond per request)."""
    with inside_heron():
        logger.error("heron: %s failed", what, exc_info=exc)
    if RAISE_HOOK is not None:
        RAISE_HOOK(exc)


class RateLimitedWarning:
    """Log a warning at most once per ``interval`` seconds, counting what was held back."""

    def __init__(self, interval: float = 30.0):
        self.interval = interval
        self._last = 0.0
        self._held = 0
        self._lock = threading.Lock()

    def warn(self, message: str, *args: object) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last < self.interval:
                self._held += 1
                return
            held, self._held, self._last = self._held, 0, now
        with inside_heron():
            suffix = f" ({held} similar warnings held back)" if held else ""
            logger.warning(message + suffix, *args)


def lazy_names(namespace: dict[str, Any], names: dict[str, str]
               ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for ``names`` (name -> the module that
    defines it), imported when first used: a process that only sends never loads Flask,
    SQLAlchemy or the dashboard (issue 23)."""
    def __getattr__(name: str) -> Any:  # noqa: N807 - a module's own hook
        if name in names:
            import importlib

            value = getattr(importlib.import_module(names[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}")

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
