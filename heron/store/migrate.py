"""Apply Alembic migrations programmatically: on start, and by ``heron db upgrade``.

Alembic is imported only when there is something to migrate: opening an up-to-date store
reads the version table with SQLAlchemy and compares it with :data:`HEAD`. Alembic brings
Mako and Pygments with it (a third of the objects of a process that binds heron), and
every object lives on in the host app's heap, where each full garbage collection walks it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from heron.errors import StoreError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).with_name("migrations")

#: The newest revision under ``migrations/versions`` (a test checks it against Alembic's
#: own reading of the scripts: a new migration must update it).
HEAD = "0010"


def _alembic_config(connection, prefix: str) -> AlembicConfig:  # type: ignore[no-untyped-def]
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    cfg.attributes["prefix"] = prefix
    return cfg


def head_revision() -> str:
    """The newest revision heron knows."""
    return HEAD


def script_head() -> str | None:
    """The newest revision as Alembic reads it from the scripts (what HEAD must be)."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision(engine: Engine, prefix: str) -> str | None:
    """The revision the database is at, or None for a database heron never touched."""
    table = f"{prefix}alembic_version"
    with engine.connect() as conn:
        if not inspect(conn).has_table(table):
            return None
        quoted = conn.dialect.identifier_preparer.quote(table)
        revisions = conn.execute(text(f"SELECT version_num FROM {quoted}")).scalars().all()
    if len(revisions) > 1:  # heron's history is linear: several heads is not heron's doing
        raise StoreError(f"{table} names several revisions ({', '.join(revisions)}); "
                           "heron's migrations have one head")
    return revisions[0] if revisions else None


def upgrade(engine: Engine, prefix: str, revision: str = "head") -> str:
    """Bring the database to ``revision`` (default: the newest); return the revision reached."""
    from alembic import command

    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn, prefix), revision)
    return current_revision(engine, prefix) or ""


def downgrade(engine: Engine, prefix: str, revision: str) -> str:
    """Take the database back to ``revision`` (``heron db downgrade``); return it. A
    heron that starts on it again upgrades it back to the newest."""
    from alembic import command

    with engine.begin() as conn:
        command.downgrade(_alembic_config(conn, prefix), revision)
    return current_revision(engine, prefix) or ""


def autogenerate(engine: Engine, prefix: str, message: str) -> None:
    """Write a new revision script from the difference between schema.py and the database.

    For heron's developers (``python -m heron.store.migrate "message"``); table names in
    the generated script must then be rewritten to use ``p`` (the prefix).
    """
    from alembic import command

    with engine.begin() as conn:
        command.revision(_alembic_config(conn, prefix), message=message, autogenerate=True)
