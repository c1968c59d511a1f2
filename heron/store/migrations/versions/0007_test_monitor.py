"""The Test Monitor (issue 21): a test result belongs to a build (and its commit), keeps the
duration of every repeat and the endpoints the test requested; builds are listed per app.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from heron.store.migrations import prefix

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    p = prefix()
    with op.batch_alter_table(f"{p}test_result") as batch:
        batch.add_column(sa.Column("build", sa.String(500), nullable=True))
        batch.add_column(sa.Column("commit", sa.String(100), nullable=True))
        batch.add_column(sa.Column("durations_ms", JSONType, nullable=False,
                                   server_default="[]"))
        batch.add_column(sa.Column("endpoints", JSONType, nullable=False,
                                   server_default="[]"))
    op.create_index(f"{p}test_result_app_build", f"{p}test_result", ["app", "build"])


def downgrade() -> None:
    p = prefix()
    op.drop_index(f"{p}test_result_app_build", f"{p}test_result")
    with op.batch_alter_table(f"{p}test_result") as batch:
        for column in ("endpoints", "durations_ms", "commit", "build"):
            batch.drop_column(column)
