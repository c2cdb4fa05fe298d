"""quota_charges: erasures charged to an API user's quota that no request of theirs records

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 10:00:00

A retention policy change is guarded like a purge (contract §15): the calls it expires at once
count against the hourly erasure quota of the user who saves it. The sweep queues them later as
requests of ``retention:<name>``, so the charge is written when the change is saved, here.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callvault.store.types

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "quota_charges",
        sa.Column("charge_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("charged_at", callvault.store.types.UTCDateTime(), nullable=False),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("what", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("charge_id", name=op.f("pk_quota_charges")),
    )
    with op.batch_alter_table("quota_charges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quota_charges_user_name_charged_at"),
            ["user_name", "charged_at"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("quota_charges")
