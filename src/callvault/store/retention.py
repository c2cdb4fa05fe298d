"""Queries of retention policies and of the calls they expire (the only SQL retention runs).

Expired calls are found through ``ix_calls_direction_start_time_call_id``: for one direction,
the calls started before a cutoff are one index range in (start time, call ID) order, so the
sweep pages through it with a keyset (``after``) and a page that finds nothing costs one index
probe, whatever the size of the store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    delete,
    func,
    insert,
    select,
    text,
    tuple_,
    update,
)

from callvault.store.purges import LiveCall
from callvault.store.tables import calls, retention_policies

DIRECTIONS = ("Inbound", "Outbound", "Internal", "Unknown")
# PostgreSQL advisory lock held (per session) by the one worker sweeping at a time.
SWEEP_LOCK = 0x7265_7465


@dataclass(frozen=True)
class PolicyRow:
    name: str
    max_age_days: int
    direction: str | None
    updated_by: str
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> PolicyRow:
        return cls(row.name, row.max_age_days, row.direction, row.updated_by, row.updated_at)

    def directions(self) -> tuple[str, ...]:
        return DIRECTIONS if self.direction is None else (self.direction,)


def list_policies(conn: Connection) -> list[PolicyRow]:
    rows = conn.execute(select(retention_policies).order_by(retention_policies.c.name))
    return [PolicyRow.from_row(r) for r in rows]


def get_policy(conn: Connection, name: str, lock: bool = False) -> PolicyRow | None:
    query = select(retention_policies).where(retention_policies.c.name == name)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = conn.execute(query).first()
    return None if row is None else PolicyRow.from_row(row)


def save_policy(conn: Connection, policy: PolicyRow, exists: bool) -> None:
    values = {
        "max_age_days": policy.max_age_days,
        "direction": policy.direction,
        "updated_by": policy.updated_by,
        "updated_at": policy.updated_at,
    }
    if exists:
        conn.execute(
            update(retention_policies)
            .where(retention_policies.c.name == policy.name)
            .values(**values)
        )
    else:
        conn.execute(insert(retention_policies).values(name=policy.name, **values))


def lock_policies(conn: Connection) -> None:
    """Taken by a policy change before it reads anything: two changes of one name at once then
    run one after the other (PostgreSQL; SQLite's write lock does the same)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": SWEEP_LOCK + 1})


def delete_policy(conn: Connection, name: str) -> bool:
    done = conn.execute(delete(retention_policies).where(retention_policies.c.name == name))
    return bool(done.rowcount)


@contextmanager
def sweep_lock(engine: Engine) -> Iterator[bool]:
    """While held, this worker is the one sweeping (yields False: another one is). On
    PostgreSQL a session advisory lock on a connection of its own, outside any transaction (a
    transaction held open for a whole sweep would keep VACUUM from reclaiming erased rows)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        got = try_lock_sweep(conn)
        try:
            yield got
        finally:
            if got:
                unlock_sweep(conn)


def try_lock_sweep(conn: Connection) -> bool:
    """Become the one sweeper (PostgreSQL: a session advisory lock on ``conn``, released by
    ``unlock_sweep`` or when the session ends). Always True on SQLite, whose writers queue."""
    if conn.dialect.name != "postgresql":
        return True
    got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": SWEEP_LOCK}).scalar_one()
    return bool(got)


def unlock_sweep(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": SWEEP_LOCK})


def expired_page_query(
    direction: str, cutoff: datetime, after: tuple[datetime, str] | None, limit: int
) -> Select[Any]:
    query = select(calls.c.start_time, calls.c.call_id).where(
        calls.c.direction == direction,
        calls.c.start_time < cutoff,
        calls.c.status != "Purging",
    )
    if after is not None:
        query = query.where(tuple_(calls.c.start_time, calls.c.call_id) > tuple_(*after))
    return query.order_by(calls.c.start_time, calls.c.call_id).limit(limit)


def expired_page(
    conn: Connection,
    direction: str,
    cutoff: datetime,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[tuple[datetime, str]]:
    """Up to ``limit`` calls of ``direction`` started before ``cutoff`` and not being erased,
    oldest first, after the keyset ``after`` (start time, call ID); read without locking."""
    rows = conn.execute(expired_page_query(direction, cutoff, after, limit))
    return [(r.start_time, r.call_id) for r in rows]


def claim_expired(
    conn: Connection, call_ids: Sequence[str], direction: str, cutoff: datetime
) -> list[LiveCall]:
    """Inside the acceptance transaction: those of ``call_ids`` still expired and not being
    erased, locked. On PostgreSQL a row another transaction holds is skipped (that one is
    queuing or capturing it; a later sweep sees it), so two sweepers never wait on each other
    and never queue a call twice: a row they both read is taken by the first, and the second
    finds it ``Purging`` once it commits."""
    query = (
        select(calls.c.call_id, calls.c.session_id, calls.c.status)
        .where(
            calls.c.call_id.in_(list(call_ids)),
            calls.c.direction == direction,
            calls.c.start_time < cutoff,
            calls.c.status != "Purging",
        )
        .order_by(calls.c.start_time, calls.c.call_id)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return [LiveCall(r.call_id, r.session_id, r.status) for r in conn.execute(query)]


def count_query(
    directions: Sequence[str], since: datetime | None, before: datetime, held: Any | None
) -> Select[Any]:
    """Live calls of ``directions`` started in ``[since, before)`` and not being erased;
    ``held``: a condition they must meet (``~held`` for unheld ones), or None."""
    query = (
        select(func.count())
        .select_from(calls)
        .where(
            calls.c.direction.in_(list(directions)),
            calls.c.start_time < before,
            calls.c.status != "Purging",
        )
    )
    if since is not None:
        query = query.where(calls.c.start_time >= since)
    if held is not None:
        query = query.where(held)
    return query


def count(
    conn: Connection,
    directions: Sequence[str],
    since: datetime | None,
    before: datetime,
    held: Any | None = None,
) -> int:
    return int(conn.execute(count_query(directions, since, before, held)).scalar_one())


def expired_ids(
    conn: Connection, directions: Sequence[str], before: datetime, held: Any | None
) -> list[str]:
    """The IDs of the calls ``count_query`` counts (``since`` None), in call ID order."""
    query = (
        select(calls.c.call_id)
        .where(
            calls.c.direction.in_(list(directions)),
            calls.c.start_time < before,
            calls.c.status != "Purging",
        )
        .order_by(calls.c.call_id)
    )
    if held is not None:
        query = query.where(held)
    return list(conn.execute(query).scalars())


def still_expired(
    conn: Connection, call_ids: Sequence[str], cutoffs: Sequence[tuple[tuple[str, ...], datetime]]
) -> set[str]:
    """Those of ``call_ids`` some policy expires now: ``cutoffs`` holds, per policy, the
    directions it names and the start time before which it expires a call."""
    if not call_ids or not cutoffs:
        return set()
    found: set[str] = set()
    for directions, cutoff in cutoffs:
        found.update(
            conn.execute(
                select(calls.c.call_id).where(
                    calls.c.call_id.in_(list(call_ids)),
                    calls.c.direction.in_(list(directions)),
                    calls.c.start_time < cutoff,
                )
            ).scalars()
        )
    return found


def count_by_start_day(
    conn: Connection, direction: str, since: datetime, before: datetime, held: Any | None
) -> dict[str, int]:
    """Live calls of ``direction`` started in ``[since, before)`` and not being erased, counted
    per UTC day of their start (``YYYY-MM-DD``); ``held`` as in ``count_query``."""
    day = func.date(calls.c.start_time)  # times are stored as naive UTC on both engines
    query = (
        select(day, func.count())
        .where(
            calls.c.direction == direction,
            calls.c.start_time >= since,
            calls.c.start_time < before,
            calls.c.status != "Purging",
        )
        .group_by(day)
    )
    if held is not None:
        query = query.where(held)
    return {str(d)[:10]: int(n) for d, n in conn.execute(query)}
