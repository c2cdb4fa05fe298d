"""index only the calls awaiting processing by status

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 04:35:00

Accepting a purge moves calls from Complete to Purging. With an index on every status that move
rewrote an index entry per call, at random pages of a large table; only ``Concluded`` calls are
ever looked up by status, so a partial index serves every query and the move touches no index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_CONCLUDED = sa.text("status = 'Concluded'")


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_status")
        batch_op.create_index(
            "ix_calls_concluded",
            ["status"],
            unique=False,
            sqlite_where=_CONCLUDED,
            postgresql_where=_CONCLUDED,
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index("ix_calls_concluded")
        batch_op.create_index("ix_calls_status", ["status"], unique=False)
