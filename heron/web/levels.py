"""Each endpoint's monitor level, as set on the Rules page, kept in a dict per process.

The request path reads the dict only, or (a bound Flask app's views) a one-item list per
endpoint, its cell, which the table keeps equal to the endpoint's level. A new endpoint
starts at MONITOR_LEVEL and is registered in the store (an ``endpoint`` event); one
background thread per process re-reads the levels of every live table every ``REFRESH_S``
seconds — from the local store, or from the server's ``/api/v1/endpoints`` when recording
to a remote heron — so a change on the Rules page reaches every process within seconds.
Tables are held weakly: an app that is gone is no longer refreshed.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

from heron import api, emitting
from heron import events as ev
from heron._internal import capture_internal_exceptions, logger
from heron.web.ticker import Ticker

REFRESH_S = 5.0


class LevelTable:
    def __init__(self, app_id: str, default: int):
        self.app_id = app_id
        self.default = default
        self._levels: dict[str, int] = {}
        self._known: set[str] = set()
        self._cells: dict[str, list[int]] = {}
        self._lock = threading.Lock()

    def level(self, endpoint: str) -> int:
        level = self._levels.get(endpoint)
        if level is not None:
            return level
        if endpoint not in self._known:
            self.register([endpoint])
        return self.default

    def cell(self, endpoint: str) -> list[int]:
        """``[level]`` of ``endpoint``, kept current: the cheapest read a view can make."""
        cell = self._cells.get(endpoint)
        if cell is None:
            cell = self._cells[endpoint] = [self._levels.get(endpoint, self.default)]
            self.register([endpoint])
        return cell

    def register(self, endpoints: list[str]) -> None:
        """Make endpoints known to the store (at MONITOR_LEVEL unless already set)."""
        new = [e for e in endpoints if e not in self._known]
        if not new:
            return
        with self._lock:
            for endpoint in new:
                if endpoint in self._known:
                    continue
                self._known.add(endpoint)
                emitting.emit(ev.Endpoint(app=self.app_id, endpoint=endpoint,
                                          monitor_level=self.default))
        _tables.add(self)
        _refresher.start()

    def set_levels(self, levels: dict[str, int]) -> None:
        self._levels = levels = dict(levels)  # one assignment: readers see old or new
        for endpoint, cell in list(self._cells.items()):
            cell[0] = levels.get(endpoint, self.default)

    def refresh(self) -> None:
        levels = fetch_levels(self.app_id)
        if levels is not None:
            self.set_levels(levels)


_tables: weakref.WeakSet[LevelTable] = weakref.WeakSet()


def _refresh_all() -> None:
    """Read each app's levels once and give them to every table of that app."""
    if api.recorder() is None:
        return
    by_app: dict[str, list[LevelTable]] = {}
    for table in list(_tables):
        by_app.setdefault(table.app_id, []).append(table)
    for app_id, tables in by_app.items():
        with capture_internal_exceptions("reading monitor levels"):
            levels = fetch_levels(app_id)
            if levels is not None:
                for table in tables:
                    table.set_levels(levels)


_refresher = Ticker("heron-levels", REFRESH_S, _refresh_all, first_at_start=True)


def fetch_levels(app_id: str) -> dict[str, int] | None:
    """The stored levels of ``app_id``'s endpoints: local store or remote server."""
    recorder = api.recorder()
    sink: Any = getattr(recorder, "sink", None)
    store = getattr(sink, "store", None)  # recording into a local store
    if store is not None:
        from heron.store.queries.web import endpoint_levels

        return endpoint_levels(store, app_id)
    fetch = getattr(sink, "get_json", None)
    if fetch is None:
        return None
    try:
        body = fetch("/api/v1/endpoints", {"app": app_id})
    except Exception as exc:  # noqa: BLE001 - keep the last levels; say why once in a while
        logger.debug("heron: cannot read monitor levels from the server: %s", exc)
        return None
    return {e["endpoint"]: int(e["monitor_level"]) for e in body.get("endpoints", [])}
