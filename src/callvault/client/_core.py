"""The SDK's logic, written once for the sync and the async client.

Every operation is a generator that yields *actions* — ``Send(request)`` or ``Sleep(seconds)`` —
and receives their results (the response, or the exception raised into it). ``Client`` drives
these generators with blocking I/O, ``AsyncClient`` with ``await``; neither holds any logic of
its own, so the twins cannot drift apart.
"""

from __future__ import annotations

import json as jsonlib
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, TypeAlias, TypeVar
from urllib.parse import quote

import httpx

from callvault.client._certificates import insecure_jwks_url
from callvault.client._exceptions import (
    APIError,
    AuthenticationError,
    CertificateError,
    TimeoutWaiting,
    TransportError,
    error_class,
)
from callvault.client._models import (
    AuditRecord,
    CallStatus,
    Export,
    ExportPreview,
    Hold,
    Progress,
    PurgeItem,
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
from callvault.client._retry import (
    RETRY_STATUSES,
    Retrying,
    RetryPolicy,
    parse_retry_after,
    retryable_exception,
)

MAX_IDS = 100
REFRESH_MARGIN_SECONDS = 45.0  # as Tethr's own SDK: refresh well before the token expires


@dataclass(frozen=True)
class Send:
    request: httpx.Request


@dataclass(frozen=True)
class Sleep:
    seconds: float


Action: TypeAlias = Send | Sleep
T = TypeVar("T")
Op = Generator[Action, Any, T]
ProgressCallback: TypeAlias = Callable[[Progress], None]
AudioSource: TypeAlias = bytes | str | Path | IO[bytes]
# Query parameters: a mapping, or pairs where a name repeats (?action=a&action=b).
Params: TypeAlias = dict[str, str] | tuple[tuple[str, str], ...]


def base_url_for(base_url: str | None, instance: str | None) -> str:
    if base_url and instance:
        raise ValueError("give either base_url or instance, not both")
    if instance:
        return f"https://{instance}.audio.tethr.io"
    if not base_url:
        raise ValueError("give base_url (e.g. http://localhost:8000) or instance")
    return base_url.rstrip("/")


def distinct(ids: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def chunked(items: Sequence[str], size: int = MAX_IDS) -> list[Sequence[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _error_from(response: httpx.Response, token_request: bool = False) -> Exception:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    detail = None
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("error_description") or body.get("error")
    request_id = response.headers.get("x-request-id")
    message = f"{response.status_code} from {response.request.method} {response.request.url.path}"
    if detail:
        message += f": {detail}"
    cls = error_class(response.status_code, body)
    if token_request and response.status_code in (400, 401):
        cls = AuthenticationError  # RFC 6749 answers refused credentials with 400
    return cls(
        message,
        status_code=response.status_code,
        detail=str(detail) if detail else None,
        request_id=request_id,
        body=body,
        retry_after=parse_retry_after(response),
    )


class Session:
    """Connection settings and the cached token, shared by every operation of one client."""

    def __init__(
        self,
        base_url: str,
        *,
        client_id: str | None,
        client_secret: str | None,
        token: str | None,
        retry: RetryPolicy,
        clock: Callable[[], float] = time.monotonic,
        on_retry: Callable[[Retrying], None] | None = None,
    ) -> None:
        if token is None and not (client_id and client_secret):
            raise ValueError("give client_id and client_secret, or a token")
        self.base_url = base_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.static_token = token
        self.retry = retry
        self.clock = clock
        self.on_retry = on_retry
        self._token: str | None = None
        self._expires_at = 0.0

    def _build(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        json: Any = None,
        params: Params | None = None,
        files: Any = None,
        data: dict[str, str] | None = None,
    ) -> httpx.Request:
        headers = {"Accept": "application/json"}
        query = None if params is None else httpx.QueryParams(params)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if json is not None:
            return httpx.Request(
                method,
                self.base_url + path,
                params=query,
                headers={**headers, "Content-Type": "application/json; charset=utf-8"},
                content=jsonlib.dumps(json).encode(),
            )
        return httpx.Request(
            method, self.base_url + path, params=query, headers=headers, files=files, data=data
        )

    # -- token -----------------------------------------------------------------------------

    def token(self, force: bool = False) -> Op[str]:
        if self.static_token is not None:
            return self.static_token
        if not force and self._token and self.clock() < self._expires_at - REFRESH_MARGIN_SECONDS:
            return self._token
        data = {
            "grant_type": "client_credentials",
            "client_id": self.client_id or "",
            "client_secret": self.client_secret or "",
        }
        response = yield from self._send_with_retry(
            lambda: self._build("POST", "/Token", None, data=data),
            idempotent=True,
            token_request=True,
        )
        doc = response.json()
        self._token = str(doc["access_token"])
        self._expires_at = self.clock() + float(doc.get("expires_in", 1799))
        return self._token

    # -- the retry loop ----------------------------------------------------------------------

    def _send_with_retry(
        self, build: Callable[[], httpx.Request], *, idempotent: bool, token_request: bool = False
    ) -> Op[httpx.Response]:
        attempt = 0
        while True:
            attempt += 1
            request = build()
            try:
                response: httpx.Response = yield Send(request)
            except httpx.HTTPError as exc:
                if attempt < self.retry.max_attempts and retryable_exception(exc, idempotent):
                    delay = self.retry.backoff(attempt)
                    reached = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                    self._retrying(request, attempt, delay, f"{type(exc).__name__}: {exc}", reached)
                    yield Sleep(delay)
                    continue
                raise TransportError(
                    f"{request.method} {request.url}: {type(exc).__name__}: {exc}"
                ) from exc
            if (
                response.status_code in RETRY_STATUSES
                and attempt < self.retry.max_attempts
                and not self.retry.waits_too_long(response)
            ):
                delay = self.retry.delay_for(response, attempt)
                self._retrying(request, attempt, delay, str(response.status_code), True)
                yield Sleep(delay)
                continue
            if response.status_code >= 400:
                raise _error_from(response, token_request)
            return response

    def _retrying(
        self, request: httpx.Request, attempt: int, delay: float, reason: str, reached: bool
    ) -> None:
        if self.on_retry is not None:
            self.on_retry(
                Retrying(
                    attempt=attempt + 1,
                    max_attempts=self.retry.max_attempts,
                    delay=delay,
                    method=request.method,
                    url=str(request.url),
                    reason=reason,
                    reached=reached,
                )
            )

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Params | None = None,
        files: Callable[[], Any] | None = None,
        idempotent: bool = True,
    ) -> Op[httpx.Response]:
        """An authenticated request; a 401 refreshes the token once and tries again."""
        refreshed = False
        while True:
            token = yield from self.token(force=refreshed)

            def build(token: str = token) -> httpx.Request:
                return self._build(
                    method,
                    path,
                    token,
                    json=json,
                    params=params,
                    files=files() if files else None,
                )

            try:
                return (yield from self._send_with_retry(build, idempotent=idempotent))
            except AuthenticationError:
                if refreshed or self.static_token is not None:
                    raise
                refreshed = True


# -- operations ------------------------------------------------------------------------------

PURGE_PATHS = {"calls": "/purge/v1/calls", "sessions": "/purge/v1/calls/sessions"}


def purge_ids(
    session: Session,
    kind: str,
    ids: Iterable[str],
    what_if: bool,
    progress: ProgressCallback | None,
    reference: str | None = None,
) -> Op[PurgeResult]:
    asked = distinct(ids)
    if not asked:
        raise ValueError("give at least one ID to purge")
    items: list[PurgeItem] = []
    request_ids: list[str] = []
    params = {"whatIf": "true"} if what_if else {}
    if reference is not None:
        params["reference"] = reference
    for chunk in chunked(asked):
        try:
            response = yield from session.call(
                "POST", PURGE_PATHS[kind], json={"ids": list(chunk)}, params=params or None
            )
        except APIError as exc:
            # The chunks before this one were accepted: say so (an hourly quota stops a long
            # list part way), so the caller can report them and resume from ``len(items)``.
            exc.partial = PurgeResult(items=items, request_ids=request_ids)
            raise
        doc = response.json()
        request_id = doc.get("requestId")
        if request_id:
            request_ids.append(request_id)
        for asked_id, item in zip(chunk, doc["items"], strict=True):
            items.append(PurgeItem.from_json(item, asked_id, request_id))
        if progress is not None:
            progress(Progress(done=len(items), total=len(asked), stage="submit"))
    return PurgeResult(items=items, request_ids=request_ids)


def purge_customer(
    session: Session,
    phone: str | None,
    what_if: bool,
    confirm: str | None = None,
    emails: Sequence[str] = (),
    suppress: bool = False,
    reference: str | None = None,
) -> Op[PurgeResult]:
    """A customer purge: by one phone number through ``/purge/v1/calls/customer`` (Tethr's seed
    endpoint), or, with e-mail addresses, through Tethr v2's ``/interactions/v2/purge/customer``:
    the phone and every address in ONE request. v2 is asked to purge calls still processing too
    (``allowIncompleteInteraction``), as v1 does."""
    addresses = list(emails)
    if not phone and not addresses:
        raise ValueError("give a phone number or an e-mail address to purge")
    params: dict[str, str] = {"whatIf": "true"} if what_if else {}
    if confirm is not None:
        params["confirm"] = confirm
    if suppress:
        params["suppress"] = "true"
    if reference is not None:
        params["reference"] = reference
    if addresses:
        body: dict[str, Any] = {
            "phoneNumbers": [phone] if phone else [],
            "emails": addresses,
            "allowIncompleteInteraction": True,
        }
        path = "/interactions/v2/purge/customer"
    else:
        body, path = {"phoneNumber": phone}, "/purge/v1/calls/customer"
    response = yield from session.call("POST", path, json=body, params=params or None)
    doc = response.json()
    request_id = doc.get("requestId")
    items = [_v1_item(i) for i in doc["items"]]
    return PurgeResult(
        items=[PurgeItem.from_json(i, None, request_id) for i in items],
        request_ids=[request_id] if request_id else [],
        confirm_token=doc.get("confirmToken"),
    )


def _v1_item(item: dict[str, Any]) -> dict[str, Any]:
    """A v2 purge item (``id``) in v1's keys (``callId``); a v1 item as it is."""
    if "callId" in item or "id" not in item:
        return item
    return {**item, "callId": item["id"]}


def cancel_purge(session: Session, request_id: str) -> Op[PurgeRequest]:
    response = yield from session.call("POST", f"/purge/v1/requests/{request_id}/cancel")
    return PurgeRequest.from_json(response.json())


def get_purge_request(session: Session, request_id: str) -> Op[PurgeRequest]:
    response = yield from session.call("GET", f"/purge/v1/requests/{request_id}")
    return PurgeRequest.from_json(response.json())


REQUESTS_PAGE = 100  # the most GET /purge/v1/requests answers a page


def list_requests(
    session: Session,
    state: str | None,
    kind: str | None,
    limit: int | None,
    reference: str | None = None,
) -> Op[list[PurgeRequestSummary]]:
    """Purge requests newest first, following ``nextCursor`` until ``limit`` (None: all)."""
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1 (or None for every request)")
    found: list[PurgeRequestSummary] = []
    cursor: str | None = None
    while limit is None or len(found) < limit:
        want = REQUESTS_PAGE if limit is None else min(REQUESTS_PAGE, limit - len(found))
        params = {"limit": str(want)}
        for name, value in (
            ("state", state),
            ("kind", kind),
            ("cursor", cursor),
            ("reference", reference),
        ):
            if value is not None:
                params[name] = value
        response = yield from session.call("GET", "/purge/v1/requests", params=params)
        doc = response.json()
        found.extend(PurgeRequestSummary.from_json(r) for r in doc.get("requests", []))
        cursor = doc.get("nextCursor")
        if not cursor:
            break
    return found


AUDIT_PAGE = 1000


def _moment(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError("give an aware datetime (e.g. datetime.now(UTC)), not a naive one")
    return value.isoformat()


def audit_events(
    session: Session,
    after: int,
    since: datetime | str | None,
    until: datetime | str | None,
    actions: Sequence[str],
    limit: int | None,
) -> Op[list[AuditRecord]]:
    """Audit events oldest first, following ``nextAfter`` until ``limit`` (None: all)."""
    if limit is not None and limit < 1:
        raise ValueError("limit must be at least 1 (or None for every event)")
    found: list[AuditRecord] = []
    base: list[tuple[str, str]] = [("action", a) for a in actions]
    for name, value in (("since", _moment(since)), ("until", _moment(until))):
        if value is not None:
            base.append((name, value))
    while limit is None or len(found) < limit:
        want = AUDIT_PAGE if limit is None else min(AUDIT_PAGE, limit - len(found))
        params = (*base, ("after", str(after)), ("limit", str(want)))
        response = yield from session.call("GET", "/audit/v1/events", params=params)
        doc = response.json()
        found.extend(AuditRecord.from_json(e) for e in doc.get("events", []))
        if doc.get("nextAfter") is None:
            break
        after = int(doc["nextAfter"])
    return found


def get_certificate(session: Session, request_id: str, jti: str | None = None) -> Op[str]:
    params = {"jti": jti} if jti is not None else None
    response = yield from session.call(
        "GET", f"/purge/v1/requests/{request_id}/certificate", params=params
    )
    return response.text


def get_evidence(session: Session, request_id: str) -> Op[bytes]:
    response = yield from session.call("GET", f"/purge/v1/requests/{_segment(request_id)}/evidence")
    return response.content


def get_jwks(session: Session, insecure: bool = False) -> Op[dict[str, Any]]:
    # No token: the JWKS is public, so anyone can verify a certificate. Not over plain http://
    # to another host unless the caller says so (contract §14): refused before anything is sent.
    url = session.base_url + "/.well-known/jwks.json"
    refusal = None if insecure else insecure_jwks_url(url)
    if refusal is not None:
        raise CertificateError(refusal)
    response = yield from session._send_with_retry(
        lambda: session._build("GET", "/.well-known/jwks.json", None), idempotent=True
    )
    doc: dict[str, Any] = response.json()
    return doc


def wait_for_purge(
    session: Session,
    request_ids: Sequence[str],
    timeout: float,
    poll_interval: float,
    progress: ProgressCallback | None,
) -> Op[list[PurgeRequest]]:
    deadline = session.clock() + timeout
    finished: dict[str, PurgeRequest] = {}
    while True:
        for request_id in request_ids:
            if request_id not in finished:
                found = yield from get_purge_request(session, request_id)
                if found.done:
                    finished[request_id] = found
        if progress is not None:
            progress(Progress(done=len(finished), total=len(request_ids), stage="wait"))
        pending = [r for r in request_ids if r not in finished]
        if not pending:
            return [finished[r] for r in request_ids]
        if session.clock() >= deadline:
            raise TimeoutWaiting(
                f"{len(pending)} purge request(s) still running after {timeout:g}s", pending
            )
        yield Sleep(poll_interval)


def place_hold(
    session: Session,
    matter: str,
    reason: str,
    *,
    call_ids: Iterable[str] = (),
    session_ids: Iterable[str] = (),
    phone_numbers: Iterable[str] = (),
    started_after: str | None = None,
    started_before: str | None = None,
    reference: str | None = None,
) -> Op[Hold]:
    body: dict[str, Any] = {
        "matter": matter,
        "reason": reason,
        "callIds": list(call_ids),
        "sessionIds": list(session_ids),
        "phoneNumbers": list(phone_numbers),
    }
    if started_after is not None:
        body["startedAfter"] = started_after
    if started_before is not None:
        body["startedBefore"] = started_before
    if reference is not None:
        body["reference"] = reference
    # Not retried once sent: a second attempt would place a second hold.
    response = yield from session.call("POST", "/holds/v1", json=body, idempotent=False)
    return Hold.from_json(response.json())


def list_holds(
    session: Session, state: str = "Active", reference: str | None = None
) -> Op[list[Hold]]:
    params = {"state": state} | ({} if reference is None else {"reference": reference})
    response = yield from session.call("GET", "/holds/v1", params=params)
    return [Hold.from_json(h) for h in response.json()["holds"]]


def get_hold(session: Session, hold_id: str) -> Op[Hold]:
    response = yield from session.call("GET", f"/holds/v1/{hold_id}")
    return Hold.from_json(response.json())


def release_hold(session: Session, hold_id: str, reason: str) -> Op[Hold]:
    response = yield from session.call(
        "POST", f"/holds/v1/{hold_id}/release", json={"reason": reason}, idempotent=False
    )
    return Hold.from_json(response.json())


def suppress(
    session: Session,
    reason: str,
    *,
    phone_numbers: Iterable[str] = (),
    emails: Iterable[str] = (),
    reference: str | None = None,
    expires_at: str | None = None,
) -> Op[Suppression]:
    body: dict[str, Any] = {
        "phoneNumbers": list(phone_numbers),
        "emails": list(emails),
        "reason": reason,
    }
    if reference is not None:
        body["reference"] = reference
    if expires_at is not None:
        body["expiresAt"] = expires_at
    # Not retried once sent: a second attempt would make a second suppression.
    response = yield from session.call("POST", "/suppressions/v1", json=body, idempotent=False)
    return Suppression.from_json(response.json())


def list_suppressions(
    session: Session, state: str = "all", reference: str | None = None
) -> Op[list[Suppression]]:
    """Every page, newest first."""
    found: list[Suppression] = []
    params: dict[str, str] = {"state": state, "limit": "100"}
    if reference is not None:
        params["reference"] = reference
    while True:
        response = yield from session.call("GET", "/suppressions/v1", params=params)
        doc = response.json()
        found += [Suppression.from_json(s) for s in doc["suppressions"]]
        if not doc.get("nextCursor"):
            return found
        params["cursor"] = doc["nextCursor"]


def get_suppression(session: Session, suppression_id: str) -> Op[Suppression]:
    response = yield from session.call("GET", f"/suppressions/v1/{suppression_id}")
    return Suppression.from_json(response.json())


def lift_suppression(session: Session, suppression_id: str, reason: str) -> Op[Suppression]:
    response = yield from session.call(
        "POST",
        f"/suppressions/v1/{suppression_id}/lift",
        json={"reason": reason},
        idempotent=False,
    )
    return Suppression.from_json(response.json())


def _one_identifier(phone: str | None, email: str | None) -> dict[str, str]:
    if (phone is None) == (email is None):
        raise ValueError("give exactly one of a phone number and an e-mail address")
    return {"phoneNumber": phone} if phone is not None else {"email": str(email)}


def lookup_suppression(
    session: Session, phone: str | None = None, email: str | None = None
) -> Op[list[str]]:
    """The IDs of the suppressions in force for a caller (empty: not suppressed)."""
    body = _one_identifier(phone, email)
    response = yield from session.call("POST", "/suppressions/v1/lookup", json=body)
    return [str(i) for i in response.json()["suppressionIds"]]


def check_suppression(
    session: Session, phone: str | None = None, email: str | None = None
) -> Op[bool]:
    """A recorder's question (permission ``capture``): is this caller suppressed?"""
    body = _one_identifier(phone, email)
    response = yield from session.call("POST", "/suppressions/v1/check", json=body)
    return bool(response.json()["suppressed"])


def redact(
    session: Session,
    call_id: str,
    ranges: Iterable[tuple[int, int]],
    reason: str,
    *,
    reference: str | None = None,
    what_if: bool = False,
) -> Op[Redaction | RedactionPreview]:
    body: dict[str, Any] = {
        "ranges": [{"startMs": int(a), "endMs": int(b)} for a, b in ranges],
        "reason": reason,
    }
    if reference is not None:
        body["reference"] = reference
    params = {"whatIf": "true"} if what_if else None
    # Not retried once sent (but a preview): a second attempt would queue a second redaction.
    response = yield from session.call(
        "POST",
        f"/calls/v1/{call_id}/redactions",
        json=body,
        params=params,
        idempotent=what_if,
    )
    if what_if:
        return RedactionPreview.from_json(response.json())
    return Redaction.from_json(response.json())


def get_redaction(session: Session, call_id: str, redaction_id: str) -> Op[Redaction]:
    response = yield from session.call("GET", f"/calls/v1/{call_id}/redactions/{redaction_id}")
    return Redaction.from_json(response.json())


def list_redactions(
    session: Session, call_id: str | None = None, reference: str | None = None
) -> Op[list[Redaction]]:
    """Every page, newest first: of one call, or of every call."""
    path = "/redactions/v1" if call_id is None else f"/calls/v1/{call_id}/redactions"
    found: list[Redaction] = []
    params: dict[str, str] = {"limit": "100"}
    if reference is not None:
        params["reference"] = reference
    while True:
        response = yield from session.call("GET", path, params=params)
        doc = response.json()
        found += [Redaction.from_json(r) for r in doc["redactions"]]
        if not doc.get("nextCursor"):
            return found
        params["cursor"] = doc["nextCursor"]


def redaction_suggestions(session: Session, call_id: str) -> Op[list[RedactionSuggestion]]:
    response = yield from session.call("GET", f"/calls/v1/{call_id}/redactions/suggestions")
    return [RedactionSuggestion.from_json(s) for s in response.json()["suggestions"]]


def get_redaction_certificate(session: Session, call_id: str, redaction_id: str) -> Op[str]:
    response = yield from session.call(
        "GET", f"/calls/v1/{call_id}/redactions/{redaction_id}/certificate"
    )
    return response.text


def wait_for_redaction(
    session: Session, call_id: str, redaction_id: str, timeout: float, poll_interval: float
) -> Op[Redaction]:
    deadline = session.clock() + timeout
    while True:
        found = yield from get_redaction(session, call_id, redaction_id)
        if found.done:
            return found
        if session.clock() >= deadline:
            raise TimeoutWaiting(
                f"redaction {redaction_id} still Redacting after {timeout:g}s", [redaction_id]
            )
        yield Sleep(poll_interval)


def set_retention_policy(
    session: Session,
    name: str,
    max_age_days: int,
    direction: str | None = None,
    what_if: bool = False,
    confirm: str | None = None,
) -> Op[RetentionPolicy]:
    params = {"whatIf": "true"} if what_if else {}
    if confirm is not None:
        params["confirm"] = confirm
    # A PUT: sending it twice leaves the same policy, so it is retried like a read; but a
    # confirmed one is not retried once sent (its token is used once: a retry of one that went
    # through would be refused as unconfirmed).
    response = yield from session.call(
        "PUT",
        f"/retention/v1/policies/{_segment(name)}",
        json={"maxAgeDays": max_age_days, "direction": direction},
        params=params or None,
        idempotent=confirm is None,
    )
    return RetentionPolicy.from_json(response.json())


def list_retention_policies(session: Session) -> Op[list[RetentionPolicy]]:
    response = yield from session.call("GET", "/retention/v1/policies")
    return [RetentionPolicy.from_json(p) for p in response.json()["policies"]]


def add_webhook(session: Session, url: str, events: Iterable[str]) -> Op[Webhook]:
    # Not retried once sent: a second attempt would register a second webhook.
    body = {"url": url, "events": list(events)}
    response = yield from session.call("POST", "/webhooks/v1", json=body, idempotent=False)
    return Webhook.from_json(response.json())


def list_webhooks(session: Session) -> Op[list[Webhook]]:
    """Every page, newest first."""
    found: list[Webhook] = []
    params: dict[str, str] = {"limit": "100"}
    while True:
        response = yield from session.call("GET", "/webhooks/v1", params=params)
        doc = response.json()
        found += [Webhook.from_json(w) for w in doc["webhooks"]]
        if not doc.get("nextCursor"):
            return found
        params["cursor"] = doc["nextCursor"]


def get_webhook(session: Session, webhook_id: str) -> Op[Webhook]:
    response = yield from session.call("GET", f"/webhooks/v1/{_segment(webhook_id)}")
    return Webhook.from_json(response.json())


def remove_webhook(session: Session, webhook_id: str) -> Op[None]:
    # Not retried once sent: a retry of a delete that went through would answer 404.
    yield from session.call("DELETE", f"/webhooks/v1/{_segment(webhook_id)}", idempotent=False)


def webhook_deliveries(
    session: Session, webhook_id: str, limit: int | None = None
) -> Op[list[WebhookAttempt]]:
    """The delivery log, newest attempt first: every page, or the first ``limit`` attempts."""
    found: list[WebhookAttempt] = []
    params: dict[str, str] = {"limit": str(min(limit or 100, 100))}
    path = f"/webhooks/v1/{_segment(webhook_id)}/deliveries"
    while True:
        response = yield from session.call("GET", path, params=params)
        doc = response.json()
        found += [WebhookAttempt.from_json(a) for a in doc["deliveries"]]
        if not doc.get("nextCursor") or (limit is not None and len(found) >= limit):
            return found[:limit] if limit is not None else found
        params["cursor"] = doc["nextCursor"]


def delete_retention_policy(session: Session, name: str) -> Op[None]:
    # Not retried once sent: a retry of a delete that went through would answer 404.
    yield from session.call("DELETE", f"/retention/v1/policies/{_segment(name)}", idempotent=False)


def retention_forecast(session: Session, days: int = 30) -> Op[RetentionForecast]:
    response = yield from session.call("GET", "/retention/v1/forecast", params={"days": str(days)})
    return RetentionForecast.from_json(response.json())


def _segment(value: str) -> str:
    """A path segment, escaped: a name with ``/`` or ``?`` must not reach another resource."""
    return quote(value, safe="")


def status(session: Session, session_ids: Iterable[str]) -> Op[list[CallStatus]]:
    asked = list(session_ids)
    out: list[CallStatus] = []
    for chunk in chunked(asked):
        response = yield from session.call(
            "POST", "/callCapture/v1/status", json={"CallSessionIds": list(chunk)}
        )
        out.extend(CallStatus.from_json(d) for d in response.json()["callSessions"])
    return out


def _audio_files(audio: AudioSource, info: dict[str, Any], content_type: str) -> Callable[[], Any]:
    info_part = ("info", jsonlib.dumps(info).encode(), "application/json")

    def parts() -> Any:
        if isinstance(audio, bytes):
            body: Any = audio
            name = "audio"
        elif isinstance(audio, str | Path):
            body = Path(audio).read_bytes()
            name = Path(audio).name
        else:
            if audio.seekable():
                audio.seek(0)
            body = audio
            name = "audio"
        return {"info": (None, info_part[1], info_part[2]), "data": (name, body, content_type)}

    return parts


def capture_call(
    session: Session, audio: AudioSource, info: dict[str, Any], content_type: str
) -> Op[str]:
    response = yield from session.call(
        "POST",
        "/callCapture/v1/archive",
        files=_audio_files(audio, info, content_type),
        idempotent=False,
    )
    return str(response.json()["callId"])


def create_export(
    session: Session,
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
) -> Op[Export | ExportPreview]:
    body: dict[str, Any] = {
        "phoneNumbers": list(phone_numbers),
        "emails": list(emails),
        "callIds": list(call_ids),
        "sessionIds": list(session_ids),
        "recipients": list(recipients),
    }
    for key, value in (
        ("startedAfter", started_after),
        ("startedBefore", started_before),
        ("reference", reference),
    ):
        if value is not None:
            body[key] = value
    params = {"whatIf": "true"} if what_if else None
    # Not retried once sent: a second attempt would make a second export (a preview may be).
    response = yield from session.call(
        "POST", "/exports/v1", json=body, params=params, idempotent=what_if
    )
    doc = response.json()
    if what_if:
        return ExportPreview(calls=int(doc["calls"]), items=list(doc["items"]))
    return Export.from_json(doc)


def get_export(session: Session, export_id: str) -> Op[Export]:
    response = yield from session.call("GET", f"/exports/v1/{_segment(export_id)}")
    return Export.from_json(response.json())


def list_exports(session: Session, reference: str | None = None) -> Op[list[Export]]:
    """Every page, newest first."""
    found: list[Export] = []
    params: dict[str, str] = {"limit": "100"}
    if reference is not None:
        params["reference"] = reference
    while True:
        response = yield from session.call("GET", "/exports/v1", params=params)
        doc = response.json()
        found += [Export.from_json(e) for e in doc["exports"]]
        if not doc.get("nextCursor"):
            return found
        params["cursor"] = doc["nextCursor"]


def revoke_export(session: Session, export_id: str) -> Op[Export]:
    response = yield from session.call(
        "POST", f"/exports/v1/{_segment(export_id)}/revoke", idempotent=False
    )
    return Export.from_json(response.json())


def export_download(session: Session, export_id: str, link: str | None) -> Op[httpx.Request]:
    """The request that downloads a package: by its link (a path with ``?token=``, or a whole
    URL; no API token sent) or, without one, with this client's bearer token."""
    if link is not None:
        url = link if link.lower().startswith(("http://", "https://")) else session.base_url + link
        return httpx.Request("GET", url, headers={"Accept": "*/*"})
    token = yield from session.token()
    return httpx.Request(
        "GET",
        f"{session.base_url}/exports/v1/{_segment(export_id)}/package",
        headers={"Accept": "*/*", "Authorization": f"Bearer {token}"},
    )


def download_error(response: httpx.Response) -> Exception:
    """The SDK's error for a download answered 4xx/5xx (its body read)."""
    return _error_from(response)
