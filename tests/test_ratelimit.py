"""The rate limiter's memory stays bounded whatever clients do, and forgetting a client changes
no answer: `/Token` is open to anyone, and every distinct client address is a bucket."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from callvault import ratelimit
from callvault.ratelimit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Remembering:
    """The limiter's rule with nothing ever forgotten: the reference for its answers."""

    def __init__(self, per_minute: int, clock: Clock) -> None:
        self.capacity = max(1.0, per_minute / 6)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}

    def acquire(self, key: str) -> float | None:
        now = self.clock()
        tokens, last = self.buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self.buckets[key] = (tokens - 1.0, now)
            return None
        self.buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate


def test_a_client_idle_until_its_bucket_refilled_is_forgotten():
    clock = Clock()
    limiter = RateLimiter(60, clock=clock)  # 10 requests of burst, refilled in 10 s
    limiter.acquire("idle")
    clock.now += 5
    limiter.acquire("recent")
    assert len(limiter) == 2
    clock.now += 6  # "idle" untouched for 11 s: its bucket is full again; "recent" for 6 s
    limiter.acquire("new")
    assert len(limiter) == 2  # "recent" and "new"


def test_a_flood_of_new_clients_holds_at_most_max_tracked_buckets():
    clock = Clock()  # all within one instant: nobody is idle long enough to be forgotten
    limiter = RateLimiter(600, clock=clock)
    for n in range(ratelimit.MAX_TRACKED + 20_000):
        assert limiter.acquire(f"203.0.113.{n}") is None
    assert len(limiter) <= ratelimit.MAX_TRACKED


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from("abcde"), st.floats(min_value=0, max_value=4)),
        max_size=200,
    )
)
def test_forgetting_idle_clients_changes_no_answer(steps):
    clock, reference_clock = Clock(), Clock()
    limiter = RateLimiter(60, clock=clock)
    reference = Remembering(60, reference_clock)
    for key, wait in steps:
        clock.now += wait
        reference_clock.now += wait
        assert limiter.acquire(key) == reference.acquire(key)


# --------------------------------------------------------------------------- client_address


def networks(text: str):
    from callvault.settings import parse_networks

    return parse_networks(text)


def test_without_a_trusted_proxy_the_peer_is_the_client():
    forged = ["203.0.113.9"]
    assert ratelimit.client_address("127.0.0.2", forged, ()) == "127.0.0.2"
    assert ratelimit.client_address("127.0.0.2", forged, networks("10.0.0.0/8")) == "127.0.0.2"


def test_behind_trusted_proxies_the_right_most_untrusted_entry_is_the_client():
    trusted = networks("127.0.0.1, 10.0.0.0/8, 2001:db8::/32")
    address = ratelimit.client_address
    # The client forged "1.1.1.1"; the outer proxy appended the client (203.0.113.7), the inner
    # one the outer proxy (10.1.2.3).
    assert address("127.0.0.1", ["1.1.1.1, 203.0.113.7, 10.1.2.3"], trusted) == "203.0.113.7"
    # Several headers read as one list, in order.
    assert address("127.0.0.1", ["1.1.1.1", "203.0.113.7", "10.1.2.3"], trusted) == "203.0.113.7"
    # Ports and brackets dropped, addresses written one way; a dual-stack IPv4 peer trusted.
    assert address("::ffff:127.0.0.1", ["203.0.113.7:51234"], trusted) == "203.0.113.7"
    assert address("127.0.0.1", ["[2001:0DB9::1]:443"], trusted) == "2001:db9::1"
    # Nothing forwarded: the proxy itself; every hop trusted: the left-most.
    assert address("127.0.0.1", [], trusted) == "127.0.0.1"
    assert address("127.0.0.1", ["10.9.9.9, 10.1.1.1"], trusted) == "10.9.9.9"
    # An entry that is no address is kept as written, cut short.
    assert address("127.0.0.1", ["_hidden" + "x" * 500], trusted) == ("_hidden" + "x" * 500)[:64]


def test_the_setting_names_addresses_and_networks_or_fails():
    import pytest

    assert networks("") == ()
    assert [str(n) for n in networks(" 127.0.0.1 ,10.0.0.1/8,, ::1")] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
    ]
    for bad in ("*", "localhost", "10.0.0.0/33", "127.0.0.1 10.0.0.1"):
        with pytest.raises(ValueError, match="not an IP address or a network"):
            networks(bad)
