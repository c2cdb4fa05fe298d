"""Per-client rate limiting: a token bucket per key, in memory, per process.

Each API user (and, at ``/Token``, each client address) may spend ``per_minute`` requests a
minute, with bursts of up to a sixth of that. Over it, the answer is 429 with ``Retry-After``
saying when the next request will be accepted. With several API nodes each node keeps its own
buckets, so the fleet-wide allowance is the per-node limit times the number of nodes.

``client_address`` says which address a request is from, for the limits kept per address: the
peer's, or behind a trusted reverse proxy the client's address the proxy forwarded.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

# At most this many clients' buckets are kept. Past it (that many distinct clients within one
# refill time, e.g. a flood of addresses at the open /Token), the least recently seen are
# dropped: each of them then starts over with a full bucket, a leniency bounded by the flood.
MAX_TRACKED = 100_000


class RateLimiter:
    def __init__(
        self,
        per_minute: float,
        clock: Callable[[], float] = time.monotonic,
        capacity: float | None = None,
    ) -> None:
        """``capacity``: the burst (default a sixth of a minute's allowance)."""
        self.per_minute = per_minute
        self.capacity = max(1.0, per_minute / 6 if capacity is None else capacity)
        self.rate = per_minute / 60.0
        # A bucket left alone this long is full again: the same as none, so it is forgotten.
        self._refill_seconds = self.capacity / self.rate if per_minute > 0 else 0.0
        self._clock = clock
        # Least recently touched first, so the idle buckets are at the front, where each
        # request drops a few: memory follows the clients of the last refill time, not of all
        # time, at a constant cost a request.
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many clients' buckets are held now."""
        with self._lock:
            return len(self._buckets)

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def waiting(self, key: Hashable) -> float | None:
        """Seconds until ``key`` may spend a request again (None: it may now), spending
        nothing: the console's login counts only failures, but refuses every attempt once
        they have used up the bucket."""
        if not self.enabled:
            return None
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        return None if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def acquire(self, key: Hashable) -> float | None:
        """Spend one request of ``key``; None if allowed, else seconds until one is."""
        if not self.enabled:
            return None
        with self._lock:
            now = self._clock()  # read under the lock: the buckets' times only move forward
            self._forget(now)
            # Popped and put back: the key moves to the end, the most recently touched.
            tokens, last = self._buckets.pop(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def _forget(self, now: float) -> None:
        """Drop the buckets that have refilled, and the oldest past MAX_TRACKED (lock held)."""
        buckets = self._buckets
        while buckets:
            _, last = buckets[next(iter(buckets))]
            if now - last < self._refill_seconds and len(buckets) < MAX_TRACKED:
                return
            buckets.popitem(last=False)


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))


# Longest X-Forwarded-For entry kept as a client's address when it is no IP address (a proxy's
# obfuscated identifier, RFC 7239 §6.3): a bucket key stays small whatever a header holds.
MAX_ADDRESS_CHARS = 64


def client_address(
    peer: str,
    forwarded_for: Iterable[str],
    trusted: Sequence[IPv4Network | IPv6Network],
) -> str:
    """Whom to throttle: the peer's address, unless the peer is a trusted proxy (``trusted``,
    the setting CALLVAULT_FORWARDED_ALLOW_IPS); then the right-most entry of the
    ``X-Forwarded-For`` headers (``forwarded_for``, in the order received) that is not itself a
    trusted proxy. A client can write any entries on the left, never the one its first trusted
    proxy appends. Every entry trusted: the left-most; none: the peer."""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    entries = [entry.strip() for header in forwarded_for for entry in header.split(",")]
    address = peer
    for entry in reversed([e for e in entries if e]):
        address = _host(entry)
        if not _is_trusted(address, trusted):
            return address
    return address


def _parsed(address: str) -> IPv4Address | IPv6Address | None:
    try:
        parsed = ip_address(address)
    except ValueError:
        return None
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped  # ::ffff:10.0.0.1, a dual-stack socket's IPv4 peer
    return parsed


def _is_trusted(address: str, trusted: Sequence[IPv4Network | IPv6Network]) -> bool:
    parsed = _parsed(address)
    return parsed is not None and any(parsed in network for network in trusted)


def _host(entry: str) -> str:
    """An X-Forwarded-For entry's address, its port dropped (``[2001:db8::1]:443``,
    ``192.0.2.1:8080``) and written one way; an entry that is no address, as it is (cut short)."""
    host = entry
    if host.startswith("[") and "]" in host:
        host = host[1 : host.index("]")]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    parsed = _parsed(host)
    return str(parsed) if parsed is not None else entry[:MAX_ADDRESS_CHARS]
