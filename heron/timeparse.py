"""Times typed by people: ``10m`` ago, ``2026-11-23T10:00``, or epoch seconds."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d|w)\s*$", re.I)
_UNIT = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(value: str | float | int, *, now: float | None = None) -> float:
    """Epoch seconds for a time given as a duration ago, an ISO 8601 time or epoch seconds.

    ``10m`` is ten minutes before ``now``; an ISO time without a zone is read as UTC.
    Raises ValueError saying which forms are accepted.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _in_range(float(value), value)
    text = str(value).strip()
    match = _RELATIVE.match(text)
    if match:
        amount, unit = float(match.group(1)), match.group(2).lower()
        return _in_range((time.time() if now is None else now) - amount * _UNIT[unit], text)
    try:
        return _in_range(float(text), text)
    except ValueError as exc:
        if "out of range" in str(exc):
            raise
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use a duration ago (30s, 10m, 2h, 7d), an ISO 8601 "
            "time (2026-11-23T10:00:00Z) or epoch seconds") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


#: Latest time heron reads (the year 3000), as events' timestamps allow.
LATEST = 32503680000.0


def _in_range(seconds: float, given: object) -> float:
    """Epoch seconds clamped to 1970–3000 (``since 100000d`` is "since the start"); a value
    that is not a number of seconds at all (inf, nan) is an error."""
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        raise ValueError(f"{str(given)[:40]!r} is out of range: give a time between 1970 "
                         "and 3000")
    return min(max(seconds, 0.0), LATEST)


def parse_duration(value: str | float | int) -> float:
    """Seconds in a duration typed by people: ``30s``, ``10m``, ``2h``, ``1d`` or a number
    of seconds. Raises ValueError saying which forms are accepted."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip()
        match = _RELATIVE.match(text)
        if match:
            seconds = float(match.group(1)) * _UNIT[match.group(2).lower()]
        else:
            try:
                seconds = float(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a duration: use 30s, 10m, 2h, 1d or a "
                                 "number of seconds") from None
    if seconds < 0:
        raise ValueError(f"{value!r} is negative; a duration is 0 or more")
    return seconds
