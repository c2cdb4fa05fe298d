"""hold_entries (kind, value) and hold_phones (digest): a call's holds found from the call

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 11:00:00

Which active holds cover the calls an erasure asks about (``store/holds.covering``) was one query
testing every (asked call, active hold) pair: with 1,000 active holds of 1,000 entries each, a
100-ID purge or preview spent 1.9 s there against 0.1 ms with none (bench/holds_check.py). It
now starts from the asked calls and looks their IDs, session IDs and phone digests up in the
holds' entries, which needs these two indexes (the primary keys lead with the hold ID).
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_hold_entries_kind_value", "hold_entries", ["kind", "value"])
    op.create_index("ix_hold_phones_digest", "hold_phones", ["digest"])


def downgrade() -> None:
    op.drop_index("ix_hold_phones_digest", table_name="hold_phones")
    op.drop_index("ix_hold_entries_kind_value", table_name="hold_entries")
