"""certificates of erasure, issued once and kept

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 06:00:00

One row per certificate (a compact JWS) a finished purge request was given; a request whose
state changes later gets another row, and the old one stays fetchable by its ``jti``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callvault.store.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificates",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("basis", sa.String(length=64), nullable=False),
        sa.Column("issued_at", callvault.store.types.UTCDateTime(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_certificates")),
        sa.UniqueConstraint("request_id", "basis", name=op.f("uq_certificates_request_id_basis")),
    )
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_certificates_request_id_issued_at"),
            ["request_id", "issued_at"],
            unique=False,
        )


def downgrade() -> None:
    op.drop_table("certificates")
