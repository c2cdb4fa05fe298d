"""The API users' queries: a taken name writes nothing, disabling a user drops its tokens and
changing a password its console sessions (each only the user's own), and the lookups that
authenticate someone read the user's columns as stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from callvault.store import sessions as session_store
from callvault.store import tokens as token_store
from callvault.store import users as user_store
from callvault.store.types import utcnow

pytestmark = pytest.mark.both_backends


@pytest.fixture
def engine(runtime):
    return runtime.engine


def _add(engine, name, password_hash=None, region=None, permissions="purge,read"):
    return user_store.insert_user(
        engine,
        name=name,
        client_id=f"cv_{name}",
        secret_hash=bytes([len(name)]) * 32,
        permissions=permissions,
        region=region,
        password_hash=password_hash,
    )


def _id(engine, name):
    return user_store.login_row(engine, name).id


def test_a_taken_name_is_refused_and_writes_nothing(engine):
    assert _add(engine, "alice", region="MX")
    assert not user_store.insert_user(
        engine,
        name="alice",
        client_id="cv_other",
        secret_hash=b"\x01" * 32,
        permissions="admin",
        region=None,
        password_hash="$argon2id$x",
    )
    (row,) = user_store.all_users(engine)
    assert (row.name, row.client_id, row.permissions, row.region) == (
        "alice",
        "cv_alice",
        "purge,read",
        "MX",
    )
    assert row.disabled is False
    assert row.has_password is False
    assert user_store.client(engine, "cv_other") is None


def test_all_users_lists_them_oldest_first_and_says_who_has_a_password(engine):
    before = utcnow()
    for name in ("zed", "amy", "bob"):
        _add(engine, name, password_hash="$argon2id$h" if name == "amy" else None)
    rows = user_store.all_users(engine)
    assert [r.name for r in rows] == ["zed", "amy", "bob"]
    assert [r.has_password for r in rows] == [False, True, False]
    assert all(before - timedelta(seconds=1) <= r.created_at <= utcnow() for r in rows)


def test_disabling_a_user_drops_its_tokens_and_no_one_elses(engine):
    _add(engine, "alice")
    _add(engine, "bob")
    now = utcnow()
    later = now + timedelta(hours=1)
    token_store.insert_token(engine, b"a" * 32, _id(engine, "alice"), now, later)
    token_store.insert_token(engine, b"b" * 32, _id(engine, "bob"), now, later)
    assert user_store.disable(engine, "alice")
    assert token_store.lookup(engine, b"a" * 32) is None
    assert token_store.lookup(engine, b"b" * 32).name == "bob"
    assert {r.name: r.disabled for r in user_store.all_users(engine)} == {
        "alice": True,
        "bob": False,
    }
    assert user_store.client(engine, "cv_alice").disabled is True


def test_disabling_or_setting_the_password_of_no_one_changes_nothing(engine):
    _add(engine, "alice", password_hash="$argon2id$old")
    assert not user_store.disable(engine, "nobody")
    assert not user_store.set_password_hash(engine, "nobody", "$argon2id$new")
    (row,) = user_store.all_users(engine)
    assert row.disabled is False
    assert user_store.login_row(engine, "alice").password_hash == "$argon2id$old"


def test_a_new_password_ends_the_users_console_sessions_and_no_one_elses(engine):
    _add(engine, "alice")
    _add(engine, "bob")
    now = utcnow()
    idle = now - timedelta(minutes=15)
    session_store.create(engine, b"a" * 32, _id(engine, "alice"), now, idle)
    session_store.create(engine, b"b" * 32, _id(engine, "bob"), now, idle)
    assert user_store.set_password_hash(engine, "alice", "$argon2id$new")
    assert user_store.login_row(engine, "alice").password_hash == "$argon2id$new"
    assert user_store.login_row(engine, "bob").password_hash is None
    assert session_store.find(engine, b"a" * 32) is None
    assert session_store.find(engine, b"b" * 32) is not None


def test_client_reads_the_secret_hash_as_bytes(engine):
    _add(engine, "alice")
    found = user_store.client(engine, "cv_alice")
    assert found == user_store.ClientRow(
        user_id=_id(engine, "alice"), secret_hash=bytes([5]) * 32, disabled=False
    )
    assert type(found.secret_hash) is bytes  # what hmac.compare_digest is given, on both backends
    assert user_store.client(engine, "cv_nobody") is None


def test_login_row_has_the_principal_columns_and_the_password_hash(engine):
    _add(engine, "alice", password_hash="$argon2id$h", region="MX", permissions="audit")
    row = user_store.login_row(engine, "alice")
    assert set(row._mapping.keys()) == {
        "id",
        "name",
        "permissions",
        "disabled",
        "region",
        "password_hash",
    }
    assert (row.name, row.permissions, row.disabled, row.region, row.password_hash) == (
        "alice",
        "audit",
        False,
        "MX",
        "$argon2id$h",
    )
    assert user_store.login_row(engine, "Alice") is None
