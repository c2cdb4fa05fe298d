"""Webhooks (contract §23): registering the endpoints of a privacy program and reading their
delivery log.

A webhook is a URL and the event types it wants. Its secret (``whsec_`` and 32 random bytes in
base64, as Standard Webhooks defines it) is shown once, in the answer that creates it, and kept
sealed under the master key (``KeyRing.seal_record``, bound to the webhook's ID): it signs every
delivery with HMAC-SHA256, so it must be readable by the workers, never by a reader of the
database. The deliveries are written by the audit trail's outbox (``audit/outbox.py``) and the
store (``purge.completed``), and sent by the workers (``loop.py``).
"""

from __future__ import annotations

import base64
import ipaddress
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from callvault.audit.outbox import EVENT_TYPES
from callvault.audit.trail import AuditEvent, AuditTrail
from callvault.errors import BadInput, NotFound
from callvault.runtime import Runtime
from callvault.store import webhooks as store
from callvault.store.engine import write_transaction
from callvault.store.paging import cursor_of, position_of
from callvault.store.types import utcnow
from callvault.text import is_clean

PAGE_DEFAULT, PAGE_MAX = 50, 100
MAX_URL = 2000
SECRET_BYTES = 32


def secret_purpose(webhook_id: str) -> str:
    """What a webhook's sealed secret is bound to: it opens for this webhook only."""
    return f"webhook-secret:{webhook_id}"


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat().replace("+00:00", "Z")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str, allow_http: bool) -> str | None:
    """What is wrong with a webhook URL, or None: ``https://`` with a host; plain ``http://``
    only to a loopback address (or anywhere with ``CALLVAULT_WEBHOOK_ALLOW_HTTP``)."""
    if not 1 <= len(url) <= MAX_URL or not is_clean(url) or any(c.isspace() for c in url):
        return f"url must be an https:// URL of at most {MAX_URL} printable characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "url is not a URL: give https://host[:port]/path"
    del port
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        return "url must be an https:// URL with a host, e.g. https://privacy.example.com/hooks"
    if parts.username is not None or parts.password is not None:
        return "url must not carry a user name or password: the deliveries are signed instead"
    if parts.fragment:
        return "url must not have a #fragment"
    if parts.scheme == "http" and not allow_http and not _is_loopback(host):
        return (
            "url must be https:// (plain http:// only to a loopback address such as 127.0.0.1, "
            "or with CALLVAULT_WEBHOOK_ALLOW_HTTP=true)"
        )
    return None


def events_problem(events: Sequence[str]) -> str | None:
    known = ", ".join(EVENT_TYPES)
    if not events:
        return f"events must name at least one event: {known}"
    unknown = [e for e in events if e not in EVENT_TYPES]
    if unknown:
        named = ", ".join(repr(e) for e in unknown[:5])
        return f"unknown event {named}: events are among {known}"
    return None


class WebhookService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.trail = AuditTrail(runtime.keys.audit_chain_key)

    def create(self, url: str, events: Sequence[str], actor: str) -> dict[str, Any]:
        """Register a webhook; the answer is the only one that shows its secret. Bad input is a
        400 and nothing is created."""
        problem = url_problem(url, self.runtime.settings.webhook_allow_http) or events_problem(
            events
        )
        if problem:
            raise BadInput(problem)
        wanted = tuple(dict.fromkeys(events))  # each once, in the order given
        webhook_id = secrets.token_hex(16)
        raw = secrets.token_bytes(SECRET_BYTES)
        row = store.WebhookRow(
            webhook_id=webhook_id,
            url=url,
            events=wanted,
            sealed_secret=self.runtime.keys.seal_record(raw, secret_purpose(webhook_id)),
            created_by=actor,
            created_at=utcnow(),
        )
        event = AuditEvent(
            "webhook.created", actor, details={"webhookId": webhook_id, "events": list(wanted)}
        )
        with write_transaction(self.runtime.engine) as conn:
            store.insert_webhook(conn, row)
            self.trail.append(conn, [event])
        return {**self._json(row), "secret": "whsec_" + base64.b64encode(raw).decode()}

    def get(self, webhook_id: str) -> dict[str, Any]:
        with self.runtime.engine.connect() as conn:
            row = store.get_webhook(conn, webhook_id)
        if row is None:
            raise NotFound("no such webhook")
        return self._json(row)

    def page(self, limit: int, cursor: str | None) -> dict[str, Any]:
        after = None if cursor is None else position_of(cursor)
        with self.runtime.engine.connect() as conn:
            rows = store.list_webhooks(conn, limit + 1, after)
        page: dict[str, Any] = {"webhooks": [self._json(r) for r in rows[:limit]]}
        if len(rows) > limit:
            last = rows[limit - 1]
            page["nextCursor"] = cursor_of(last.created_at, last.webhook_id)
        return page

    def delete(self, webhook_id: str, actor: str) -> None:
        """Remove a webhook: nothing more is sent to it, its pending deliveries and its log go."""
        event = AuditEvent("webhook.deleted", actor, details={"webhookId": webhook_id})
        with write_transaction(self.runtime.engine) as conn:
            if not store.delete_webhook(conn, webhook_id):
                raise NotFound("no such webhook")
            self.trail.append(conn, [event])

    def deliveries(self, webhook_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
        """The delivery log: each attempt, newest first, with its HTTP status or error and when
        the next try is due (none once delivered or given up)."""
        before = None
        if cursor is not None:
            if not cursor.isdigit() or len(cursor) > 18:
                raise BadInput("cursor is not one a previous page's nextCursor gave")
            before = int(cursor)
        with self.runtime.engine.connect() as conn:
            if store.get_webhook(conn, webhook_id) is None:
                raise NotFound("no such webhook")
            rows = store.attempts_page(conn, webhook_id, limit + 1, before)
        page: dict[str, Any] = {
            "deliveries": [
                {
                    "deliveryId": a.delivery_id,
                    "type": a.event_type,
                    "attempt": a.attempt,
                    "at": _iso(a.at),
                    "httpStatus": a.http_status,
                    "error": a.error,
                    "nextTryAt": _iso(a.next_try_at),
                    "state": a.state,
                }
                for a in rows[:limit]
            ]
        }
        if len(rows) > limit:
            page["nextCursor"] = str(rows[limit - 1].attempt_id)
        return page

    @staticmethod
    def _json(row: store.WebhookRow) -> dict[str, Any]:
        return {
            "webhookId": row.webhook_id,
            "url": row.url,
            "events": list(row.events),
            "createdBy": row.created_by,
            "createdAt": _iso(row.created_at),
        }
