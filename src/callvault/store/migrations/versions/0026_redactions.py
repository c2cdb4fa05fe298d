"""redactions: erase a time range of a call's audio, keep the call (contract §21)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 13:30:00

``redactions``: one row per redaction (its ranges, reason, reference, who and when, and how far
its worker got, so that a crash anywhere lets a restart finish it). ``calls.redacting``: true
from a redaction's acceptance to its end, while the audio is not served.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from callvault.store.types import UTCDateTime

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "calls",
        sa.Column("redacting", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "redactions",
        sa.Column("redaction_id", sa.String(32), nullable=False),
        sa.Column("call_id", sa.String(32), nullable=False),
        sa.Column("session_id", sa.String(256), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("ranges", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("reference", sa.String(200), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("old_blob_key", sa.String(200), nullable=True),
        sa.Column("old_blob_version", sa.String(200), nullable=True),
        sa.Column("new_blob_key", sa.String(200), nullable=True),
        sa.Column("new_blob_version", sa.String(200), nullable=True),
        sa.Column("new_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("new_audio_bytes", sa.BigInteger(), nullable=True),
        sa.Column("audio_sha256_before", sa.String(64), nullable=True),
        sa.Column("audio_sha256_after", sa.String(64), nullable=True),
        sa.Column("old_key_destroyed", sa.Boolean(), nullable=False),
        sa.Column("blob_objects_deleted", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("redaction_id", name="pk_redactions"),
    )
    op.create_index("ix_redactions_call_id_created_at", "redactions", ["call_id", "created_at"])
    op.create_index(
        "ix_redactions_created_at_redaction_id", "redactions", ["created_at", "redaction_id"]
    )
    op.create_index("ix_redactions_state", "redactions", ["state"])
    op.create_index("ix_redactions_reference", "redactions", ["reference"])


def downgrade() -> None:
    for name in ("reference", "state", "created_at_redaction_id", "call_id_created_at"):
        op.drop_index(f"ix_redactions_{name}", table_name="redactions")
    op.drop_table("redactions")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("redacting")
