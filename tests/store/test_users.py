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


def _add(
    engine, name, password_hash=None, region=None, permissions="purge,read", confirm_above=None
):
    return user_store.insert_user(
        engine,
        name=name,
        client_id=f"cv_{name}",
        secret_hash=bytes([len(name)]) * 32,
        permissions=permissions,
        region=region,
        password_hash=password_hash,
        confirm_above=confirm_above,
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
        "confirm_above",
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


def test_every_lookup_that_authenticates_reads_the_users_own_threshold(engine):
    """A token, a console session and a login all read ``confirm_above`` as stored at that
    moment: a change reaches the user's next request, tokens and sessions already open
    included."""
    _add(engine, "robot", confirm_above=-1)
    _add(engine, "plain")
    now = utcnow()
    robot = _id(engine, "robot")
    token_store.insert_token(engine, b"r" * 32, robot, now, now + timedelta(hours=1))
    session_store.create(engine, b"s" * 32, robot, now, now - timedelta(minutes=15))
    assert token_store.lookup(engine, b"r" * 32).confirm_above == -1
    assert session_store.find(engine, b"s" * 32).confirm_above == -1
    assert user_store.login_row(engine, "robot").confirm_above == -1
    assert user_store.login_row(engine, "plain").confirm_above is None
    assert {r.name: r.confirm_above for r in user_store.all_users(engine)} == {
        "robot": -1,
        "plain": None,
    }

    assert user_store.update_user(engine, "robot", confirm_above=250)
    assert token_store.lookup(engine, b"r" * 32).confirm_above == 250
    assert session_store.find(engine, b"s" * 32).confirm_above == 250
    assert user_store.login_row(engine, "plain").confirm_above is None


def test_update_user_changes_only_what_it_is_given(engine):
    _add(engine, "alice", region="MX", confirm_above=7)
    assert user_store.update_user(engine, "alice", region="GB")
    assert (user_store.login_row(engine, "alice").region,) == ("GB",)
    assert user_store.login_row(engine, "alice").confirm_above == 7
    assert user_store.update_user(engine, "alice", confirm_above=None)
    row = user_store.login_row(engine, "alice")
    assert (row.region, row.confirm_above) == ("GB", None)
    assert user_store.update_user(engine, "alice", region=None, confirm_above=0)
    row = user_store.login_row(engine, "alice")
    assert (row.region, row.confirm_above) == (None, 0)
    assert not user_store.update_user(engine, "nobody", confirm_above=3)
    assert user_store.update_user(engine, "alice")  # nothing to change: the user exists
    assert not user_store.update_user(engine, "nobody")
