"""purge requests record what they queued and when their grace window ends

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 05:35:00

``queued`` lets the erasure quota count, in the database, the calls one API user queued in the
last hour (true across every API node); ``erase_after`` is the end of a request's grace window.
Requests made before this migration count as having queued nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callvault.store.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("purge_requests", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("queued", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )
        batch_op.add_column(
            sa.Column("erase_after", callvault.store.types.UTCDateTime(), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_purge_requests_requested_by_created_at"),
            ["requested_by", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("purge_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_purge_requests_requested_by_created_at"))
        batch_op.drop_column("erase_after")
        batch_op.drop_column("queued")
