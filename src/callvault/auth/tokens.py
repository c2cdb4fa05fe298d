"""OAuth 2.0 client-credentials tokens (RFC 6749 §4.4), as Tethr issues them.

Tokens are opaque random strings; only their SHA-256 is stored, so a copy of the database does not
hold a usable token. Being in the database, they survive restarts and are shared by every node.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, delete, insert, select

from callvault.auth.permissions import Permission, parse_permissions
from callvault.auth.users import hash_secret
from callvault.errors import Unauthenticated
from callvault.store.engine import write_transaction
from callvault.store.tables import access_tokens, api_users
from callvault.store.types import utcnow

# Compared against when the client_id is unknown, so both failures take the same time.
_DUMMY_HASH = hashlib.sha256(b"callvault-no-such-client").digest()


class InvalidClient(Exception):
    """Unknown client, wrong secret or disabled user (deliberately not told apart)."""


@dataclass(frozen=True)
class Principal:
    user_id: int
    name: str
    permissions: frozenset[Permission]
    region: str | None = None  # for national phone numbers; None: the instance's default


# The user's columns a Principal is made of, for every lookup that authenticates someone (token,
# password, console session): one list, one constructor.
PRINCIPAL_COLUMNS = (
    api_users.c.id,
    api_users.c.name,
    api_users.c.permissions,
    api_users.c.disabled,
    api_users.c.region,
)


def principal_of(row: Any) -> Principal:
    """The Principal of a row that has ``PRINCIPAL_COLUMNS``."""
    return Principal(
        user_id=row.id,
        name=row.name,
        permissions=parse_permissions(row.permissions.split(",")),
        region=row.region,
    )


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def issue_token(engine: Engine, client_id: str, client_secret: str, ttl: int) -> IssuedToken:
    with engine.connect() as conn:
        row = conn.execute(
            select(api_users.c.id, api_users.c.secret_hash, api_users.c.disabled).where(
                api_users.c.client_id == client_id
            )
        ).first()
    stored = bytes(row.secret_hash) if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(stored, hash_secret(client_secret))
    if row is None or not matches or row.disabled:
        raise InvalidClient
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with write_transaction(engine) as conn:
        # Expired tokens of this user are dead weight; drop them while we hold the lock anyway.
        conn.execute(
            delete(access_tokens).where(
                access_tokens.c.user_id == row.id, access_tokens.c.expires_at < now
            )
        )
        conn.execute(
            insert(access_tokens).values(
                token_hash=_token_hash(token),
                user_id=row.id,
                expires_at=now + timedelta(seconds=ttl),
                created_at=now,
            )
        )
    return IssuedToken(access_token=token, expires_in=ttl)


# Every authenticated request runs this lookup: built once, its SQLAlchemy cache key memoized on
# the statement (see store/purges.py).
_LOOKUP = (
    select(*PRINCIPAL_COLUMNS, access_tokens.c.expires_at)
    .join(api_users, api_users.c.id == access_tokens.c.user_id)
    .where(access_tokens.c.token_hash == bindparam("token_hash"))
)


def authenticate(engine: Engine, token: str) -> Principal:
    """The user behind a bearer token; Unauthenticated if unknown, expired or user disabled."""
    with engine.connect() as conn:
        row = conn.execute(_LOOKUP, {"token_hash": _token_hash(token)}).first()
    if row is None:
        raise Unauthenticated("the access token is unknown or revoked; request a new one at /Token")
    if row.expires_at <= utcnow():
        raise Unauthenticated("the access token has expired; request a new one at /Token")
    if row.disabled:
        raise Unauthenticated("the API user of this token is disabled")
    return principal_of(row)
