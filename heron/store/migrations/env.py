"""Alembic environment: heron runs migrations in-process on a connection it passes in.

``config.attributes`` carries ``connection`` and ``prefix`` (TABLE_PREFIX); revision scripts
read the prefix through :func:`heron.store.migrations.prefix`, so one script history serves
every prefix.
"""

from __future__ import annotations

from alembic import context

from heron.store.schema import build_metadata

config = context.config
connection = config.attributes["connection"]
prefix = config.attributes["prefix"]

context.configure(
    connection=connection,
    target_metadata=build_metadata(prefix),
    version_table=f"{prefix}alembic_version",
    render_as_batch=connection.dialect.name == "sqlite",
    include_name=lambda name, type_, parent: type_ != "table" or name.startswith(prefix),
)
with context.begin_transaction():
    context.run_migrations()
