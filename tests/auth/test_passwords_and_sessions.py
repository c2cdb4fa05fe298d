"""Console logins (contract §17): Argon2id passwords, sessions kept only as hashes, idle timeout,
rate-limited failures that never say which part was wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from callvault.auth.passwords import InvalidLogin, set_password, verify_login
from callvault.auth.sessions import (
    ADDRESS_FAILURES_PER_MINUTE,
    LOGIN_FAILED,
    LOGIN_FAILURES_PER_MINUTE,
    ConsoleSessions,
    csrf_token,
)
from callvault.auth.users import create_user, disable_user
from callvault.errors import NotFound, RateLimited, Unauthenticated
from callvault.ratelimit import RateLimiter
from callvault.store.tables import api_users, console_sessions
from callvault.store.types import utcnow

PASSWORD = "correct horse battery staple"


@pytest.fixture
def engine(runtime):
    return runtime.engine


def test_a_password_is_stored_as_an_argon2id_hash_only(engine):
    create_user(engine, "officer", ["purge"], password=PASSWORD)
    with engine.connect() as conn:
        stored = conn.execute(select(api_users.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert verify_login(engine, "officer", PASSWORD).name == "officer"


@pytest.mark.parametrize(
    ("name", "password"),
    [("officer", "wrong password here"), ("nobody", PASSWORD), ("machine", PASSWORD)],
)
def test_wrong_password_unknown_user_and_no_password_fail_alike(engine, name, password):
    create_user(engine, "officer", ["purge"], password=PASSWORD)
    create_user(engine, "machine", ["purge"])  # no password: may not log in at all
    with pytest.raises(InvalidLogin):
        verify_login(engine, name, password)
    sessions = ConsoleSessions(engine, 15)
    with pytest.raises(Unauthenticated) as caught:
        sessions.login(name, password, "10.0.0.1")
    assert caught.value.detail == LOGIN_FAILED


def test_a_disabled_user_cannot_log_in_and_its_sessions_end(engine):
    create_user(engine, "officer", ["purge"], password=PASSWORD)
    sessions = ConsoleSessions(engine, 15)
    session = sessions.login("officer", PASSWORD, "10.0.0.1")
    assert sessions.resume(session.session_id) is not None
    disable_user(engine, "officer")
    assert sessions.resume(session.session_id) is None
    with pytest.raises(Unauthenticated):
        sessions.login("officer", PASSWORD, "10.0.0.1")


def test_only_a_hash_of_the_session_id_is_stored(engine):
    create_user(engine, "officer", ["purge"], password=PASSWORD)
    session = ConsoleSessions(engine, 15).login("officer", PASSWORD, "10.0.0.1")
    with engine.connect() as conn:
        stored = [bytes(r.id_hash) for r in conn.execute(select(console_sessions))]
    assert len(stored) == 1
    assert session.session_id.encode() not in stored[0]
    assert len(stored[0]) == 32


def test_a_session_ends_after_the_idle_timeout(engine):
    create_user(engine, "officer", ["purge"], password=PASSWORD)
    sessions = ConsoleSessions(engine, 15)
    session = sessions.login("officer", PASSWORD, "10.0.0.1")
    now = utcnow()
    assert sessions.resume(session.session_id, now + timedelta(minutes=14)) is not None
    # That request counted as activity: the 15 minutes run from it.
    assert sessions.resume(session.session_id, now + timedelta(minutes=28)) is not None
    assert sessions.resume(session.session_id, now + timedelta(minutes=44)) is None
    assert sessions.resume(session.session_id, now) is None  # gone for good


def test_logout_and_a_new_password_end_sessions(engine):
    create_user(engine, "officer", ["purge"], password=PASSWORD)
    sessions = ConsoleSessions(engine, 15)
    first = sessions.login("officer", PASSWORD, "10.0.0.1")
    second = sessions.login("officer", PASSWORD, "10.0.0.2")
    sessions.logout(first.session_id)
    assert sessions.resume(first.session_id) is None
    assert sessions.resume(second.session_id) is not None
    set_password(engine, "officer", "another long passphrase")
    assert sessions.resume(second.session_id) is None
    with pytest.raises(Unauthenticated):
        sessions.login("officer", PASSWORD, "10.0.0.1")
    assert sessions.login("officer", "another long passphrase", "10.0.0.1")


def test_set_password_of_an_unknown_user_is_not_found(engine):
    with pytest.raises(NotFound):
        set_password(engine, "nobody", PASSWORD)


def test_short_passwords_are_refused(engine):
    with pytest.raises(ValueError, match="at least 12"):
        create_user(engine, "officer", ["purge"], password="short")


def test_csrf_token_is_per_session_and_compared_exactly(engine):
    create_user(engine, "officer", ["purge"], password=PASSWORD)
    sessions = ConsoleSessions(engine, 15)
    one = sessions.login("officer", PASSWORD, "10.0.0.1")
    two = sessions.login("officer", PASSWORD, "10.0.0.1")
    assert one.csrf_token != two.csrf_token
    assert one.csrf_token == csrf_token(one.session_id)
    assert one.csrf_ok(one.csrf_token)
    assert not one.csrf_ok(two.csrf_token)
    assert not one.csrf_ok(None)
    assert not one.csrf_ok("")


def frozen(sessions: ConsoleSessions) -> ConsoleSessions:
    """``sessions`` with time standing still for its login limits: each failure costs an
    Argon2 hash, during which a bucket would refill a little on a busy machine."""
    sessions.failures = RateLimiter(LOGIN_FAILURES_PER_MINUTE, clock=lambda: 1000.0)
    sessions.address_failures = RateLimiter(ADDRESS_FAILURES_PER_MINUTE, clock=lambda: 1000.0)
    return sessions


def failures_before_refused(sessions, name, address, at_most=40) -> int:
    for n in range(at_most):
        try:
            sessions.login(name, "wrong password here", address)
        except Unauthenticated:
            continue
        except RateLimited:
            return n
        raise AssertionError("a wrong password logged in")
    raise AssertionError(f"{at_most} failures and never refused")


def test_failed_logins_are_rate_limited_per_address_and_name(engine):
    create_user(engine, "officer", ["purge"], password=PASSWORD)
    create_user(engine, "analyst", ["audit"], password=PASSWORD)
    sessions = frozen(ConsoleSessions(engine, 15))
    assert failures_before_refused(sessions, "officer", "10.0.0.9") == 5
    # Over the limit, even the right password is refused from there (a guesser learns nothing),
    # the name in another case or with spaces too ...
    with pytest.raises(RateLimited) as caught:
        sessions.login("officer", PASSWORD, "10.0.0.9")
    assert caught.value.retry_after > 0
    with pytest.raises(RateLimited):
        sessions.login(" Officer ", PASSWORD, "10.0.0.9")
    # ... but not from another address: nobody locks a named person out from elsewhere; and
    # the guesser's address may still log in as another user.
    assert sessions.login("officer", PASSWORD, "10.0.0.10").principal.name == "officer"
    assert sessions.login("analyst", PASSWORD, "10.0.0.9").principal.name == "analyst"


def test_an_address_failing_across_many_names_is_capped(engine):
    create_user(engine, "officer", ["purge"], password=PASSWORD)
    sessions = frozen(ConsoleSessions(engine, 15))
    for n in range(10):  # one failure each: each name's own bucket is far from spent ...
        with pytest.raises(Unauthenticated):
            sessions.login(f"name-{n}", "wrong password here", "10.0.0.9")
    # ... yet the address's is: bursts of ten across names, then one a second.
    with pytest.raises(RateLimited):
        sessions.login("name-10", "wrong password here", "10.0.0.9")
    with pytest.raises(RateLimited):
        sessions.login("officer", PASSWORD, "10.0.0.9")
    assert sessions.login("officer", PASSWORD, "10.0.0.10").principal.name == "officer"
