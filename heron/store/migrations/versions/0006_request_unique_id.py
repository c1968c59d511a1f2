"""Requests are kept once by their own unique id instead of a ledger row each (issue 16:
the ledger row was about a quarter of what storing a request cost). See
:mod:`heron.store.requests`. The index on ``request.ts`` alone goes too (another 0.5 µs of
the writer's CPU a request): every query of raw requests names the app and its endpoints.

Ids already stored are unique through the ledger; should a store hold a repeated one all
the same, the first row stays.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

from heron.store.migrations import prefix

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    p = prefix()
    table = f"{p}request"
    op.execute(f'DELETE FROM "{table}" WHERE seq NOT IN '
               f'(SELECT MIN(seq) FROM "{table}" GROUP BY id)')
    op.drop_index(f"{p}request_id", table)
    op.create_index(f"{p}request_id", table, ["id"], unique=True)
    op.drop_index(f"{p}request_ts", table)


def downgrade() -> None:
    p = prefix()
    op.create_index(f"{p}request_ts", f"{p}request", ["ts"])
    op.drop_index(f"{p}request_id", f"{p}request")
    op.create_index(f"{p}request_id", f"{p}request", ["id"])
