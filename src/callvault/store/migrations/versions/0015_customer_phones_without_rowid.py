"""customer_phones as one B-tree keyed by (digest, call ID): SQLite WITHOUT ROWID

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 21:30:00

An erasure deletes each call's digests, at random places of the table: as a rowid table beside
its primary-key index and its call-ID index, that wrote three pages a digest
(bench/erase_phases.py: customer_phones 1.02, its primary key 1.00 and its call index 0.97
pages a call). WITHOUT ROWID, the table is its primary key: two. The rows are copied in key
order, in the migration's one transaction; ``secure_delete`` zeroes the old table's pages.
PostgreSQL has no rowid: nothing to do there.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_COLUMNS = """
    digest BLOB NOT NULL,
    call_id VARCHAR(32) NOT NULL,
    CONSTRAINT pk_customer_phones PRIMARY KEY (digest, call_id),
    CONSTRAINT fk_customer_phones_call_id_calls FOREIGN KEY(call_id)
        REFERENCES calls (call_id) ON DELETE CASCADE
"""


def _rebuild(suffix: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(f"CREATE TABLE customer_phones_new ({_COLUMNS}){suffix}")
    op.execute(
        "INSERT INTO customer_phones_new (digest, call_id) "
        "SELECT digest, call_id FROM customer_phones ORDER BY digest, call_id"
    )
    op.execute("DROP INDEX ix_customer_phones_call_id")
    op.execute("DROP TABLE customer_phones")
    op.execute("ALTER TABLE customer_phones_new RENAME TO customer_phones")
    op.execute("CREATE INDEX ix_customer_phones_call_id ON customer_phones (call_id)")


def upgrade() -> None:
    _rebuild(" WITHOUT ROWID")


def downgrade() -> None:
    _rebuild("")
