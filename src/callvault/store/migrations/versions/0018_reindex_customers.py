"""calls_to_reindex: the calls whose blind index an earlier rule made (contract §16, §19)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 09:00:00

Until now capture indexed a contact only when its type was ``customer`` in some case, so
``"Customer "``, ``"customer\\t"`` and ``" CUSTOMER"`` were stored but never indexed; and it
indexed an e-mail address trimmed and lower-cased only, where contract §16 now asks for NFKC,
the domain's IDNA A-label (UTS #46) and ``casefold``. Either leaves a call that a customer purge
or a hold cannot find.

Contact types are in clear, so this migration marks every call with a type that trims and
case-folds to ``customer``: the only calls whose entries either rule can have got wrong. It
cannot re-index them: their phone numbers and addresses are sealed with each call's data key,
and the data keys live in the key store, a database of its own that a migration never sees. The
store's opening does that, once the key store is open (``runtime.Runtime.open`` →
``store/reindex.py``): it re-reads each marked call and unmarks it in the transaction that fixes
its entries. The rule below is frozen as of this revision, as a migration's must be.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

PAGE = 5000


def _customer(contact_type: str) -> bool:
    return contact_type.strip().casefold() == "customer"


def upgrade() -> None:
    op.create_table(
        "calls_to_reindex",
        sa.Column("call_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"],
            ["calls.call_id"],
            name=op.f("fk_calls_to_reindex_call_id_calls"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("call_id", name=op.f("pk_calls_to_reindex")),
        sqlite_with_rowid=False,
    )
    calls = sa.table("calls", sa.column("call_id", sa.String), sa.column("contact_types", sa.Text))
    marks = sa.table("calls_to_reindex", sa.column("call_id", sa.String))
    conn = op.get_bind()
    after = ""
    while True:
        page = conn.execute(
            sa.select(calls.c.call_id, calls.c.contact_types)
            .where(calls.c.call_id > after)
            .order_by(calls.c.call_id)
            .limit(PAGE)
        ).all()
        if not page:
            return
        marked = [
            {"call_id": call_id}
            for call_id, types in page
            if any(_customer(t) for t in (types or "").split("\x1f"))
        ]
        if marked:
            conn.execute(sa.insert(marks), marked)
        after = page[-1].call_id


def downgrade() -> None:
    op.drop_table("calls_to_reindex")
