"""Read (and small write) queries over the store, one module per concern or page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, cast, func


def time_bucket(dialect: str, column: Any, step: int) -> Any:
    """``column`` (epoch seconds) rounded down to a multiple of ``step``, on both databases."""
    if dialect == "postgresql":
        return cast(func.floor(column / step) * step, BigInteger)
    return cast(column / step, BigInteger) * step  # SQLite truncates; times are positive
