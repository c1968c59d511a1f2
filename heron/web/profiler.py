"""The sampling profiler for level-3 requests: one thread per process samples the stacks
of the threads serving them every SAMPLING_PERIOD ms (never a thread per request, nor
per app: every bound app and middleware shares it).

A request's samples become a call tree with time per line of code, stored compactly: each
distinct code line once in ``lines``, the tree as nested ``[line index, samples, children]``.
"""

from __future__ import annotations

import linecache
import sys
import threading
from typing import Any

from heron.errors import ConfigError
from heron.web.ticker import Ticker

MAX_DEPTH = 128


def call_tree(samples: dict[tuple[tuple[str, int, str], ...], int], period_ms: float
              ) -> dict[str, Any]:
    """A request's samples (stack -> count) as ``{"period_ms", "samples", "lines": [...],
    "root": [-1, n, children]}``."""
    lines: list[dict[str, Any]] = []
    index: dict[tuple[str, int, str], int] = {}
    root: list[Any] = [-1, 0, []]
    for stack, count in samples.items():
        root[1] += count
        node = root
        for frame in stack:
            i = index.get(frame)
            if i is None:
                i = index[frame] = len(lines)
                filename, lineno, function = frame
                lines.append({"file": filename, "line": lineno, "function": function,
                              "code": linecache.getline(filename, lineno).strip()})
            for child in node[2]:
                if child[0] == i:
                    break
            else:
                child = [i, 0, []]
                node[2].append(child)
            child[1] += count
            node = child
    return {"period_ms": period_ms, "samples": root[1], "lines": lines, "root": root}


class Sampler:
    def __init__(self, period_ms: float):
        self.period_ms = check_period(period_ms)
        self._runs: dict[int, Any] = {}  # thread id -> the request it serves
        self._ticker = Ticker("heron-profiler", self.period_ms / 1000, self._tick)

    def attach(self, request: Any) -> None:
        """Sample ``request`` (a ``heron.web.monitor.Active``) until detached: the stack of
        its thread (``thread_id``) below its ``root_frame``, counted in its ``samples``.
        The request itself is the registration: nothing else is made per request."""
        self._runs[request.thread_id] = request
        if not self._ticker.running:
            self._ticker.start()

    def detach(self, request: Any) -> None:
        if self._runs.get(request.thread_id) is request:
            del self._runs[request.thread_id]

    def sample_every(self, period_ms: float) -> None:
        """Sample at least every ``period_ms`` (the shortest period any app asked for)."""
        if check_period(period_ms) < self.period_ms:
            self.set_period(period_ms)

    def set_period(self, period_ms: float) -> None:
        self.period_ms = check_period(period_ms)
        self._ticker.period_s = self.period_ms / 1000

    def _tick(self) -> None:
        if self._runs:
            self._sample()

    def _sample(self) -> None:
        # Functions of their own: the frames and runs looked at (and the requests they
        # hold) are let go on return, not kept through the sleep.
        frames = sys._current_frames()
        try:
            self._walk(frames)
        finally:
            frames.clear()  # it holds this thread's own frame: a cycle otherwise

    def _walk(self, frames: dict[int, Any]) -> None:
        for thread_id, request in list(self._runs.items()):
            root = request.root_frame
            if root is None:  # finished meanwhile
                continue
            frame = frames.get(thread_id)
            stack = []
            while frame is not None and frame is not root and len(stack) < MAX_DEPTH:
                stack.append((frame.f_code.co_filename,
                              frame.f_lineno or frame.f_code.co_firstlineno,
                              frame.f_code.co_name))
                frame = frame.f_back
            if frame is root and stack:
                key = tuple(reversed(stack))
                samples = request.samples
                if samples is None:
                    samples = request.samples = {}
                samples[key] = samples.get(key, 0) + 1


def check_period(period_ms: float) -> float:
    if period_ms < 1:
        raise ConfigError(f"SAMPLING_PERIOD={period_ms!r}: the profiler samples at most "
                          "every 1 ms; give 1 or more (milliseconds)")
    return float(period_ms)


_shared: Sampler | None = None
_shared_lock = threading.Lock()
_fresh = False  # after heron.shutdown(): the next app sets the period, not the shortest


def shared_sampler(period_ms: float) -> Sampler:
    """The process's one sampler, sampling at the shortest period asked for since the
    last :func:`heron.shutdown`."""
    global _shared, _fresh
    with _shared_lock:
        if _shared is None:
            _shared = Sampler(period_ms)
        elif _fresh:
            _shared.set_period(period_ms)
        else:
            _shared.sample_every(period_ms)
        _fresh = False
        return _shared


def forget_periods() -> None:
    """``heron.shutdown()``: the apps bound next ask for their period afresh (one sampler
    stays, so a process keeps one profiler thread)."""
    global _fresh
    with _shared_lock:
        _fresh = True
