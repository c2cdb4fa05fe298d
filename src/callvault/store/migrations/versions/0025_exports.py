"""exports: subject access exports, a caller's recordings as one signed package (contract §20)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 13:30:00

Two tables: ``exports`` (one per export: who, when, reference, state, link expiry, downloads, the
SHA-256 of its link token, never the token; the age recipients; the subject as asked, sealed
under the master key) and ``export_calls`` (the calls fixed when the export was created, in the
order they are packed).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from callvault.store.types import UTCDateTime

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exports",
        sa.Column("export_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("calls", sa.Integer(), nullable=False),
        sa.Column("downloads", sa.Integer(), nullable=False),
        sa.Column("max_downloads", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("recipients", sa.Text(), nullable=False),
        sa.Column("sealed_subject", sa.LargeBinary(), nullable=False),
        sa.Column("revoked_by", sa.String(200), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("export_id", name="pk_exports"),
    )
    op.create_index("ix_exports_created_at_export_id", "exports", ["created_at", "export_id"])
    op.create_index("ix_exports_reference", "exports", ["reference"])
    op.create_table(
        "export_calls",
        sa.Column("export_id", sa.String(32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(32), nullable=False),
        sa.Column("session_id", sa.String(256), nullable=False),
        sa.Column("start_time", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["export_id"],
            ["exports.export_id"],
            name="fk_export_calls_export_id_exports",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("export_id", "position", name="pk_export_calls"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("export_calls")
    op.drop_index("ix_exports_reference", "exports")
    op.drop_index("ix_exports_created_at_export_id", "exports")
    op.drop_table("exports")
