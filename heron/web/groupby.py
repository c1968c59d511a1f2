"""Flask-MonitoringDashboard's ``group_by``, resolved exactly as FMD does.

A callable is called (again, while it returns a callable); a tuple or list is rendered as
``(a,b)`` with each element resolved the same way; anything else is kept as its text:

    lambda: 3                      -> 3
    lambda: ('User', 3)            -> (User,3)
    lambda: lambda: 3              -> 3
    ('User', lambda: 3)            -> (User,3)
    lambda: ['Username', 'u']      -> (Username,u)
"""

from __future__ import annotations

from typing import Any

from heron._internal import inside_heron, logger

MAX_DEPTH = 32  # a callable returning itself must not hang a request
_warned: list[bool] = []


def resolve(value: Any, _depth: int = 0) -> str | None:
    """The text stored for a ``group_by`` value; None when there is no group."""
    for _ in range(MAX_DEPTH):
        if not callable(value):
            break
        value = value()
    else:
        raise ValueError("group_by keeps returning callables")
    if value is None:
        return None
    if isinstance(value, tuple | list):
        if _depth >= MAX_DEPTH:
            raise ValueError("group_by is nested too deeply")
        return "(" + ",".join(str(resolve(v, _depth + 1)) for v in value) + ")"
    return str(value)


def group_of(value: Any) -> str | None:
    """:func:`resolve`, never raising: an error is logged once and means no group."""
    if value is None:
        return None
    try:
        return resolve(value)
    except Exception:  # noqa: BLE001 - the user's code must never break a request
        if not _warned:  # once per process: a broken group_by fails on every request
            _warned.append(True)
            with inside_heron():
                logger.exception("heron: group_by raised; requests are recorded without a "
                                 "group (logged once)")
        return None
