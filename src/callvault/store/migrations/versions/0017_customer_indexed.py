"""calls.customer_indexed: whether every Customer number of the call is in the blind index
(contract §19, "A number that cannot be indexed is never silent")

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 08:00:00

False when a Customer contact's number could not be read as a phone number in the capturing
user's region, so no customer purge or hold can find the call by it; such calls are counted,
shown (``GET /calls/v1/{id}`` → ``customerIndexed``) and listed (``callvault calls unindexed``)
until re-indexed (``callvault calls reindex``). Calls stored before this migration are marked
indexed: ``callvault calls reindex`` re-reads every call and marks them truly.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("customer_indexed", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("customer_indexed")
