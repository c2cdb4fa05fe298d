"""legal_holds.sealed_texts: a hold's matter, reason and release reason sealed (contract §12)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 09:10:00

People type names, phone numbers and e-mail addresses into a hold's matter and reason; kept in
clear they outlived the customer's erasure. From now on they are sealed under the master key,
in ``sealed_texts``, and the clear columns are empty. A migration never sees the master key, so
this one only adds the column (no table rebuild: on SQLite, dropping the old table would cascade
to the holds' entries); the store's opening
(``runtime.Runtime.open`` → ``store/holds.seal_clear_texts``) seals the texts of every hold
placed before it and clears their columns, in one transaction, before anything is served.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("legal_holds", sa.Column("sealed_texts", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # The sealed texts cannot be opened here (no master key): they are lost, the columns stay.
    op.drop_column("legal_holds", "sealed_texts")
