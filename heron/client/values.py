"""Turn user dicts into metrics and dimensions, dropping what cannot be stored.

Numbers are metrics; strings, booleans, None and lists are dimensions; nested dicts
flatten to dotted keys. A field named ``HERON_…`` is reserved, and a value that is not
JSON-serialisable (an object, NaN) is dropped; each gets one warning per field name.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import msgspec

from heron._internal import inside_heron, logger

RESERVED = "HERON_"
_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def _warn_once(kind: str, name: str, message: str, *args: Any) -> None:
    key = (kind, name)
    if key in _warned:
        return
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    with inside_heron():
        logger.warning(message, *args)


def _json_ok(value: Any) -> bool:
    try:
        msgspec.json.encode(value)
    except (TypeError, OverflowError, msgspec.EncodeError):
        return False
    return True


def split(data: dict[str, Any], prefix: str, metrics: dict[str, float],
          dimensions: dict[str, Any]) -> None:
    """Flatten ``data`` into ``metrics`` and ``dimensions`` (in place).

    Written for speed: ``export()`` calls it in users' hot loops.
    """
    for key, value in data.items():
        name = prefix + key if prefix and type(key) is str else \
            (key if type(key) is str else f"{prefix}{key}")
        if name[:6] == RESERVED:
            _warn_once("reserved", name, "heron: field %r is dropped: names starting with "
                       "HERON_ are reserved", name)
            continue
        kind = type(value)
        if kind is float:
            if value - value == 0.0:  # finite: inf - inf and nan - nan are nan
                metrics[name] = value
            else:
                _warn_once("json", name, "heron: field %r is dropped: %r is not "
                           "JSON-serialisable", name, value)
        elif kind is str or kind is bool or value is None:
            dimensions[name] = value
        elif kind is int:
            metrics[name] = value
        elif kind is dict:
            split(value, name + ".", metrics, dimensions)
        else:
            _split_other(name, value, metrics, dimensions)


def _split_other(name: str, value: Any, metrics: dict[str, float],
                 dimensions: dict[str, Any]) -> None:
    """Subclasses and containers: the uncommon cases, kept off the fast path."""
    if isinstance(value, bool):
        dimensions[name] = bool(value)
    elif isinstance(value, int):
        metrics[name] = int(value)
    elif isinstance(value, float):
        if math.isfinite(value):
            metrics[name] = float(value)
        else:
            _warn_once("json", name, "heron: field %r is dropped: %r is not "
                       "JSON-serialisable", name, value)
    elif isinstance(value, str):
        dimensions[name] = str(value)
    elif isinstance(value, dict):
        split(value, name + ".", metrics, dimensions)
    elif isinstance(value, list | tuple) and _json_ok(value):
        dimensions[name] = list(value)
    else:
        _warn_once("json", name, "heron: field %r is dropped: a %s is not "
                   "JSON-serialisable", name, type(value).__name__)


def clean_dimensions(data: dict[str, Any]) -> dict[str, Any]:
    """Run dimensions: the same rules as export, numbers included as they are."""
    metrics: dict[str, float] = {}
    dimensions: dict[str, Any] = {}
    split(data, "", metrics, dimensions)
    return {**dimensions, **metrics}
