"""audit trail: a chain anyone can recompute, a sequencer, signed checkpoints (contract §23)

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 17:00:00

``audit_events.hash`` becomes the SHA-256 of the event's canonical form (its public fields,
``prevHash`` included; no key), so a third party recomputes the chain from
``GET /audit/v1/events`` alone; ``audit_events.mac`` keeps the instance's keyed check beside it.
Every event already written is re-chained here in that form, in sequence order (its ``mac`` stays
NULL: a migration holds no key; the first signed checkpoint covers them).

``audit_pending``: events written on PostgreSQL but not yet sequenced (writers append there
without a lock; the sequencer moves them). ``audit_checkpoints``: signed heads of the chain.

The canonical form is written out below rather than imported: a migration must keep doing what
it did when it was written, whatever ``audit/trail.py`` becomes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

from callvault.store.types import UTCDateTime

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

GENESIS = "0" * 64
PAGE = 5000


def _hash(row: Any, prev: str) -> str:
    event = {
        "seq": row.seq,
        "at": row.at.isoformat().replace("+00:00", "Z"),
        "actor": row.actor,
        "action": row.action,
        "requestId": row.request_id,
        "callId": row.call_id,
        "sessionId": row.session_id,
        "details": json.loads(row.details),
        "prevHash": prev,
    }
    canonical = json.dumps(event, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _rechain() -> None:
    events = sa.table(
        "audit_events",
        sa.column("seq", sa.BigInteger()),
        sa.column("at", UTCDateTime()),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("request_id", sa.String()),
        sa.column("call_id", sa.String()),
        sa.column("session_id", sa.String()),
        sa.column("details", sa.Text()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    bind = op.get_bind()
    update = (
        events.update()
        .where(events.c.seq == sa.bindparam("s"))
        .values(prev_hash=sa.bindparam("p"), hash=sa.bindparam("h"))
    )
    prev, after = GENESIS, 0
    while True:
        rows = bind.execute(
            sa.select(events).where(events.c.seq > after).order_by(events.c.seq).limit(PAGE)
        ).all()
        if not rows:
            return
        changes = []
        for row in rows:
            digest = _hash(row, prev)
            changes.append({"s": row.seq, "p": prev, "h": digest})
            prev = digest
        bind.execute(update, changes)
        after = rows[-1].seq


def upgrade() -> None:
    op.add_column("audit_events", sa.Column("mac", sa.String(64), nullable=True))
    op.create_table(
        "audit_pending",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("request_id", sa.String(32), nullable=True),
        sa.Column("call_id", sa.String(256), nullable=True),
        sa.Column("session_id", sa.String(256), nullable=True),
        sa.Column("details", sa.String(4000).with_variant(sa.Text(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.Column("kid", sa.String(64), nullable=False),
        sa.Column("jws", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    _rechain()


def downgrade() -> None:
    # The keyed chain cannot be remade without the key: a downgrade keeps the keyless hashes
    # (``audit verify`` of an older version would report them as altered).
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_pending")
    op.drop_column("audit_events", "mac")
