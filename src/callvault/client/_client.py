"""``Client`` and ``AsyncClient``: thin drivers of the operations in ``_core``."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from callvault.client import _core
from callvault.client._core import AudioSource, Op, ProgressCallback, Send, Session, Sleep, T
from callvault.client._exports import write_stream
from callvault.client._models import (
    AuditRecord,
    CallStatus,
    Export,
    ExportPreview,
    Hold,
    PurgeRequest,
    PurgeRequestSummary,
    PurgeResult,
    Redaction,
    RedactionPreview,
    RedactionSuggestion,
    RetentionForecast,
    RetentionPolicy,
    Suppression,
    Webhook,
    WebhookAttempt,
)
from callvault.client._retry import Retrying, RetryPolicy

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class _Base:
    def __init__(
        self,
        base_url: str | None = None,
        *,
        instance: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        token: str | None = None,
        retry: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
        on_retry: Callable[[Retrying], None] | None = None,
    ) -> None:
        self.session = Session(
            _core.base_url_for(base_url, instance),
            client_id=client_id,
            client_secret=client_secret,
            token=token,
            retry=retry or RetryPolicy(),
            on_retry=on_retry,
        )
        self.progress = progress

    @property
    def base_url(self) -> str:
        return self.session.base_url


class Client(_Base):
    """Synchronous callvault / Tethr client.

    >>> with Client("http://localhost:8000", client_id="cv_…", client_secret="…") as cv:
    ...     result = cv.purge_sessions(session_ids)        # any number of IDs
    ...     done = cv.wait_for_purge(result.request_ids)

    ``on_retry`` is called with a ``Retrying`` before each retry (to tell a user who waits).
    ``verify``: an ``ssl.SSLContext`` to trust (e.g. ``ssl.create_default_context(cafile=…)`` for
    a self-signed server), or False to skip certificate checks; default: the system's CAs.
    """

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(base_url, **kwargs)
        self._http = httpx.Client(timeout=timeout, transport=transport, verify=verify)

    def _run(self, op: Op[T]) -> T:
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                action = op.throw(error) if error is not None else op.send(result)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            result, error = None, None
            try:
                if isinstance(action, Send):
                    result = self._http.send(action.request)
                elif isinstance(action, Sleep):
                    time.sleep(action.seconds)
            except httpx.HTTPError as exc:
                error = exc

    def purge_calls(
        self,
        ids: Iterable[str],
        what_if: bool = False,
        progress: ProgressCallback | None = None,
        *,
        reference: str | None = None,
    ) -> PurgeResult:
        """Purge calls by call ID: any number, sent 100 a request, items in input order."""
        return self._run(
            _core.purge_ids(
                self.session, "calls", ids, what_if, progress or self.progress, reference
            )
        )

    def purge_sessions(
        self,
        ids: Iterable[str],
        what_if: bool = False,
        progress: ProgressCallback | None = None,
        *,
        reference: str | None = None,
    ) -> PurgeResult:
        """Purge calls by session ID: any number, sent 100 a request, items in input order."""
        return self._run(
            _core.purge_ids(
                self.session, "sessions", ids, what_if, progress or self.progress, reference
            )
        )

    def purge_customer(
        self,
        phone: str | None = None,
        what_if: bool = False,
        confirm: str | None = None,
        *,
        emails: Iterable[str] = (),
        suppress: bool = False,
        reference: str | None = None,
    ) -> PurgeResult:
        """Purge (or with ``what_if``, preview) every call of a customer, by phone number and/or
        e-mail addresses (``emails``: one request with the phone, through Tethr v2's customer
        purge). A preview's ``confirm_token`` passed as ``confirm`` purges exactly the calls it
        showed, or raises ConfirmationRequiredError; a large purge without one raises it too
        (``matched``). Neither a phone nor an address: ValueError. ``suppress``: also suppress
        the customer (needs the ``suppress`` permission; the request's ``suppression_id``)."""
        return self._run(
            _core.purge_customer(
                self.session,
                phone,
                what_if,
                confirm,
                tuple(emails),
                suppress=suppress,
                reference=reference,
            )
        )

    def cancel_purge(self, request_id: str) -> PurgeRequest:
        """Within the server's grace window, restore a purge request's calls (Cancelled)."""
        return self._run(_core.cancel_purge(self.session, request_id))

    def get_purge_request(self, request_id: str) -> PurgeRequest:
        return self._run(_core.get_purge_request(self.session, request_id))

    def list_requests(
        self,
        state: str | None = None,
        kind: str | None = None,
        *,
        limit: int | None = None,
        reference: str | None = None,
    ) -> list[PurgeRequestSummary]:
        """Purge requests, newest first, without their items (previews left out): every page
        followed until ``limit`` requests (None: all). ``state``: Purging, Held, Complete,
        Failed or Cancelled; ``kind``: calls, sessions, customer or retention."""
        return self._run(_core.list_requests(self.session, state, kind, limit, reference))

    def audit_events(
        self,
        *,
        after: int = 0,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        actions: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[AuditRecord]:
        """Audit events, oldest first: every page followed until ``limit`` events (None: all).
        ``after``: only events after this sequence number; ``since`` (inclusive) and ``until``
        (exclusive): aware datetimes or ISO 8601 strings; ``actions``: only these (exact
        names, e.g. ``purge.requested``). Needs the ``audit`` permission."""
        return self._run(_core.audit_events(self.session, after, since, until, actions, limit))

    def get_evidence(self, request_id: str) -> bytes:
        """The evidence ZIP of a finished request: ``certificate.jws``, ``jwks.json``,
        ``audit-events.jsonl`` and ``certificate.html`` (the certificate in words)."""
        return self._run(_core.get_evidence(self.session, request_id))

    def get_certificate(self, request_id: str, jti: str | None = None) -> str:
        """The certificate of erasure of a finished request (a compact JWS; ``jti``: one issued
        before the request last changed). Check it with ``verify_certificate``."""
        return self._run(_core.get_certificate(self.session, request_id, jti))

    def get_jwks(self, *, insecure: bool = False) -> dict[str, Any]:
        """The instance's public signing keys (``/.well-known/jwks.json``), to verify with.
        Over plain ``http://`` to a host other than this machine it raises CertificateError
        before sending anything (the keys could be swapped on the way), unless ``insecure``."""
        return self._run(_core.get_jwks(self.session, insecure))

    def wait_for_purge(
        self,
        request_ids: Sequence[str],
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        progress: ProgressCallback | None = None,
    ) -> list[PurgeRequest]:
        """Poll until every request is final; raises TimeoutWaiting after ``timeout`` seconds."""
        return self._run(
            _core.wait_for_purge(
                self.session, request_ids, timeout, poll_interval, progress or self.progress
            )
        )

    def status(self, session_ids: Iterable[str]) -> list[CallStatus]:
        return self._run(_core.status(self.session, session_ids))

    def capture_call(
        self, audio: AudioSource, info: dict[str, Any], content_type: str = "audio/wav"
    ) -> str:
        """Upload one call; returns its call ID."""
        return self._run(_core.capture_call(self.session, audio, info, content_type))

    def place_hold(
        self,
        matter: str,
        reason: str,
        *,
        call_ids: Iterable[str] = (),
        session_ids: Iterable[str] = (),
        phone_numbers: Iterable[str] = (),
        started_after: str | None = None,
        started_before: str | None = None,
        reference: str | None = None,
    ) -> Hold:
        """Place a legal hold; the calls it covers cannot be erased until it is released."""
        return self._run(
            _core.place_hold(
                self.session,
                matter,
                reason,
                call_ids=call_ids,
                session_ids=session_ids,
                phone_numbers=phone_numbers,
                started_after=started_after,
                started_before=started_before,
                reference=reference,
            )
        )

    def list_holds(self, state: str = "Active", reference: str | None = None) -> list[Hold]:
        """Holds newest first; ``state`` is Active, Released or all."""
        return self._run(_core.list_holds(self.session, state, reference))

    def get_hold(self, hold_id: str) -> Hold:
        return self._run(_core.get_hold(self.session, hold_id))

    def release_hold(self, hold_id: str, reason: str) -> Hold:
        """Release a hold: erasures it alone stopped resume without a new request."""
        return self._run(_core.release_hold(self.session, hold_id, reason))

    def suppress(
        self,
        reason: str,
        *,
        phone_numbers: Iterable[str] = (),
        emails: Iterable[str] = (),
        reference: str | None = None,
        expires_at: str | None = None,
    ) -> Suppression:
        """Suppress callers: captures of their calls store nothing (a tombstone answers
        ``Excluded``) until the suppression is lifted or ``expires_at`` (ISO 8601) passes."""
        return self._run(
            _core.suppress(
                self.session,
                reason,
                phone_numbers=phone_numbers,
                emails=emails,
                reference=reference,
                expires_at=expires_at,
            )
        )

    def list_suppressions(
        self, state: str = "all", reference: str | None = None
    ) -> list[Suppression]:
        """Suppressions newest first, every page; ``state``: Active, Lifted, Expired or all."""
        return self._run(_core.list_suppressions(self.session, state, reference))

    def get_suppression(self, suppression_id: str) -> Suppression:
        return self._run(_core.get_suppression(self.session, suppression_id))

    def lift_suppression(self, suppression_id: str, reason: str) -> Suppression:
        """End a suppression: captures received from now on are stored again."""
        return self._run(_core.lift_suppression(self.session, suppression_id, reason))

    def lookup_suppression(self, phone: str | None = None, email: str | None = None) -> list[str]:
        """The suppressions in force for one caller (``suppress`` or ``audit``); empty: none."""
        return self._run(_core.lookup_suppression(self.session, phone, email))

    def check_suppression(self, phone: str | None = None, email: str | None = None) -> bool:
        """A recorder's yes or no before it records (``capture``)."""
        return self._run(_core.check_suppression(self.session, phone, email))

    def add_webhook(self, url: str, events: Iterable[str]) -> Webhook:
        """Register a webhook (permission ``admin``); the answer's ``secret`` is shown once."""
        return self._run(_core.add_webhook(self.session, url, events))

    def list_webhooks(self) -> list[Webhook]:
        return self._run(_core.list_webhooks(self.session))

    def get_webhook(self, webhook_id: str) -> Webhook:
        return self._run(_core.get_webhook(self.session, webhook_id))

    def remove_webhook(self, webhook_id: str) -> None:
        self._run(_core.remove_webhook(self.session, webhook_id))

    def webhook_deliveries(self, webhook_id: str, limit: int | None = None) -> list[WebhookAttempt]:
        """A webhook's delivery log, newest attempt first."""
        return self._run(_core.webhook_deliveries(self.session, webhook_id, limit))

    def redact(
        self,
        call_id: str,
        ranges: Iterable[tuple[int, int]],
        reason: str,
        *,
        reference: str | None = None,
        what_if: bool = False,
    ) -> Redaction | RedactionPreview:
        """Erase time ranges of a call's audio, keep the call (contract §21): ``ranges`` as
        (startMs, endMs) pairs, ``reason`` pci, pii, phi or other. Returns the Redaction
        (Redacting: see ``wait_for_redaction``), or with ``what_if`` a RedactionPreview."""
        return self._run(
            _core.redact(
                self.session, call_id, ranges, reason, reference=reference, what_if=what_if
            )
        )

    def get_redaction(self, call_id: str, redaction_id: str) -> Redaction:
        return self._run(_core.get_redaction(self.session, call_id, redaction_id))

    def list_redactions(
        self, call_id: str | None = None, reference: str | None = None
    ) -> list[Redaction]:
        """Every redaction of ``call_id`` (or of every call), newest first."""
        return self._run(_core.list_redactions(self.session, call_id, reference))

    def redaction_suggestions(self, call_id: str) -> list[RedactionSuggestion]:
        """Where the call holds runs of DTMF keypad tones: ranges and counts, never digits."""
        return self._run(_core.redaction_suggestions(self.session, call_id))

    def get_redaction_certificate(self, call_id: str, redaction_id: str) -> str:
        """The certificate of redaction (a compact JWS); ``verify_certificate`` checks it."""
        return self._run(_core.get_redaction_certificate(self.session, call_id, redaction_id))

    def wait_for_redaction(
        self, call_id: str, redaction_id: str, timeout: float = 600.0, poll_interval: float = 1.0
    ) -> Redaction:
        """Poll until the redaction is Redacted or Failed; TimeoutWaiting after ``timeout``."""
        return self._run(
            _core.wait_for_redaction(self.session, call_id, redaction_id, timeout, poll_interval)
        )

    def set_retention_policy(
        self,
        name: str,
        max_age_days: int,
        direction: str | None = None,
        *,
        what_if: bool = False,
        confirm: str | None = None,
    ) -> RetentionPolicy:
        """Create or change a retention policy (it applies to calls already stored);
        ``what_if``: only report what it would expire now, and a ``confirm_token``;
        ``confirm``: that token, needed (ConfirmationRequiredError otherwise) when the change
        expires more calls than the user's confirmation threshold, and binding: the server
        saves it only if it expires exactly the calls previewed."""
        return self._run(
            _core.set_retention_policy(
                self.session, name, max_age_days, direction, what_if, confirm
            )
        )

    def list_retention_policies(self) -> list[RetentionPolicy]:
        return self._run(_core.list_retention_policies(self.session))

    def delete_retention_policy(self, name: str) -> None:
        self._run(_core.delete_retention_policy(self.session, name))

    def retention_forecast(self, days: int = 30) -> RetentionForecast:
        """Calls retention erases on each of the next ``days`` days, overdue and held ones."""
        return self._run(_core.retention_forecast(self.session, days))

    def create_export(
        self,
        *,
        phone_numbers: Iterable[str] = (),
        emails: Iterable[str] = (),
        call_ids: Iterable[str] = (),
        session_ids: Iterable[str] = (),
        started_after: str | None = None,
        started_before: str | None = None,
        reference: str | None = None,
        recipients: Iterable[str] = (),
        what_if: bool = False,
    ) -> Export | ExportPreview:
        """Export a caller's recordings (contract §20): an ``Export`` whose ``download_url``
        works without an API token, or with ``what_if`` an ``ExportPreview`` (nothing made).
        ``recipients``: age X25519 public keys the package is encrypted to."""
        return self._run(
            _core.create_export(
                self.session,
                phone_numbers=phone_numbers,
                emails=emails,
                call_ids=call_ids,
                session_ids=session_ids,
                started_after=started_after,
                started_before=started_before,
                reference=reference,
                recipients=recipients,
                what_if=what_if,
            )
        )

    def get_export(self, export_id: str) -> Export:
        return self._run(_core.get_export(self.session, export_id))

    def list_exports(self, reference: str | None = None) -> list[Export]:
        """Exports newest first, every page."""
        return self._run(_core.list_exports(self.session, reference))

    def revoke_export(self, export_id: str) -> Export:
        """Revoke an export: its link answers 410 from now on."""
        return self._run(_core.revoke_export(self.session, export_id))

    def download_export(self, export_id: str, to: str | Path, *, link: str | None = None) -> Path:
        """Stream a package to the file ``to`` (written as ``to.part``, renamed when whole);
        by ``link`` (an export's download_url) or this client's token (permission ``export``).
        Every download counts against the export's maxDownloads."""
        request = self._run(_core.export_download(self.session, export_id, link))
        target = Path(to)
        with self._http.stream(request.method, request.url, headers=request.headers) as response:
            if response.status_code >= 400:
                response.read()
                raise _core.download_error(response)
            write_stream(response.iter_bytes(), target)
        return target

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(_Base):
    """Asynchronous twin of ``Client`` (same methods, awaited)."""

    def __init__(
        self,
        base_url: str | None = None,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(base_url, **kwargs)
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport, verify=verify)

    async def _run(self, op: Op[T]) -> T:
        result: Any = None
        error: BaseException | None = None
        while True:
            try:
                action = op.throw(error) if error is not None else op.send(result)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            result, error = None, None
            try:
                if isinstance(action, Send):
                    result = await self._http.send(action.request)
                elif isinstance(action, Sleep):
                    await asyncio.sleep(action.seconds)
            except httpx.HTTPError as exc:
                error = exc

    async def purge_calls(
        self,
        ids: Iterable[str],
        what_if: bool = False,
        progress: ProgressCallback | None = None,
        *,
        reference: str | None = None,
    ) -> PurgeResult:
        return await self._run(
            _core.purge_ids(
                self.session, "calls", ids, what_if, progress or self.progress, reference
            )
        )

    async def purge_sessions(
        self,
        ids: Iterable[str],
        what_if: bool = False,
        progress: ProgressCallback | None = None,
        *,
        reference: str | None = None,
    ) -> PurgeResult:
        return await self._run(
            _core.purge_ids(
                self.session, "sessions", ids, what_if, progress or self.progress, reference
            )
        )

    async def purge_customer(
        self,
        phone: str | None = None,
        what_if: bool = False,
        confirm: str | None = None,
        *,
        emails: Iterable[str] = (),
        suppress: bool = False,
        reference: str | None = None,
    ) -> PurgeResult:
        return await self._run(
            _core.purge_customer(
                self.session,
                phone,
                what_if,
                confirm,
                tuple(emails),
                suppress=suppress,
                reference=reference,
            )
        )

    async def cancel_purge(self, request_id: str) -> PurgeRequest:
        return await self._run(_core.cancel_purge(self.session, request_id))

    async def get_purge_request(self, request_id: str) -> PurgeRequest:
        return await self._run(_core.get_purge_request(self.session, request_id))

    async def list_requests(
        self,
        state: str | None = None,
        kind: str | None = None,
        *,
        limit: int | None = None,
        reference: str | None = None,
    ) -> list[PurgeRequestSummary]:
        return await self._run(_core.list_requests(self.session, state, kind, limit, reference))

    async def audit_events(
        self,
        *,
        after: int = 0,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        actions: Sequence[str] = (),
        limit: int | None = None,
    ) -> list[AuditRecord]:
        return await self._run(
            _core.audit_events(self.session, after, since, until, actions, limit)
        )

    async def get_evidence(self, request_id: str) -> bytes:
        return await self._run(_core.get_evidence(self.session, request_id))

    async def get_certificate(self, request_id: str, jti: str | None = None) -> str:
        return await self._run(_core.get_certificate(self.session, request_id, jti))

    async def get_jwks(self, *, insecure: bool = False) -> dict[str, Any]:
        return await self._run(_core.get_jwks(self.session, insecure))

    async def wait_for_purge(
        self,
        request_ids: Sequence[str],
        timeout: float = 600.0,
        poll_interval: float = 1.0,
        progress: ProgressCallback | None = None,
    ) -> list[PurgeRequest]:
        return await self._run(
            _core.wait_for_purge(
                self.session, request_ids, timeout, poll_interval, progress or self.progress
            )
        )

    async def status(self, session_ids: Iterable[str]) -> list[CallStatus]:
        return await self._run(_core.status(self.session, session_ids))

    async def capture_call(
        self, audio: AudioSource, info: dict[str, Any], content_type: str = "audio/wav"
    ) -> str:
        return await self._run(_core.capture_call(self.session, audio, info, content_type))

    async def place_hold(
        self,
        matter: str,
        reason: str,
        *,
        call_ids: Iterable[str] = (),
        session_ids: Iterable[str] = (),
        phone_numbers: Iterable[str] = (),
        started_after: str | None = None,
        started_before: str | None = None,
        reference: str | None = None,
    ) -> Hold:
        return await self._run(
            _core.place_hold(
                self.session,
                matter,
                reason,
                call_ids=call_ids,
                session_ids=session_ids,
                phone_numbers=phone_numbers,
                started_after=started_after,
                started_before=started_before,
                reference=reference,
            )
        )

    async def list_holds(self, state: str = "Active", reference: str | None = None) -> list[Hold]:
        return await self._run(_core.list_holds(self.session, state, reference))

    async def get_hold(self, hold_id: str) -> Hold:
        return await self._run(_core.get_hold(self.session, hold_id))

    async def release_hold(self, hold_id: str, reason: str) -> Hold:
        return await self._run(_core.release_hold(self.session, hold_id, reason))

    async def suppress(
        self,
        reason: str,
        *,
        phone_numbers: Iterable[str] = (),
        emails: Iterable[str] = (),
        reference: str | None = None,
        expires_at: str | None = None,
    ) -> Suppression:
        return await self._run(
            _core.suppress(
                self.session,
                reason,
                phone_numbers=phone_numbers,
                emails=emails,
                reference=reference,
                expires_at=expires_at,
            )
        )

    async def list_suppressions(
        self, state: str = "all", reference: str | None = None
    ) -> list[Suppression]:
        return await self._run(_core.list_suppressions(self.session, state, reference))

    async def get_suppression(self, suppression_id: str) -> Suppression:
        return await self._run(_core.get_suppression(self.session, suppression_id))

    async def lift_suppression(self, suppression_id: str, reason: str) -> Suppression:
        return await self._run(_core.lift_suppression(self.session, suppression_id, reason))

    async def lookup_suppression(
        self, phone: str | None = None, email: str | None = None
    ) -> list[str]:
        return await self._run(_core.lookup_suppression(self.session, phone, email))

    async def check_suppression(self, phone: str | None = None, email: str | None = None) -> bool:
        return await self._run(_core.check_suppression(self.session, phone, email))

    async def add_webhook(self, url: str, events: Iterable[str]) -> Webhook:
        """Register a webhook (permission ``admin``); the answer's ``secret`` is shown once."""
        return await self._run(_core.add_webhook(self.session, url, events))

    async def list_webhooks(self) -> list[Webhook]:
        return await self._run(_core.list_webhooks(self.session))

    async def get_webhook(self, webhook_id: str) -> Webhook:
        return await self._run(_core.get_webhook(self.session, webhook_id))

    async def remove_webhook(self, webhook_id: str) -> None:
        await self._run(_core.remove_webhook(self.session, webhook_id))

    async def webhook_deliveries(
        self, webhook_id: str, limit: int | None = None
    ) -> list[WebhookAttempt]:
        """A webhook's delivery log, newest attempt first."""
        return await self._run(_core.webhook_deliveries(self.session, webhook_id, limit))

    async def redact(
        self,
        call_id: str,
        ranges: Iterable[tuple[int, int]],
        reason: str,
        *,
        reference: str | None = None,
        what_if: bool = False,
    ) -> Redaction | RedactionPreview:
        """Erase time ranges of a call's audio, keep the call (contract §21): ``ranges`` as
        (startMs, endMs) pairs, ``reason`` pci, pii, phi or other. Returns the Redaction
        (Redacting: see ``wait_for_redaction``), or with ``what_if`` a RedactionPreview."""
        return await self._run(
            _core.redact(
                self.session, call_id, ranges, reason, reference=reference, what_if=what_if
            )
        )

    async def get_redaction(self, call_id: str, redaction_id: str) -> Redaction:
        return await self._run(_core.get_redaction(self.session, call_id, redaction_id))

    async def list_redactions(
        self, call_id: str | None = None, reference: str | None = None
    ) -> list[Redaction]:
        """Every redaction of ``call_id`` (or of every call), newest first."""
        return await self._run(_core.list_redactions(self.session, call_id, reference))

    async def redaction_suggestions(self, call_id: str) -> list[RedactionSuggestion]:
        """Where the call holds runs of DTMF keypad tones: ranges and counts, never digits."""
        return await self._run(_core.redaction_suggestions(self.session, call_id))

    async def get_redaction_certificate(self, call_id: str, redaction_id: str) -> str:
        """The certificate of redaction (a compact JWS); ``verify_certificate`` checks it."""
        return await self._run(_core.get_redaction_certificate(self.session, call_id, redaction_id))

    async def wait_for_redaction(
        self, call_id: str, redaction_id: str, timeout: float = 600.0, poll_interval: float = 1.0
    ) -> Redaction:
        """Poll until the redaction is Redacted or Failed; TimeoutWaiting after ``timeout``."""
        return await self._run(
            _core.wait_for_redaction(self.session, call_id, redaction_id, timeout, poll_interval)
        )

    async def set_retention_policy(
        self,
        name: str,
        max_age_days: int,
        direction: str | None = None,
        *,
        what_if: bool = False,
        confirm: str | None = None,
    ) -> RetentionPolicy:
        return await self._run(
            _core.set_retention_policy(
                self.session, name, max_age_days, direction, what_if, confirm
            )
        )

    async def list_retention_policies(self) -> list[RetentionPolicy]:
        return await self._run(_core.list_retention_policies(self.session))

    async def delete_retention_policy(self, name: str) -> None:
        await self._run(_core.delete_retention_policy(self.session, name))

    async def retention_forecast(self, days: int = 30) -> RetentionForecast:
        return await self._run(_core.retention_forecast(self.session, days))

    async def create_export(
        self,
        *,
        phone_numbers: Iterable[str] = (),
        emails: Iterable[str] = (),
        call_ids: Iterable[str] = (),
        session_ids: Iterable[str] = (),
        started_after: str | None = None,
        started_before: str | None = None,
        reference: str | None = None,
        recipients: Iterable[str] = (),
        what_if: bool = False,
    ) -> Export | ExportPreview:
        return await self._run(
            _core.create_export(
                self.session,
                phone_numbers=phone_numbers,
                emails=emails,
                call_ids=call_ids,
                session_ids=session_ids,
                started_after=started_after,
                started_before=started_before,
                reference=reference,
                recipients=recipients,
                what_if=what_if,
            )
        )

    async def get_export(self, export_id: str) -> Export:
        return await self._run(_core.get_export(self.session, export_id))

    async def list_exports(self, reference: str | None = None) -> list[Export]:
        return await self._run(_core.list_exports(self.session, reference))

    async def revoke_export(self, export_id: str) -> Export:
        return await self._run(_core.revoke_export(self.session, export_id))

    async def download_export(
        self, export_id: str, to: str | Path, *, link: str | None = None
    ) -> Path:
        request = await self._run(_core.export_download(self.session, export_id, link))
        target = Path(to)
        partial = target.with_name(target.name + ".part")
        async with self._http.stream(
            request.method, request.url, headers=request.headers
        ) as response:
            if response.status_code >= 400:
                await response.aread()
                raise _core.download_error(response)
            with partial.open("wb") as out:
                async for chunk in response.aiter_bytes():
                    out.write(chunk)
        partial.replace(target)
        return target

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
