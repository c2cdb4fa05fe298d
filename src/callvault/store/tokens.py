"""Queries of OAuth access tokens (``access_tokens``), stored by the SHA-256 of the token."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, bindparam, delete, insert, select

from callvault.store.engine import write_transaction
from callvault.store.tables import access_tokens, api_users
from callvault.store.users import PRINCIPAL_COLUMNS

# Every authenticated request runs this lookup: built once, its SQLAlchemy cache key memoized on
# the statement (see store/purges.py).
_LOOKUP = (
    select(*PRINCIPAL_COLUMNS, access_tokens.c.expires_at)
    .join(api_users, api_users.c.id == access_tokens.c.user_id)
    .where(access_tokens.c.token_hash == bindparam("token_hash"))
)


def insert_token(
    engine: Engine, token_hash: bytes, user_id: int, now: datetime, expires_at: datetime
) -> None:
    """A new token of the user; the user's tokens expired before ``now`` are dropped on the way
    (dead weight, and the write lock is held anyway)."""
    with write_transaction(engine) as conn:
        conn.execute(
            delete(access_tokens).where(
                access_tokens.c.user_id == user_id, access_tokens.c.expires_at < now
            )
        )
        conn.execute(
            insert(access_tokens).values(
                token_hash=token_hash, user_id=user_id, expires_at=expires_at, created_at=now
            )
        )


def lookup(engine: Engine, token_hash: bytes) -> Any:
    """The token's user (``PRINCIPAL_COLUMNS``) and its ``expires_at``, or None."""
    with engine.connect() as conn:
        return conn.execute(_LOOKUP, {"token_hash": token_hash}).first()
