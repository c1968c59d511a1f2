"""The recorder: a bounded buffer between sources and a sink, drained by one thread.

``emit()`` is what every source calls on the hot path (the request thread, ``export()``):
it appends to a ``deque`` and returns. It never raises, and counts what it could not keep.
A background flusher takes batches by size or every ``interval`` seconds and hands them to
the sink; a batch the sink refuses is retried with backoff, never dropped while it fits in
memory.

A full buffer (``max_buffer`` events) drops new events, except in front of a sink that
*spools* (``sink.spools``: it puts every batch on disk at once, whether or not its server
answers, as the HTTP sink does). There the caller waits, up to :data:`ROOM_WAIT_S`, for
the flusher to move events to disk: a loop exporting faster than one thread can encode
and spool is slowed down instead of losing what it exports (measured: 1,000,000 exports in
a tight loop lost 1.5–6% of them to a full buffer).

``flush()`` puts a marker in the buffer and waits until the flusher has written everything
before it, so "flushed" means "what I emitted before this call is in the sink".

After ``fork()`` the child starts with an empty buffer and its own flusher (gunicorn and
multiprocessing fork after heron may already be running).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heron._internal import RateLimitedWarning, capture_internal_exceptions, inside_heron
from heron.events import Event, ensure_ids
from heron.setaside import DeadLetters, is_data_error, isolate, reason_of
from heron.sinks import Sink


class _FlushMarker:
    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


@dataclass
class RecorderStats:
    """Counts since the recorder started."""

    emitted: int = 0
    written: int = 0
    dropped: int = 0
    failed_writes: int = 0
    buffered: int = 0
    rejected: int = 0  #: set aside for their values (see heron.setaside)
    repaired: int = 0  #: written after lone surrogates were replaced


_recorders: weakref.WeakSet[Recorder] = weakref.WeakSet()

#: Events per batch, and seconds between batches that do not fill up, unless the sink or
#: the caller says otherwise.
BATCH_SIZE = 2_000
INTERVAL_S = 0.2
#: Longest a caller waits for room in a full buffer in front of a spooling sink.
ROOM_WAIT_S = 10.0

#: How each kind of ``put()`` tuple becomes an event, by the key in its first item.
MAKERS: dict[str, Callable[[tuple[Any, ...]], Event]] = {}
#: Kinds whose tuples can become the stored row directly (the writer process's fast path):
#: ``make(item, serial)`` returns the row, its id made by ``heron.events.id_at``.
ROW_MAKERS: dict[str, Callable[[Sequence[Any], int | None], tuple[Any, ...]]] = {}


def maker(key: str, make: Callable[[tuple[Any, ...]], Event],
          row: Callable[[Sequence[Any], int | None], tuple[Any, ...]] | None = None
          ) -> str:
    """Register ``make`` (a module-level function: it lives as long as the process) for
    ``put()`` tuples whose first item is ``key``; returns ``key``. ``row``, if given, makes
    the stored row without the event (requests: :mod:`heron.store.requests`)."""
    MAKERS[key] = make
    if row is not None:
        ROW_MAKERS[key] = row
    return key


class Recorder:
    """Buffer events for ``sink`` and write them from a background thread: ``emit(event)``,
    or ``put(item)`` for a tuple whose event (or stored row) is made later (see
    :func:`maker`; the request path's call, an attribute kept lean by ``_arm``).

    :param sink: where batches go.
    :param max_buffer: events held in memory at most; past it new events are dropped and
        counted (a sink with a disk spool takes them instead, see the HTTP sink).
    :param batch_size: events per write (default: the sink's ``batch_size``, else 2,000).
    :param interval: seconds between writes when batches do not fill up (default: the
        sink's ``interval``, else 0.2). A sink whose every batch has a fixed cost of its
        own asks for fewer, larger ones (heron's writer process, :mod:`heron.sinks.process`).
    :param spool_dir: the folder whose ``rejected/`` keeps events set aside (default: the
        HTTP sink's spool folder in the user cache).
    """

    def __init__(self, sink: Sink, *, max_buffer: int = 500_000, batch_size: int | None = None,
                 interval: float | None = None,
                 spool_dir: str | os.PathLike[str] | None = None):
        self.sink = sink
        self.dead_letters = DeadLetters(None if spool_dir is None else Path(spool_dir))
        self.max_buffer = max_buffer
        self.batch_size: int = batch_size or getattr(sink, "batch_size", BATCH_SIZE)
        self.interval: float = interval if interval is not None else \
            getattr(sink, "interval", INTERVAL_S)
        self._buffer: deque[Event | _FlushMarker | tuple[Any, ...]] = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._markers = 0
        self._taken = 0  # events the flusher has taken from the buffer
        #: Queue a finished request's tuple: the request path's one call (see _arm).
        self.put: Callable[[tuple[Any, ...]], None] = self._put
        self.stats = RecorderStats()
        self._drop_warning = RateLimitedWarning()
        self._retry_warning = RateLimitedWarning(60.0)  # a store that is down: once a minute
        self._idle = getattr(sink, "idle", None)
        self._waits_for_room = bool(getattr(sink, "spools", False))
        # a sink that makes the events itself (a writer process) gets put() tuples as they
        # are, and gives ids to what it is handed (they must be the same on a retry)
        self._raw = bool(getattr(sink, "takes_tuples", False))
        self._takes = 0  # batches the flusher has taken: its progress
        self._gave_up_at = -1  # _takes when a wait for room last timed out
        attach = getattr(sink, "attach", None)
        if attach is not None:
            attach(self)
        _recorders.add(self)
        has_work = getattr(sink, "has_work", None)
        if has_work is not None and has_work():  # e.g. a spool a dead process left
            self._start()

    # -- hot path ------------------------------------------------------------------------
    def emit(self, event: Event) -> None:
        """Queue ``event`` for the sink. Never blocks, never raises."""
        try:
            buffer = self._buffer
            if self._closed or len(buffer) >= self.max_buffer:
                if not self._room():
                    self._drop("recorder is closed" if self._closed else "buffer is full")
                    return
            buffer.append(event)
            if self._thread is None:
                self._start()
            elif len(buffer) >= self.batch_size and not self._wake.is_set():
                self._wake.set()  # Event.set() takes a lock: only when it changes anything
        except Exception:  # pragma: no cover - the contract: never raise into user code
            with capture_internal_exceptions("emit"):
                raise

    def _put(self, item: tuple[Any, ...]) -> None:
        """``put()`` when the fast one cannot take ``item``: before the flusher has
        started (the first item, or the first after a fork), when the buffer is full, or
        once the recorder is closed. Starts the flusher and arms the fast ``put()``."""
        buffer = self._buffer
        if (len(buffer) < self.max_buffer and not self._closed) or self._room():
            buffer.append(item)  # type: ignore[arg-type]
            if self._thread is None:
                self._start()
            if not self._closed:
                self._arm()
        else:
            self._drop("recorder is closed" if self._closed else "buffer is full")

    def _arm(self) -> None:
        """Make ``put()`` one length check and one append, over names of its own.

        ``put()`` takes a finished request as a tuple (the maker of its event, or its
        stored row, is found by ``item[0]``, see :func:`maker`), and every request of a
        monitored app calls it. As a method it read five attributes of the recorder and
        counted: in a running app, where the request's own work has pushed the recorder
        out of the CPU's caches, that cost 0.6 µs a request against 0.2 µs for the append
        alone (issue 16, measured in one process, burst against burst). The flusher is
        not woken (it drains every ``interval``); what was emitted is counted when taken
        (:attr:`emitted`). Closing and forking put the slow path back."""
        buffer = self._buffer
        append, room, slow = buffer.append, self.max_buffer, self._put

        def put(item: tuple[Any, ...]) -> None:
            if len(buffer) < room:
                append(item)
            else:
                slow(item)

        self.put = put

    def _room(self) -> bool:
        """The buffer is full (or the recorder closed): in front of a spooling sink, wait
        for the flusher to make room; True when there is room now."""
        if self._closed or not self._waits_for_room or self._gave_up_at == self._takes:
            return False  # (a wait timed out and the flusher has not moved since)
        thread = self._thread
        if thread is None or thread is threading.current_thread() or not thread.is_alive():
            return False  # nobody else can make room
        self._wake.set()
        deadline = time.monotonic() + ROOM_WAIT_S
        while len(self._buffer) >= self.max_buffer:
            if self._closed:
                return False
            if time.monotonic() > deadline:
                self._gave_up_at = self._takes
                return False
            time.sleep(0.001)  # lets the flusher have the GIL
        return True

    def _drop(self, why: str) -> None:
        self.stats.dropped += 1
        self._drop_warning.warn("heron dropped events: %s (%d dropped so far)", why,
                                self.stats.dropped)

    @property
    def emitted(self) -> int:
        """Events queued since the start (or the last fork): those the flusher has taken
        and those still waiting; counted there, not on the hot path."""
        return self._taken + max(0, len(self._buffer) - self._markers)

    def backlog(self) -> int:
        """Events waiting in memory."""
        return len(self._buffer)

    # -- flushing ------------------------------------------------------------------------
    def flush(self, timeout: float | None = 5.0) -> bool:
        """Wait until everything emitted before this call is written; False on timeout."""
        if not self._buffer and (self._thread is None or self._closed):
            return True
        if self._closed and (self._thread is None or not self._thread.is_alive()):
            return False  # closed with events left: nothing will write them now
        marker = _FlushMarker()
        with self._lock:
            self._markers += 1
        self._buffer.append(marker)
        if self._thread is None:
            self._start()
        self._wake.set()
        return marker.done.wait(timeout)

    def close(self, timeout: float | None = 5.0) -> bool:
        """Flush, stop the flusher and close the sink. Events emitted later are dropped."""
        if self._closed:
            return not self._buffer
        deadline = None if timeout is None else time.monotonic() + timeout
        flushed = self.flush(timeout)
        self._closed = True
        self.put = self._put  # which drops and counts from now on
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            # one timeout for the whole close: a process exits within it, store down or not
            thread.join(None if deadline is None else max(0.05, deadline - time.monotonic()))
        with capture_internal_exceptions("closing the sink"):
            self.sink.close()
        return flushed

    # -- flusher thread ------------------------------------------------------------------
    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="heron-recorder",
                                            daemon=True)
            self._thread.start()

    def _after_fork(self) -> None:
        # The parent's buffer is the parent's to write; the child starts clean.
        self._buffer = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread = None
        self._markers = 0
        self._taken = 0
        self.put = self._put  # the fast one holds the parent's buffer
        self.stats = RecorderStats()

    def _run(self) -> None:
        backoff = 0.0
        pending: list[Event] = []
        markers: list[_FlushMarker] = []
        while True:
            if not pending:
                # Batch by time: wait unless a full batch or a flush is waiting.
                if (len(self._buffer) < self.batch_size and not self._markers
                        and not self._closed):
                    self._wake.wait(self.interval)
                    self._wake.clear()
                    if self._idle is not None and not self._buffer:
                        with inside_heron(), capture_internal_exceptions("sink idle work"):
                            self._idle()
                if not self._buffer and self._closed:
                    return
                pending, markers = self._take()
            if not pending:
                for marker in markers:
                    marker.done.set()
                markers = []
                continue
            left = self._write(pending)
            if len(left) < len(pending):
                backoff = 0.0
            pending = left
            if not pending:
                for marker in markers:
                    marker.done.set()
                markers = []
            else:
                self.stats.failed_writes += 1
                backoff = min(5.0, backoff * 2 or 0.1)
                if self._closed:
                    return
                time.sleep(backoff)
            self.stats.buffered = len(self._buffer)
            self.stats.emitted = self.emitted

    def _take(self) -> tuple[list[Event], list[_FlushMarker]]:
        self._takes += 1
        batch: list[Event] = []
        markers: list[_FlushMarker] = []
        buffer = self._buffer
        # Far behind (a burst, a slow sink): bigger batches cost less per event.
        limit = self.batch_size * (10 if len(buffer) > self.batch_size * 20 else 1)
        if self._raw:
            # A sink that takes items as queued, and no flush waiting among them: pop them
            # in one comprehension, with no look at each (issue 16: the per-item loop was a
            # quarter of what level 1 cost the app's process). The length is read before
            # the marker count: flush() counts its marker before it appends it.
            n = min(len(buffer), limit)
            if n and not self._markers:
                popleft = buffer.popleft
                self._taken += n
                return [popleft() for _ in range(n)], []
        while buffer and len(batch) < limit:
            item = buffer.popleft()
            if isinstance(item, _FlushMarker):
                with self._lock:
                    self._markers -= 1
                markers.append(item)
                break  # write what came before the marker, then release it
            self._taken += 1
            # put(): made here, off the caller's path (a raw sink makes them itself)
            if item.__class__ is tuple and not self._raw:
                try:
                    item = MAKERS[item[0]](item)  # type: ignore[index]
                except Exception as exc:  # noqa: BLE001 - one bad item must not stop the rest
                    self._drop(f"an event could not be made: {exc!r}")
                    continue
            batch.append(item)
        return batch, markers

    def _write(self, batch: list[Event]) -> list[Event]:
        """Write ``batch``; return what is left to retry (the sink failed). Events the
        sink refuses for their values are repaired or set aside (:mod:`heron.setaside`),
        so they never hold back the rest."""
        with inside_heron():
            try:
                if not self._raw:
                    ensure_ids(batch)
                self.sink.write(batch)
                self.stats.written += len(batch)
                return []
            except Exception as exc:
                if not is_data_error(exc):
                    self._retry_warning.warn("heron could not write %d events (will retry): "
                                             "%s", len(batch), reason_of(exc))
                    return batch
                done = isolate(self.sink.write, batch, exc)
            for index, reason in done.set_aside:
                self.dead_letters.set_aside(batch[index], reason)
            self.dead_letters.note_repaired(done.repaired)
            self.stats.written += done.written
            self.stats.rejected = self.dead_letters.rejected
            self.stats.repaired = self.dead_letters.repaired
            if done.left:
                self._retry_warning.warn("heron could not write %d events (will retry)",
                                         len(done.left))
            return done.left


def _close_all() -> None:
    for recorder in list(_recorders):
        if recorder._closed:
            continue
        with capture_internal_exceptions("flushing at exit"):
            recorder.close(timeout=5.0)


def _reset_after_fork() -> None:
    for recorder in list(_recorders):
        recorder._after_fork()


atexit.register(_close_all)
os.register_at_fork(after_in_child=_reset_after_fork)
