"""How numbers and times read on the dashboard: units chosen by magnitude, zones named."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def format_time(ts: float | None, timezone: str) -> str:
    """``2026-11-23 14:05:09 CET`` in the configured TIMEZONE; ``—`` for no time."""
    if ts is None:
        return "—"
    moment = datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(timezone))
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z")


#: Columns of experiment records that hold epoch seconds.
TIME_COLUMNS = ("ts", "updated_ts", "end_ts", "failed_ts")


def format_field(name: str, value: object, timezone: str) -> str:
    """A record's field as every page shows it: times in TIMEZONE, ``yes``/``no`` for
    booleans, ``—`` for nothing, objects as JSON; never Python's ``False`` or ``None``."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if name in TIME_COLUMNS and isinstance(value, int | float):
        return format_time(float(value), timezone)
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def format_clock(ts: float, timezone: str) -> str:
    """``14:05:09``: the time of day in TIMEZONE, for lists of recent things."""
    return datetime.fromtimestamp(ts, UTC).astimezone(ZoneInfo(timezone)).strftime("%H:%M:%S")


def format_ago(ts: float | None, now: float) -> str:
    """``12 s ago``, ``3 min ago``, ``5 h ago``, ``2 d ago``."""
    if ts is None:
        return "never"
    delta = max(0.0, now - ts)
    if delta < 60:
        return f"{int(delta)} s ago"
    if delta < 3600:
        return f"{int(delta // 60)} min ago"
    if delta < 86400:
        return f"{int(delta // 3600)} h ago"
    return f"{int(delta // 86400)} d ago"


def format_count(n: int) -> str:
    return f"{n:,}"


def format_duration_ms(ms: float | None) -> str:
    """µs, ms or s, whichever reads best."""
    if ms is None:
        return "—"
    if ms < 1:
        return f"{ms * 1000:.0f} µs"
    if ms < 1000:
        return f"{ms:.1f} ms"
    return f"{ms / 1000:.2f} s"


def format_number(value: object) -> str:
    """Metric values: integers as they are, other numbers to 4 significant digits."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:.4g}"
