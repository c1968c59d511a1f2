"""Alembic revision scripts for heron's store (see ``env.py``)."""

from __future__ import annotations

from alembic import op


def prefix() -> str:
    """TABLE_PREFIX of the store being migrated."""
    return op.get_context().config.attributes["prefix"]  # type: ignore[union-attr,no-any-return]
