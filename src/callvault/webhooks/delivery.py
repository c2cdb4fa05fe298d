"""Sending one webhook delivery, to the Standard Webhooks spec, and deciding what comes next.

A delivery is a POST of the stored body with ``webhook-id`` (the delivery's message ID, the same
at every attempt), ``webhook-timestamp`` (this attempt's time, in seconds) and
``webhook-signature`` (``v1,`` and the base64 HMAC-SHA256 of ``id.timestamp.body`` under the
webhook's secret), signed by the ``standardwebhooks`` library that receivers verify with. A 2xx
answered within 10 s delivers it; anything else (another status, a redirect, a refused or broken
connection, a timeout) is retried: first after ``CALLVAULT_WEBHOOK_RETRY_SECONDS``, each later
wait doubled, at most an hour apart, until 24 hours after the event; then it is given up.

What is logged of an attempt is the status or the kind of error, never the URL (its query may
carry a token of the receiver's), the body or the secret.
"""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from standardwebhooks.webhooks import Webhook

from callvault import __version__

if TYPE_CHECKING:  # httpx (with the click and rich it loads) is imported when a delivery is
    # sent: a worker starts without it (bench/README.md, "A worker's first erasure").
    import httpx

# httpx logs every request's URL at INFO: a receiver's URL may carry its token in the query.
logging.getLogger("httpx").setLevel(logging.WARNING)

DEADLINE_SECONDS = 10.0  # a 2xx within this long delivers (contract §23)
MAX_WAIT_SECONDS = 3600.0  # retries at most an hour apart
GIVE_UP_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status, or an error (no URL in it)."""

    http_status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.http_status is not None and 200 <= self.http_status < 300


def sign_headers(secret: bytes, message_id: str, at: datetime, body: str) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt (``at`` is its time)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }


def secret_text(secret: bytes) -> str:
    """The form a receiver is given: ``whsec_`` and the base64 of the key."""
    return "whsec_" + base64.b64encode(secret).decode()


def _error(exc: httpx.HTTPError) -> str:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {DEADLINE_SECONDS:g} s ({type(exc).__name__})"
    if isinstance(exc, httpx.ConnectError):
        return "could not connect (ConnectError)"
    return f"the exchange failed ({type(exc).__name__})"


def post(client: httpx.Client, url: str, headers: dict[str, str], body: str) -> Answer:
    """One attempt. The answer's body is not read: its status is all that counts."""
    import httpx

    started = time.monotonic()
    try:
        with client.stream(
            "POST",
            url,
            content=body.encode(),
            headers={**headers, "content-type": "application/json"},
        ) as response:
            status = response.status_code
    except httpx.HTTPError as exc:
        return Answer(None, _error(exc))
    if time.monotonic() - started > DEADLINE_SECONDS:
        return Answer(status, f"answered after more than {DEADLINE_SECONDS:g} s")
    return Answer(status, None)


def next_try(
    attempt: int, created_at: datetime, now: datetime, retry_seconds: float
) -> datetime | None:
    """When the attempt after failed attempt number ``attempt`` (1 for the first) is due, or
    None once that would be more than 24 hours after the event (given up)."""
    wait = min(retry_seconds * 2 ** (attempt - 1), MAX_WAIT_SECONDS)
    due = now + timedelta(seconds=wait)
    if due > created_at + GIVE_UP_AFTER:
        return None
    return due


def client() -> httpx.Client:
    """The HTTP client of one delivery loop: explicit timeouts, no redirects followed (a 3xx is
    not a 2xx), no proxy or certificate settings taken from the environment's variables."""
    import httpx

    return httpx.Client(
        timeout=httpx.Timeout(connect=5.0, write=5.0, read=DEADLINE_SECONDS, pool=5.0),
        follow_redirects=False,
        trust_env=False,
        headers={"user-agent": f"callvault-webhooks/{__version__}"},
    )
