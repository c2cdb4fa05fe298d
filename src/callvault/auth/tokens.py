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

from sqlalchemy import Engine

from callvault.auth.identity import Principal, hash_secret, principal_of
from callvault.errors import Unauthenticated
from callvault.store import tokens as token_store
from callvault.store import users as user_store
from callvault.store.types import utcnow

__all__ = ["InvalidClient", "IssuedToken", "Principal", "authenticate", "issue_token"]

# Compared against when the client_id is unknown, so both failures take the same time.
_DUMMY_HASH = hashlib.sha256(b"callvault-no-such-client").digest()


class InvalidClient(Exception):
    """Unknown client, wrong secret or disabled user (deliberately not told apart)."""


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int


def _token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def issue_token(engine: Engine, client_id: str, client_secret: str, ttl: int) -> IssuedToken:
    row = user_store.client(engine, client_id)
    stored = row.secret_hash if row is not None else _DUMMY_HASH
    matches = hmac.compare_digest(stored, hash_secret(client_secret))
    if row is None or not matches or row.disabled:
        raise InvalidClient
    token = secrets.token_urlsafe(32)
    now = utcnow()
    token_store.insert_token(
        engine, _token_hash(token), row.user_id, now, now + timedelta(seconds=ttl)
    )
    return IssuedToken(access_token=token, expires_in=ttl)


def authenticate(engine: Engine, token: str) -> Principal:
    """The user behind a bearer token; Unauthenticated if unknown, expired or user disabled."""
    row = token_store.lookup(engine, _token_hash(token))
    if row is None:
        raise Unauthenticated("the access token is unknown or revoked; request a new one at /Token")
    if row.expires_at <= utcnow():
        raise Unauthenticated("the access token has expired; request a new one at /Token")
    if row.disabled:
        raise Unauthenticated("the API user of this token is disabled")
    return principal_of(row)
