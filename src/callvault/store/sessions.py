"""Queries of console sessions (the only SQL the console's login runs)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select, update

from callvault.store.engine import write_transaction
from callvault.store.tables import api_users, console_sessions


def create(engine: Engine, id_hash: bytes, user_id: int, now: datetime, expired: datetime) -> None:
    """A new session; sessions idle since before ``expired`` are dropped on the way."""
    with write_transaction(engine) as conn:
        conn.execute(delete(console_sessions).where(console_sessions.c.last_seen_at < expired))
        conn.execute(
            insert(console_sessions).values(
                id_hash=id_hash, user_id=user_id, created_at=now, last_seen_at=now
            )
        )


def find(engine: Engine, id_hash: bytes) -> Any:
    """The session row joined with its user (permissions, disabled, region, confirm_above), or
    None."""
    with engine.connect() as conn:
        return conn.execute(
            select(
                console_sessions.c.last_seen_at,
                api_users.c.id,
                api_users.c.name,
                api_users.c.permissions,
                api_users.c.disabled,
                api_users.c.region,
                api_users.c.confirm_above,
            )
            .join(api_users, api_users.c.id == console_sessions.c.user_id)
            .where(console_sessions.c.id_hash == id_hash)
        ).first()


def touch(engine: Engine, id_hash: bytes, now: datetime) -> None:
    with write_transaction(engine) as conn:
        conn.execute(
            update(console_sessions)
            .where(console_sessions.c.id_hash == id_hash)
            .values(last_seen_at=now)
        )


def remove(engine: Engine, id_hash: bytes) -> None:
    with write_transaction(engine) as conn:
        conn.execute(delete(console_sessions).where(console_sessions.c.id_hash == id_hash))
