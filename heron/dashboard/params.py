"""Numbers from query strings, checked: a whole number in range, or a 400 naming it.

Paging values (``cursor``, ``before``, ``after``, ``start``, ``limit``) are compared with
64-bit columns; a value past them (``after=10**30``) must be the caller's error, not the
database driver's overflow. Views call :func:`int_arg`; a :class:`ParamError` becomes a
400 with the message as JSON (:func:`install`), and so does a value the database cannot
compare (a NUL character in a search on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, jsonify
from sqlalchemy.exc import DataError

from heron.errors import HeronError

MAX_INT = 2**63 - 1


class ParamError(HeronError, ValueError):
    """A query-string value that is not what the route takes."""


def int_arg(args: Mapping[str, Any], name: str, default: int | None = None, *,
            low: int = 0, high: int = MAX_INT) -> int | None:
    """``args[name]`` as a whole number between ``low`` and ``high``; ``default`` when it
    is missing or empty. Raises ParamError saying what is wrong."""
    text = args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ParamError(f"{name} {str(text)[:40]!r} is not a whole number") from None
    if not low <= value <= high:
        raise ParamError(f"{name} must be between {low} and {high}, not {str(text)[:40]}")
    return value


def install(app: Flask) -> None:
    """Answer ParamError with a 400 (JSON) on ``app``, one of heron's own apps; and an
    overflow no view foresaw with a 400 too, never a 500."""

    def bad_param(error: Exception):  # type: ignore[no-untyped-def]
        return jsonify(error=str(error)), 400

    def overflow(error: OverflowError):  # type: ignore[no-untyped-def]
        return jsonify(error=f"a number in the request is out of range: {error}"), 400

    def bad_value(error: DataError):  # type: ignore[no-untyped-def]
        return jsonify(error="a value in the request cannot be compared with stored data: "
                             f"{str(error.orig).strip().splitlines()[0][:200]}"), 400

    app.register_error_handler(ParamError, bad_param)
    app.register_error_handler(OverflowError, overflow)
    app.register_error_handler(DataError, bad_value)  # PostgreSQL: a NUL in a search
