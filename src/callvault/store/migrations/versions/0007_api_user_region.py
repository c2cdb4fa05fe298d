"""an API user may carry its own default region for phone numbers

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 05:00:00

A recorder abroad sends national numbers (a Mexican ``55 1234 5678``); parsed in the instance's
default region they were indexed as another country's numbers. ``api_users.region`` (ISO 3166
alpha-2, NULL: the instance default) is the region its captures, and its customer purges, read
such numbers in. Existing users keep NULL, so nothing changes for them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("region", sa.String(length=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_users", schema=None) as batch_op:
        batch_op.drop_column("region")
