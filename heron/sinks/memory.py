"""MemorySink: keeps events in a list. The seam tests fake at, instead of mocking."""

from __future__ import annotations

import threading

from heron.events import Event


class MemorySink:
    """Collect every written event in :attr:`events` (in write order)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._lock = threading.Lock()

    def write(self, events: list[Event]) -> None:
        with self._lock:
            self.events.extend(events)

    def close(self) -> None:
        pass
