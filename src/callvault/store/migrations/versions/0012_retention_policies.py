"""retention policies, and the index the retention sweep finds expired calls through

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 08:00:00

``retention_policies`` holds one row per policy. ``ix_calls_direction_start_time_call_id`` makes
the expired calls of a direction one index range, in start-time order (the call ID breaks ties,
so the sweep pages through the range with a keyset and never sorts it): a sweep that finds
nothing reads one index page per direction, whatever the size of the store.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callvault.store.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retention_policies",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("max_age_days", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=True),
        sa.Column("updated_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", callvault.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_retention_policies")),
    )
    op.create_index(
        "ix_calls_direction_start_time_call_id",
        "calls",
        ["direction", "start_time", "call_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_calls_direction_start_time_call_id", table_name="calls")
    op.drop_table("retention_policies")
