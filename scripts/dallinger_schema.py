"""Write the PostgreSQL schema Dallinger's own models make (``Base.metadata``) to
``tests/data/dallinger_schema.sql``, for the watcher's integration tests, which cannot
install Dallinger beside heron (Dallinger 12.4 brings SQLAlchemy 1.4).

Run it with a Python that has Dallinger (``bench/dallinger_watch.py`` makes
``.venv-dallinger``):  .venv-dallinger/bin/python scripts/dallinger_schema.py
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "dallinger_schema.sql"


def main() -> None:
    import dallinger
    import dallinger.models  # noqa: F401  (registers every model's table)
    from dallinger.db import Base
    from sqlalchemy import Enum
    from sqlalchemy.dialects.postgresql.base import CreateEnumType

    dialect = postgresql.dialect()
    statements = []
    enums = {c.type.name: c.type for t in Base.metadata.sorted_tables for c in t.columns
             if isinstance(c.type, Enum) and c.type.name}
    for name in sorted(enums):  # the status types a table's columns use come first
        statements.append(str(CreateEnumType(enums[name]).compile(dialect=dialect)).strip())
    for table in Base.metadata.sorted_tables:
        statements.append(str(CreateTable(table).compile(dialect=dialect)).strip())
        statements += [str(CreateIndex(index).compile(dialect=dialect)).strip()
                       for index in sorted(table.indexes, key=lambda i: i.name or "")]
    version = getattr(dallinger, "__version__", None) or "12.4.0"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(f"-- Dallinger {version}'s tables, as its models make them "
                   "(scripts/dallinger_schema.py)\n" + ";\n\n".join(statements) + ";\n",
                   encoding="utf-8")
    print(f"wrote {OUT}: {len(Base.metadata.tables)} tables")


if __name__ == "__main__":
    main()
