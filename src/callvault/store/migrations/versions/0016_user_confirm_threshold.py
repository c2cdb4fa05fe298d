"""api_users.confirm_above: an API user's own confirmation threshold (contract §10, §13)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 08:00:00

Tethr's SDKs cannot send ``?confirm=``, so an API user that is automation may be given its own
threshold (``callvault users create|update --confirm-above N|never``). NULL: the instance's
``CALLVAULT_PURGE_CONFIRM_ABOVE``; -1: never asks for a confirmation; N >= 0: above N calls.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("confirm_above", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_users", schema=None) as batch_op:
        batch_op.drop_column("confirm_above")
