"""legal holds: the holds, their scope (IDs, phone digests), and held purge items

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 05:10:00

``audit_events.details`` becomes unbounded text: a hold's reason (up to 2,000 characters) is
recorded with its placement. On PostgreSQL, varchar to text is a catalog change, no rewrite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import callvault.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("hold_id", sa.String(length=32), nullable=False),
        sa.Column("matter", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", callvault.store.types.UTCDateTime(), nullable=False),
        sa.Column("released_by", sa.String(length=200), nullable=True),
        sa.Column("released_at", callvault.store.types.UTCDateTime(), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.Column("started_after", callvault.store.types.UTCDateTime(), nullable=True),
        sa.Column("started_before", callvault.store.types.UTCDateTime(), nullable=True),
        sa.Column("has_entries", sa.Boolean(), nullable=False),
        sa.Column("sealed_scope", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("hold_id", name=op.f("pk_legal_holds")),
    )
    with op.batch_alter_table("legal_holds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_legal_holds_state"), ["state"], unique=False)
    op.create_table(
        "hold_entries",
        sa.Column("hold_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=256), nullable=False),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["legal_holds.hold_id"],
            name=op.f("fk_hold_entries_hold_id_legal_holds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("hold_id", "kind", "value", name=op.f("pk_hold_entries")),
    )
    op.create_table(
        "hold_phones",
        sa.Column("hold_id", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["hold_id"],
            ["legal_holds.hold_id"],
            name=op.f("fk_hold_phones_hold_id_legal_holds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("hold_id", "digest", name=op.f("pk_hold_phones")),
    )
    with op.batch_alter_table("purge_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hold_ids", sa.Text(), nullable=True))
        batch_op.create_index(
            "ix_purge_items_held",
            ["call_id"],
            unique=False,
            sqlite_where=sa.text("status = 'Held'"),
            postgresql_where=sa.text("status = 'Held'"),
        )
    # SQLite does not enforce a varchar's length, and changing the declared type would copy the
    # whole audit table: only PostgreSQL needs (and cheaply gets) the change.
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "audit_events",
            "details",
            existing_type=sa.String(length=4000),
            type_=sa.Text(),
            existing_nullable=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column(
            "audit_events",
            "details",
            existing_type=sa.Text(),
            type_=sa.String(length=4000),
            existing_nullable=False,
        )
    with op.batch_alter_table("purge_items", schema=None) as batch_op:
        batch_op.drop_index("ix_purge_items_held")
        batch_op.drop_column("hold_ids")
    op.drop_table("hold_phones")
    op.drop_table("hold_entries")
    op.drop_table("legal_holds")
