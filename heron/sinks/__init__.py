"""Sinks: where the recorder's batches go.

A sink has ``write(events)``, which stores a batch or raises (the recorder keeps the batch
and retries), and ``close()``. ``LocalSink`` writes into a store in this process;
``MemorySink`` keeps events in a list for tests.

Optional, looked up by the recorder: ``attach(recorder)`` (called once, to see its
backlog), ``idle()`` (called when there is nothing to write), and ``spools = True`` for a
sink that puts every batch on disk at once, whatever its server does (``HttpSink``): in
front of it a full buffer makes callers wait for room instead of dropping.
``has_work()``: True when the sink has something to do before anything is emitted (a
spool left by a dead process): the recorder starts its thread at once.
``takes_tuples = True``: the sink is handed ``put()`` tuples as they are, and events
without ids (``ProcessSink``: its writer process makes the events and their ids).
"""

from __future__ import annotations

from typing import Protocol

from heron.events import Event


class Sink(Protocol):
    def write(self, events: list[Event]) -> None: ...

    def close(self) -> None: ...


__all__ = ["Sink"]
