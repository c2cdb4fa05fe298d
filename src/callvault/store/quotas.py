"""The lock of the erasure quota (purge/guards.py keeps the quota's arithmetic).

What a quota counts, the calls one API user queued since a moment, is read from the purge
requests: ``purges.queued_total_since`` and ``purges.queued_since``.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

# PostgreSQL advisory lock that makes the quota exact across API nodes.
QUOTA_LOCK = 0x7175_6F74
# Built once: every acceptance that may queue takes it (see store/purges.py on prebuilt statements).
_LOCK = text("SELECT pg_advisory_xact_lock(:k)")


def lock_quota(conn: Connection) -> None:
    """Serialise the quota's readers until the transaction ends: two acceptances of one user on
    two nodes would otherwise both count the same past hour and both pass. SQLite's write lock,
    taken at BEGIN IMMEDIATE, already serialises them: no statement."""
    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK, {"k": QUOTA_LOCK})
