"""confirmation tokens of customer previews

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 05:20:00

A customer purge that would queue more than ``CALLVAULT_PURGE_CONFIRM_ABOVE`` calls is accepted
only with the token of a whatIf of the same number by the same user, for exactly the previewed
calls, within 15 minutes, once. The token is kept only as its SHA-256.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callvault.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "confirm_tokens",
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("phone_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("calls_digest", sa.LargeBinary(length=32), nullable=False),
        sa.Column("expires_at", callvault.store.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", callvault.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_confirm_tokens")),
    )
    with op.batch_alter_table("confirm_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_confirm_tokens_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("confirm_tokens")
