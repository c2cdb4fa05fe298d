"""The loop webhooks offer the worker host: at every pass, claim the deliveries that are due
(each held by one worker with a lease: PostgreSQL skips rows another worker locked, SQLite's
writers take turns), send each and log the attempt (``delivery.py``)."""

from __future__ import annotations

import logging
import secrets
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

from callvault.crypto import DecryptionError
from callvault.runtime import Runtime
from callvault.store import webhooks as store
from callvault.store.types import utcnow
from callvault.webhooks import delivery
from callvault.webhooks.service import secret_purpose

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryOptions:
    retry_seconds: float = 5.0
    lease_seconds: float = 30.0
    batch_size: int = 8


class DeliveryLoop:
    """Sends due webhook deliveries; at every pass of its host."""

    name = "webhooks"
    every_seconds = 0.0
    when_idle = False

    def __init__(self, runtime: Runtime, options: DeliveryOptions) -> None:
        self.runtime = runtime
        self.options = options
        self.worker_id = f"{socket.gethostname()}:{secrets.token_hex(4)}"
        self._client: httpx.Client | None = None  # made at the first delivery sent

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = delivery.client()
        return self._client

    def step(self) -> int:
        """Claim and send up to a batch, one delivery at a time (each claimed with a lease of
        its own, so a worker that dies mid-send holds up that one only); returns how many."""
        sent = 0
        while sent < self.options.batch_size:
            claimed = store.claim(
                self.runtime.engine, self.worker_id, 1, self.options.lease_seconds
            )
            if not claimed:
                break
            self.send(claimed[0])
            sent += 1
        return sent

    def send(self, one: store.Claimed) -> None:
        now = utcnow()
        try:
            secret = self.runtime.keys.open_record(
                one.sealed_secret, secret_purpose(one.webhook_id)
            )
        except DecryptionError:
            answer = delivery.Answer(None, "the webhook's secret does not open with this key")
        else:
            headers = delivery.sign_headers(secret, one.delivery_id, now, one.payload)
            answer = delivery.post(self.client, one.url, headers, one.payload)
        attempt = one.attempts + 1
        if answer.delivered:
            state, due = store.DELIVERED, None
        else:
            due = delivery.next_try(attempt, one.created_at, utcnow(), self.options.retry_seconds)
            state = store.PENDING if due is not None else store.FAILED
        moved = store.finish(
            self.runtime.engine,
            one,
            self.worker_id,
            now,
            answer.http_status,
            answer.error,
            due,
            state,
        )
        if moved and state == store.FAILED:
            log.error(
                "webhook delivery GAVE UP: %s (%s) to webhook %s was not delivered after %d "
                "attempts over 24 hours; last: %s",
                one.delivery_id,
                one.event_type,
                one.webhook_id,
                attempt,
                answer.error or f"HTTP {answer.http_status}",
            )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
