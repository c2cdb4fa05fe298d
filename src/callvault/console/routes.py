"""The console's pages (contract §17), thin: each calls the service its API route calls, with
the permission that route needs (``api/deps.py``), so every rule lives once.

Phone numbers travel only in POST bodies: a lookup is a POST that answers the preview page itself
(no redirect carrying the number), and the purge form posts it back.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, Response

from callvault.audit.trail import AuditTrail, event_json
from callvault.auth.permissions import Permission
from callvault.auth.sessions import ConsoleSession
from callvault.certificates.evidence import EvidenceService
from callvault.certificates.service import CertificateService
from callvault.console import web
from callvault.console.web import PREFIX, checked_form, needs, redirect, render
from callvault.errors import (
    BadInput,
    CallvaultError,
    Conflict,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
)
from callvault.holds.service import HoldScope, HoldService
from callvault.purge.service import WHAT_IF, PurgeResult, PurgeService, may_cancel
from callvault.ratelimit import retry_after_header
from callvault.runtime import Runtime
from callvault.store.purges import REQUEST_KINDS, REQUEST_STATES

router = APIRouter(prefix=PREFIX, include_in_schema=False, route_class=web.ConsoleRoute)

PurgeViewer = Annotated[ConsoleSession, Depends(needs(Permission.PURGE))]
RequestsViewer = Annotated[ConsoleSession, Depends(needs(Permission.PURGE, Permission.AUDIT))]
# Cancel: the service decides whose request each may cancel (as the API's route).
Canceller = Annotated[ConsoleSession, Depends(needs(Permission.PURGE, Permission.RETENTION))]
HoldViewer = Annotated[ConsoleSession, Depends(needs(Permission.HOLD, Permission.AUDIT))]
HoldEditor = Annotated[ConsoleSession, Depends(needs(Permission.HOLD))]
AuditViewer = Annotated[ConsoleSession, Depends(needs(Permission.AUDIT))]
Viewer = Annotated[ConsoleSession, Depends(web.signed_in)]
RequestId = Annotated[str, Path(min_length=1, max_length=64)]

STATIC_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
STATIC_FILES = frozenset({"htmx.min.js", "console.css"})
AUDIT_PAGE = 50


def _purges(request: Request) -> PurgeService:
    service: PurgeService = request.app.state.purge_service
    return service


def _holds(request: Request) -> HoldService:
    service: HoldService = request.app.state.hold_service
    return service


def _certificates(request: Request) -> CertificateService:
    service: CertificateService = request.app.state.certificate_service
    return service


# ---------------------------------------------------------------------------- sign in and out


@router.get("")
async def root_without_slash() -> Response:
    return redirect(f"{PREFIX}/")


@router.get("/")
async def home(request: Request, session: Viewer) -> Response:
    """The first page this user may see."""
    for _label, href, perms in web.NAVIGATION:
        if web.may(session, *perms):
            return redirect(href)
    return render(request, "home.html", session=session)


@router.get("/login")
async def login_page(request: Request) -> Response:
    # One token per browser (two login tabs share it), new when the cookie is gone.
    token = request.cookies.get(web.LOGIN_COOKIE) or secrets.token_urlsafe(24)
    response = render(request, "login.html", {"login_token": token}, session=None)
    response.set_cookie(web.LOGIN_COOKIE, token, **web.cookie_options(request))
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    fields = await web.form_of(request)
    if not web.login_token_ok(request, fields.get("login_token")):
        token = secrets.token_urlsafe(24)
        response = render(
            request,
            "login.html",
            {"login_token": token, "error": "The login form expired; please log in again."},
            status=403,
        )
        response.set_cookie(web.LOGIN_COOKIE, token, **web.cookie_options(request))
        return response
    try:
        session = await run_in_threadpool(
            web.sessions(request).login,
            fields.get("username", ""),
            fields.get("password", ""),
            web.address_of(request),
        )
    except CallvaultError as exc:
        status = exc.status if not isinstance(exc, Unauthenticated) else 401
        response = render(
            request,
            "login.html",
            {
                "login_token": request.cookies.get(web.LOGIN_COOKIE),
                "error": exc.detail[:1].upper() + exc.detail[1:] + ".",
                "username": fields.get("username", "")[:200],
            },
            status=status,
        )
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = retry_after_header(exc.retry_after)
        return response
    done = redirect(f"{PREFIX}/")
    done.set_cookie(web.SESSION_COOKIE, session.session_id, **web.cookie_options(request))
    done.delete_cookie(web.LOGIN_COOKIE, path=PREFIX)
    return done


@router.post("/logout")
async def logout(request: Request, session: Viewer) -> Response:
    await checked_form(request, session)
    await run_in_threadpool(web.sessions(request).logout, session.session_id)
    response = redirect(f"{PREFIX}/login")
    response.delete_cookie(web.SESSION_COOKIE, path=PREFIX)
    return response


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC_FILES:
        raise NotFound("no such console file")
    path = web.STATIC / name
    return FileResponse(
        path,
        media_type=STATIC_TYPES[path.suffix],
        headers={**web.SECURITY_HEADERS, "Cache-Control": "public, max-age=3600"},
    )


# ---------------------------------------------------------------------------- customer lookup


@router.get("/lookup")
async def lookup_page(request: Request, session: PurgeViewer) -> Response:
    return render(request, "lookup.html")


async def _preview(
    request: Request, session: ConsoleSession, phone: str, error: str | None, status: int
) -> Response:
    service = _purges(request)
    principal = session.principal

    def run() -> tuple[PurgeResult, list[dict[str, Any]]]:
        result = service.purge_customer(phone, True, principal.name, region=principal.region)
        return result, service.describe(result.items)

    result, calls = await run_in_threadpool(run)
    erasable = sum(1 for i in result.items if i.status == WHAT_IF)
    return render(
        request,
        "preview.html",
        {
            "phone": phone,
            "calls": calls,
            "erasable": erasable,
            "held": sum(1 for c in calls if c["holdIds"]),
            "confirm_token": result.confirm_token,
            "error": error,
        },
        status=status,
    )


@router.post("/lookup")
async def lookup(request: Request, session: PurgeViewer) -> Response:
    fields = await checked_form(request, session)
    phone = fields.get("phone", "").strip()
    if not phone:
        raise BadInput("type the customer's phone number, with its area code")
    return await _preview(request, session, phone, None, 200)


@router.post("/purge")
async def purge(request: Request, session: PurgeViewer) -> Response:
    fields = await checked_form(request, session)
    phone = fields.get("phone", "").strip()
    if not phone:
        raise BadInput("the purge form lost its phone number; look the customer up again")
    expected, typed = fields.get("expected", ""), fields.get("typed", "").strip()
    if not expected.isdigit() or typed != expected:
        message = f"To purge, type the number of calls that will be erased ({expected})."
        return await _preview(request, session, phone, message, 400)
    principal = session.principal
    # "Also suppress" (contract §22): the API's rule, `suppress` besides `purge`, else nothing.
    suppress = fields.get("suppress") == "on"
    if suppress and not web.may(session, Permission.SUPPRESS):
        raise PermissionDenied(
            "also suppressing needs the `suppress` permission besides `purge`; nothing was purged"
        )
    try:
        result = await run_in_threadpool(
            _purges(request).purge_customer,
            phone,
            False,
            principal.name,
            confirm=fields.get("confirm") or None,
            region=principal.region,
            confirm_above=principal.confirm_above,
            suppress=suppress,
            reference=fields.get("reference", "").strip() or None,
        )
    except Conflict as exc:
        # The calls changed since the preview (or its token ran out): show them anew.
        return await _preview(request, session, phone, exc.detail, 409)
    return redirect(f"{PREFIX}/requests/{result.request_id}")


# ---------------------------------------------------------------------------- purge requests


@router.get("/requests")
async def requests_page(
    request: Request,
    session: RequestsViewer,
    state: Annotated[str | None, Query(max_length=16)] = None,
    kind: Annotated[str | None, Query(max_length=16)] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    state, kind = state or None, kind or None
    rows = await run_in_threadpool(_purges(request).list_requests, state, kind, page)
    return render(
        request,
        "requests.html",
        {
            "rows": rows,
            "state": state,
            "kind": kind,
            "page": page,
            "states": REQUEST_STATES,
            "kinds": REQUEST_KINDS,
            "more": len(rows) == 50,
        },
    )


async def _request(request: Request, request_id: str, session: ConsoleSession) -> dict[str, Any]:
    """A request page's context: the request, and whether this person may cancel it (the
    button is offered only then)."""
    found: dict[str, Any] = await run_in_threadpool(_purges(request).request, request_id)
    allowed = may_cancel(session.principal, found["kind"], found["requestedBy"])
    return {"r": found, "may_cancel": allowed}


@router.get("/requests/{requestId}")
async def request_page(request: Request, requestId: RequestId, session: RequestsViewer) -> Response:
    return render(request, "request.html", await _request(request, requestId, session))


@router.get("/requests/{requestId}/progress")
async def request_progress(
    request: Request, requestId: RequestId, session: RequestsViewer
) -> Response:
    """The live part of a request page: htmx polls it every second while ``Purging``."""
    return render(request, "_progress.html", await _request(request, requestId, session))


@router.get("/requests/{requestId}/certificate")
async def certificate(request: Request, requestId: RequestId, session: RequestsViewer) -> Response:
    jws = await run_in_threadpool(
        _certificates(request).certificate, requestId, None, session.principal.name
    )
    return Response(
        jws,
        media_type="application/jose",
        headers={
            **web.PAGE_HEADERS,
            "Content-Disposition": f'attachment; filename="erasure-{requestId}.jws"',
        },
    )


@router.get("/requests/{requestId}/evidence")
async def evidence(request: Request, requestId: RequestId, session: RequestsViewer) -> Response:
    service: EvidenceService = request.app.state.evidence_service
    found = await run_in_threadpool(service.purge_request, requestId, session.principal.name)
    return Response(
        found.content,
        media_type="application/zip",
        headers={
            **web.PAGE_HEADERS,
            "Content-Disposition": f'attachment; filename="{found.filename}"',
        },
    )


@router.post("/requests/{requestId}/cancel")
async def cancel(request: Request, requestId: RequestId, session: Canceller) -> Response:
    await checked_form(request, session)
    await run_in_threadpool(_purges(request).cancel, requestId, session.principal)
    return redirect(f"{PREFIX}/requests/{requestId}")


# ---------------------------------------------------------------------------- legal holds


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.replace(",", "\n").splitlines() if line.strip()]


@router.get("/holds")
async def holds_page(
    request: Request,
    session: HoldViewer,
    state: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    holds = await run_in_threadpool(_holds(request).list, state or "active")
    return render(request, "holds.html", {"holds": holds, "state": (state or "active").lower()})


@router.post("/holds")
async def place_hold(request: Request, session: HoldEditor) -> Response:
    fields = await checked_form(request, session)
    scope = HoldScope(
        call_ids=_lines(fields.get("callIds", "")),
        session_ids=_lines(fields.get("sessionIds", "")),
        phone_numbers=[
            line.strip() for line in fields.get("phoneNumbers", "").splitlines() if line.strip()
        ],
        started_after=fields.get("startedAfter", "").strip() or None,
        started_before=fields.get("startedBefore", "").strip() or None,
    )
    principal = session.principal
    hold = await run_in_threadpool(
        _holds(request).place,
        fields.get("matter", ""),
        fields.get("reason", ""),
        scope,
        principal.name,
        principal.region,
        fields.get("reference", "").strip() or None,
    )
    return redirect(f"{PREFIX}/holds/{hold['holdId']}")


@router.get("/holds/{holdId}")
async def hold_page(
    request: Request, holdId: Annotated[str, Path(max_length=64)], session: HoldViewer
) -> Response:
    hold = await run_in_threadpool(_holds(request).get, holdId)
    return render(request, "hold.html", {"hold": hold})


@router.post("/holds/{holdId}/release")
async def release_hold(
    request: Request, holdId: Annotated[str, Path(max_length=64)], session: HoldEditor
) -> Response:
    fields = await checked_form(request, session)
    await run_in_threadpool(
        _holds(request).release, holdId, fields.get("reason", ""), session.principal.name
    )
    return redirect(f"{PREFIX}/holds/{holdId}")


# ---------------------------------------------------------------------------- audit trail


@router.get("/audit")
async def audit_page(
    request: Request,
    session: AuditViewer,
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> Response:
    runtime: Runtime = request.app.state.runtime

    def page() -> list[dict[str, Any]]:
        AuditTrail(runtime.keys.audit_chain_key).catch_up(runtime.engine)  # read your writes
        rows = AuditTrail.iter_rows(runtime.engine, after, AUDIT_PAGE + 1)
        return [event_json(r) for r in rows]

    events = await run_in_threadpool(page)
    more = len(events) > AUDIT_PAGE
    events = events[:AUDIT_PAGE]
    return render(
        request,
        "audit.html",
        {
            "events": events,
            "after": after,
            "next_after": events[-1]["seq"] if more else None,
            "previous_after": max(0, after - AUDIT_PAGE) if after else None,
        },
    )


@router.post("/audit/verify")
async def verify_chain(request: Request, session: AuditViewer) -> Response:
    await checked_form(request, session)
    runtime: Runtime = request.app.state.runtime
    trail = AuditTrail(runtime.keys.audit_chain_key)
    checked, problem = await run_in_threadpool(trail.verify, runtime.engine)
    return render(request, "verify.html", {"checked": checked, "problem": problem})


# ---------------------------------------------------------------------------- any other path

# Last, and only partly matching (web.Unrouted): a path no console route takes answers a page.
router.add_api_route(
    "/{path:path}",
    web.unrouted,
    methods=list(web.METHODS),
    include_in_schema=False,
    route_class_override=web.Unrouted,
)
