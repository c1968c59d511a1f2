"""Sinks: where the recorder's batches go.

A sink has ``write(events)``, which stores a batch or raises (the recorder keeps the batch
and retries), and ``close()``. ``LocalSink`` writes into a store in this process;
``MemorySink`` keeps events in a list for tests.
"""

from __future__ import annotations

from typing import Protocol

from heron.events import Event


class Sink(Protocol):
    def write(self, events: list[Event]) -> None: ...

    def close(self) -> None: ...


__all__ = ["Sink"]
