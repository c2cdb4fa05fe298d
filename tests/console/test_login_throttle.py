"""Console logins are throttled per (client address, name) (contract §19), over real HTTP: a
guesser elsewhere cannot lock a named person out, guessing one name from one address is still
throttled, and an address spraying many names is capped. Behind a trusted proxy the client is the
right-most address of `X-Forwarded-For` the proxy did not add itself
(`CALLVAULT_FORWARDED_ALLOW_IPS`); with no proxy trusted the header is ignored.

Source addresses: the server listens on 127.0.0.1 and a client binds its socket to another
loopback address (127.0.0.2, 127.0.0.3, …), or goes through the header where a proxy is trusted."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from callvault.auth.sessions import ADDRESS_FAILURES_PER_MINUTE, LOGIN_FAILURES_PER_MINUTE
from callvault.auth.users import create_user
from callvault.ratelimit import RateLimiter
from console_helpers import PASSWORD, hidden

ATTACKER, VICTIM, OTHER = "127.0.0.2", "127.0.0.3", "127.0.0.4"


class Browser:
    """A login form's client from ``source`` (its socket's own address), sending ``forwarded``
    as X-Forwarded-For when given."""

    def __init__(self, url: str, source: str = "127.0.0.1") -> None:
        transport = httpx.HTTPTransport(local_address=source)
        self.http = httpx.Client(base_url=url, transport=transport, timeout=30)
        self.token = hidden(self.http.get("/console/login").text, "login_token")

    def login(self, name: str, password: str, forwarded: str | None = None) -> httpx.Response:
        headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
        fields = {"login_token": self.token, "username": name, "password": password}
        return self.http.post("/console/login", data=fields, headers=headers)


@pytest.fixture
def browser(live) -> Iterator:
    opened: list[Browser] = []

    def make(source: str = "127.0.0.1") -> Browser:
        made = Browser(live.url, source)
        opened.append(made)
        return made

    yield make
    for made in opened:
        made.http.close()


@pytest.fixture
def dana(live) -> str:
    create_user(live.runtime.engine, "dana", ["audit"], password=PASSWORD)
    return "dana"


@pytest.fixture(autouse=True)
def frozen(live) -> None:
    """Time stands still for the server's login limits (the limits themselves, as they are):
    each failure costs an Argon2 hash, during which a bucket would refill a little on a busy
    machine, and the counts below would drift."""
    sessions = live.app_state.console_sessions
    sessions.failures = RateLimiter(LOGIN_FAILURES_PER_MINUTE, clock=lambda: 1000.0)
    sessions.address_failures = RateLimiter(ADDRESS_FAILURES_PER_MINUTE, clock=lambda: 1000.0)


def guess_until_refused(login, name: str, forwarded=lambda n: None, at_most: int = 8) -> int:
    """Wrong passwords until a 429; how many were answered 401 first."""
    for n in range(at_most):
        answer = login(name, f"wrong guess {n}", forwarded(n))
        if answer.status_code == 429:
            return n
        assert answer.status_code == 401, answer.text
    raise AssertionError(f"{at_most} wrong passwords for {name!r} and no 429")


def assert_throttled(answer: httpx.Response) -> None:
    assert answer.status_code == 429, answer.text
    assert int(answer.headers["retry-after"]) >= 1
    assert "callvault_session" not in answer.headers.get("set-cookie", "")


def test_wrong_passwords_from_one_address_do_not_lock_the_person_out_elsewhere(live, browser, dana):
    attacker = browser(ATTACKER)
    assert guess_until_refused(attacker.login, dana) == 5  # five failures, then 429
    # From the attacker's address the name is throttled, the right password too ...
    assert_throttled(attacker.login(dana, PASSWORD))
    # ... while dana, from her own address, logs in with her password.
    assert browser(VICTIM).login(dana, PASSWORD).status_code == 303


def test_an_address_spraying_many_names_is_capped(live, browser, dana):
    sprayer = browser(ATTACKER)
    refused_after = None
    for n in range(30):
        answer = sprayer.login(f"nobody-{n}", "wrong guess")
        if answer.status_code == 429:
            refused_after = n
            break
        assert answer.status_code == 401
    # Each name alone is under its own limit (one failure each): the address cap refused it,
    # after a burst of ten.
    assert refused_after == 10
    assert_throttled(sprayer.login(dana, PASSWORD))
    assert browser(VICTIM).login(dana, PASSWORD).status_code == 303


def test_a_forged_forwarded_for_is_ignored_when_no_proxy_is_trusted(live, browser, dana):
    attacker = browser(ATTACKER)
    # A new X-Forwarded-For each time changes nothing: the peer's address is the client's.
    assert guess_until_refused(attacker.login, dana, lambda n: f"198.51.100.{n}") == 5
    assert_throttled(attacker.login(dana, PASSWORD, "198.51.100.200"))
    # Nor can a header name somebody else's address to be throttled in its place.
    victim = browser(VICTIM)
    assert victim.login(dana, PASSWORD, ATTACKER).status_code == 303


@pytest.mark.settings(forwarded_allow_ips="127.0.0.1, 10.0.0.0/8")
def test_behind_a_trusted_proxy_clients_are_throttled_apart(live, browser, dana):
    proxy = browser("127.0.0.1")  # every client comes through it

    def from_attacker(n: int) -> str:
        # The client forges entries on the left; the proxies append the address they saw:
        # 203.0.113.7 (the attacker's, by the outer proxy) and 10.1.2.3 (the outer proxy's).
        return f"192.0.2.{n}, 203.0.113.7, 10.1.2.3"

    assert guess_until_refused(proxy.login, dana, from_attacker) == 5
    assert_throttled(proxy.login(dana, PASSWORD, "192.0.2.99, 203.0.113.7, 10.1.2.3"))
    # Another client behind the same proxy is not held by the attacker's failures.
    assert proxy.login(dana, PASSWORD, "198.51.100.8, 10.1.2.3").status_code == 303
    # A peer that is no trusted proxy is its own address, whatever it forwards.
    direct = browser(OTHER)
    assert guess_until_refused(direct.login, "erin", lambda n: f"203.0.113.{n + 20}") == 5
