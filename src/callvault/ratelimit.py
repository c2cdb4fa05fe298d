"""Per-client rate limiting: a token bucket per key, in memory, per process.

Each API user (and, at ``/Token``, each client address) may spend ``per_minute`` requests a
minute, with bursts of up to a sixth of that. Over it, the answer is 429 with ``Retry-After``
saying when the next request will be accepted. With several API nodes each node keeps its own
buckets, so the fleet-wide allowance is the per-node limit times the number of nodes.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Hashable


class RateLimiter:
    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.capacity = max(1.0, per_minute / 6)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[Hashable, tuple[float, float]] = {}
        self._lock = threading.Lock()

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
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            if len(self._buckets) > 100_000:  # forget idle clients rather than grow forever
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
            return (1.0 - tokens) / self.rate


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
