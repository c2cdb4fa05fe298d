"""When a request may be sent again, and how long to wait first.

Retried: connection failures (nothing reached the server), and for idempotent operations also
timeouts and broken connections; 429 (honouring ``Retry-After``) and 502/503/504 always. A purge is
idempotent here (asking again for a call being purged queues nothing new), a capture is not (a
repeat after a lost answer would hit 409), so captures retry only what surely did not arrive.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class Retrying:
    """What ``on_retry`` is told before the SDK waits and sends a request again."""

    attempt: int  # the attempt about to be made (2 for the first retry)
    max_attempts: int
    delay: float  # seconds it waits first
    method: str
    url: str
    reason: str  # "ConnectError: …" or "503"
    reached: bool  # False when the server could not be reached at all


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def backoff(self, attempt: int) -> float:
        """Capped exponential backoff with full jitter for the ``attempt``-th retry (1-based)."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))

    def waits_too_long(self, response: httpx.Response) -> bool:
        """A ``Retry-After`` beyond ``max_delay`` (an hourly erasure quota, say) is not waited
        out silently: the error is raised at once, saying when to come back."""
        retry_after = parse_retry_after(response)
        return retry_after is not None and retry_after > self.max_delay

    def delay_for(self, response: httpx.Response | None, attempt: int) -> float:
        retry_after = parse_retry_after(response) if response is not None else None
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        return self.backoff(attempt)


def parse_retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def retryable_exception(exc: Exception, idempotent: bool) -> bool:
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return True  # the request never reached the server
    return idempotent and isinstance(exc, httpx.TransportError)
