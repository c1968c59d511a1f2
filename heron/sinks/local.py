"""LocalSink: batches go straight into a store in this process (the embedded default)."""

from __future__ import annotations

from heron.events import Event
from heron.store import Store


class LocalSink:
    """Write batches into ``store``; idempotent ingest makes a retried batch harmless."""

    def __init__(self, store: Store, *, owns_store: bool = False):
        self.store = store
        self._owns_store = owns_store

    def write(self, events: list[Event]) -> None:
        self.store.ingest(events)

    def close(self) -> None:
        if self._owns_store:
            self.store.dispose()
