"""Console sessions (contract §17): a login makes a random session ID the cookie carries.

Only the SHA-256 of the session ID is stored. The CSRF token of a session is derived from the
session ID (HMAC-SHA256 keyed by it), so it needs no storage of its own, differs per session, and
cannot be computed from anything in the database; forms carry it and it is compared in constant
time. A session ends on logout, after ``idle_minutes`` without a request, when its user is
disabled, or when its user's password is set again.

Failed logins are rate-limited per (client address, user name): ``LOGIN_FAILURES_PER_MINUTE``
failures a minute with bursts of a sixth of that (five in a row, then one every two seconds);
over it every attempt at that name from that address, right or wrong, is refused with 429 until
the bucket refills. A guesser elsewhere so never locks a named person out: her own address has
its own bucket (behind a reverse proxy, the address the trusted proxy forwards:
``ratelimit.client_address``). One address spraying many names is capped apart, over every name:
``ADDRESS_FAILURES_PER_MINUTE``, bursts of ten, then one a second.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from callvault.auth import passwords
from callvault.auth.identity import Principal, principal_of
from callvault.errors import RateLimited, Unauthenticated
from callvault.ratelimit import RateLimiter, retry_after_header
from callvault.store import sessions as session_store
from callvault.store.types import utcnow

LOGIN_FAILURES_PER_MINUTE = 30  # per (address, name)
ADDRESS_FAILURES_PER_MINUTE = 60  # per address, whatever the names
# A name longer than any user's (200) is cut here: a bucket key stays small.
_NAME_KEY_CHARS = 201
TOUCH_EVERY = timedelta(seconds=30)  # last_seen is written at most this often per session
LOGIN_FAILED = "the user name or the password is wrong, or this user may not log in"
_CSRF_LABEL = b"callvault-console-csrf"


def _id_hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


def csrf_token(session_id: str) -> str:
    return hmac.new(session_id.encode(), _CSRF_LABEL, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ConsoleSession:
    session_id: str
    principal: Principal

    @property
    def csrf_token(self) -> str:
        return csrf_token(self.session_id)

    def csrf_ok(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(
            self.csrf_token.encode(), given.encode("utf-8", "replace")
        )


class ConsoleSessions:
    def __init__(self, engine: Engine, idle_minutes: int) -> None:
        self.engine = engine
        self.idle = timedelta(minutes=idle_minutes)
        self.failures = RateLimiter(LOGIN_FAILURES_PER_MINUTE)  # (address, name)
        self.address_failures = RateLimiter(ADDRESS_FAILURES_PER_MINUTE)

    def login(self, name: str, password: str, address: str) -> ConsoleSession:
        """A session for ``name`` with ``password``, asked from the client ``address``;
        Unauthenticated for a wrong name or password, RateLimited when that address has failed
        too often, for this name or across names."""
        buckets = (
            (self.failures, (address, name.strip().lower()[:_NAME_KEY_CHARS])),
            (self.address_failures, address),
        )
        waits = [w for w in (limiter.waiting(key) for limiter, key in buckets) if w is not None]
        if waits:
            wait = max(waits)
            raise RateLimited(
                f"too many failed logins; try again in {retry_after_header(wait)} s", wait
            )
        try:
            principal = passwords.verify_login(self.engine, name.strip(), password)
        except passwords.InvalidLogin:
            for limiter, key in buckets:
                limiter.acquire(key)
            raise Unauthenticated(LOGIN_FAILED) from None
        session_id = secrets.token_urlsafe(32)
        now = utcnow()
        session_store.create(
            self.engine, _id_hash(session_id), principal.user_id, now, now - self.idle
        )
        return ConsoleSession(session_id, principal)

    def resume(self, session_id: str | None, now: datetime | None = None) -> ConsoleSession | None:
        """The live session of a cookie's value, else None (unknown, idle too long, user
        disabled)."""
        if not session_id or len(session_id) > 128:
            return None
        now = now or utcnow()
        id_hash = _id_hash(session_id)
        row = session_store.find(self.engine, id_hash)
        if row is None:
            return None
        if row.disabled or row.last_seen_at + self.idle <= now:
            session_store.remove(self.engine, id_hash)
            return None
        if now - row.last_seen_at >= TOUCH_EVERY:
            session_store.touch(self.engine, id_hash, now)
        return ConsoleSession(session_id, principal_of(row))

    def logout(self, session_id: str) -> None:
        session_store.remove(self.engine, _id_hash(session_id))
