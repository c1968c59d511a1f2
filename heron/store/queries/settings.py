"""A small key-value table for state heron generates once and shares between servers."""

from __future__ import annotations

from sqlalchemy import select

from heron.store import Store
from heron.store.bulk import insert_for


def get_setting(store: Store, key: str) -> str | None:
    table = store.table("setting")
    with store.read() as conn:
        return conn.execute(select(table.c.value).where(table.c.key == key)).scalar()


def set_default(store: Store, key: str, value: str) -> str:
    """Store ``value`` under ``key`` unless a value is there already; return the stored one.

    Safe when several servers start at once: exactly one value wins and all see it.
    """
    table = store.table("setting")
    with store.write() as conn:
        conn.execute(insert_for(conn, table).on_conflict_do_nothing(index_elements=["key"]),
                     {"key": key, "value": value})
        return conn.execute(select(table.c.value).where(table.c.key == key)).scalar_one()


def put_setting(store: Store, key: str, value: str) -> None:
    table = store.table("setting")
    with store.write() as conn:
        stmt = insert_for(conn, table)
        conn.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                                set_={"value": stmt.excluded.value}),
                     {"key": key, "value": value})
