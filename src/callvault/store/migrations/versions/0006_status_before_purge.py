"""remember the status a call had when its erasure was accepted

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 05:00:00

Tethr's own clients know only Tethr's statuses (a ``Purging`` status makes the v1 .NET client
throw), so a call being purged answers the status it had until it is erased. Calls already
``Purging`` when this migration runs had a status nobody recorded: a measured call was at least
``Complete``, an unmeasured one ``Concluded`` (an ``Excluded`` call shows as one of those until
its erasure finishes, which is minutes at most).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_before_purge", sa.String(16), nullable=True))
    op.execute(
        "UPDATE calls SET status_before_purge = CASE WHEN duration_sec IS NULL "
        "THEN 'Concluded' ELSE 'Complete' END WHERE status = 'Purging'"
    )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("status_before_purge")
