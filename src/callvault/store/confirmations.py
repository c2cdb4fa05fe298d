"""Confirmation tokens of customer previews (contract §13): issued by a whatIf, redeemed once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, bindparam, delete, insert, update

from callvault.store.tables import confirm_tokens

# Expired tokens are swept when new ones are issued, a day after they expire.
_KEEP_EXPIRED = timedelta(days=1)
# Built once (every customer preview issues a token): see store/purges.py on prebuilt statements.
_SWEEP = delete(confirm_tokens).where(confirm_tokens.c.expires_at < bindparam("before"))
_INSERT = insert(confirm_tokens)


def issue(
    conn: Connection,
    token_hash: bytes,
    user_name: str,
    phone_digest: bytes,
    calls_digest: bytes,
    now: datetime,
    expires_at: datetime,
) -> None:
    conn.execute(_SWEEP, {"before": now - _KEEP_EXPIRED})
    conn.execute(
        _INSERT,
        {
            "token_hash": token_hash,
            "user_name": user_name,
            "phone_digest": phone_digest,
            "calls_digest": calls_digest,
            "expires_at": expires_at,
        },
    )


def redeem(
    conn: Connection,
    token_hash: bytes,
    user_name: str,
    phone_digest: bytes,
    calls_digest: bytes,
    now: datetime,
) -> bool:
    """Use the token if it fits all of it: same user, same number, same calls, unexpired, unused.
    One statement, so two purges racing with one token cannot both use it."""
    used = conn.execute(
        update(confirm_tokens)
        .where(
            confirm_tokens.c.token_hash == token_hash,
            confirm_tokens.c.user_name == user_name,
            confirm_tokens.c.phone_digest == phone_digest,
            confirm_tokens.c.calls_digest == calls_digest,
            confirm_tokens.c.used_at.is_(None),
            confirm_tokens.c.expires_at > now,
        )
        .values(used_at=now)
    )
    return bool(used.rowcount == 1)
