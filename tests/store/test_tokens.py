"""The access tokens' queries: a new token drops only its own user's expired tokens, and the
lookup of a token reads its user's columns and its expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest

from callvault.store import tokens as token_store
from callvault.store import users as user_store
from callvault.store.types import utcnow

pytestmark = pytest.mark.both_backends


@pytest.fixture
def engine(runtime):
    return runtime.engine


def _add(engine, name, region=None):
    assert user_store.insert_user(
        engine,
        name=name,
        client_id=f"cv_{name}",
        secret_hash=b"\x00" * 32,
        permissions="capture",
        region=region,
        password_hash=None,
    )
    return user_store.login_row(engine, name).id


def test_a_new_token_drops_its_users_expired_tokens_only(engine):
    alice, bob = _add(engine, "alice"), _add(engine, "bob")
    now = utcnow()
    past, future = now - timedelta(seconds=1), now + timedelta(hours=1)
    token_store.insert_token(engine, b"old-alice".ljust(32), alice, past, past)
    token_store.insert_token(engine, b"live-alice".ljust(32), alice, past, future)
    token_store.insert_token(engine, b"old-bob".ljust(32), bob, past, past)
    token_store.insert_token(engine, b"new-alice".ljust(32), alice, now, future)
    assert token_store.lookup(engine, b"old-alice".ljust(32)) is None
    assert token_store.lookup(engine, b"live-alice".ljust(32)) is not None
    assert token_store.lookup(engine, b"old-bob".ljust(32)) is not None
    assert token_store.lookup(engine, b"new-alice".ljust(32)).expires_at == future


def test_lookup_reads_the_tokens_user_and_expiry(engine):
    alice = _add(engine, "alice", region="MX")
    expires = utcnow() + timedelta(minutes=5)
    token_store.insert_token(engine, b"t" * 32, alice, utcnow(), expires)
    row = token_store.lookup(engine, b"t" * 32)
    assert (row.id, row.name, row.permissions, row.disabled, row.region) == (
        alice,
        "alice",
        "capture",
        False,
        "MX",
    )
    assert row.expires_at == expires
    user_store.disable(engine, "alice")  # drops the token with the user's others
    assert token_store.lookup(engine, b"t" * 32) is None
    assert token_store.lookup(engine, b"u" * 32) is None
