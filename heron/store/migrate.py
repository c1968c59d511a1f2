"""Apply Alembic migrations programmatically: on start, and by ``heron db upgrade``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def _alembic_config(connection, prefix: str) -> AlembicConfig:  # type: ignore[no-untyped-def]
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    cfg.attributes["prefix"] = prefix
    return cfg


def head_revision() -> str:
    """The newest revision heron knows."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine, prefix: str) -> str | None:
    """The revision the database is at, or None for a database heron never touched."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"version_table": f"{prefix}alembic_version"})
        return ctx.get_current_revision()


def upgrade(engine: Engine, prefix: str, revision: str = "head") -> str:
    """Bring the database to ``revision`` (default: the newest); return the revision reached."""
    with engine.begin() as conn:
        command.upgrade(_alembic_config(conn, prefix), revision)
    return current_revision(engine, prefix) or ""


def autogenerate(engine: Engine, prefix: str, message: str) -> None:
    """Write a new revision script from the difference between schema.py and the database.

    For heron's developers (``python -m heron.store.migrate "message"``); table names in
    the generated script must then be rewritten to use ``p`` (the prefix).
    """
    with engine.begin() as conn:
        command.revision(_alembic_config(conn, prefix), message=message, autogenerate=True)
