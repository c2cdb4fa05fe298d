"""index purge items by call only while they are Purging

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 04:58:00

The eraser looks items up by call only while they are ``Purging``. Indexing every item made each
whatIf, NotFound and finished item an index entry at a random page of an ever-growing index; a
partial index holds only the backlog.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_PURGING = sa.text("status = 'Purging'")


def upgrade() -> None:
    with op.batch_alter_table("purge_items", schema=None) as batch_op:
        batch_op.drop_index("ix_purge_items_call_id_status")
        batch_op.create_index(
            "ix_purge_items_purging",
            ["call_id"],
            unique=False,
            sqlite_where=_PURGING,
            postgresql_where=_PURGING,
        )


def downgrade() -> None:
    with op.batch_alter_table("purge_items", schema=None) as batch_op:
        batch_op.drop_index("ix_purge_items_purging")
        batch_op.create_index("ix_purge_items_call_id_status", ["call_id", "status"], unique=False)
