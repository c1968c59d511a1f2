"""Outliers: requests much slower than their endpoint's recent average.

The average is exponentially weighted (a slow week long ago does not hide today's
outliers). One watcher thread per process wakes when a level-2 request crosses its
threshold and, while the request still runs, records where it is (its stack), the
process's CPU and memory: the request is caught in the act, as FMD does, without FMD's
thread per request.
"""

from __future__ import annotations

import sys
import time
import traceback
from typing import Any

import psutil

from heron._internal import capture_internal_exceptions
from heron.web.ticker import Ticker

MIN_REQUESTS = 20
ALPHA = 0.05  # weight of the newest request in the average (about the last 40 requests)


class OutlierDetector:
    def __init__(self, constant: float, floor_ms: float):
        self.constant = constant
        self.floor_ms = floor_ms
        self._stats: dict[str, list[float]] = {}  # endpoint -> [count, average]

    def threshold(self, endpoint: str) -> float | None:
        """Duration above which a request of ``endpoint`` is an outlier; None while the
        endpoint has fewer than MIN_REQUESTS requests."""
        stats = self._stats.get(endpoint)
        if stats is None or stats[0] < MIN_REQUESTS:
            return None
        return max(self.constant * stats[1], self.floor_ms)

    def observe(self, endpoint: str, duration_ms: float) -> None:
        stats = self._stats.setdefault(endpoint, [0, 0.0])
        stats[0] += 1
        if stats[0] <= MIN_REQUESTS:  # plain mean until there is enough to weigh
            stats[1] += (duration_ms - stats[1]) / stats[0]
        else:
            stats[1] += ALPHA * (duration_ms - stats[1])


class OutlierWatch:
    """One thread looking, every ``TICK_S``, at the level-2 requests still running, and
    catching those past their threshold. A request only joins and leaves a set: no lock,
    no wake-up per request (waking a thread per request costs more than the request)."""

    TICK_S = 0.005

    def __init__(self) -> None:
        self._running: dict[int, Any] = {}  # id(active) -> active (with its deadline_ns)
        self._ticker = Ticker("heron-outliers", self.TICK_S, self._tick)
        self._process = psutil.Process()

    def arm(self, active: Any) -> None:
        """Watch ``active`` until its ``deadline_ns`` (``perf_counter_ns`` time)."""
        self._running[id(active)] = active
        if not self._ticker.running:
            self._ticker.start()

    def disarm(self, active: Any) -> None:
        self._running.pop(id(active), None)

    def _tick(self) -> None:
        if self._running:
            self._catch()

    def _catch(self) -> None:
        # A function of its own: its locals (the last request looked at) go when it
        # returns, instead of keeping that request alive through the sleep.
        now = time.perf_counter_ns()
        for key, active in list(self._running.items()):
            if active.deadline_ns > now:
                continue
            self._running.pop(key, None)
            if not active.done:
                with capture_internal_exceptions("capturing an outlier"):
                    self.capture(active)

    def capture(self, active: Any) -> None:
        if active.task is not None:
            frames = active.task.get_stack(limit=64)
            stack = "".join(traceback.format_list(
                [(f.f_code.co_filename, f.f_lineno, f.f_code.co_name, None) for f in frames]))
        else:
            frame = sys._current_frames().get(active.thread_id)
            stack = _format_below(frame, active.root_frame)
        active.stack = stack
        active.cpu_percent = self._process.cpu_percent(interval=None)
        active.memory_bytes = int(self._process.memory_info().rss)


def _format_below(frame: Any, root: Any, limit: int = 64) -> str:
    """The stack from just below ``root`` (the middleware) to ``frame``: the app's own
    frames, not the server's."""
    frames = []
    while frame is not None and frame is not root and len(frames) < limit:
        frames.append(frame)
        frame = frame.f_back
    summary = traceback.StackSummary.extract(
        ((f, f.f_lineno) for f in reversed(frames)), lookup_lines=True)
    return "".join(summary.format())


#: The process's one watcher, shared by every app's monitor.
WATCH = OutlierWatch()
