"""``export(data, timestamp=None)``: record metrics and dimensions in the current run."""

from __future__ import annotations

import math
import time
from typing import Any

from heron import emitting
from heron._internal import capture_internal_exceptions
from heron.client import state
from heron.client.context import _current
from heron.client.values import _warn_once, split
from heron.events import Export


def export(data: dict[str, Any], timestamp: float | None = None) -> None:
    """Record ``data`` in the current run (or in no run, outside one).

    Numbers are metrics; strings and booleans are dimensions; nested dicts flatten to
    dotted keys (``{"model": {"name": "v2"}}`` → ``model.name``). ``timestamp`` (epoch
    seconds) sets the time of the export, for backfilling history. Never raises: fields
    that cannot be stored are dropped with a warning naming them.
    """
    switch = state._switch
    if switch is not None and switch.disabled():
        return
    try:
        if not isinstance(data, dict):
            _warn_once("type", type(data).__name__, "heron.export() takes a dict, not a %s; "
                       "nothing recorded", type(data).__name__)
            return
        metrics: dict[str, float] = {}
        dimensions: dict[str, Any] = {}
        split(data, "", metrics, dimensions)
        ts = time.time() if timestamp is None else _timestamp(timestamp)
        recorder = emitting.recorder
        if recorder is None:
            return
        current = _current.get()
        recorder.emit(Export(app=emitting.app or "default",
                             run_id=current.id if current is not None and current.recorded
                             else None, metrics=metrics, dimensions=dimensions, ts=ts))
    except Exception:  # the contract: export never raises into user code
        with capture_internal_exceptions("export"):
            raise


def _timestamp(value: Any) -> float:
    try:
        ts = float(value)
    except (TypeError, ValueError):
        ts = -1.0
    if not math.isfinite(ts) or ts < 0:
        _warn_once("timestamp", repr(value), "heron.export(): timestamp %r is not a time in "
                   "epoch seconds; using now", value)
        return time.time()
    return ts
