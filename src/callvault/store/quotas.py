"""The lock of the erasure quota (purge/guards.py keeps the quota's arithmetic).

What a quota counts, the calls one API user queued since a moment, is read from the purge
requests (``purges.queued_total_since`` and ``purges.queued_since``) and from the charges no
request of that user records (a retention policy change, contract §15): ``quota_charges``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, insert, select, text

from callvault.store.tables import quota_charges

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


def charge(conn: Connection, user: str, calls: int, what: str, now: datetime) -> None:
    """Charge ``calls`` erasures to ``user``'s quota at ``now`` (``what``: e.g. retention:NAME)."""
    conn.execute(
        insert(quota_charges).values(user_name=user, charged_at=now, calls=calls, what=what[:100])
    )


def charged_total_since(conn: Connection, user: str, since: datetime) -> int:
    total = conn.execute(
        select(func.coalesce(func.sum(quota_charges.c.calls), 0)).where(
            quota_charges.c.user_name == user, quota_charges.c.charged_at > since
        )
    ).scalar_one()
    return int(total)


def charged_since(conn: Connection, user: str, since: datetime) -> list[tuple[datetime, int]]:
    """(charged at, calls) of the user's charges since ``since``, oldest first."""
    rows = conn.execute(
        select(quota_charges.c.charged_at, quota_charges.c.calls)
        .where(
            quota_charges.c.user_name == user,
            quota_charges.c.charged_at > since,
            quota_charges.c.calls > 0,
        )
        .order_by(quota_charges.c.charged_at)
    )
    return [(r.charged_at, r.calls) for r in rows]
