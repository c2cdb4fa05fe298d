"""suppressions: a caller who objected is not recorded again (contract §22)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 10:40:00

Three tables: ``suppressions`` (one per suppression: state, who, when, expiry, reference, its
texts sealed under the master key), ``suppression_digests`` (the blind index's keyed hashes of
its phone numbers and e-mail addresses: nothing else of them is stored) and
``suppressed_captures`` (the tombstone of a capture refused for a suppressed caller). And
``purge_requests.suppression_id``: the suppression a customer purge made with ``?suppress=true``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from callvault.store.types import UTCDateTime

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "suppressions",
        sa.Column("suppression_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("identifiers", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("lifted_by", sa.String(200), nullable=True),
        sa.Column("lifted_at", UTCDateTime(), nullable=True),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("sealed_texts", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("suppression_id", name="pk_suppressions"),
    )
    op.create_index(
        "ix_suppressions_created_at_suppression_id",
        "suppressions",
        ["created_at", "suppression_id"],
    )
    op.create_index("ix_suppressions_reference", "suppressions", ["reference"])
    op.create_table(
        "suppression_digests",
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("suppression_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["suppression_id"],
            ["suppressions.suppression_id"],
            name="fk_suppression_digests_suppression_id_suppressions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("digest", "suppression_id", name="pk_suppression_digests"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "suppressed_captures",
        sa.Column("call_id", sa.String(32), nullable=False),
        sa.Column("session_id", sa.String(256), nullable=False),
        sa.Column("suppression_id", sa.String(32), nullable=False),
        sa.Column("captured_at", UTCDateTime(), nullable=False),
        sa.Column("captured_by", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("call_id", name="pk_suppressed_captures"),
    )
    op.create_index(
        "ix_suppressed_captures_session_id_captured_at",
        "suppressed_captures",
        ["session_id", "captured_at"],
    )
    op.add_column("purge_requests", sa.Column("suppression_id", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("purge_requests", "suppression_id")
    op.drop_index("ix_suppressed_captures_session_id_captured_at", "suppressed_captures")
    op.drop_table("suppressed_captures")
    op.drop_table("suppression_digests")
    op.drop_index("ix_suppressions_reference", "suppressions")
    op.drop_index("ix_suppressions_created_at_suppression_id", "suppressions")
    op.drop_table("suppressions")
