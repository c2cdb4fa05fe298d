"""purge_requests.reference and legal_holds.reference: the privacy program's ticket (contract §23)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 11:30:00

A request or hold made for a ticket of the privacy program (``DSR-2026-0142``) keeps it, shows
it, prints it in certificates, and is found by it (``?reference=`` on the lists). Suppressions
have theirs since 0022. Existing rows have none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("purge_requests", "legal_holds"):
        op.add_column(table, sa.Column("reference", sa.String(200), nullable=True))
        op.create_index(f"ix_{table}_reference", table, ["reference"])


def downgrade() -> None:
    for table in ("purge_requests", "legal_holds"):
        op.drop_index(f"ix_{table}_reference", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("reference")
