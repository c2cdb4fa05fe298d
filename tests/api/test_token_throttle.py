"""``POST /Token`` throttling (contract §2, issue 33): failed attempts are limited per client
address (guessing is what that stops), successful ones per ``client_id``, generously.

Tethr's C++ client asks for a new token before every call, on a new connection each time; a
recorder doing ten operations a second, or many recorders behind one NAT address, ask for many.
Every request here is framed by hand on a real socket to real uvicorn, as that client frames it,
and some come from another loopback address (127.0.0.2) to be another client address.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote

import pytest

from api.test_tethr_wire import TETHR_JSON, RawResponse, read_response, token_request

SOCKET_TIMEOUT = 30.0
HERE = "127.0.0.1"
ELSEWHERE = "127.0.0.2"  # another client address: all of 127/8 is loopback


def ask(port: int, client_id: str, secret: str, source: str = HERE) -> RawResponse:
    """One token request as the C++ client sends it: a form on a connection of its own."""
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret={quote(secret)}"
    with socket.create_connection(
        ("127.0.0.1", port), timeout=SOCKET_TIMEOUT, source_address=(source, 0)
    ) as sock:
        sock.sendall(token_request(form))
        with sock.makefile("rb") as stream:
            return read_response(stream)


def assert_issued(answer: RawResponse) -> None:
    assert answer.status == 200, (answer.status, answer.body[:300])
    assert answer.header("content-type") == TETHR_JSON
    assert answer.json()["token_type"] == "bearer"


def assert_throttled(answer: RawResponse) -> int:
    """A 429 as RFC 6749 §5.2 shapes token errors; returns its Retry-After."""
    assert answer.status == 429, (answer.status, answer.body[:300])
    assert answer.header("content-type") == TETHR_JSON
    assert answer.json()["error"] == "temporarily_unavailable"
    retry_after = answer.header("retry-after")
    assert retry_after is not None
    assert int(retry_after) >= 1
    return int(retry_after)


def test_fifty_token_requests_a_second_from_one_address_all_succeed(live):
    """The default limits: 4 s of a C++ recorder fleet behind one NAT address at 50 tokens a
    second. /Token used to allow 600 a minute per address (a burst of 100): this was refused
    from the third second on."""
    client_id, secret = live.user("capture")
    rate, seconds = 50, 4
    count = rate * seconds
    started = time.monotonic()

    def paced(n: int) -> int:
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        return ask(live.port, client_id, secret).status

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(paced, range(count)))
    elapsed = time.monotonic() - started
    assert statuses == [200] * count, {s: statuses.count(s) for s in set(statuses)}
    # Fast enough to have been a test of the rate: the old limit (a burst of 100, then 10 a
    # second) would have refused some within this time.
    assert elapsed < (count - 100) / 10, elapsed


@pytest.mark.settings(token_rate_limit_per_minute=60)  # failures: bursts of 10, then 1 a second
def test_a_stream_of_wrong_secrets_gets_429_with_retry_after(live):
    client_id, _ = live.user("capture")
    answers = [ask(live.port, client_id, "wrong-secret") for _ in range(25)]
    statuses = [a.status for a in answers]
    assert statuses[:10] == [400] * 10, statuses
    assert all(a.json()["error"] == "invalid_client" for a in answers[:10])
    assert statuses[-5:] == [429] * 5, statuses
    for answer in answers[-5:]:
        assert_throttled(answer)


@pytest.mark.settings(token_rate_limit_per_minute=6)  # failures: a burst of 1
def test_successes_do_not_spend_the_failure_allowance(live):
    client_id, secret = live.user("capture")
    for _ in range(30):
        assert_issued(ask(live.port, client_id, secret))
    assert ask(live.port, client_id, "wrong").status == 400
    assert_throttled(ask(live.port, client_id, "wrong"))


@pytest.mark.settings(token_rate_limit_per_minute=60)
def test_a_guesser_does_not_lock_out_a_good_client_on_another_address(live):
    client_id, secret = live.user("capture")
    while ask(live.port, client_id, "guess", source=HERE).status != 429:
        pass
    # The very client_id the guesser aims at still gets its tokens from elsewhere.
    for _ in range(20):
        assert_issued(ask(live.port, client_id, secret, source=ELSEWHERE))
    # And a wrong secret from elsewhere is judged, not throttled: buckets are per address.
    assert ask(live.port, client_id, "typo", source=ELSEWHERE).status == 400


@pytest.mark.settings(token_rate_limit_per_minute=60)
def test_a_throttled_address_is_refused_before_its_credentials_are_checked(live):
    """Good credentials from an address throttled for its failures get the same 429 as wrong
    ones: answering them 200 would let a guesser tell a right secret from a wrong one while it
    is throttled (the check would be an oracle)."""
    client_id, secret = live.user("capture")
    while ask(live.port, client_id, "guess").status != 429:
        pass
    good = ask(live.port, client_id, secret)
    bad = ask(live.port, client_id, "guess")
    assert_throttled(good)
    assert_throttled(bad)
    assert good.json() == bad.json()


@pytest.mark.settings(token_issue_rate_limit_per_minute=60)  # successes: bursts of 10 a client
def test_successes_are_limited_per_client_id(live):
    busy_id, busy_secret = live.user("capture")
    other_id, other_secret = live.user("capture")
    for _ in range(10):
        assert_issued(ask(live.port, busy_id, busy_secret))
    refused = ask(live.port, busy_id, busy_secret)
    assert_throttled(refused)
    assert "client" in refused.json()["error_description"]
    assert_issued(ask(live.port, other_id, other_secret))  # per client_id, same address
    # A client over its allowance is no failure of its address: a wrong secret is judged.
    assert ask(live.port, other_id, "typo").status == 400
