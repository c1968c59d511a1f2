"""Login sessions kept on the server, so they can end: logout ends one, a password change
or a removed user ends all of that user's, and each expires after an idle time and an
absolute lifetime (issue 17). The cookie holds only the session's random id; the store
keeps its SHA-256 digest.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from heron.store.migrations import prefix

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    p = prefix()
    op.create_table(
        f"{p}login_session",
        sa.Column("id_hash", sa.String(128), primary_key=True),
        sa.Column("username", sa.String(200), nullable=False),
        sa.Column("created_ts", sa.Float, nullable=False),
        sa.Column("last_seen_ts", sa.Float, nullable=False),
        sa.Column("ip", sa.String(64)),
    )
    op.create_index(f"{p}login_session_username", f"{p}login_session", ["username"])


def downgrade() -> None:
    p = prefix()
    op.drop_index(f"{p}login_session_username", f"{p}login_session")
    op.drop_table(f"{p}login_session")
