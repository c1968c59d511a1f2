"""A background thread per process that calls one function on a timer.

Web monitoring needs three such threads (monitor levels, outlier watch, profiler), each
shared by every bound app and middleware of the process: a test suite that makes an app
per test must not leave a thread per app behind. Each is started when first needed and
stopped by ``heron.shutdown()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from heron._internal import capture_internal_exceptions

_all: list[Ticker] = []


class Ticker:
    def __init__(self, name: str, period_s: float, tick: Callable[[], None], *,
                 first_at_start: bool = False):
        self.name = name
        self.period_s = period_s  #: read at every turn, so it can be changed while running
        self._tick = tick
        self._first = first_at_start
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        _all.append(self)

    def start(self) -> None:
        """Start the thread unless it runs."""
        if self._thread is not None:
            return
        with self._lock:
            if self._thread is None:
                self._stop = threading.Event()
                thread = threading.Thread(target=self._run, args=(self._stop,),
                                          name=self.name, daemon=True)
                thread.start()
                self._thread = thread

    def stop(self, timeout: float = 2.0) -> None:
        with self._lock:
            thread, self._thread = self._thread, None
            self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def _run(self, stop: threading.Event) -> None:
        if self._first:
            with capture_internal_exceptions(f"{self.name} tick"):
                self._tick()
        while not stop.wait(self.period_s):
            with capture_internal_exceptions(f"{self.name} tick"):
                self._tick()


def stop_all(timeout: float = 2.0) -> None:
    """Stop every ticker (``heron.shutdown()``); each starts again when next needed."""
    for ticker in list(_all):
        ticker.stop(timeout)
